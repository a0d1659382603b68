"""``build_lr_scheduler``: step/multi-step/cosine schedules with an optional warm-up.

The warm-up schedulers fix three defects of upstream's on current PyTorch:
they call ``LRScheduler.__init__`` without the removed ``verbose`` argument;
their ``state_dict()`` stores the wrapped scheduler's state as plain data (not
the scheduler object), so checkpoints load with ``torch.load(weights_only=True)``;
and ``load_state_dict`` loads that state into the live wrapped scheduler, so a
resumed run keeps driving the real optimizer instead of an unpickled copy.
"""
from __future__ import annotations

from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, MultiStepLR, StepLR

from fvgpt.warmup_state import load_warmup_state_dict, warmup_state_dict  # shared with fvgpt.upstream_patches

__all__ = [
    "AVAI_SCHEDS",
    "build_lr_scheduler",
    "ConstantWarmupScheduler",
    "LinearWarmupScheduler",
]

AVAI_SCHEDS = ["single_step", "multi_step", "cosine"]


class _BaseWarmupScheduler(LRScheduler):
    """Runs its own warm-up rule for ``warmup_epoch`` steps, then hands over to ``successor``.

    During warm-up the successor is not stepped, so the main schedule starts
    from its first value when the warm-up ends (WARMUP_RECOUNT=True).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        successor: LRScheduler,
        warmup_epoch: int,
        last_epoch: int = -1,
        verbose: bool = False,  # accepted for upstream compatibility; torch removed it
    ) -> None:
        self.successor = successor
        self.warmup_epoch = warmup_epoch
        super().__init__(optimizer, last_epoch)

    def step(self, epoch: int | None = None) -> None:
        if self.last_epoch >= self.warmup_epoch:
            self.successor.step(epoch)
            self._last_lr = self.successor.get_last_lr()
        else:
            super().step(epoch)

    def state_dict(self) -> dict[str, Any]:
        """Own state plus the successor's ``state_dict()`` under "successor": plain data only."""
        return warmup_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore own state and load the successor's state into the live successor.

        Also accepts upstream's legacy layout, where "successor" is a pickled
        scheduler object: only its state is taken, never the object.
        """
        load_warmup_state_dict(self, state_dict)


class ConstantWarmupScheduler(_BaseWarmupScheduler):
    """Learning rate ``cons_lr`` during the warm-up epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        successor: LRScheduler,
        warmup_epoch: int,
        cons_lr: float,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self.cons_lr = cons_lr
        super().__init__(optimizer, successor, warmup_epoch, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch >= self.warmup_epoch:
            return list(self.successor.get_last_lr())
        return [self.cons_lr for _ in self.base_lrs]


class LinearWarmupScheduler(_BaseWarmupScheduler):
    """Learning rate ``min_lr`` at step 0, then ``base_lr * step / warmup_epoch``."""

    def __init__(
        self,
        optimizer: Optimizer,
        successor: LRScheduler,
        warmup_epoch: int,
        min_lr: float,
        last_epoch: int = -1,
        verbose: bool = False,
    ) -> None:
        self.min_lr = min_lr
        super().__init__(optimizer, successor, warmup_epoch, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch >= self.warmup_epoch:
            return list(self.successor.get_last_lr())
        if self.last_epoch == 0:
            return [self.min_lr for _ in self.base_lrs]
        return [lr * self.last_epoch / self.warmup_epoch for lr in self.base_lrs]


def build_lr_scheduler(optimizer: Optimizer, optim_cfg: Any) -> LRScheduler:
    """The scheduler named by OPTIM.LR_SCHEDULER, wrapped in a warm-up when WARMUP_EPOCH > 0.

    Steps count epochs: the CoOp family calls ``update_lr()`` once per epoch.
    """
    name = optim_cfg.LR_SCHEDULER
    stepsize = optim_cfg.STEPSIZE
    max_epoch = optim_cfg.MAX_EPOCH
    if name not in AVAI_SCHEDS:
        raise ValueError(f"OPTIM.LR_SCHEDULER must be one of {AVAI_SCHEDS}, but got {name!r}")

    scheduler: LRScheduler
    if name == "single_step":
        if isinstance(stepsize, (list, tuple)):
            stepsize = stepsize[-1]
        if not isinstance(stepsize, int):
            raise TypeError(f"For single_step, OPTIM.STEPSIZE must be an int, but got {stepsize!r}")
        scheduler = StepLR(optimizer, step_size=stepsize if stepsize > 0 else max_epoch, gamma=optim_cfg.GAMMA)
    elif name == "multi_step":
        if not isinstance(stepsize, (list, tuple)):
            raise TypeError(f"For multi_step, OPTIM.STEPSIZE must be a list, but got {stepsize!r}")
        scheduler = MultiStepLR(optimizer, milestones=list(stepsize), gamma=optim_cfg.GAMMA)
    else:
        scheduler = CosineAnnealingLR(optimizer, float(max_epoch))

    if optim_cfg.WARMUP_EPOCH > 0:
        if not optim_cfg.WARMUP_RECOUNT:
            scheduler.last_epoch = optim_cfg.WARMUP_EPOCH
        if optim_cfg.WARMUP_TYPE == "constant":
            scheduler = ConstantWarmupScheduler(
                optimizer, scheduler, optim_cfg.WARMUP_EPOCH, optim_cfg.WARMUP_CONS_LR
            )
        elif optim_cfg.WARMUP_TYPE == "linear":
            scheduler = LinearWarmupScheduler(optimizer, scheduler, optim_cfg.WARMUP_EPOCH, optim_cfg.WARMUP_MIN_LR)
        else:
            raise ValueError(
                f"OPTIM.WARMUP_TYPE must be 'constant' or 'linear', but got {optim_cfg.WARMUP_TYPE!r}"
            )
    return scheduler

