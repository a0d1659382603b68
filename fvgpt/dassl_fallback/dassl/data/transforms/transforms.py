"""``build_transform(cfg, is_train)``: the train/test image pipelines named by INPUT.TRANSFORMS.

The order of the training pipeline is fixed here, not by the order of the
names in the config: resize (only when no crop is chosen), translation, crops,
flip, PIL-level augmentations, ToTensor, cutout, normalize, gaussian noise,
instance norm. The test pipeline is resize of the shorter edge to max(SIZE),
center crop, ToTensor, then normalize / instance norm if chosen.
"""
from __future__ import annotations

import random
from typing import Any, Callable, Sequence

import torch
import torchvision.transforms.functional as F
from torchvision.transforms import (
    AutoAugment,
    AutoAugmentPolicy,
    CenterCrop,
    ColorJitter,
    Compose,
    GaussianBlur,
    InterpolationMode,
    Normalize,
    RandomApply,
    RandomCrop,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    ToTensor,
)

from dassl.utils import check_availability

from .randaugment import RandAugment, RandAugment2, RandAugmentFixMatch

__all__ = [
    "AVAI_CHOICES",
    "INTERPOLATION_MODES",
    "build_transform",
    "Random2DTranslation",
    "InstanceNormalization",
    "Cutout",
    "GaussianNoise",
]

AVAI_CHOICES = [
    "random_flip",
    "random_resized_crop",
    "normalize",
    "instance_norm",
    "random_crop",
    "random_translation",
    "center_crop",  # accepted for compatibility; the test pipeline always center-crops
    "cutout",
    "imagenet_policy",
    "cifar10_policy",
    "svhn_policy",
    "randaugment",
    "randaugment_fixmatch",
    "randaugment2",
    "gaussian_noise",
    "colorjitter",
    "randomgrayscale",
    "gaussian_blur",
]

INTERPOLATION_MODES = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}

_AUTOAUGMENT_FILL = [128, 128, 128]


class Random2DTranslation:
    """With probability ``p``, enlarge to 1.125x the target size and crop back at random;
    otherwise just resize to the target size."""

    def __init__(
        self, height: int, width: int, p: float = 0.5, interpolation: InterpolationMode = InterpolationMode.BILINEAR
    ) -> None:
        self.height, self.width, self.p, self.interpolation = height, width, p, interpolation

    def __call__(self, img: Any) -> Any:
        if random.uniform(0, 1) > self.p:
            return F.resize(img, [self.height, self.width], interpolation=self.interpolation)
        new_w, new_h = int(round(self.width * 1.125)), int(round(self.height * 1.125))
        img = F.resize(img, [new_h, new_w], interpolation=self.interpolation)
        left = int(round(random.uniform(0, new_w - self.width)))
        top = int(round(random.uniform(0, new_h - self.height)))
        return F.crop(img, top, left, self.height, self.width)

    def __repr__(self) -> str:
        return f"Random2DTranslation(height={self.height}, width={self.width}, p={self.p})"


class InstanceNormalization:
    """Normalize a (C, H, W) tensor with its own per-channel mean and std."""

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = eps

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        flat = img.reshape(img.shape[0], -1)
        mean = flat.mean(1).view(-1, 1, 1)
        std = flat.std(1).view(-1, 1, 1)
        return (img - mean) / (std + self.eps)

    def __repr__(self) -> str:
        return f"InstanceNormalization(eps={self.eps})"


class Cutout:
    """Zero ``n_holes`` squares of side ``length`` (clipped at the border) of a (C, H, W) tensor."""

    def __init__(self, n_holes: int = 1, length: int = 16) -> None:
        self.n_holes, self.length = n_holes, length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[1], img.shape[2]
        mask = torch.ones(h, w, dtype=img.dtype)
        half = self.length // 2
        for _ in range(self.n_holes):
            y, x = random.randrange(h), random.randrange(w)
            mask[max(0, y - half) : min(h, y + half), max(0, x - half) : min(w, x + half)] = 0
        return img * mask

    def __repr__(self) -> str:
        return f"Cutout(n_holes={self.n_holes}, length={self.length})"


class GaussianNoise:
    """With probability ``p``, add N(mean, std) noise to a tensor image."""

    def __init__(self, mean: float = 0.0, std: float = 0.15, p: float = 0.5) -> None:
        self.mean, self.std, self.p = mean, std, p

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if random.uniform(0, 1) > self.p:
            return img
        return img + torch.randn_like(img) * self.std + self.mean

    def __repr__(self) -> str:
        return f"GaussianNoise(mean={self.mean}, std={self.std}, p={self.p})"


def _interpolation(cfg: Any) -> InterpolationMode:
    check_availability(cfg.INPUT.INTERPOLATION, list(INTERPOLATION_MODES), what="INPUT.INTERPOLATION")
    return INTERPOLATION_MODES[cfg.INPUT.INTERPOLATION]


