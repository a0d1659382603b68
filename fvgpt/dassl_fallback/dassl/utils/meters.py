"""Running averages shown in the progress line as ``name val (avg)``."""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping

import torch

__all__ = ["AverageMeter", "MetricMeter"]


class AverageMeter:
    """Latest value and running (or exponential moving) average."""

    def __init__(self, ema: bool = False) -> None:
        self.ema = ema
        self.reset()

    def reset(self) -> None:
        self.val: float = 0.0
        self.avg: float = 0.0
        self.sum: float = 0.0
        self.count: int = 0

    def update(self, val: float | torch.Tensor, n: int = 1) -> None:
        if isinstance(val, torch.Tensor):
            val = val.item()
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.avg * 0.9 + val * 0.1 if self.ema else self.sum / self.count


class MetricMeter:
    """One AverageMeter per key of the dicts returned by ``forward_backward``."""

    def __init__(self, delimiter: str = " ") -> None:
        self.meters: defaultdict[str, AverageMeter] = defaultdict(AverageMeter)
        self.delimiter = delimiter

    def update(self, input_dict: Mapping[str, float | torch.Tensor] | None) -> None:
        if input_dict is None:
            return
        if not isinstance(input_dict, Mapping):
            raise TypeError(
                "MetricMeter.update() needs a dict such as {'loss': 0.5}, got "
                f"{type(input_dict).__name__} (forward_backward must return a dict)"
            )
        for k, v in input_dict.items():
            self.meters[k].update(v)

    def __str__(self) -> str:
        return self.delimiter.join(
            f"{name} {meter.val:.4f} ({meter.avg:.4f})" for name, meter in self.meters.items()
        )
