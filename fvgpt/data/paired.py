"""Apply an image transform pipeline to an (image, mask) pair so the mask stays pixel-aligned.

FVG-PT builds the foreground view ``m * x + (1 - m) * c`` from the *augmented*
image, so the mask must undergo exactly the same geometric augmentation (same
random crop box, same flip decision, ...) and none of the photometric ones.
Dassl's ``build_transform`` returns a torchvision ``Compose`` of torchvision and
Dassl transforms (upstream's and our fallback's alike), so
:func:`compile_paired` walks that structure once, at data-wrapper construction,
and classifies every transform by its type (never by its name in
``INPUT.TRANSFORMS``):

* geometric (``GEOMETRIC_TYPES``, Dassl's ``Random2DTranslation``): the image
  goes through the transform itself; the mask goes through a copy set to
  nearest interpolation and constant fill 0, run from the same random-number
  state (Python ``random``, NumPy and torch are saved before the image pass,
  restored for the mask pass, then set to where the image pass left them).
  The copy therefore draws the same crop box / flip / angle, and the image
  consumes random numbers exactly as it would without a mask: an unmasked and a
  masked wrapper produce identical images for the same seed.
  Non-constant padding modes (reflect, edge, symmetric) are kept for the mask,
  because the padded image content is then a mirror of real content.
* image-only (``IMAGE_ONLY_TYPES``, Dassl's ``Cutout``, ``GaussianNoise``,
  ``InstanceNormalization``): change pixel values, not where things are, so the
  mask is untouched. Cutout and RandomErasing erase pixels but do not move the
  object; the mask keeps describing the object's layout (the model sees the
  same hole in ``x`` and ``x_fg``).
* mixed (Dassl's ``ImageNetPolicy``, ``CIFAR10Policy``, ``SVHNPolicy``,
  ``RandAugment``, ``RandAugment2``, ``RandAugmentFixMatch``; torchvision's
  ``AutoAugment``, ``RandAugment``, ``TrivialAugmentWide``, which the fallback
  uses for the three ``*_policy`` choices): opaque callables that randomly
  mix both kinds. The image pass runs under
  :func:`fvgpt.data.pil_recorder.recording`, which logs the geometric PIL
  primitives actually executed with their exact parameters; they are replayed
  on the mask (nearest, fill 0) and the photometric operations are skipped.
  They must run on PIL images (as ``build_transform`` places them, before
  ``ToTensor``); on tensors the calls are not seen, so that raises. Their
  CutoutAbs is an image-only erase, as above. ``AugMix`` is not supported: it
  blends several differently warped copies, which no single mask matches.
* containers: ``Compose`` (recursively), ``RandomApply`` (one shared coin
  flip, drawn exactly as torchvision draws it), ``RandomChoice`` and
  ``RandomOrder`` only when all their members are image-only.
* ``ToTensor`` / ``PILToTensor``: the mask becomes a float tensor in {0, 1}.

Anything else (including subclasses of the listed types, which may change
their behaviour) raises :class:`UnsupportedTransformError` at construction,
naming the transform and what is supported, instead of silently misaligning.
"""
from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.transforms import InterpolationMode

from fvgpt.data.pil_recorder import recording, replay

# Transforms that move pixels; their random parameters are shared with the mask.
GEOMETRIC_TYPES: tuple[type, ...] = (
    T.Resize,
    T.CenterCrop,
    T.Pad,
    T.RandomCrop,
    T.RandomResizedCrop,
    T.RandomHorizontalFlip,
    T.RandomVerticalFlip,
    T.RandomRotation,
    T.RandomAffine,
    T.RandomPerspective,
    T.ElasticTransform,
)
# Deterministic geometric transforms: no random state to share.
_DETERMINISTIC_TYPES: tuple[type, ...] = (T.Resize, T.CenterCrop, T.Pad)

