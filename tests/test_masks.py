"""Foreground masks: lookup rule, reading, start-up policy, and pixel alignment with the augmented image.

Alignment is checked on images whose content *is* their mask (white foreground
on black background, asymmetric under flips): after any augmentation, the
binarised image must equal the returned mask.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image, ImageEnhance, ImageOps
from torchvision.transforms import InterpolationMode

import fvgpt  # noqa: F401  (resolves ``import dassl``)
from dassl.config import get_cfg_default
from dassl.data.data_manager import build_data_loader
from dassl.data.datasets import Datum
from dassl.data.transforms import build_transform

from fvgpt.config import extend_cfg
from fvgpt.data import (
    ImageDatasetWrapper,
    MaskedDatasetWrapper,
    MaskReadError,
    MissingMaskError,
    UnsupportedTransformError,
    mask_path_for,
    read_mask,
)
from fvgpt.data.pil_recorder import MaskReplayError, recording, replay

IMG_W, IMG_H = 48, 40  # not square, to catch height/width mix-ups
SEEDS = range(12)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _shape_mask(w: int = IMG_W, h: int = IMG_H) -> np.ndarray:
    """Boolean foreground: blocks placed so that no flip or half-turn maps the shape onto itself."""
    m = np.zeros((h, w), dtype=bool)
    m[h // 5 : h // 2, w // 6 : w // 2] = True
    m[int(h * 0.65) : int(h * 0.9), int(w * 0.7) : int(w * 0.85)] = True
    m[int(h * 0.6) : int(h * 0.7), int(w * 0.1) : int(w * 0.3)] = True
    return m


def _rgb(m: np.ndarray, fg: int = 255, bg: int = 0) -> Image.Image:
    return Image.fromarray(np.where(m, fg, bg).astype(np.uint8)).convert("RGB")


def _binarised(img) -> np.ndarray:
    """Image tensor (3, H, W) in [0, 1] or PIL -> boolean (H, W) at 0.5."""
    if isinstance(img, Image.Image):
        return np.asarray(img.convert("L")) > 127
    return (img.mean(dim=0) > 0.5).numpy()


def _mask_np(mask: torch.Tensor) -> np.ndarray:
    assert mask.dtype == torch.float32 and mask.dim() == 3 and mask.shape[0] == 1
    assert set(torch.unique(mask).tolist()) <= {0.0, 1.0}
    return mask[0].numpy() > 0.5


class MaskTree:
    """A toy dataset: ``<root>/toy/images/<class>/<i>.png`` with masks under ``<root>/mask/...``."""

    def __init__(self, root: Path, n: int = 4, mask_ext: str = ".png", with_masks: bool = True) -> None:
        self.root = root
        self.items: list[Datum] = []
        self.mask_paths: list[Path] = []
        for i in range(n):
            rel = Path("toy") / "images" / f"c{i % 2}" / f"{i}.png"
            img_path = root / rel
            img_path.parent.mkdir(parents=True, exist_ok=True)
            _rgb(_shape_mask()).save(img_path)
            mask_path = (root / "mask" / rel).with_suffix(mask_ext)
            if with_masks:
                mask_path.parent.mkdir(parents=True, exist_ok=True)
                _rgb(_shape_mask()).save(mask_path)
            self.mask_paths.append(mask_path)
            self.items.append(Datum(impath=str(img_path), label=i % 2, domain=0, classname=f"c{i % 2}"))


@pytest.fixture(autouse=True)
def masks_one_torch_thread():
    """Tiny tensors: torch's intra-op threads only add contention (10x slower on a busy 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def masks_cfg(tmp_path: Path):
    cfg = get_cfg_default()
    extend_cfg(cfg)
    cfg.DATASET.ROOT = str(tmp_path / "data")
    cfg.INPUT.SIZE = (32, 32)
    cfg.INPUT.INTERPOLATION = "nearest"
    cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip")
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.USE_CUDA = False
    return cfg


