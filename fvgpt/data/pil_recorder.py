"""Record the geometric PIL operations an opaque augmentation performs, to replay them on a mask.

Dassl's AutoAugment policies and RandAugment variants are callables that pick
several operations at random and apply them to a PIL image, some geometric
(shear, translate, rotate, mirror) and some photometric (invert, solarize,
equalize, ...). Neither upstream nor our fallback exposes which operations or
which random parameters a call used, and replaying the whole callable on a mask
would also apply the photometric operations to it (``invert`` would flip the
mask). Every geometric operation on a PIL image, however, ends in one of a few
``PIL.Image.Image`` methods: ``transform`` (affine, perspective, quad, mesh;
``rotate`` delegates to it), ``transpose`` (mirror, flip, right-angle rotation),
``resize`` and ``crop``; photometric operations use ``point``, ``filter``,
``convert``, blending and drawing, none of which moves pixels.

So, while such a callable runs on the image, :func:`recording` logs every call
of those four methods (only the outermost one when they call each other) with
its exact arguments, and :func:`replay` applies the same calls to the mask with
nearest-neighbour resampling and fill 0 (background). The mask then gets
exactly the image's geometry, with no photometric change.

The methods are wrapped once per process (on first use) and the wrappers only
record when the *current thread* has an active recording, so other threads and
ordinary PIL use are unaffected apart from one attribute lookup per call.

Limits, checked where possible: a geometric effect made without those methods
(``ImageOps.expand`` pads by pasting) is not seen; :func:`replay` raises when a
recorded call was made on an image of a different size than the mask has at
that point (an auxiliary image), and callers compare final sizes.
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image

RECORDED_METHODS: tuple[str, ...] = ("transform", "transpose", "resize", "crop")
_MARK = "__fvgpt_pil_recorder__"

_local = threading.local()
_install_lock = threading.Lock()


class MaskReplayError(RuntimeError):
    """A recorded geometric operation cannot be mirrored onto the mask."""


@dataclass(frozen=True)
class PilCall:
    """One recorded geometric call: method name, image size before it, its arguments (without ``self``)."""

    method: str
    input_size: tuple[int, int]
    arguments: dict[str, Any]


def _recording_version(name: str, original: Callable[..., Image.Image]) -> Callable[..., Image.Image]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def method(self: Image.Image, *args: Any, **kwargs: Any) -> Image.Image:
        calls: list[PilCall] | None = getattr(_local, "calls", None)
        if calls is None or _local.depth:
            return original(self, *args, **kwargs)
        _local.depth += 1
        try:
            out = original(self, *args, **kwargs)
        finally:
            _local.depth -= 1
        arguments = dict(signature.bind(self, *args, **kwargs).arguments)
        arguments.pop(next(iter(signature.parameters)))  # the image itself
        calls.append(PilCall(name, tuple(self.size), arguments))
        return out

    setattr(method, _MARK, True)
    return method


def install() -> None:
    """Wrap the recorded ``PIL.Image.Image`` methods in this process (idempotent).

    Also re-wraps a method that something else replaced after us, so a
    recording can never silently miss calls.
    """
    with _install_lock:
        for name in RECORDED_METHODS:
            current = getattr(Image.Image, name)
            if getattr(current, _MARK, False):
                continue
            setattr(Image.Image, name, _recording_version(name, current))


def _unwrapped(name: str) -> Callable[..., Image.Image]:
    """The method below our wrapper(s), so that replay is never itself recorded."""
    method = getattr(Image.Image, name)
    while getattr(method, _MARK, False):
        method = method.__wrapped__
    return method


@contextmanager
def recording() -> Iterator[list[PilCall]]:
    """Collect, in order, the geometric PIL calls made by this thread inside the block."""
    install()
    if getattr(_local, "calls", None) is not None:
        raise RuntimeError("fvgpt.data.pil_recorder.recording() cannot be nested")
    calls: list[PilCall] = []
    _local.calls, _local.depth = calls, 0
    try:
        yield calls
    finally:
        _local.calls = None


def replay(calls: list[PilCall], mask: Image.Image, what: str = "transform") -> Image.Image:
    """Apply recorded calls to ``mask`` with nearest resampling and fill 0.

    ``what`` names the augmentation in the error raised when a call was made on
    an image whose size differs from the mask's (the augmentation transformed an
    auxiliary image, which cannot be mirrored safely).
    """
    for call in calls:
        if tuple(mask.size) != call.input_size:
            raise MaskReplayError(
                f"{what}: a geometric PIL call ({call.method}) ran on an image of size "
                f"{call.input_size} while the mask is {tuple(mask.size)}; this augmentation "
                "transforms images other than the one it returns, so the foreground mask "
                "cannot be kept aligned. Remove it from INPUT.TRANSFORMS."
            )
        kwargs = dict(call.arguments)
        if call.method == "transform":
            kwargs["resample"] = Image.Resampling.NEAREST
            kwargs["fillcolor"] = 0
        elif call.method == "resize":
            kwargs["resample"] = Image.Resampling.NEAREST
            kwargs["reducing_gap"] = None
        mask = _unwrapped(call.method)(mask, **kwargs)
    return mask
