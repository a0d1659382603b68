"""CLIP whose class text features come from a learnable prompt (CoOp's CustomCLIP).

Only the prompt learner is meant to be trained; the encoders are CLIP's own
modules. Features are exposed separately from logits because KgCoOp's loss and
the FVG stage need them, and evaluation reuses one set of text features for a
whole test set.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from clip.model import CLIP

from fvgpt.prompt_learner import PromptLearner
from fvgpt.text_encoder import TextEncoder

__all__ = ["PromptedCLIP"]


class PromptedCLIP(nn.Module):
    def __init__(self, clip_model: CLIP, prompt_learner: PromptLearner) -> None:
        super().__init__()
        self.prompt_learner = prompt_learner
        self.image_encoder = clip_model.visual
        self.text_encoder = TextEncoder(clip_model)
        self.token_embedding = clip_model.token_embedding
        self.logit_scale = clip_model.logit_scale

    @property
    def dtype(self) -> torch.dtype:
        return self.text_encoder.dtype

    def set_classnames(self, classnames: Sequence[str]) -> None:
        """Rebuild the class-name tokens (e.g. for new classes) keeping the learned context."""
        self.prompt_learner.set_classnames(classnames, self.token_embedding)

    def encode_text(self) -> torch.Tensor:
        """L2-normalised text features (n_cls, D) of the current class names."""
        prompts = self.prompt_learner()
        feats = self.text_encoder(prompts, self.prompt_learner.tokenized_prompts)
        return F.normalize(feats, dim=-1)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """L2-normalised image features (B, D)."""
        return F.normalize(self.image_encoder(image.type(self.dtype)), dim=-1)

    def logits(self, image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        return self.logit_scale.exp() * image_features @ text_features.t()

    def forward(self, image: torch.Tensor, text_features: Optional[torch.Tensor] = None) -> torch.Tensor:
        if text_features is None:
            text_features = self.encode_text()
        return self.logits(self.encode_image(image), text_features)