@pytest.fixture
def masks_tree(tmp_path: Path) -> MaskTree:
    return MaskTree(tmp_path / "data")


@pytest.fixture
def masks_np_int(monkeypatch):
    """Upstream's AutoAugment/RandAugment code uses ``np.int`` (removed in NumPy 1.24); restore it for the test."""
    monkeypatch.setattr(np, "int", int, raising=False)


def _assert_aligned(wrapper, seeds=SEEDS, size=(32, 32)) -> None:
    for seed in seeds:
        for idx in range(len(wrapper)):
            _seed(seed)
            item = wrapper[idx]
            mask = _mask_np(item["mask"])
            assert mask.shape == size == tuple(item["img"].shape[-2:])
            assert np.array_equal(_binarised(item["img"]), mask), f"seed {seed} item {idx}"


# --- lookup rule ----------------------------------------------------------------------

def test_mask_path_exact_and_extension_fallback(tmp_path: Path):
    root = tmp_path / "root"
    img = root / "ds" / "images" / "a" / "x.jpg"
    img.parent.mkdir(parents=True)
    img.touch()
    exact = root / "mask" / "ds" / "images" / "a" / "x.jpg"
    assert mask_path_for(str(img), str(root)) is None
    exact.parent.mkdir(parents=True)
    png = exact.with_suffix(".png")
    png.touch()
    assert mask_path_for(str(img), str(root)) == str(png)
    exact.touch()
    assert mask_path_for(str(img), str(root)) == str(exact)  # the exact name wins
    assert mask_path_for(str(img), str(root) + os.sep) == str(exact)


@pytest.mark.parametrize("image_name, mask_name", [("x.JPEG", "x.png"), ("x.png", "x.JPG"), ("x.jpg", "x.jpeg")])
def test_mask_path_extension_cases(tmp_path: Path, image_name: str, mask_name: str):
    img = tmp_path / "r" / "d" / image_name
    mask = tmp_path / "r" / "mask" / "d" / mask_name
    for p in (img, mask):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()
    assert mask_path_for(str(img), str(tmp_path / "r")) == str(mask)


def test_mask_root_override_and_relative_roots(tmp_path: Path, monkeypatch):
    img = tmp_path / "r" / "d" / "a.jpg"
    img.parent.mkdir(parents=True)
    img.touch()
    other = tmp_path / "other_masks" / "d" / "a.png"
    other.parent.mkdir(parents=True)
    other.touch()
    assert mask_path_for(str(img), str(tmp_path / "r")) is None
    assert mask_path_for(str(img), str(tmp_path / "r"), str(tmp_path / "other_masks")) == str(other)
    monkeypatch.chdir(tmp_path)
    assert mask_path_for(str(img), "r", "other_masks") == str(other)


def test_mask_path_image_outside_root(tmp_path: Path):
    with pytest.raises(ValueError, match="DATASET.ROOT"):
        mask_path_for(str(tmp_path / "elsewhere" / "a.jpg"), str(tmp_path / "r"))


# --- reading and binarisation ---------------------------------------------------------

@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Image.new("RGB", (3, 2), (200, 200, 200)), True),
        (lambda: Image.new("RGB", (3, 2), (100, 100, 100)), False),
        (lambda: Image.new("RGB", (3, 2), (255, 0, 0)), False),  # mean 85
        (lambda: Image.new("RGB", (3, 2), (255, 255, 0)), True),  # mean 170
        (lambda: Image.new("RGBA", (3, 2), (255, 255, 255, 0)), True),  # alpha ignored
        (lambda: Image.new("L", (3, 2), 128), True),
        (lambda: Image.new("L", (3, 2), 127), False),
        (lambda: Image.new("1", (3, 2), 1), True),
        (lambda: Image.new("RGB", (3, 2), (255, 255, 255)).convert("P"), True),
        (lambda: Image.fromarray(np.full((2, 3), 40000, np.uint16)), True),
        (lambda: Image.fromarray(np.full((2, 3), 20000, np.uint16)), False),
    ],
)
def test_read_mask_binarises(tmp_path: Path, make, expected: bool):
    path = tmp_path / "m.png"
    make().save(path)
    mask = read_mask(str(path))
    assert mask.mode == "L" and mask.size == (3, 2)
    assert set(np.unique(np.asarray(mask)).tolist()) == {255 if expected else 0}


