"""The baselines' regularisers toward frozen CLIP (KgCoOp, PromptSRC), as plain functions.

All computed in fp32 whatever the compute precision of their inputs.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = ["knowledge_guidance_loss", "SCLosses", "self_consistency_losses"]


def knowledge_guidance_loss(text_features: torch.Tensor, anchor_features: torch.Tensor) -> torch.Tensor:
    """KgCoOp: ``1 - mean_i cos(t_i, t_i^clip)`` over the classes (rows)."""
    if text_features.shape != anchor_features.shape:
        raise ValueError(f"text features {tuple(text_features.shape)} vs anchors {tuple(anchor_features.shape)}")
    cos = F.cosine_similarity(text_features.float(), anchor_features.float(), dim=-1)
    return 1.0 - cos.mean()


class SCLosses(NamedTuple):
    """PromptSRC's self-regularising terms, unweighted."""

    text: torch.Tensor  # mean |t - t^clip| over classes and dimensions (normalised features)
    image: torch.Tensor  # mean |f - f^clip| over the batch and dimensions (normalised features)
    logits: torch.Tensor  # KL(p^clip || p), summed, divided by batch * classes


def self_consistency_losses(
    text_features: torch.Tensor,
    teacher_text: torch.Tensor,
    image_features: torch.Tensor,
    teacher_image: torch.Tensor,
    logits: torch.Tensor,
    teacher_logits: torch.Tensor,
) -> SCLosses:
    """PromptSRC's L_SCL parts; the teacher tensors are treated as constants."""
    text = F.l1_loss(text_features.float(), teacher_text.detach().float())
    image = F.l1_loss(image_features.float(), teacher_image.detach().float())
    kl = F.kl_div(
        F.log_softmax(logits.float(), dim=1),
        F.log_softmax(teacher_logits.detach().float(), dim=1),
        reduction="sum",
        log_target=True,
    ) / logits.numel()
    return SCLosses(text, image, kl)
