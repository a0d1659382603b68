"""Plain-data state for Dassl's warm-up schedulers (a warm-up wrapped around a "successor").

Shared by the bundled Dassl fallback (``dassl.optim.lr_scheduler``) and the
patches for upstream Dassl (:mod:`fvgpt.upstream_patches`), which cannot import
each other (both are named ``dassl``). Imports neither ``dassl`` nor anything
heavier than torch.

Upstream's warm-up scheduler keeps the default ``state_dict()``, which holds
the successor scheduler object: checkpoints then need full unpickling, and a
resumed run steps the unpickled successor, which drives an unpickled copy of
the optimizer, so the live learning rate freezes. These functions store the
successor's own state dict instead, and load it into the live successor.
"""
from __future__ import annotations

from typing import Any

from torch.optim.lr_scheduler import LRScheduler

__all__ = ["warmup_state_dict", "load_warmup_state_dict"]


def warmup_state_dict(scheduler: Any) -> dict[str, Any]:
    """Own state plus the successor's ``state_dict()`` under "successor": plain data only."""
    state = {k: v for k, v in scheduler.__dict__.items() if k not in ("optimizer", "successor")}
    state["successor"] = scheduler.successor.state_dict()
    return state


def load_warmup_state_dict(scheduler: Any, state_dict: dict[str, Any]) -> None:
    """Restore own state and load the successor's state into the live successor (not a copy).

    Also accepts upstream's legacy layout, where "successor" is a pickled
    scheduler object: only its state is taken, never the object.
    """
    state = dict(state_dict)
    successor_state = state.pop("successor", None)
    if isinstance(successor_state, LRScheduler):
        successor_state = {k: v for k, v in vars(successor_state).items() if k != "optimizer"}
    scheduler.__dict__.update(state)
    if successor_state is not None:
        scheduler.successor.load_state_dict(successor_state)