def test_mask_of_other_size_resized_nearest(masks_cfg, tmp_path: Path):
    """A quarter-size grey-level mask becomes the exact nearest upsampling of its binarisation."""
    tree = MaskTree(tmp_path / "data", n=1)
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, size=(IMG_H // 4, IMG_W // 4), dtype=np.uint8)
    Image.fromarray(small).convert("RGB").save(tree.mask_paths[0])
    wrapper = MaskedDatasetWrapper(masks_cfg, tree.items, transform=T.Compose([T.ToTensor()]), is_train=True)
    item = wrapper[0]
    expected = np.repeat(np.repeat(small > 127, 4, axis=0), 4, axis=1)
    assert item["img"].shape == (3, IMG_H, IMG_W)
    assert np.array_equal(_mask_np(item["mask"]), expected)


# --- alignment through Dassl's build_transform ----------------------------------------

@pytest.mark.parametrize(
    "choices",
    [
        ("random_resized_crop", "random_flip"),
        ("random_crop", "random_flip"),  # padding 4, filled with black / background
        ("random_translation", "random_flip"),
        ("center_crop",),
        (),
        ("random_resized_crop", "random_flip", "colorjitter", "randomgrayscale"),
    ],
)
def test_alignment_dassl_transforms(masks_cfg, masks_tree, capsys, choices):
    masks_cfg.INPUT.TRANSFORMS = choices
    masks_cfg.INPUT.COLORJITTER_B = masks_cfg.INPUT.COLORJITTER_C = 0.2  # keep white > 0.5 > black
    tfm = build_transform(masks_cfg, is_train=True)
    for t in tfm.transforms:
        if type(t).__name__ == "Random2DTranslation":
            # Dassl builds it bilinear whatever INPUT.INTERPOLATION says; nearest makes the check exact
            t.interpolation = InterpolationMode.NEAREST
    _assert_aligned(MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True))


def _other_geometric_compose() -> T.Compose:
    """The rest of the torchvision geometric family, interleaved with photometric ops and a RandomApply."""
    near = InterpolationMode.NEAREST
    return T.Compose(
        [
            T.ColorJitter(brightness=0.2, contrast=0.2),
            T.Pad(3),
            T.RandomRotation(25),
            T.RandomGrayscale(0.5),
            T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.8, 1.2), shear=10),
            T.RandomApply([T.ColorJitter(brightness=0.1), T.RandomPerspective(0.4, p=1.0, interpolation=near)], p=0.5),
            T.RandomVerticalFlip(),
            T.ElasticTransform(alpha=20.0, sigma=4.0, interpolation=near),
            T.CenterCrop((36, 36)),
            T.RandomResizedCrop((32, 32), scale=(0.5, 1.0), interpolation=near),
            T.ToTensor(),
        ]
    )


def test_alignment_other_geometric_transforms(masks_cfg, masks_tree):
    _assert_aligned(MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=_other_geometric_compose(), is_train=True))


def test_alignment_bilinear_only_differs_on_edges(masks_cfg, masks_tree, capsys):
    masks_cfg.INPUT.INTERPOLATION = "bilinear"
    tfm = build_transform(masks_cfg, is_train=True)
    wrapper = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)
    for seed in SEEDS:
        _seed(seed)
        item = wrapper[0]
        mask, img = _mask_np(item["mask"]), _binarised(item["img"])
        assert (mask != img).mean() < 0.06
        if mask.any() and not mask.all():  # control: a horizontally flipped mask is far off
            assert (mask[:, ::-1] != img).mean() > 0.06 or np.array_equal(mask[:, ::-1], mask)


