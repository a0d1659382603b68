"""Foreground Distillation Compensation adapters: residual bottlenecks after the frozen encoders.

The last layer starts at zero, so at step 0 an adapter returns its (already
normalised) input and the FVG stage starts exactly at the backbone's logits;
training then moves the features only as far as the losses ask.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["ADAPTER_FORMS", "FeatureAdapter"]

ADAPTER_FORMS = ("clip_adapter", "residual")


class FeatureAdapter(nn.Module):
    """a(v) = normalise(mix(v, MLP(v))), MLP = Linear(d, d/red) -> ReLU -> Linear(d/red, d).

    ``form="clip_adapter"``: (1 - alpha) v + alpha MLP(v) (CLIP-Adapter);
    ``form="residual"``: v + alpha MLP(v). Both equal v at initialisation for unit-norm v.
    """

    def __init__(self, dim: int, reduction: int = 4, alpha: float = 0.2, form: str = "clip_adapter") -> None:
        super().__init__()
        if form not in ADAPTER_FORMS:
            raise ValueError(f"TRAINER.FVG.ADAPTER_FORM must be one of {ADAPTER_FORMS}, got '{form}'")
        if reduction < 1 or dim // reduction < 1:
            raise ValueError(f"TRAINER.FVG.ADAPTER_REDUCTION {reduction} does not fit feature size {dim}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"TRAINER.FVG.ADAPTER_ALPHA must be in [0, 1], got {alpha}")
        hidden = dim // reduction
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)
        self.alpha = alpha
        self.form = form

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        v = v.float()
        keep = 1.0 - self.alpha if self.form == "clip_adapter" else 1.0
        return F.normalize(keep * v + self.alpha * self.mlp(v), dim=-1)
