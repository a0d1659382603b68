"""Reliability gates: tiny MLPs that turn per-sample agreement statistics into a weight in (0, 1).

The Foreground Reliability Gate (FRG) decides how much to trust the foreground
view (r); the Backbone Reliability Gate (BRG) how much to trust the tuned
backbone against the CLIP prior (b). Their inputs are class-count-free
statistics (entropy normalised by log K, cosine of probability vectors, area),
so a gate trained on base classes transfers to a new class set of another size.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["normalized_entropy", "prob_cosine", "frg_inputs", "brg_inputs", "ReliabilityGate"]

_EPS = 1e-6  # keeps the gate strictly inside (0, 1) even when the sigmoid saturates


def normalized_entropy(probs: torch.Tensor) -> torch.Tensor:
    """H(p) / log K per row, in [0, 1] (0 for K = 1)."""
    k = probs.shape[-1]
    if k < 2:
        return probs.new_zeros(probs.shape[:-1])
    entropy = -(torch.special.xlogy(probs, probs)).sum(dim=-1)
    return entropy / math.log(k)


def prob_cosine(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of two probability vectors per row (never NaN: rows sum to 1)."""
    return F.cosine_similarity(p, q, dim=-1, eps=1e-12)


def frg_inputs(p_full: torch.Tensor, p_fg: torch.Tensor, area: torch.Tensor) -> torch.Tensor:
    """[dH = H(p_full) - H(p_fg), cos(p_full, p_fg), A(m)] per sample: distribution, similarity, geometry."""
    d_entropy = normalized_entropy(p_full) - normalized_entropy(p_fg)
    return torch.stack([d_entropy, prob_cosine(p_full, p_fg), area.to(p_full.dtype)], dim=-1)


def brg_inputs(p_full: torch.Tensor, p_clip: torch.Tensor) -> torch.Tensor:
    """[H(p_full), H(p_clip), cos(p_full, p_clip)] per sample."""
    return torch.stack([normalized_entropy(p_full), normalized_entropy(p_clip), prob_cosine(p_full, p_clip)], dim=-1)


class ReliabilityGate(nn.Module):
    """MLP (in -> hidden -> 1) with a sigmoid, squashed into [eps, 1 - eps] so the weight is never 0 or 1."""

    def __init__(self, in_features: int = 3, hidden: int = 32) -> None:
        super().__init__()
        if hidden < 1:
            raise ValueError(f"TRAINER.FVG.GATE_HIDDEN must be >= 1, got {hidden}")
        self.mlp = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        weight = torch.sigmoid(self.mlp(features.float()).squeeze(-1))
        return _EPS + (1 - 2 * _EPS) * weight
