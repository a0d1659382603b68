"""PREC handling shared by all trainers: fp16, fp32 or amp, as in CoOp, but safe on the CPU."""
from __future__ import annotations

import contextlib
from typing import ContextManager, Optional

import torch

PRECISIONS = ("fp16", "fp32", "amp")

_noted: set = set()


def resolve_precision(prec: str, device: torch.device, key: str = "PREC") -> str:
    """Return the precision actually used on ``device``.

    fp16 compute (and amp, which needs CUDA autocast) is not used on the CPU:
    it is slow or unsupported there, so we fall back to fp32 and say so once.
    """
    if prec not in PRECISIONS:
        raise ValueError(f"{key} must be one of {PRECISIONS}, got '{prec}'")
    if device.type != "cuda" and prec != "fp32":
        if prec not in _noted:
            print(f"Note: {key} {prec} is not used on {device.type}; computing in fp32 instead")
            _noted.add(prec)
        return "fp32"
    return prec


def autocast(prec: str, device: torch.device) -> ContextManager:
    """Autocast context for ``amp``; a no-op otherwise."""
    if prec == "amp":
        return torch.autocast(device_type=device.type)
    return contextlib.nullcontext()


def grad_scaler(prec: str, device: torch.device) -> Optional[torch.amp.GradScaler]:
    """A gradient scaler for ``amp`` (None otherwise)."""
    return torch.amp.GradScaler(device.type) if prec == "amp" else None