def test_photometric_transforms_leave_mask_alone(masks_cfg, masks_tree, capsys):
    """normalize, colorjitter, grayscale, blur, cutout, noise, instance_norm: mask = resized mask."""
    masks_cfg.INPUT.SIZE = (IMG_H, IMG_W)
    masks_cfg.INPUT.GB_K = 3
    masks_cfg.INPUT.TRANSFORMS = (
        "normalize",
        "colorjitter",
        "randomgrayscale",
        "gaussian_blur",
        "cutout",
        "gaussian_noise",
        "instance_norm",
    )
    tfm = build_transform(masks_cfg, is_train=True)
    wrapper = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)
    for seed in SEEDS:
        _seed(seed)
        assert np.array_equal(_mask_np(wrapper[1]["mask"]), _shape_mask())


POLICY_SEEDS = 40
POLICIES = ("imagenet_policy", "cifar10_policy", "svhn_policy", "randaugment", "randaugment_fixmatch", "randaugment2")


def _interior(mask: np.ndarray, r: int = 2) -> np.ndarray:
    """Pixels whose (2r+1)^2 neighbourhood lies on one side of the mask boundary."""
    padded = np.pad(mask, r, mode="edge")
    h, w = mask.shape
    windows = [padded[dy : dy + h, dx : dx + w] for dy in range(2 * r + 1) for dx in range(2 * r + 1)]
    return np.all([win == mask for win in windows], axis=0)


def _partition_ok(grey: np.ndarray, mask: np.ndarray) -> bool | None:
    """Inside the mask one grey level dominates; outside it that level is rare (boundaries excluded).

    None when undecidable: photometric ops mapped foreground and background to
    the same level (autocontrast then solarize does), or too little foreground.
    """
    inner = _interior(mask)
    fg, bg = grey[mask & inner], grey[~mask & inner]
    if fg.size < 100 or bg.size < 100:
        return None
    level = np.bincount(fg).argmax()
    if level == np.bincount(bg).argmax():
        return None
    return bool((fg == level).mean() > 0.8 and (bg == level).mean() < 0.05)


TORCHVISION_MIXED = {
    "AutoAugment": lambda: T.AutoAugment(T.AutoAugmentPolicy.IMAGENET, fill=[128, 128, 128]),
    "RandAugment": lambda: T.RandAugment(),
    "TrivialAugmentWide": lambda: T.TrivialAugmentWide(),
}


@pytest.mark.parametrize("choice", POLICIES + tuple(TORCHVISION_MIXED))
def test_alignment_policies(masks_cfg, tmp_path: Path, masks_np_int, capsys, choice):
    """AutoAugment/RandAugment: their geometric ops reach the mask, their photometric ops do not.

    Dassl's choices are built by ``build_transform`` (upstream: Dassl's own
    classes; fallback: torchvision's AutoAugment for the ``*_policy`` ones);
    torchvision's family is also tested directly. Photometric ops map the two
    grey levels of the image to other levels, so the check is a partition one:
    inside the mask nearly all pixels share one grey level (the foreground's),
    outside it that level is rare. Pixels within 2 px of a mask boundary are
    left out (bicubic shear and sharpening blend there), and Cutout's patch (up
    to about 13 px square) accounts for the exceptions inside.
    """
    tree = MaskTree(tmp_path / "data", n=1)
    _rgb(_shape_mask(), fg=200, bg=40).save(tree.items[0].impath)
    masks_cfg.INPUT.SIZE = (96, 120)
    if choice in TORCHVISION_MIXED:
        tfm = T.Compose([T.Resize((96, 120)), TORCHVISION_MIXED[choice](), T.ToTensor()])
    else:
        masks_cfg.INPUT.TRANSFORMS = (choice,)
        tfm = build_transform(masks_cfg, is_train=True)
    wrapper = MaskedDatasetWrapper(masks_cfg, tree.items, transform=tfm, is_train=True)
    resized = np.asarray(Image.fromarray(_shape_mask()).resize((120, 96), Image.Resampling.NEAREST))
    moved = control_failed = 0
    for seed in range(POLICY_SEEDS):
        _seed(seed)
        item = wrapper[0]
        mask = _mask_np(item["mask"])
        grey = np.round(item["img"][0].numpy() * 255).astype(np.uint8)
        assert mask.shape == grey.shape == (96, 120)
        ok = _partition_ok(grey, mask)
        if ok is None:
            continue
        assert ok, f"seed {seed}"
        moved += not np.array_equal(mask, resized)
        control_failed += _partition_ok(grey, resized) is False
    assert moved >= 3, "the policy never moved pixels: the test would not see misalignment"
    assert control_failed >= 1, "the untransformed mask passes too: the check has no teeth"


