"""CLIP's ViT image tower, driven piece by piece so that prompt tokens can be added.

Deep vision prompting (VPT-style, as in PromptSRC) appends learnable tokens to
the token sequence and swaps them for new ones between transformer blocks. The
reference implementations edit CLIP's model code for that; here
:class:`VisionEncoder` keeps the stock ``clip_model.visual`` (no copy, no
modification) and runs its pieces itself: patch embedding (``conv1``), class
token, positional embedding, then the prompt tokens (without a positional
embedding), ``ln_pre``, the residual blocks via
:func:`~fvgpt.text_encoder.run_blocks`, ``ln_post`` on the class token and
``proj``. Without prompts the result equals ``visual(images)`` exactly.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
from clip.model import VisionTransformer

from fvgpt.text_encoder import run_blocks

__all__ = ["VisionEncoder"]


class VisionEncoder(nn.Module):
    """Encode images (B, 3, H, W) with a CLIP ViT, optionally with prompt tokens; features are not normalised."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        if not isinstance(visual, VisionTransformer):
            raise TypeError(
                f"vision prompts need a ViT image encoder (e.g. MODEL.BACKBONE.NAME ViT-B/16), "
                f"got {type(visual).__name__}"
            )
        self.visual = visual

    @property
    def dtype(self) -> torch.dtype:
        return self.visual.conv1.weight.dtype

    @property
    def width(self) -> int:
        return self.visual.conv1.out_channels

    @property
    def num_layers(self) -> int:
        return len(self.visual.transformer.resblocks)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Class + patch tokens with positional embedding (B, 1 + grid**2, width), before ``ln_pre``."""
        v = self.visual
        x = v.conv1(images.type(self.dtype))
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # (B, grid**2, width)
        cls = v.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1)
        return x + v.positional_embedding.to(x.dtype)

    def forward(
        self,
        images: torch.Tensor,
        prompts: Optional[torch.Tensor] = None,
        deep_prompts: Optional[Sequence[torch.Tensor]] = None,
    ) -> torch.Tensor:
        """Image features (B, embed_dim).

        ``prompts`` (n, width) are appended after the patch tokens of every
        image; ``deep_prompts[i]`` (n, width) replaces those last ``n`` tokens
        before block ``i + 1``.
        """
        v = self.visual
        x = self.embed(images)
        n = 0
        if prompts is not None:
            n = prompts.shape[0]
            x = torch.cat([x, prompts.to(x.dtype).unsqueeze(0).expand(x.shape[0], -1, -1)], dim=1)
        elif deep_prompts:
            raise ValueError("deep vision prompts need input prompts (depth >= 1)")
        x = v.ln_pre(x)
        x = x.permute(1, 0, 2)  # NLD -> LND
        length = x.shape[0]
        x = run_blocks(v.transformer.resblocks, x, deep_prompts, slice(length - n, length))
        x = x.permute(1, 0, 2)
        x = v.ln_post(x[:, 0, :])
        if v.proj is not None:
            x = x @ v.proj
        return x
