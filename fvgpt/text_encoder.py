"""CLIP's text tower, driven by prompt embeddings rather than token ids.

Prompt tuning replaces word embeddings with learned vectors, so the trainers
cannot call ``clip_model.encode_text``. :class:`TextEncoder` reuses the stock
modules of the loaded CLIP (no copy, no modification) and runs the residual
blocks in its own loop, which lets deep-prompt methods swap prompt tokens
between blocks.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import clip
import torch
import torch.nn as nn
import torch.nn.functional as F
from clip.model import CLIP

from fvgpt.templates import fill_template

__all__ = ["TextEncoder", "run_blocks", "encode_texts", "encode_template_ensemble"]


def run_blocks(
    blocks: nn.Sequential,
    x: torch.Tensor,
    deep_tokens: Optional[Sequence[torch.Tensor]] = None,
    positions: Optional[slice] = None,
) -> torch.Tensor:
    """Run CLIP residual blocks on ``x`` (L, N, D), replacing prompt tokens between blocks.

    ``deep_tokens[i]`` (n, D) replaces the tokens at ``positions`` before block
    ``i + 1``; block 0 sees the input prompts. Without ``deep_tokens`` this is
    exactly ``blocks(x)``.
    """
    deep_tokens = list(deep_tokens or [])
    if len(deep_tokens) >= len(blocks):
        raise ValueError(f"{len(deep_tokens)} deep prompt sets need more than {len(blocks)} blocks")
    if deep_tokens:
        if positions is None:
            raise ValueError("deep prompt tokens need the positions they replace")
        width = len(range(x.shape[0])[positions])
        for i, tokens in enumerate(deep_tokens):
            if tokens.shape != (width, x.shape[2]):
                raise ValueError(
                    f"deep prompt set {i} has shape {tuple(tokens.shape)}; positions {positions.start}:"
                    f"{positions.stop} of width-{x.shape[2]} tokens need ({width}, {x.shape[2]})"
                )
    for i, block in enumerate(blocks):
        if 0 < i <= len(deep_tokens):
            tokens = deep_tokens[i - 1].to(x.dtype).unsqueeze(1).expand(-1, x.shape[1], -1)
            x = torch.cat([x[: positions.start], tokens, x[positions.stop :]], dim=0)
        x = block(x)
    return x


class TextEncoder(nn.Module):
    """Encode prompt embeddings (N, 77, D) with CLIP's transformer; features are not normalised."""

    def __init__(self, clip_model: CLIP) -> None:
        super().__init__()
        self.transformer = clip_model.transformer
        self.positional_embedding = clip_model.positional_embedding
        self.ln_final = clip_model.ln_final
        self.text_projection = clip_model.text_projection

    @property
    def dtype(self) -> torch.dtype:
        # CLIP's own rule (weights' dtype), which follows a later .float().
        return self.text_projection.dtype

    def forward(
        self,
        prompts: torch.Tensor,
        tokenized_prompts: torch.Tensor,
        deep_prompts: Optional[Sequence[torch.Tensor]] = None,
        prompt_positions: Optional[slice] = None,
    ) -> torch.Tensor:
        x = prompts.type(self.dtype) + self.positional_embedding.type(self.dtype)
        x = x.permute(1, 0, 2)  # NLD -> LND
        x = run_blocks(self.transformer.resblocks, x, deep_prompts, prompt_positions)
        x = x.permute(1, 0, 2)
        x = self.ln_final(x).type(self.dtype)
        eot = tokenized_prompts.argmax(dim=-1)  # the end-of-text token has the largest id
        return x[torch.arange(x.shape[0], device=x.device), eot] @ self.text_projection


@torch.no_grad()
def encode_texts(clip_model: CLIP, texts: List[str], batch_size: int = 500, normalize: bool = True) -> torch.Tensor:
    """Frozen CLIP text features (fp32, L2-normalised unless ``normalize`` is False) of ``texts``, batched."""
    device = clip_model.text_projection.device
    feats = []
    for start in range(0, len(texts), batch_size):
        tokens = clip.tokenize(texts[start : start + batch_size]).to(device)
        feats.append(clip_model.encode_text(tokens))
    feats = torch.cat(feats).float()
    return F.normalize(feats, dim=-1) if normalize else feats


@torch.no_grad()
def encode_template_ensemble(
    clip_model: CLIP, templates: Sequence[str], classnames: Sequence[str], batch_size: int = 500
) -> torch.Tensor:
    """Per class, the mean of frozen CLIP's raw text features over ``templates``, then L2-normalised.

    PromptSRC's text teacher: the features are averaged before normalising
    (not the normalised ones), as in its reference implementation.
    """
    texts = [text for template in templates for text in fill_template(template, classnames)]
    feats = encode_texts(clip_model, texts, batch_size, normalize=False)
    return F.normalize(feats.view(len(templates), len(classnames), -1).mean(dim=0), dim=-1)