def test_mixed_transform_on_tensors_is_refused(masks_cfg, masks_tree):
    """On tensors torchvision's AutoAugment warps with grid_sample, invisible to the recorder: refuse."""
    tfm = T.Compose([T.Resize((32, 32)), T.ToTensor(), T.AutoAugment()])
    wrapper = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)
    with pytest.raises(UnsupportedTransformError, match="PIL"):
        wrapper[0]


@pytest.mark.parametrize("pipeline", ["dassl", "torchvision"])
def test_mask_path_does_not_change_image_randomness(masks_cfg, masks_tree, masks_np_int, capsys, pipeline):
    """For the same seed the masked wrapper returns exactly the unmasked wrapper's image."""
    if pipeline == "dassl":
        masks_cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "colorjitter", "randaugment", "normalize")
        masks_cfg.INPUT.INTERPOLATION = "bilinear"
        tfm = build_transform(masks_cfg, is_train=True)
    else:
        tfm = _other_geometric_compose()
    plain = ImageDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)
    masked = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)
    for seed in SEEDS:
        _seed(seed)
        a = plain[2]["img"]
        _seed(seed)
        b = masked[2]["img"]
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "bad",
    [
        T.Lambda(lambda x: x),
        T.RandomChoice([T.RandomRotation(10), T.ColorJitter()]),
        T.FiveCrop(16),
        T.AugMix(),
        type("MyCrop", (T.RandomCrop,), {"forward": lambda self, img: img})(8),
    ],
    ids=["Lambda", "RandomChoice", "FiveCrop", "AugMix", "subclass"],
)
def test_unsupported_transform_fails_at_construction(masks_cfg, masks_tree, bad):
    tfm = T.Compose([T.Resize((32, 32)), bad, T.ToTensor()])
    with pytest.raises(UnsupportedTransformError) as info:
        MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)
    message = str(info.value)
    assert type(bad).__name__ in message and "Supported:" in message and "RandomResizedCrop" in message
    # image-only members are fine inside RandomChoice
    ok = T.Compose([T.RandomChoice([T.ColorJitter(0.1), T.RandomGrayscale()]), T.ToTensor()])
    MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=ok, is_train=True)


# --- the PIL recorder behind the policy families --------------------------------------

def _opaque_augmentation(img: Image.Image) -> Image.Image:
    """Geometric and photometric PIL ops in the styles policy code uses (nested calls included)."""
    img = img.transform(img.size, Image.Transform.AFFINE, (1, 0.2, -3, 0, 1, 2), Image.Resampling.BICUBIC,
                        fillcolor=(128, 128, 128))
    img = ImageOps.invert(img)
    img = ImageOps.mirror(img)  # transpose
    img = img.rotate(180)  # transpose inside rotate
    img = img.convert("RGBA").rotate(17, resample=Image.Resampling.BICUBIC).convert("RGB")  # transform -> transform
    img = ImageEnhance.Contrast(img).enhance(0.5)
    img = img.resize((30, 24), Image.Resampling.BILINEAR, reducing_gap=1.0)  # resize -> reduce
    return img.crop((2, 3, 28, 22))


