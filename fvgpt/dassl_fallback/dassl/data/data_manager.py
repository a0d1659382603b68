"""DataManager: dataset -> transforms -> data loaders, as SimpleTrainer expects them."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torchvision.transforms as T
from tabulate import tabulate
from torch.utils.data import DataLoader, Dataset

from dassl.utils import read_image

from .datasets import build_dataset
from .samplers import build_sampler
from .transforms import INTERPOLATION_MODES, build_transform

__all__ = ["DataManager", "DatasetWrapper", "build_data_loader"]


class DatasetWrapper(Dataset):
    """Turns a list of Datum into dicts with ``img``, ``label``, ``domain``, ``impath``, ``index``.

    ``transform`` may be a list/tuple: the i-th result is stored as ``img``,
    ``img2``, ``img3``... With DATALOADER.K_TRANSFORMS > 1 (training only) each
    entry is a list of K augmentations; with RETURN_IMG0 the resized,
    un-augmented tensor is added as ``img0``.
    """

    def __init__(self, cfg: Any, data_source: Sequence[Any], transform: Any = None, is_train: bool = False) -> None:
        self.cfg = cfg
        self.data_source = data_source
        self.transform = transform
        self.is_train = is_train
        self.k_tfm = cfg.DATALOADER.K_TRANSFORMS if is_train else 1
        self.return_img0 = cfg.DATALOADER.RETURN_IMG0
        if self.k_tfm > 1 and transform is None:
            raise ValueError(
                f"DATALOADER.K_TRANSFORMS={self.k_tfm} needs a transform, but the transform is None"
            )
        to_tensor: list[Any] = [T.Resize(cfg.INPUT.SIZE, interpolation=INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION])]
        to_tensor.append(T.ToTensor())
        if "normalize" in cfg.INPUT.TRANSFORMS:
            to_tensor.append(T.Normalize(mean=cfg.INPUT.PIXEL_MEAN, std=cfg.INPUT.PIXEL_STD))
        self.to_tensor = T.Compose(to_tensor)

    def __len__(self) -> int:
        return len(self.data_source)

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item = self.data_source[idx]
        output: dict[str, Any] = {"label": item.label, "domain": item.domain, "impath": item.impath, "index": idx}
        img0 = read_image(item.impath)
        if self.transform is None:
            output["img"] = img0
        elif isinstance(self.transform, (list, tuple)):
            for i, tfm in enumerate(self.transform):
                output["img" if i == 0 else f"img{i + 1}"] = self._transform_image(tfm, img0)
        else:
            output["img"] = self._transform_image(self.transform, img0)
        if self.return_img0:
            output["img0"] = self.to_tensor(img0)
        return output

    def _transform_image(self, tfm: Callable[[Any], Any], img0: Any) -> Any:
        images = [tfm(img0) for _ in range(self.k_tfm)]
        return images[0] if len(images) == 1 else images


def build_data_loader(
    cfg: Any,
    sampler_type: str = "SequentialSampler",
    data_source: Sequence[Any] | None = None,
    batch_size: int = 64,
    n_domain: int = 0,
    n_ins: int = 2,
    tfm: Any = None,
    is_train: bool = True,
    dataset_wrapper: Callable[..., Dataset] | None = None,
) -> DataLoader:
    """A DataLoader over ``dataset_wrapper(cfg, data_source, transform=tfm, is_train=is_train)``.

    Training loaders drop the last incomplete batch when there is at least one
    full batch, so batch statistics never see a tiny trailing batch.
    """
    if not data_source:
        raise ValueError("build_data_loader(): data_source is empty")
    sampler = build_sampler(
        sampler_type, cfg=cfg, data_source=data_source, batch_size=batch_size, n_domain=n_domain, n_ins=n_ins
    )
    wrapper = DatasetWrapper if dataset_wrapper is None else dataset_wrapper
    loader = DataLoader(
        wrapper(cfg, data_source, transform=tfm, is_train=is_train),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        drop_last=is_train and len(data_source) >= batch_size,
        pin_memory=torch.cuda.is_available() and cfg.USE_CUDA,
    )
    if len(loader) == 0:
        raise ValueError(f"data loader is empty ({len(data_source)} items, batch size {batch_size})")
    return loader


class DataManager:
    """Builds the dataset named by DATASET.NAME and its train_x / train_u / val / test loaders.

    ``val_loader`` and ``train_loader_u`` are None when the dataset has no such split.
    """

    def __init__(
        self,
        cfg: Any,
        custom_tfm_train: Any = None,
        custom_tfm_test: Any = None,
        dataset_wrapper: Callable[..., Dataset] | None = None,
    ) -> None:
        dataset = build_dataset(cfg)
        if custom_tfm_train is None:
            tfm_train = build_transform(cfg, is_train=True)
        else:
            print("* Using custom transform for training")
            tfm_train = custom_tfm_train
        if custom_tfm_test is None:
            tfm_test = build_transform(cfg, is_train=False)
        else:
            print("* Using custom transform for testing")
            tfm_test = custom_tfm_test

        loaders = cfg.DATALOADER
        self.train_loader_x = build_data_loader(
            cfg,
            sampler_type=loaders.TRAIN_X.SAMPLER,
            data_source=dataset.train_x,
            batch_size=loaders.TRAIN_X.BATCH_SIZE,
            n_domain=loaders.TRAIN_X.N_DOMAIN,
            n_ins=loaders.TRAIN_X.N_INS,
            tfm=tfm_train,
            is_train=True,
            dataset_wrapper=dataset_wrapper,
        )
        self.train_loader_u = None
        if dataset.train_u:
            u = loaders.TRAIN_X if loaders.TRAIN_U.SAME_AS_X else loaders.TRAIN_U
            self.train_loader_u = build_data_loader(
                cfg,
                sampler_type=u.SAMPLER,
                data_source=dataset.train_u,
                batch_size=u.BATCH_SIZE,
                n_domain=u.N_DOMAIN,
                n_ins=u.N_INS,
                tfm=tfm_train,
                is_train=True,
                dataset_wrapper=dataset_wrapper,
            )
        self.val_loader = None
        if dataset.val:
            self.val_loader = self._test_loader(cfg, dataset.val, tfm_test, dataset_wrapper)
        self.test_loader = self._test_loader(cfg, dataset.test, tfm_test, dataset_wrapper)

        self._num_classes = dataset.num_classes
        self._num_source_domains = len(cfg.DATASET.SOURCE_DOMAINS)
        self._lab2cname = dataset.lab2cname
        self.dataset = dataset
        if cfg.VERBOSE:
            self.show_dataset_summary(cfg)

    @staticmethod
    def _test_loader(cfg: Any, data: Sequence[Any], tfm: Any, wrapper: Callable[..., Dataset] | None) -> DataLoader:
        return build_data_loader(
            cfg,
            sampler_type=cfg.DATALOADER.TEST.SAMPLER,
            data_source=data,
            batch_size=cfg.DATALOADER.TEST.BATCH_SIZE,
            tfm=tfm,
            is_train=False,
            dataset_wrapper=wrapper,
        )

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def num_source_domains(self) -> int:
        return self._num_source_domains

    @property
    def lab2cname(self) -> dict[int, str]:
        return self._lab2cname

    def show_dataset_summary(self, cfg: Any) -> None:
        """Print the split sizes as a table (read by humans in log.txt)."""
        table: list[list[Any]] = [["Dataset", cfg.DATASET.NAME]]
        if cfg.DATASET.SOURCE_DOMAINS:
            table.append(["Source", cfg.DATASET.SOURCE_DOMAINS])
        if cfg.DATASET.TARGET_DOMAINS:
            table.append(["Target", cfg.DATASET.TARGET_DOMAINS])
        table.append(["# classes", f"{self.num_classes:,}"])
        table.append(["# train_x", f"{len(self.dataset.train_x):,}"])
        if self.dataset.train_u:
            table.append(["# train_u", f"{len(self.dataset.train_u):,}"])
        if self.dataset.val:
            table.append(["# val", f"{len(self.dataset.val):,}"])
        table.append(["# test", f"{len(self.dataset.test):,}"])
        print(tabulate(table))
