"""Targeted fixes for upstream Dassl's defects on current PyTorch, applied only when detected.

Upstream Dassl (0.6.3) has two defects that break every CoOp-family run on
current PyTorch, because all their configs use a one-epoch warm-up:

* ``warmup-init``: ``_BaseWarmupScheduler.__init__`` passes ``verbose``
  positionally to ``LRScheduler.__init__``, which raises TypeError on
  torch >= 2.7. Fixed by an ``__init__`` that calls the base without it.
* ``warmup-state``: the warm-up scheduler's ``state_dict()`` contains the
  wrapped ("successor") scheduler object, so checkpoints need full unpickling
  (torch >= 2.6's default ``torch.load`` refuses them), and a resumed run
  steps the unpickled successor, which drives an unpickled copy of the
  optimizer: the live learning rate freezes. Fixed by a ``state_dict`` that
  stores the successor's state dict and a ``load_state_dict`` that loads it
  into the live successor.
* ``checkpoint-io`` (applied with ``warmup-state``): ``load_checkpoint`` reads
  with ``weights_only=True`` and falls back to full unpickling, with a printed
  warning naming the file, only for checkpoints upstream wrote before the fix;
  ``save_checkpoint`` writes to a temporary file and renames it atomically.

Each defect is detected by probing the installed code, never by version
number, so a fixed upstream is left alone. Patching is idempotent and only
replaces attributes (no fork); :data:`APPLIED` records what was patched.
``dassl.engine`` is not imported here: it pulls in wilds and pandas.

The replacement logic itself lives in :mod:`fvgpt.warmup_state` and
:mod:`fvgpt.checkpoint_io`, shared with the bundled Dassl fallback.

fvgpt imports: ``fvgpt`` modules are imported inside the functions that use
them, never at the top, so this file stays loadable on its own, without
importing ``fvgpt`` (whose import applies the patches); the tests load it so
to observe upstream's defects before patching.
"""
from __future__ import annotations

import io
import os
import pickle
import sys
import warnings
from typing import Any, Callable

import torch
from torch.optim.lr_scheduler import LRScheduler, StepLR

__all__ = [
    "APPLIED",
    "apply_upstream_patches",
    "has_warmup_init_defect",
    "has_warmup_state_defect",
    "patch_warmup_init",
    "patch_warmup_state",
    "patched_load_checkpoint",
    "patched_save_checkpoint",
]

#: Names of the patches applied in this process, in order.
APPLIED: tuple[str, ...] = ()

PATCH_MARK = "__fvgpt_patch__"  # set on every replacement function