def _expected_geometry(mask: Image.Image) -> Image.Image:
    near = Image.Resampling.NEAREST
    mask = mask.transform(mask.size, Image.Transform.AFFINE, (1, 0.2, -3, 0, 1, 2), near, fillcolor=0)
    mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT).transpose(Image.Transpose.ROTATE_180)
    mask = mask.rotate(17, resample=near)
    return mask.resize((30, 24), near).crop((2, 3, 28, 22))


def test_recorder_replays_geometry_only():
    shape = _shape_mask()
    mask = Image.fromarray(shape.astype(np.uint8) * 255)
    with recording() as calls:
        out = _opaque_augmentation(_rgb(shape))
    assert [c.method for c in calls] == ["transform", "transpose", "transpose", "transform", "resize", "crop"]
    replayed = replay(calls, mask)
    assert replayed.size == out.size == (26, 19)
    assert np.array_equal(np.asarray(replayed), np.asarray(_expected_geometry(mask)))
    assert set(np.unique(np.asarray(replayed)).tolist()) <= {0, 255}
    with recording() as calls:  # nothing leaks from one recording into the next
        pass
    assert calls == []


def test_recorder_refuses_auxiliary_images():
    with recording() as calls:
        Image.new("RGB", (7, 5)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    with pytest.raises(MaskReplayError, match="auxiliary|other than"):
        replay(calls, Image.new("L", (48, 40)), what="SomePolicy")


# --- views, K transforms, img0 --------------------------------------------------------

def test_views_k_transforms_and_img0(masks_cfg, masks_tree, capsys):
    masks_cfg.DATALOADER.K_TRANSFORMS = 2
    masks_cfg.DATALOADER.RETURN_IMG0 = True
    masks_cfg.INPUT.SIZE = (IMG_H, IMG_W)
    tfm = [build_transform(masks_cfg, is_train=True), build_transform(masks_cfg, is_train=False)]
    item = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=tfm, is_train=True)[0]
    for key in ("", "2"):
        assert len(item["img" + key]) == len(item["mask" + key]) == 2
        for img, mask in zip(item["img" + key], item["mask" + key]):
            assert np.array_equal(_binarised(img), _mask_np(mask))
    assert np.array_equal(_binarised(item["img0"]), _mask_np(item["mask0"]))

    masks_cfg.DATALOADER.K_TRANSFORMS = 1
    item = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=None, is_train=True)[0]
    assert isinstance(item["img"], Image.Image)
    assert np.array_equal(_mask_np(item["mask"]), _shape_mask())


# --- missing masks: policy ------------------------------------------------------------

def test_policy_error_fails_at_construction(masks_cfg, tmp_path: Path):
    tree = MaskTree(tmp_path / "data", n=7, with_masks=False)
    (tree.mask_paths[6].parent).mkdir(parents=True, exist_ok=True)
    tree.mask_paths[6].write_bytes(b"not a png")
    with pytest.raises(MissingMaskError) as info:
        MaskedDatasetWrapper(masks_cfg, tree.items, transform=T.ToTensor(), is_train=True)
    message = str(info.value)
    assert "7 of 7 training images" in message
    assert "Missing (6)" in message and "Unreadable (1)" in message
    for p in tree.mask_paths[:5]:
        assert str(p) in message
    assert str(tree.mask_paths[5]) not in message  # only the first few are listed
    assert str(tree.mask_paths[6]) in message
    assert "TRAINER.FVG.MASK_POLICY full" in message and "TRAINER.FVG.MASK_ROOT" in message


