"""Compact RandAugment variants on PIL images (randaugment, randaugment2, randaugment_fixmatch).

Each variant draws ``n`` operations with replacement from its list of
``(operation, low, high)`` and maps a magnitude to ``low + m * (high - low)``:
``RandAugment`` uses the fixed magnitude ``m / 30`` (m in [0, 30]), the other two
draw m uniformly per operation (``RandAugment2`` also skips each operation with
probability 1 - p). Geometric operations flip the sign of their magnitude at
random, so a non-negative range still shears, rotates or translates both ways.
"""
from __future__ import annotations

import random
from typing import Callable

import PIL.Image
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

__all__ = ["RandAugment", "RandAugment2", "RandAugmentFixMatch"]

Op = Callable[[Image.Image, float], Image.Image]
FILL = (128, 128, 128)


def _signed(v: float) -> float:
    return -v if random.random() < 0.5 else v


def _affine(img: Image.Image, coeffs: tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, PIL.Image.Transform.AFFINE, coeffs, fillcolor=FILL)


def shear_x(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, (1, _signed(v), 0, 0, 1, 0))


def shear_y(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, (1, 0, 0, _signed(v), 1, 0))


def translate_x_rel(img: Image.Image, v: float) -> Image.Image:
    """Translate by a fraction ``v`` of the width."""
    return _affine(img, (1, 0, _signed(v) * img.size[0], 0, 1, 0))


def translate_y_rel(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, (1, 0, 0, 0, 1, _signed(v) * img.size[1]))


def translate_x_abs(img: Image.Image, v: float) -> Image.Image:
    """Translate by ``v`` pixels."""
    return _affine(img, (1, 0, _signed(v), 0, 1, 0))


def translate_y_abs(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, (1, 0, 0, 0, 1, _signed(v)))


def rotate(img: Image.Image, v: float) -> Image.Image:
    return img.rotate(_signed(v), fillcolor=FILL)


def auto_contrast(img: Image.Image, _: float) -> Image.Image:
    return ImageOps.autocontrast(img)


def invert(img: Image.Image, _: float) -> Image.Image:
    return ImageOps.invert(img)


def equalize(img: Image.Image, _: float) -> Image.Image:
    return ImageOps.equalize(img)


def identity(img: Image.Image, _: float) -> Image.Image:
    return img


def solarize(img: Image.Image, v: float) -> Image.Image:
    return ImageOps.solarize(img, int(v))


def solarize_add(img: Image.Image, v: float, threshold: int = 128) -> Image.Image:
    """Add ``v`` to pixels below ``threshold`` (clipped to 255)."""
    add = int(v)
    lut = [min(255, i + add) if i < threshold else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


def posterize(img: Image.Image, v: float) -> Image.Image:
    return ImageOps.posterize(img, max(1, int(v)))


def _enhance(kind: type[ImageEnhance._Enhance]) -> Op:
    return lambda img, v: kind(img).enhance(v)


def cutout_abs(img: Image.Image, v: float) -> Image.Image:
    """Grey out a ``v`` x ``v`` square at a random centre."""
    if v <= 0:
        return img
    w, h = img.size
    x0, y0 = random.uniform(0, w), random.uniform(0, h)
    box = (max(0, x0 - v / 2), max(0, y0 - v / 2), min(w, x0 + v / 2), min(h, y0 + v / 2))
    img = img.copy()
    ImageDraw.Draw(img).rectangle(box, fill=(125, 123, 114))
    return img


color, contrast = _enhance(ImageEnhance.Color), _enhance(ImageEnhance.Contrast)
brightness, sharpness = _enhance(ImageEnhance.Brightness), _enhance(ImageEnhance.Sharpness)

# The TPU EfficientNet RandAugment list (magnitudes scaled by m / 30).
RANDAUGMENT_OPS: list[tuple[Op, float, float]] = [
    (auto_contrast, 0, 1), (equalize, 0, 1), (invert, 0, 1), (rotate, 0, 30),
    (posterize, 4, 8), (solarize, 0, 256), (solarize_add, 0, 110), (color, 0.1, 1.9),
    (contrast, 0.1, 1.9), (brightness, 0.1, 1.9), (sharpness, 0.1, 1.9),
    (shear_x, 0.0, 0.3), (shear_y, 0.0, 0.3), (cutout_abs, 0, 40),
    (translate_x_abs, 0.0, 100), (translate_y_abs, 0.0, 100),
]
RANDAUGMENT2_OPS: list[tuple[Op, float, float]] = [
    (auto_contrast, 0, 1), (brightness, 0.1, 1.9), (color, 0.1, 1.9), (contrast, 0.1, 1.9),
    (equalize, 0, 1), (identity, 0, 1), (invert, 0, 1), (posterize, 4, 8), (rotate, -30, 30),
    (sharpness, 0.1, 1.9), (shear_x, -0.3, 0.3), (shear_y, -0.3, 0.3), (solarize, 0, 256),
    (translate_x_rel, -0.3, 0.3), (translate_y_rel, -0.3, 0.3),
]
# FixMatch (Sohn et al. 2020) list.
FIXMATCH_OPS: list[tuple[Op, float, float]] = [
    (auto_contrast, 0, 1), (brightness, 0.05, 0.95), (color, 0.05, 0.95), (contrast, 0.05, 0.95),
    (equalize, 0, 1), (identity, 0, 1), (posterize, 4, 8), (rotate, -30, 30),
    (sharpness, 0.05, 0.95), (shear_x, -0.3, 0.3), (shear_y, -0.3, 0.3), (solarize, 0, 256),
    (translate_x_rel, -0.3, 0.3), (translate_y_rel, -0.3, 0.3),
]


class RandAugment:
    """``n`` random operations at the fixed magnitude ``m`` (0..30)."""

    def __init__(self, n: int = 2, m: int = 10) -> None:
        if not 0 <= m <= 30:
            raise ValueError(f"RandAugment magnitude m must be in [0, 30], got {m} (INPUT.RANDAUGMENT_M)")
        self.n, self.m = n, m

    def __call__(self, img: Image.Image) -> Image.Image:
        for op, low, high in random.choices(RANDAUGMENT_OPS, k=self.n):
            img = op(img, low + self.m / 30 * (high - low))
        return img

    def __repr__(self) -> str:
        return f"RandAugment(n={self.n}, m={self.m})"


class RandAugment2:
    """``n`` random operations, each applied with probability ``p`` at a random magnitude."""

    def __init__(self, n: int = 2, p: float = 0.6) -> None:
        self.n, self.p = n, p

    def __call__(self, img: Image.Image) -> Image.Image:
        for op, low, high in random.choices(RANDAUGMENT2_OPS, k=self.n):
            if random.random() > self.p:
                continue
            img = op(img, low + random.random() * (high - low))
        return img

    def __repr__(self) -> str:
        return f"RandAugment2(n={self.n}, p={self.p})"


class RandAugmentFixMatch:
    """FixMatch's strong augmentation: ``n`` operations at random magnitudes."""

    def __init__(self, n: int = 2) -> None:
        self.n = n

    def __call__(self, img: Image.Image) -> Image.Image:
        for op, low, high in random.choices(FIXMATCH_OPS, k=self.n):
            img = op(img, low + random.random() * (high - low))
        return img

    def __repr__(self) -> str:
        return f"RandAugmentFixMatch(n={self.n})"
