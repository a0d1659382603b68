"""The foreground view x_fg = m * x + (1 - m) * c of a normalised image batch.

The mask arrives already aligned with the augmented image (see
:mod:`fvgpt.data.masks`), so the view is a pure tensor operation on the batch.
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["BG_FILLS", "foreground_view", "foreground_area"]

BG_FILLS = ("mean", "black")


def foreground_view(
    image: torch.Tensor,
    mask: torch.Tensor,
    fill: str = "mean",
    pixel_mean: Sequence[float] = (0.0, 0.0, 0.0),
    pixel_std: Sequence[float] = (1.0, 1.0, 1.0),
) -> torch.Tensor:
    """Replace the background of ``image`` (B, C, H, W; normalised) where ``mask`` (B, 1, H, W) is 0.

    ``fill="mean"``: c = 0 in normalised space, i.e. the dataset mean colour.
    ``fill="black"``: c = black in pixel space, i.e. -mean / std per channel.
    """
    if fill == "mean":
        background = torch.zeros((), dtype=image.dtype, device=image.device)
    elif fill == "black":
        mean = torch.as_tensor(pixel_mean, dtype=image.dtype, device=image.device)
        std = torch.as_tensor(pixel_std, dtype=image.dtype, device=image.device)
        background = (-mean / std).view(1, -1, 1, 1)
    else:
        raise ValueError(f"TRAINER.FVG.BG_FILL must be one of {BG_FILLS}, got '{fill}'")
    m = mask.to(image.dtype)
    return m * image + (1 - m) * background


def foreground_area(mask: torch.Tensor) -> torch.Tensor:
    """A(m): the foreground share of each mask (B,), after augmentation."""
    return mask.flatten(1).float().mean(dim=1)