# Transforms that only change pixel values (or erase pixels in place).
IMAGE_ONLY_TYPES: tuple[type, ...] = (
    T.Normalize,
    T.ColorJitter,
    T.Grayscale,
    T.RandomGrayscale,
    T.GaussianBlur,
    T.RandomErasing,
    T.RandomInvert,
    T.RandomPosterize,
    T.RandomSolarize,
    T.RandomAdjustSharpness,
    T.RandomAutocontrast,
    T.RandomEqualize,
    T.ConvertImageDtype,
)
TO_TENSOR_TYPES: tuple[type, ...] = (T.ToTensor, T.PILToTensor)
# Randomly mixed geometric/photometric ops on PIL images: geometry recorded and replayed.
MIXED_TYPES: tuple[type, ...] = (T.AutoAugment, T.RandAugment, T.TrivialAugmentWide)

# Dassl classes, recognised by exact class name in a module of the ``dassl``
# package (upstream and the fallback both define them under ``dassl.``).
DASSL_GEOMETRIC = frozenset({"Random2DTranslation"})
DASSL_IMAGE_ONLY = frozenset({"Cutout", "GaussianNoise", "InstanceNormalization"})
DASSL_MIXED = frozenset(
    {"ImageNetPolicy", "CIFAR10Policy", "SVHNPolicy", "RandAugment", "RandAugment2", "RandAugmentFixMatch"}
)

Step = Callable[[Any, Any], tuple[Any, Any]]


class UnsupportedTransformError(TypeError):
    """A transform whose effect on the mask cannot be reproduced (raised at construction)."""


class MaskAlignmentError(RuntimeError):
    """The image and mask sizes diverged: a transform behaved unlike its classification."""


def supported_summary() -> str:
    """Human-readable list of what :func:`compile_paired` accepts, for error messages."""

    def names(types: Sequence[type]) -> str:
        return ", ".join(t.__name__ for t in types)

    return (
        f"geometric (same random parameters for image and mask): {names(GEOMETRIC_TYPES)}, "
        f"dassl {', '.join(sorted(DASSL_GEOMETRIC))}; "
        f"image-only: {names(IMAGE_ONLY_TYPES)}, dassl {', '.join(sorted(DASSL_IMAGE_ONLY))}; "
        f"mixed, geometric part mirrored on PIL images: {names(MIXED_TYPES)}, "
        f"dassl {', '.join(sorted(DASSL_MIXED))}; "
        f"conversion: {names(TO_TENSOR_TYPES)}; "
        "containers: Compose, RandomApply, and RandomChoice/RandomOrder of image-only transforms"
    )


def _dassl_class_name(t: object) -> str | None:
    cls = type(t)
    if cls.__module__.split(".", 1)[0] == "dassl":
        return cls.__name__
    return None


def _hw(x: Any) -> tuple[int, int] | None:
    """Height and width of a PIL image, a tensor (..., H, W) or an array (H, W, ...)."""
    if isinstance(x, Image.Image):
        return (x.height, x.width)
    if isinstance(x, torch.Tensor) and x.dim() >= 2:
        return (int(x.shape[-2]), int(x.shape[-1]))
    if isinstance(x, np.ndarray) and x.ndim >= 2:
        return (int(x.shape[0]), int(x.shape[1]))
    return None


def mask_to_tensor(mask: Any) -> torch.Tensor:
    """A float tensor (1, H, W) with values exactly 0 or 1 (threshold 0.5 of the [0, 1] range)."""
    if isinstance(mask, Image.Image):
        arr = np.asarray(mask.convert("L"), dtype=np.uint8)
        return torch.from_numpy((arr > 127).astype(np.float32)).unsqueeze(0)
    if isinstance(mask, torch.Tensor):
        t = mask.float()
        if t.dim() == 2:
            t = t.unsqueeze(0)
        if t.shape[0] != 1:
            t = t.mean(dim=0, keepdim=True)
        if mask.dtype == torch.uint8:
            t = t / 255.0
        return (t > 0.5).float()
    raise TypeError(f"mask must be a PIL image or a tensor, got {type(mask).__name__}")


# --- random-number state shared between the image and the mask pass -------------------

def _rng_state() -> tuple[Any, Any, torch.Tensor]:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _set_rng_state(state: tuple[Any, Any, torch.Tensor]) -> None:
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