def _mark(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    setattr(fn, PATCH_MARK, name)
    return fn


# ---------------------------------------------------------------- detection


def _probe_scheduler(warmup_cls: type) -> LRScheduler:
    """A warm-up scheduler of ``warmup_cls`` (signature: optimizer, successor, warmup_epoch, lr)."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with warnings.catch_warnings():  # e.g. torch < 2.7's deprecation warning for `verbose`
        warnings.simplefilter("ignore")
        return warmup_cls(optimizer, StepLR(optimizer, step_size=1), 1, 1e-5)


def has_warmup_init_defect(warmup_cls: type) -> bool:
    """True when constructing ``warmup_cls`` raises TypeError (``verbose`` passed positionally)."""
    try:
        _probe_scheduler(warmup_cls)
    except TypeError:
        return True
    return False


def has_warmup_state_defect(warmup_cls: type) -> bool:
    """True when the state dict of a ``warmup_cls`` scheduler is not plain data.

    That is the exact symptom: ``torch.load(weights_only=True)`` refuses it.
    Call after fixing the constructor (a scheduler must be constructible).
    """
    buffer = io.BytesIO()
    torch.save(_probe_scheduler(warmup_cls).state_dict(), buffer)
    buffer.seek(0)
    try:
        torch.load(buffer, weights_only=True)
    except pickle.UnpicklingError:
        return True
    return False


# ---------------------------------------------------------------- scheduler patches


def patch_warmup_init(base: type) -> None:
    """Give ``base`` (upstream's ``_BaseWarmupScheduler``) an ``__init__`` without positional verbose.

    The signature is unchanged, so the subclasses' ``super().__init__(optimizer,
    successor, warmup_epoch, last_epoch, verbose)`` calls keep working.
    """

    def __init__(
        self: Any, optimizer: Any, successor: Any, warmup_epoch: int, last_epoch: int = -1, verbose: bool = False
    ) -> None:
        self.successor = successor
        self.warmup_epoch = warmup_epoch
        super(base, self).__init__(optimizer, last_epoch)

    __init__.__qualname__ = f"{base.__qualname__}.__init__"
    base.__init__ = _mark(__init__, "warmup-init")


def _warmup_state_dict(self: Any) -> dict[str, Any]:
    """Own state plus the successor's ``state_dict()`` under "successor": plain data only."""
    from fvgpt.warmup_state import warmup_state_dict  # see "fvgpt imports" above

    return warmup_state_dict(self)


def _warmup_load_state_dict(self: Any, state_dict: dict[str, Any]) -> None:
    """Load own state, and the successor's state into the live successor (not a copy).

    A legacy state (successor pickled as an object) contributes only its state.
    """
    from fvgpt.warmup_state import load_warmup_state_dict  # see "fvgpt imports" above

    load_warmup_state_dict(self, state_dict)


def patch_warmup_state(base: type) -> None:
    """Give ``base`` plain-data ``state_dict`` / ``load_state_dict`` (see module docstring)."""
    base.state_dict = _mark(_warmup_state_dict, "warmup-state")
    base.load_state_dict = _mark(_warmup_load_state_dict, "warmup-state")


# ---------------------------------------------------------------- checkpoint I/O


def patched_save_checkpoint(
    state: dict[str, Any],
    save_dir: str,
    is_best: bool = False,
    remove_module_from_keys: bool = True,
    model_name: str = "",
) -> None:
    """Upstream's ``save_checkpoint`` (same files, keys and printed lines), written atomically."""
    from fvgpt import checkpoint_io  # see "fvgpt imports" above

    checkpoint_io.save_checkpoint(state, save_dir, is_best, remove_module_from_keys, model_name)


def patched_load_checkpoint(fpath: str | None) -> dict[str, Any]:
    """Upstream's ``load_checkpoint`` reading with ``weights_only=True``.

    Checkpoints written by unpatched upstream hold pickled scheduler objects;
    for such a file only, a warning naming it is printed and it is unpickled
    fully (which runs code from the file: only load files you trust).
    """
    if fpath is None:
        raise ValueError("File path is None")
    if not os.path.exists(fpath):
        raise FileNotFoundError(f'File is not found at "{fpath}"')
    from fvgpt import checkpoint_io  # see "fvgpt imports" above

    return checkpoint_io.read_checkpoint(fpath, legacy_origin="written by unpatched Dassl")


_mark(patched_save_checkpoint, "checkpoint-io")
_mark(patched_load_checkpoint, "checkpoint-io")


def _rebind(original: Any, replacement: Any) -> list[str]:
    """Point every loaded module's global bound to ``original`` at ``replacement``.

    ``from dassl.utils import load_checkpoint`` copies the function into the
    importing module (dassl.utils, dassl.engine.trainer, CoOp-family trainers),
    so patching only the defining module would miss those names.
    """
    rebound = []
    for module_name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            if value is original:
                namespace[attr] = replacement
                rebound.append(f"{module_name}.{attr}")
    return rebound


def patch_checkpoint_io() -> None:
    """Replace upstream's ``save_checkpoint`` / ``load_checkpoint`` everywhere they are bound."""
    import dassl.utils.torchtools as torchtools

    replacements = {"save_checkpoint": patched_save_checkpoint, "load_checkpoint": patched_load_checkpoint}
    for name, replacement in replacements.items():
        original = getattr(torchtools, name)
        if getattr(original, PATCH_MARK, None) is None:
            _rebind(original, replacement)
            setattr(torchtools, name, replacement)


# ---------------------------------------------------------------- entry point

_DESCRIPTIONS = {
    "warmup-init": "warm-up scheduler passed `verbose` positionally to torch's LRScheduler (TypeError on torch >= 2.7)",
    "warmup-state": "warm-up scheduler state held the successor object (weights_only load refused; lr froze on resume)",
    "checkpoint-io": "load_checkpoint reads weights_only=True (legacy files with a warning); save_checkpoint is atomic",
}


def apply_upstream_patches(verbose: bool = True) -> tuple[str, ...]:
    """Detect each known defect of the installed upstream Dassl and patch it in place.

    Returns the patches applied by this call (also appended to :data:`APPLIED`)
    and prints one line per applied patch. A no-op for the FVG-PT fallback and
    on a second call.
    """
    global APPLIED
    import dassl

    if getattr(dassl, "__fvgpt_fallback__", False):
        return ()
    import dassl.optim.lr_scheduler as lr_scheduler

    base = getattr(lr_scheduler, "_BaseWarmupScheduler", None)
    probe_cls = getattr(lr_scheduler, "ConstantWarmupScheduler", None)
    if base is None or probe_cls is None:  # a restructured upstream: nothing we know how to fix
        return ()
    applied: list[str] = []
    if has_warmup_init_defect(probe_cls):
        original_init = base.__dict__["__init__"]
        patch_warmup_init(base)
        if has_warmup_init_defect(probe_cls):  # not the defect we know: leave upstream as it was
            base.__init__ = original_init
            print("[fvgpt] could not fix upstream Dassl's warm-up scheduler constructor; left unpatched")
        else:
            applied.append("warmup-init")
    if not has_warmup_init_defect(probe_cls) and has_warmup_state_defect(probe_cls):
        patch_warmup_state(base)
        applied.append("warmup-state")
        patch_checkpoint_io()
        applied.append("checkpoint-io")
    APPLIED = APPLIED + tuple(applied)
    if verbose:
        for name in applied:
            print(f"[fvgpt] patched upstream Dassl: {name}: {_DESCRIPTIONS[name]}")
    return tuple(applied)
