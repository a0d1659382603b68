"""Helpers shared by test_dassl_fallback.py and test_upstream_patches.py.

They work with whichever Dassl the caller passes objects from (the fallback,
upstream, or a stand-in class), so this module imports neither ``dassl`` nor
``fvgpt``.
"""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch

# cosine, base 0.002, 10 epochs, 1 constant warm-up epoch at 1e-5 (one scheduler step per epoch)
REFERENCE_LRS = [1e-5, 2.000e-3, 1.951e-3, 1.809e-3, 1.588e-3, 1.309e-3, 1.000e-3, 6.910e-4, 4.122e-4, 1.910e-4]


def with_reference_optim(cfg: Any, **optim: Any) -> Any:
    """``cfg`` with the OPTIM settings of :data:`REFERENCE_LRS`, then ``optim``'s overrides (OPTIM keys)."""
    cfg.OPTIM.NAME, cfg.OPTIM.LR, cfg.OPTIM.LR_SCHEDULER, cfg.OPTIM.MAX_EPOCH = "sgd", 0.002, "cosine", 10
    cfg.OPTIM.WARMUP_EPOCH, cfg.OPTIM.WARMUP_TYPE = 1, "constant"
    for key, value in optim.items():
        setattr(cfg.OPTIM, key, value)
    return cfg


def run_epochs(optimizer: torch.optim.Optimizer, scheduler: Any, epochs: int) -> list[float]:
    """Run ``epochs`` epochs (one optimizer step and one scheduler step each); the lr at the start of each."""
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def lrs_after_resume(
    fresh: Callable[[], tuple[torch.optim.Optimizer, Any]], stop_after: int, weights_only: bool = True, epochs: int = 10
) -> list[float]:
    """Run ``stop_after`` epochs, round-trip the state through torch.save/load, run to ``epochs``.

    ``fresh()`` returns a new (optimizer, scheduler) pair; the state is loaded
    into a second pair, whose lrs for epochs ``stop_after`` .. ``epochs - 1``
    are returned.
    """
    optimizer, scheduler = fresh()
    run_epochs(optimizer, scheduler, stop_after)
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=weights_only)
    optimizer, scheduler = fresh()
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    return run_epochs(optimizer, scheduler, epochs - stop_after)


def load_module_from_file(name: str, path: Path) -> ModuleType:
    """Execute the Python file ``path`` as a new module ``name`` (not put in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