# --- steps ---------------------------------------------------------------------------

class _ImageOnly:
    """Photometric: the image changes, the mask does not."""

    def __init__(self, transform: Callable[[Any], Any]) -> None:
        self.transform = transform

    def __call__(self, img: Any, mask: Any) -> tuple[Any, Any]:
        return self.transform(img), mask


class _SharedRandomness:
    """Geometric: a nearest/fill-0 copy runs on the mask from the image pass's random state."""

    def __init__(self, transform: Callable[[Any], Any], mask_transform: Callable[[Any], Any], random_: bool) -> None:
        self.transform = transform
        self.mask_transform = mask_transform
        self.random = random_

    def __call__(self, img: Any, mask: Any) -> tuple[Any, Any]:
        if not self.random:
            return self.transform(img), self.mask_transform(mask)
        before = _rng_state()
        img = self.transform(img)
        after = _rng_state()
        _set_rng_state(before)
        try:
            mask = self.mask_transform(mask)
        finally:
            _set_rng_state(after)
        return img, mask


class _Recorded:
    """Mixed PIL augmentation: replay the geometric PIL calls of the image pass on the mask."""

    def __init__(self, transform: Callable[[Any], Any]) -> None:
        self.transform = transform

    def __call__(self, img: Any, mask: Any) -> tuple[Any, Any]:
        name = type(self.transform).__name__
        if not isinstance(img, Image.Image) or not isinstance(mask, Image.Image):
            raise UnsupportedTransformError(
                f"{name} must run on PIL images (before ToTensor) for its geometric operations to be "
                f"mirrored on the mask; got image {type(img).__name__}, mask {type(mask).__name__}"
            )
        with recording() as calls:
            img = self.transform(img)
        return img, replay(calls, mask, what=name)


class _ToTensor:
    def __init__(self, transform: Callable[[Any], Any]) -> None:
        self.transform = transform

    def __call__(self, img: Any, mask: Any) -> tuple[Any, Any]:
        return self.transform(img), mask_to_tensor(mask)


class _Sequence:
    """Steps in order, checking after each that image and mask still have the same size."""

    def __init__(self, steps: list[tuple[str, Step]]) -> None:
        self.steps = steps

    def __call__(self, img: Any, mask: Any) -> tuple[Any, Any]:
        for label, step in self.steps:
            img, mask = step(img, mask)
            hw_img, hw_mask = _hw(img), _hw(mask)
            if hw_img is not None and hw_mask is not None and hw_img != hw_mask:
                raise MaskAlignmentError(
                    f"after {label} the image is {hw_img[0]}x{hw_img[1]} but the mask is "
                    f"{hw_mask[0]}x{hw_mask[1]} (height x width); this transform cannot be "
                    "mirrored on the foreground mask"
                )
        return img, mask


class _RandomApply:
    """One coin flip for both, drawn as torchvision's RandomApply draws it."""

    def __init__(self, p: float, inner: _Sequence) -> None:
        self.p = p
        self.inner = inner

    def __call__(self, img: Any, mask: Any) -> tuple[Any, Any]:
        if self.p < torch.rand(1):
            return img, mask
        return self.inner(img, mask)


# --- compilation ---------------------------------------------------------------------

def _mask_copy(transform: Any) -> Any:
    """The transform as it must run on the mask: nearest interpolation, background fill."""
    mask_t = copy.copy(transform)
    if hasattr(mask_t, "interpolation"):
        mask_t.interpolation = InterpolationMode.NEAREST
    if hasattr(mask_t, "fill") and getattr(mask_t, "padding_mode", "constant") == "constant":
        mask_t.fill = 0
    return mask_t


def _unsupported(transform: Any, where: str, why: str) -> UnsupportedTransformError:
    cls = type(transform)
    return UnsupportedTransformError(
        f"Cannot keep foreground masks aligned through {where}: {cls.__module__}.{cls.__qualname__} "
        f"({transform!r}) {why}. Supported: {supported_summary()}. Remove it from INPUT.TRANSFORMS "
        "(or the custom transform) for FVG training, or add its mask handling to fvgpt/data/paired.py."
    )


