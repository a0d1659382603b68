"""Foreground masks for training images: where they live, how they are read, how they follow the image.

FVG-PT's foreground view is ``m * x + (1 - m) * c`` on the augmented image, so
every training item needs a binary mask aligned pixel for pixel with ``img``.
The authors release masks as images mirroring the dataset tree::

    <MASK_ROOT or DATASET.ROOT/mask>/<image path relative to DATASET.ROOT>

(white foreground, black background). :func:`mask_path_for` implements that
rule (plus an extension fallback, for masks saved as PNG next to JPEG images),
:func:`read_mask` the reading (channels averaged, threshold 0.5), and
:class:`MaskedDatasetWrapper` adds ``mask`` to each training item, transformed
with the image's exact geometry by :class:`fvgpt.data.paired.PairedTransform`.

Missing masks are found at construction (start-up), not mid-epoch; what happens
then is ``TRAINER.FVG.MASK_POLICY``: ``error`` (default) stops with the list of
missing files, ``full`` gives those images an all-ones mask (the whole image is
foreground, so their foreground view is the image itself).
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image
from yacs.config import CfgNode

from fvgpt.data.images import ImageDatasetWrapper
from fvgpt.data.paired import PairedTransform, compile_paired, mask_to_tensor

MASK_POLICIES: tuple[str, ...] = ("error", "full")
MASK_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")
MAX_LISTED = 5  # missing paths shown in the start-up error


class MissingMaskError(FileNotFoundError):
    """Training images without a usable mask while ``TRAINER.FVG.MASK_POLICY`` is ``error``."""


class MaskReadError(OSError):
    """A mask file exists but cannot be decoded."""


def resolve_mask_root(dataset_root: str, mask_root: str = "") -> str:
    """Absolute mask root: ``mask_root`` if given, else ``<dataset_root>/mask`` (``~`` expanded, like Dassl's ROOT)."""
    if mask_root:
        return os.path.abspath(os.path.expanduser(mask_root))
    return os.path.join(os.path.abspath(os.path.expanduser(dataset_root)), "mask")


def expected_mask_path(impath: str, dataset_root: str, mask_root: str = "") -> str:
    """Where the mask of ``impath`` should be, before the extension fallback.

    Raises ``ValueError`` when the image is not under ``dataset_root``: the
    relative path, hence the mask path, is then undefined (DATASET.ROOT is
    wrong for this data).
    """
    root = os.path.abspath(os.path.expanduser(dataset_root))
    image = os.path.abspath(os.path.expanduser(impath))
    rel = os.path.relpath(image, root)
    if rel == os.curdir or rel.split(os.sep, 1)[0] == os.pardir:
        raise ValueError(
            f"Image {impath} is not under DATASET.ROOT ({root}), so its mask path "
            "<mask root>/<image path relative to DATASET.ROOT> is undefined; set DATASET.ROOT "
            "to the folder that contains the dataset directories."
        )
    return os.path.join(resolve_mask_root(dataset_root, mask_root), rel)


def mask_path_for(impath: str, dataset_root: str, mask_root: str = "") -> str | None:
    """The mask file of image ``impath``, or None when there is none.

    Rule (compatible with the authors' released foreground datasets):
    ``<mask_root or dataset_root/mask>/<impath relative to dataset_root>``; if
    that exact file is missing, the same path with its extension replaced by
    .png, .jpg, .jpeg (lower then upper case) is tried, in that order.
    Relative roots and ``~`` resolve as Dassl resolves DATASET.ROOT (against
    the working directory). Raises ``ValueError`` when ``impath`` is not under
    ``dataset_root`` (see :func:`expected_mask_path`).
    """
    exact = expected_mask_path(impath, dataset_root, mask_root)
    if os.path.isfile(exact):
        return exact
    stem = os.path.splitext(exact)[0]
    for ext in MASK_EXTENSIONS:
        candidate = stem + ext
        if candidate != exact and os.path.isfile(candidate):
            return candidate
    return None


def binarize_mask_image(mask: Image.Image) -> np.ndarray:
    """Boolean (H, W) foreground array: channels averaged, > 0.5 of the mode's full range.

    Colour and palette masks are converted to RGB first (alpha ignored), as the
    authors read them; 16-bit and float masks are scaled by their own range.
    """
    mode = mask.mode
    if mode == "1":
        return np.asarray(mask, dtype=bool)
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return np.asarray(mask).astype(np.float64) / 65535.0 > 0.5
    if mode == "F":
        return np.asarray(mask, dtype=np.float64) > 0.5
    if mode == "L":
        return np.asarray(mask, dtype=np.uint8) > 127
    rgb = np.asarray(mask.convert("RGB"), dtype=np.float64)
    return rgb.mean(axis=2) / 255.0 > 0.5


def read_mask(path: str) -> Image.Image:
    """Read and binarise a mask file: PIL image, mode ``L``, values 0 (background) and 255 (foreground).

    Raises ``FileNotFoundError`` or :class:`MaskReadError` naming the file.
    """
    try:
        with Image.open(path) as im:
            im.load()
            fg = binarize_mask_image(im)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"Mask file not found: {path}") from exc
    except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, ... for bad data
        raise MaskReadError(f"Cannot read mask {path}: {type(exc).__name__}: {exc}") from exc
    return Image.fromarray(fg.astype(np.uint8) * 255, mode="L")


