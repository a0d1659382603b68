"""Dassl's dataset wrapper with image reading that fails clearly instead of hanging.

Upstream Dassl's ``read_image`` retries forever on any ``IOError``: a missing,
truncated or corrupt file makes a data-loader worker spin silently and training
stalls with no message. :class:`ImageDatasetWrapper` returns the same items as
Dassl's ``DatasetWrapper`` (same keys, same transform and random-number use)
but reads images with :func:`read_image`, which raises an error naming the file.
Every trainer passes it (or :class:`fvgpt.data.masks.MaskedDatasetWrapper`) to
Dassl's ``DataManager(cfg, dataset_wrapper=...)``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import fvgpt  # noqa: F401  (makes ``import dassl`` resolve: upstream or the bundled fallback)

import torchvision.transforms as T
from dassl.data import DatasetWrapper
from PIL import Image
from torchvision.transforms import InterpolationMode
from yacs.config import CfgNode


class ImageReadError(OSError):
    """An image file exists but cannot be opened or decoded."""


def read_image(path: str) -> Image.Image:
    """Read ``path`` as an RGB PIL image, fully decoded.

    Raises ``FileNotFoundError`` or :class:`ImageReadError` naming the file, so a
    bad file stops the run with its path instead of hanging it.
    """
    try:
        with Image.open(path) as im:
            return im.convert("RGB")  # convert() decodes the whole file now, not lazily later
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Image file not found: {path}. Check DATASET.ROOT and that the dataset is fully "
            "extracted; if the dataset was moved, delete its few-shot cache (split_fewshot/*.pkl), "
            "which stores absolute image paths."
        ) from exc
    except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, EOFError, ... for bad data
        raise ImageReadError(
            f"Cannot read image {path}: {type(exc).__name__}: {exc}. The file is corrupt, truncated "
            "or not an image; replace it (re-download the dataset) or remove it from the split."
        ) from exc


def build_plain_transform(cfg: CfgNode) -> Callable[[Image.Image], Any]:
    """The un-augmented view Dassl returns as ``img0``: resize to INPUT.SIZE, to tensor, normalize if chosen."""
    steps: list[Any] = [
        T.Resize(cfg.INPUT.SIZE, interpolation=InterpolationMode(cfg.INPUT.INTERPOLATION)),
        T.ToTensor(),
    ]
    if "normalize" in cfg.INPUT.TRANSFORMS:
        steps.append(T.Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD))
    return T.Compose(steps)


class ImageDatasetWrapper(DatasetWrapper):
    """Drop-in for Dassl's ``DatasetWrapper``; items: label, domain, impath, index, img[, img2 ...][, img0].

    As in Dassl: a list/tuple ``transform`` gives one key per transform
    (``img``, ``img2``, ...); with ``DATALOADER.K_TRANSFORMS`` = K > 1 (training
    only) each of those is a list of K augmented views; ``transform=None``
    returns the PIL image; ``DATALOADER.RETURN_IMG0`` adds ``img0``, the image
    resized to INPUT.SIZE without augmentation.
    """

    def __init__(
        self,
        cfg: CfgNode,
        data_source: Sequence[Any],
        transform: Callable[[Any], Any] | Sequence[Callable[[Any], Any]] | None = None,
        is_train: bool = False,
    ) -> None:
        super().__init__(cfg, data_source, transform=transform, is_train=is_train)
        # Set here what __getitem__ uses rather than rely on the base class's attribute names,
        # so the wrapper behaves the same on upstream Dassl and on the fallback.
        self.cfg = cfg
        self.data_source = data_source
        self.transform = transform
        self.is_train = is_train
        self.k_tfm = int(cfg.DATALOADER.K_TRANSFORMS) if is_train else 1
        self.return_img0 = bool(cfg.DATALOADER.RETURN_IMG0)
        if self.k_tfm > 1 and transform is None:
            raise ValueError(
                f"DATALOADER.K_TRANSFORMS = {self.k_tfm} needs a transform to augment with, but transform is None"
            )
        self.to_tensor = build_plain_transform(cfg)

    def __len__(self) -> int:
        return len(self.data_source)

    def view_transforms(self) -> list[tuple[str, Callable[[Any], Any]]]:
        """(key suffix, transform) per augmented view: ``[("", t)]`` or ``[("", t1), ("2", t2), ...]``."""
        if self.transform is None:
            return []
        if isinstance(self.transform, (list, tuple)):
            return [("" if i == 0 else str(i + 1), t) for i, t in enumerate(self.transform)]
        return [("", self.transform)]

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item = self.data_source[idx]
        output: dict[str, Any] = {
            "label": item.label,
            "domain": item.domain,
            "impath": item.impath,
            "index": idx,
        }
        img0 = read_image(item.impath)
        self.add_views(output, idx, img0)
        return output

    def add_views(self, output: dict[str, Any], idx: int, img0: Image.Image) -> None:
        """Put the augmented view(s) of ``img0`` (and ``img0`` itself when asked) into ``output``."""
        if self.transform is None:
            output["img"] = img0
        for suffix, tfm in self.view_transforms():
            views = [tfm(img0) for _ in range(self.k_tfm)]
            output["img" + suffix] = views[0] if len(views) == 1 else views
        if self.return_img0:
            output["img0"] = self.to_tensor(img0)