def build_transform(cfg: Any, is_train: bool = True, choices: Sequence[str] | None = None) -> Compose | None:
    """The training or test pipeline for ``choices`` (default: cfg.INPUT.TRANSFORMS).

    Returns None with INPUT.NO_TRANSFORM (the loaders then yield PIL images).
    An unknown name raises ValueError listing the accepted names.
    """
    if cfg.INPUT.NO_TRANSFORM:
        print("Note: no transform is applied!")
        return None
    choices = list(cfg.INPUT.TRANSFORMS if choices is None else choices)
    for choice in choices:
        check_availability(choice, AVAI_CHOICES, what="transform (INPUT.TRANSFORMS)")
    interp = _interpolation(cfg)
    size = tuple(cfg.INPUT.SIZE)
    steps = _train_steps(cfg, choices, size, interp) if is_train else _test_steps(cfg, choices, size, interp)
    print(f"Building transform_{'train' if is_train else 'test'}")
    for description, _ in steps:
        print(f"+ {description}")
    return Compose([tfm for _, tfm in steps])


Step = tuple[str, Callable[..., Any]]


def _normalize(cfg: Any) -> Step:
    mean, std = cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD
    return (f"normalization (mean={mean}, std={std})", Normalize(mean=mean, std=std))


def _train_steps(cfg: Any, choices: Sequence[str], size: tuple[int, ...], interp: InterpolationMode) -> list[Step]:
    c = cfg.INPUT
    steps: list[Step] = []
    if "random_crop" not in choices and "random_resized_crop" not in choices:
        steps.append((f"resize to {size[0]}x{size[1]}", Resize(size, interpolation=interp)))
    if "random_translation" in choices:
        steps.append(("random translation", Random2DTranslation(size[0], size[1], interpolation=interp)))
    if "random_crop" in choices:
        steps.append((f"random crop (padding = {c.CROP_PADDING})", RandomCrop(size, padding=c.CROP_PADDING)))
    if "random_resized_crop" in choices:
        scale = tuple(c.RRCROP_SCALE)
        crop = RandomResizedCrop(size, scale=scale, interpolation=interp)
        steps.append((f"random resized crop (size={size}, scale={scale})", crop))
    if "random_flip" in choices:
        steps.append(("random flip", RandomHorizontalFlip()))
    policies = {
        "imagenet_policy": AutoAugmentPolicy.IMAGENET,
        "cifar10_policy": AutoAugmentPolicy.CIFAR10,
        "svhn_policy": AutoAugmentPolicy.SVHN,
    }
    for name, policy in policies.items():
        if name in choices:
            steps.append((name.replace("_", " "), AutoAugment(policy, fill=_AUTOAUGMENT_FILL)))
    if "randaugment" in choices:
        augment = RandAugment(c.RANDAUGMENT_N, c.RANDAUGMENT_M)
        steps.append((f"randaugment (n={c.RANDAUGMENT_N}, m={c.RANDAUGMENT_M})", augment))
    if "randaugment_fixmatch" in choices:
        steps.append((f"randaugment_fixmatch (n={c.RANDAUGMENT_N})", RandAugmentFixMatch(c.RANDAUGMENT_N)))
    if "randaugment2" in choices:
        steps.append((f"randaugment2 (n={c.RANDAUGMENT_N})", RandAugment2(c.RANDAUGMENT_N)))
    if "colorjitter" in choices:
        b, con, s, h = c.COLORJITTER_B, c.COLORJITTER_C, c.COLORJITTER_S, c.COLORJITTER_H
        jitter = ColorJitter(brightness=b, contrast=con, saturation=s, hue=h)
        steps.append((f"color jitter (brightness={b}, contrast={con}, saturation={s}, hue={h})", jitter))
    if "randomgrayscale" in choices:
        steps.append((f"random gray scale (p={c.RGS_P})", RandomGrayscale(p=c.RGS_P)))
    if "gaussian_blur" in choices:
        steps.append((f"gaussian blur (kernel={c.GB_K}, p={c.GB_P})", RandomApply([GaussianBlur(c.GB_K)], p=c.GB_P)))
    steps.append(("to torch tensor of range [0, 1]", ToTensor()))
    if "cutout" in choices:
        steps.append((f"cutout (n_holes={c.CUTOUT_N}, length={c.CUTOUT_LEN})", Cutout(c.CUTOUT_N, c.CUTOUT_LEN)))
    if "normalize" in choices:
        steps.append(_normalize(cfg))
    if "gaussian_noise" in choices:
        steps.append((f"gaussian noise (mean={c.GN_MEAN}, std={c.GN_STD})", GaussianNoise(c.GN_MEAN, c.GN_STD)))
    if "instance_norm" in choices:
        steps.append(("instance normalization", InstanceNormalization()))
    return steps


def _test_steps(cfg: Any, choices: Sequence[str], size: tuple[int, ...], interp: InterpolationMode) -> list[Step]:
    steps: list[Step] = [
        (f"resize the smaller edge to {max(size)}", Resize(max(size), interpolation=interp)),
        (f"{size[0]}x{size[1]} center crop", CenterCrop(size)),
        ("to torch tensor of range [0, 1]", ToTensor()),
    ]
    if "normalize" in choices:
        steps.append(_normalize(cfg))
    if "instance_norm" in choices:
        steps.append(("instance normalization", InstanceNormalization()))
    return steps