def test_policy_full_uses_all_ones_and_reports(masks_cfg, tmp_path: Path, capsys):
    tree = MaskTree(tmp_path / "data", n=6)
    tree.mask_paths[1].unlink()
    tree.mask_paths[4].unlink()
    masks_cfg.TRAINER.FVG.MASK_POLICY = "full"
    masks_cfg.INPUT.SIZE = (IMG_H, IMG_W)
    masks_cfg.INPUT.TRANSFORMS = ()
    wrapper = MaskedDatasetWrapper(masks_cfg, tree.items, transform=build_transform(masks_cfg), is_train=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if "MASK_POLICY" in line]
    assert len(lines) == 1 and "2 of 6 training images" in lines[0]
    for idx in range(6):
        mask = _mask_np(wrapper[idx]["mask"])
        assert mask.all() if idx in (1, 4) else np.array_equal(mask, _shape_mask())


def test_mask_root_key_is_used(masks_cfg, tmp_path: Path, capsys):
    tree = MaskTree(tmp_path / "data", n=2, with_masks=False)
    elsewhere = tmp_path / "fg_masks"
    for item in tree.items:
        target = elsewhere / Path(item.impath).relative_to(tree.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        _rgb(~_shape_mask()).save(target.with_suffix(".jpg"), quality=100)
    masks_cfg.TRAINER.FVG.MASK_ROOT = str(elsewhere)
    masks_cfg.INPUT.SIZE = (IMG_H, IMG_W)
    masks_cfg.INPUT.TRANSFORMS = ()
    wrapper = MaskedDatasetWrapper(masks_cfg, tree.items, transform=build_transform(masks_cfg), is_train=True)
    assert np.array_equal(_mask_np(wrapper[0]["mask"]), ~_shape_mask())


def test_invalid_policy_names_key(masks_cfg, masks_tree):
    masks_cfg.TRAINER.FVG.MASK_POLICY = "ignore"
    with pytest.raises(ValueError, match="TRAINER.FVG.MASK_POLICY"):
        MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=T.ToTensor(), is_train=True)


def test_test_loaders_need_no_masks(masks_cfg, tmp_path: Path, capsys):
    tree = MaskTree(tmp_path / "data", n=2, with_masks=False)
    tfm = build_transform(masks_cfg, is_train=False)
    item = MaskedDatasetWrapper(masks_cfg, tree.items, transform=tfm, is_train=False)[0]
    assert "mask" not in item and item["img"].shape == (3, 32, 32)


def test_mask_corrupt_after_startup_names_file(masks_cfg, masks_tree, capsys):
    """Header fine at start-up, data broken: the read error names the mask and its image."""
    wrapper = MaskedDatasetWrapper(masks_cfg, masks_tree.items, transform=T.ToTensor(), is_train=True)
    path = masks_tree.mask_paths[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MaskReadError) as info:
        wrapper[0]
    assert str(path) in str(info.value) and masks_tree.items[0].impath in str(info.value)


# --- through Dassl's data loader ------------------------------------------------------

@pytest.mark.parametrize("workers", [0, 2])
def test_build_data_loader_batches_have_masks(masks_cfg, masks_tree, capsys, workers):
    masks_cfg.DATALOADER.NUM_WORKERS = workers
    masks_cfg.INPUT.TRANSFORMS = ("random_resized_crop", "random_flip", "randaugment_fixmatch", "normalize")
    tfm = build_transform(masks_cfg, is_train=True)
    loader = build_data_loader(
        masks_cfg,
        sampler_type="RandomSampler",
        data_source=masks_tree.items,
        batch_size=3,
        tfm=tfm,
        is_train=True,
        dataset_wrapper=MaskedDatasetWrapper,
    )
    assert isinstance(loader.dataset, MaskedDatasetWrapper)
    batch = next(iter(loader))
    assert batch["img"].shape == (3, 3, 32, 32)
    assert batch["mask"].shape == (3, 1, 32, 32) and batch["mask"].dtype == torch.float32
    assert set(torch.unique(batch["mask"]).tolist()) <= {0.0, 1.0}