def _probe(path: str) -> str | None:
    """Cheap start-up check (header only): None if ``path`` opens as an image, else the reason."""
    try:
        with Image.open(path) as im:
            im.size  # noqa: B018  (header parsed by open)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def mask_policy(cfg: CfgNode) -> str:
    """``TRAINER.FVG.MASK_POLICY``, validated."""
    policy = str(cfg.TRAINER.FVG.MASK_POLICY)
    if policy not in MASK_POLICIES:
        raise ValueError(
            f"TRAINER.FVG.MASK_POLICY = {policy!r} is not one of {', '.join(MASK_POLICIES)} "
            "(error: stop at start-up when a training image has no mask; full: use an all-ones mask for it)"
        )
    return policy


class MaskedDatasetWrapper(ImageDatasetWrapper):
    """:class:`ImageDatasetWrapper` whose training items also carry the foreground ``mask``.

    When ``is_train``: ``mask`` is a float tensor (1, H, W) with values exactly
    0 or 1 and the H, W of ``img``, made by the same geometric augmentation
    (see :mod:`fvgpt.data.paired`). Several views get matching keys: ``mask2``
    for ``img2``, a list of K masks for K_TRANSFORMS = K, ``mask0`` for
    ``img0``. When not ``is_train`` (val/test loaders) it is exactly
    :class:`ImageDatasetWrapper`: no mask is looked up, read or required.

    Construction (training) resolves every mask path and checks its header,
    applies ``TRAINER.FVG.MASK_POLICY`` and prints one summary line; it also
    rejects any transform whose effect on the mask is unknown.
    Config keys: DATASET.ROOT, TRAINER.FVG.MASK_ROOT, TRAINER.FVG.MASK_POLICY.
    """

    def __init__(
        self,
        cfg: CfgNode,
        data_source: Sequence[Any],
        transform: Callable[[Any], Any] | Sequence[Callable[[Any], Any]] | None = None,
        is_train: bool = False,
    ) -> None:
        super().__init__(cfg, data_source, transform=transform, is_train=is_train)
        self.mask_policy = mask_policy(cfg)
        self.dataset_root = str(cfg.DATASET.ROOT)
        self.mask_root = resolve_mask_root(self.dataset_root, str(cfg.TRAINER.FVG.MASK_ROOT))
        self.mask_paths: list[str | None] = []
        self._paired: list[tuple[str, PairedTransform]] = []
        self._paired_img0: PairedTransform | None = None
        self._warned: set[str] = set()
        if not is_train:
            return
        self._paired = [
            (suffix, compile_paired(t, f"training transform{' ' + suffix if suffix else ''}"))
            for suffix, t in self.view_transforms()
        ]
        if self.return_img0:
            self._paired_img0 = compile_paired(self.to_tensor, "the img0 transform")
        self.mask_paths = self._find_masks()

    def _find_masks(self) -> list[str | None]:
        paths: list[str | None] = []
        missing: list[str] = []
        unreadable: list[str] = []
        for item in self.data_source:
            path = mask_path_for(item.impath, self.dataset_root, self.mask_root)
            if path is None:
                missing.append(expected_mask_path(item.impath, self.dataset_root, self.mask_root))
            else:
                reason = _probe(path)
                if reason is not None:
                    unreadable.append(f"{path} ({reason})")
                    path = None
            paths.append(path)

        n_bad, n_all = len(missing) + len(unreadable), len(paths)
        if n_bad and self.mask_policy == "error":
            raise MissingMaskError(self._missing_message(missing, unreadable, n_all))
        if self.mask_policy == "full":
            print(
                f"Foreground masks (TRAINER.FVG.MASK_POLICY = full): {n_bad} of {n_all} training images "
                f"have no usable mask under {self.mask_root} and use an all-ones mask"
            )
        else:
            print(f"Foreground masks: all {n_all} training images have a mask under {self.mask_root}")
        return paths

    def _missing_message(self, missing: list[str], unreadable: list[str], n_all: int) -> str:
        lines = [
            f"{len(missing) + len(unreadable)} of {n_all} training images have no usable foreground mask "
            f"(mask root: {self.mask_root}; a mask is looked up as <mask root>/<image path relative to "
            f"DATASET.ROOT = {os.path.abspath(os.path.expanduser(self.dataset_root))}>, also with the "
            f"extensions {', '.join(MASK_EXTENSIONS)})."
        ]
        if missing:
            lines.append(f"Missing ({len(missing)}), first {min(len(missing), MAX_LISTED)}:")
            lines += [f"  {p}" for p in missing[:MAX_LISTED]]
        if unreadable:
            lines.append(f"Unreadable ({len(unreadable)}), first {min(len(unreadable), MAX_LISTED)}:")
            lines += [f"  {p}" for p in unreadable[:MAX_LISTED]]
        lines.append(
            "Fix: put the masks there, or point TRAINER.FVG.MASK_ROOT at the folder that holds them, or "
            "set TRAINER.FVG.MASK_POLICY full to train these images with an all-ones mask (e.g. append "
            "'TRAINER.FVG.MASK_POLICY full' to the train.py command line)."
        )
        return "\n".join(lines)

    def load_mask(self, idx: int, size: tuple[int, int]) -> Image.Image:
        """Mask of item ``idx`` at ``size`` (width, height): mode ``L``, 0/255, resized with NEAREST if needed."""
        path = self.mask_paths[idx]
        mask: Image.Image | None = None
        if path is not None:
            try:
                mask = read_mask(path)
            except OSError as exc:  # header was fine at start-up, the data is not
                if self.mask_policy == "error":
                    raise MaskReadError(
                        f"{exc} (mask of image {self.data_source[idx].impath}). Replace the file, or set "
                        "TRAINER.FVG.MASK_POLICY full to use an all-ones mask for unreadable masks."
                    ) from exc
                if path not in self._warned:
                    self._warned.add(path)
                    warnings.warn(f"{exc}; using an all-ones mask (TRAINER.FVG.MASK_POLICY = full)", stacklevel=2)
        if mask is None:
            return Image.new("L", size, 255)
        if mask.size != size:
            mask = mask.resize(size, Image.Resampling.NEAREST)
        return mask

    def add_views(self, output: dict[str, Any], idx: int, img0: Image.Image) -> None:
        if not self.is_train:
            super().add_views(output, idx, img0)
            return
        mask0 = self.load_mask(idx, img0.size)
        if self.transform is None:
            output["img"] = img0
            output["mask"] = mask_to_tensor(mask0)
        for suffix, paired in self._paired:
            pairs = [paired(img0, mask0) for _ in range(self.k_tfm)]
            imgs = [p[0] for p in pairs]
            masks = [p[1] for p in pairs]
            output["img" + suffix] = imgs[0] if len(imgs) == 1 else imgs
            output["mask" + suffix] = masks[0] if len(masks) == 1 else masks
        if self._paired_img0 is not None:
            output["img0"], output["mask0"] = self._paired_img0(img0, mask0)