def _compile(transform: Any, where: str) -> tuple[Step, bool]:
    """Return the paired step for ``transform`` and whether it is image-only.

    Types match exactly: a subclass may override what its base does, so it is
    rejected until its mask handling is added here.
    """
    kind = type(transform)
    if kind is T.Compose:
        return _compile_children(transform.transforms, where)
    if kind is T.RandomApply:
        inner, image_only = _compile_children(transform.transforms, where)
        if image_only:
            return _ImageOnly(transform), True
        return _RandomApply(float(transform.p), inner), False
    if kind in (T.RandomChoice, T.RandomOrder):
        _, image_only = _compile_children(transform.transforms, where)
        if image_only:
            return _ImageOnly(transform), True
        raise _unsupported(
            transform, where, "picks among or reorders geometric transforms, which is not mirrored"
        )
    if kind in GEOMETRIC_TYPES:
        return _SharedRandomness(transform, _mask_copy(transform), kind not in _DETERMINISTIC_TYPES), False
    if kind in IMAGE_ONLY_TYPES:
        return _ImageOnly(transform), True
    if kind in TO_TENSOR_TYPES:
        return _ToTensor(transform), False
    if kind in MIXED_TYPES:
        return _Recorded(transform), False

    dassl_name = _dassl_class_name(transform)
    if dassl_name in DASSL_GEOMETRIC:
        if not hasattr(transform, "interpolation"):
            raise _unsupported(transform, where, "has no 'interpolation' attribute to set to nearest for the mask")
        return _SharedRandomness(transform, _mask_copy(transform), True), False
    if dassl_name in DASSL_IMAGE_ONLY:
        return _ImageOnly(transform), True
    if dassl_name in DASSL_MIXED:
        return _Recorded(transform), False
    raise _unsupported(transform, where, "is not a transform whose geometry is known")


def _compile_children(children: Sequence[Any], where: str) -> tuple[_Sequence, bool]:
    steps: list[tuple[str, Step]] = []
    all_image_only = True
    for i, child in enumerate(children):
        label = f"{where} -> #{i} {type(child).__name__}"
        step, image_only = _compile(child, label)
        steps.append((label, step))
        all_image_only = all_image_only and image_only
    return _Sequence(steps), all_image_only


class PairedTransform:
    """``transform`` applied to an image and, with the same geometry, to its foreground mask.

    Built once per data wrapper (construction fails with
    :class:`UnsupportedTransformError` when a transform cannot be mirrored).
    Calling it with a PIL image and a PIL mask of the same size (mode ``L``,
    0 = background, 255 = foreground) returns ``(transform(image), mask)``
    where ``mask`` is a float tensor (1, H, W) in {0, 1} with the output
    image's H and W.
    """

    def __init__(self, transform: Callable[[Any], Any], name: str = "the transform") -> None:
        self.transform = transform
        self._step, _ = _compile_children([transform], name)

    def __call__(self, img: Any, mask: Image.Image) -> tuple[Any, torch.Tensor]:
        if _hw(img) != _hw(mask):
            raise MaskAlignmentError(
                f"image is {_hw(img)} but mask is {_hw(mask)} (height, width) before {self.transform!r}; "
                "resize the mask to the image first"
            )
        out_img, out_mask = self._step(img, mask)
        out_mask = mask_to_tensor(out_mask)
        if _hw(out_img) is not None and _hw(out_img) != _hw(out_mask):
            raise MaskAlignmentError(
                f"the transformed image is {_hw(out_img)} but the mask is {_hw(out_mask)} (height, width)"
            )
        return out_img, out_mask

    def __repr__(self) -> str:
        return f"PairedTransform({self.transform!r})"


def compile_paired(transform: Callable[[Any], Any], name: str = "the transform") -> PairedTransform:
    """Check ``transform`` and return its mask-aware version (see the module docstring)."""
    return PairedTransform(transform, name)
