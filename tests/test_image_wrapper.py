"""ImageDatasetWrapper: same items as Dassl's DatasetWrapper, and clear errors for bad image files."""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import fvgpt  # noqa: F401  (resolves ``import dassl``)
from dassl.config import get_cfg_default
from dassl.data import DatasetWrapper
from dassl.data.data_manager import build_data_loader
from dassl.data.datasets import Datum
from dassl.data.transforms import build_transform

from fvgpt.config import extend_cfg
from fvgpt.data import ImageDatasetWrapper, ImageReadError, read_image


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _write_image(path: Path, seed: int, size: tuple[int, int] = (40, 30)) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return str(path)


@pytest.fixture
def imgwrap_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i in range(4):
        _write_image(root / "toy" / "images" / f"c{i % 2}" / f"im{i}.png", seed=i)
    return root


@pytest.fixture
def imgwrap_cfg(imgwrap_root: Path):
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.DATASET.ROOT = str(imgwrap_root)
    cfg.INPUT.SIZE = (24, 24)
    cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "normalize")
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.USE_CUDA = False
    return cfg


@pytest.fixture
def imgwrap_items(imgwrap_root: Path) -> list[Datum]:
    paths = sorted((imgwrap_root / "toy" / "images").rglob("*.png"))
    return [Datum(impath=str(p), label=i % 2, domain=0, classname=f"c{i % 2}") for i, p in enumerate(paths)]


def _assert_same_item(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        va, vb = a[key], b[key]
        if isinstance(va, list):
            assert len(va) == len(vb)
            for x, y in zip(va, vb):
                assert torch.equal(x, y), key
        elif isinstance(va, torch.Tensor):
            assert torch.equal(va, vb), key
        elif isinstance(va, Image.Image):
            assert np.array_equal(np.asarray(va), np.asarray(vb)), key
        else:
            assert va == vb, key


@pytest.mark.parametrize(
    "k_tfm, return_img0, n_transforms",
    [(1, False, 1), (1, True, 1), (3, True, 1), (2, False, 2)],
)
def test_items_match_dassl_wrapper(imgwrap_cfg, imgwrap_items, capsys, k_tfm, return_img0, n_transforms):
    """Same keys and, for the same seed, bit-identical views as Dassl's own wrapper."""
    imgwrap_cfg.DATALOADER.K_TRANSFORMS = k_tfm
    imgwrap_cfg.DATALOADER.RETURN_IMG0 = return_img0
    tfm = build_transform(imgwrap_cfg, is_train=True)
    if n_transforms > 1:
        tfm = [tfm, build_transform(imgwrap_cfg, is_train=False)]
    ours = ImageDatasetWrapper(imgwrap_cfg, imgwrap_items, transform=tfm, is_train=True)
    theirs = DatasetWrapper(imgwrap_cfg, imgwrap_items, transform=tfm, is_train=True)
    assert isinstance(ours, DatasetWrapper)
    assert len(ours) == len(imgwrap_items)
    for idx in range(len(ours)):
        _seed(idx)
        a = ours[idx]
        _seed(idx)
        b = theirs[idx]
        _assert_same_item(a, b)
    item = ours[1]
    assert item["index"] == 1 and item["impath"] == imgwrap_items[1].impath and item["label"] == 1
    if n_transforms > 1:
        assert "img2" in item
    if k_tfm > 1:
        assert isinstance(item["img"], list) and len(item["img"]) == k_tfm
    else:
        assert item["img"].shape == (3, 24, 24)
    assert ("img0" in item) == return_img0


def test_test_time_and_no_transform(imgwrap_cfg, imgwrap_items):
    """K_TRANSFORMS only applies to training; transform=None returns the PIL image as Dassl does."""
    imgwrap_cfg.DATALOADER.K_TRANSFORMS = 2
    tfm = build_transform(imgwrap_cfg, is_train=False)
    item = ImageDatasetWrapper(imgwrap_cfg, imgwrap_items, transform=tfm, is_train=False)[0]
    assert item["img"].shape == (3, 24, 24)
    imgwrap_cfg.DATALOADER.K_TRANSFORMS = 1
    item = ImageDatasetWrapper(imgwrap_cfg, imgwrap_items, transform=None, is_train=True)[0]
    assert isinstance(item["img"], Image.Image) and item["img"].mode == "RGB"


def test_missing_image_error_names_file(imgwrap_cfg, imgwrap_items):
    wrapper = ImageDatasetWrapper(imgwrap_cfg, imgwrap_items, transform=None, is_train=False)
    os.remove(imgwrap_items[2].impath)
    with pytest.raises(FileNotFoundError) as info:
        wrapper[2]
    assert imgwrap_items[2].impath in str(info.value)


@pytest.mark.parametrize("content", [b"", b"this is not an image", "truncated"])
def test_corrupt_image_error_names_file(imgwrap_cfg, imgwrap_items, content):
    """Upstream retries a bad file forever; we stop at once and name it."""
    path = imgwrap_items[0].impath
    if content == "truncated":
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
    else:
        Path(path).write_bytes(content)
    wrapper = ImageDatasetWrapper(imgwrap_cfg, imgwrap_items, transform=None, is_train=False)
    with pytest.raises(ImageReadError) as info:
        wrapper[0]
    assert path in str(info.value)
    assert isinstance(info.value, OSError)


def test_directory_instead_of_image(tmp_path: Path):
    with pytest.raises(ImageReadError, match=str(tmp_path)):
        read_image(str(tmp_path))


def test_grayscale_and_rgba_read_as_rgb(tmp_path: Path):
    Image.new("L", (5, 4), 7).save(tmp_path / "g.png")
    Image.new("RGBA", (5, 4), (1, 2, 3, 4)).save(tmp_path / "a.png")
    for name in ("g.png", "a.png"):
        img = read_image(str(tmp_path / name))
        assert img.mode == "RGB" and img.size == (5, 4)


def test_build_data_loader_batches(imgwrap_cfg, imgwrap_items, capsys):
    tfm = build_transform(imgwrap_cfg, is_train=True)
    loader = build_data_loader(
        imgwrap_cfg,
        sampler_type="SequentialSampler",
        data_source=imgwrap_items,
        batch_size=2,
        tfm=tfm,
        is_train=True,
        dataset_wrapper=ImageDatasetWrapper,
    )
    assert isinstance(loader.dataset, ImageDatasetWrapper)
    batch = next(iter(loader))
    assert batch["img"].shape == (2, 3, 24, 24)
    assert batch["label"].tolist() == [0, 1]
