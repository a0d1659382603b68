"""Gaussian weighted prompt aggregation (GPA, PromptSRC): a weighted average of per-epoch prompts.

After epoch ``e`` (1-based) the prompt parameters are added to a running sum
with weight ``w(e)``, a Gaussian density at ``e`` (mean ``GPA_MEAN``, std
``GPA_STD``) normalised over epochs ``1 .. MAX_EPOCH``; after the last epoch
the sum replaces the prompts. Unlike the reference, which averages the whole
state dict (CLIP's frozen fp16 weights included, so they drift by rounding),
only the given parameters are aggregated, in fp32.
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional

import torch
import torch.nn as nn

__all__ = ["gpa_weights", "PromptAggregator"]


def gpa_weights(max_epoch: int, mean: float, std: float) -> List[float]:
    """Normalised Gaussian weights for epochs 1..max_epoch (index 0 is epoch 1)."""
    if max_epoch < 1:
        raise ValueError(f"GPA needs at least one epoch, got OPTIM.MAX_EPOCH {max_epoch}")
    if std <= 0:
        raise ValueError(f"TRAINER.PROMPTSRC.GPA_STD must be > 0, got {std}")
    density = [math.exp(-0.5 * ((e - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi)) for e in range(1, max_epoch + 1)]
    total = sum(density)
    if total == 0.0:  # every epoch is dozens of std away from the mean: exp underflows
        raise ValueError(
            f"GPA weights vanish: GPA_MEAN {mean} is too far (in GPA_STD {std} units) from epochs 1..{max_epoch}"
        )
    return [d / total for d in density]


class PromptAggregator:
    """Running weighted sum of named parameters over epochs; :meth:`apply` writes it into them."""

    def __init__(self, params: Mapping[str, nn.Parameter], weights: List[float]) -> None:
        self.params = dict(params)
        self.weights = list(weights)
        self.total: Optional[Dict[str, torch.Tensor]] = None
        self.epochs: List[int] = []  # epochs (1-based) accumulated so far

    @torch.no_grad()
    def accumulate(self, epoch: int) -> float:
        """Add the current parameters with the weight of ``epoch`` (1-based); return that weight."""
        if not 1 <= epoch <= len(self.weights):
            raise ValueError(f"epoch {epoch} is outside 1..{len(self.weights)}")
        w = self.weights[epoch - 1]
        current = {name: p.detach().float() * w for name, p in self.params.items()}
        if self.total is None:
            self.total = current
        else:
            for name, value in current.items():
                self.total[name] += value
        self.epochs.append(epoch)
        return w

    @torch.no_grad()
    def apply(self) -> None:
        """Overwrite the parameters with the aggregate (cast to each parameter's dtype)."""
        if self.total is None:
            raise RuntimeError("no epoch has been accumulated")
        for name, p in self.params.items():
            p.copy_(self.total[name].to(device=p.device, dtype=p.dtype))

    def state_dict(self) -> Dict[str, object]:
        """Plain data (tensors on the CPU, ints) for a checkpoint, so a resumed run keeps its sum."""
        total = None if self.total is None else {k: v.cpu() for k, v in self.total.items()}
        return {"epochs": list(self.epochs), "total": total}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        total = state.get("total")
        if total is not None:
            missing = set(self.params) ^ set(total)
            if missing:
                raise KeyError(f"GPA state does not match the prompt parameters: {sorted(missing)}")
            total = {k: v.to(self.params[k].device, torch.float32) for k, v in total.items()}
        self.total = total
        self.epochs = list(state.get("epochs", []))
