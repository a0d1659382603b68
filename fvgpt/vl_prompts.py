"""Deep vision-language prompts (PromptSRC's independent V-L prompting) on a stock CLIP.

:class:`VLPromptLearner` extends CoOp's :class:`~fvgpt.prompt_learner.PromptLearner`
(text context placed after SOS, class name at the end) with

- ``text_deep``: ``PROMPT_DEPTH_TEXT - 1`` sets of ``N_CTX_TEXT`` tokens; set
  ``i`` replaces the context positions ``1 .. N_CTX_TEXT`` before text block ``i + 1``;
- ``vision_ctx``: ``N_CTX_VISION`` tokens appended after the image patch tokens
  (absent when ``PROMPT_DEPTH_VISION`` is 0);
- ``vision_deep``: ``PROMPT_DEPTH_VISION - 1`` sets that replace those last
  tokens before vision block ``i + 1``.

:class:`VLPromptedCLIP` is :class:`~fvgpt.prompted_clip.PromptedCLIP` with
these prompts fed through :class:`~fvgpt.text_encoder.TextEncoder` and
:class:`~fvgpt.vision_encoder.VisionEncoder`; CLIP's own modules are neither
copied nor modified, so frozen, prompt-free CLIP stays available as
``clip_model`` (PromptSRC's teachers, FVG's prior).
"""
from __future__ import annotations

import re
from typing import Dict, Mapping, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from clip.model import CLIP

from fvgpt.prompt_learner import PromptLearner
from fvgpt.prompted_clip import PromptedCLIP
from fvgpt.vision_encoder import VisionEncoder

__all__ = ["VLPromptLearner", "VLPromptedCLIP", "from_reference_state_dict"]


def _prompt_tokens(n: int, width: int) -> nn.Parameter:
    tokens = torch.empty(n, width)
    nn.init.normal_(tokens, std=0.02)
    return nn.Parameter(tokens)


class VLPromptLearner(PromptLearner):
    """Text context + deep text prompts + (deep) vision prompts; every parameter is a prompt.

    The text context has CLIP's dtype (as CoOp's); the other prompt tokens are
    fp32 parameters cast to the compute dtype where they are used (as in the
    reference, whose prompt tokens are not converted to fp16).
    """

    def __init__(
        self,
        classnames: Sequence[str],
        token_embedding: nn.Embedding,
        vision_width: int,
        n_ctx_text: int = 4,
        n_ctx_vision: int = 4,
        depth_text: int = 9,
        depth_vision: int = 9,
        ctx_init: str = "a photo of a",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if depth_text < 1:
            raise ValueError(
                f"TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT must be >= 1 (the text context is always learned), got {depth_text}"
            )
        if depth_vision < 0:
            raise ValueError(f"TRAINER.PROMPTSRC.PROMPT_DEPTH_VISION must be >= 0, got {depth_vision}")
        if depth_vision > 0 and n_ctx_vision < 1:
            raise ValueError(f"TRAINER.PROMPTSRC.N_CTX_VISION must be >= 1 with vision prompts, got {n_ctx_vision}")
        if ctx_init:
            words = len(ctx_init.replace("_", " ").strip().split(" "))
            if words != n_ctx_text:
                raise ValueError(
                    f"TRAINER.PROMPTSRC.CTX_INIT '{ctx_init}' has {words} words but N_CTX_TEXT is {n_ctx_text}: "
                    f"the deep text prompts replace exactly the context tokens, so make them agree "
                    f"(or set CTX_INIT \"\" for a random context of N_CTX_TEXT tokens)"
                )
        super().__init__(
            classnames,
            token_embedding,
            n_ctx=n_ctx_text,
            ctx_init=ctx_init,
            csc=False,
            class_token_position="end",
            dtype=dtype,
        )
        text_width = token_embedding.weight.shape[1]
        self.text_deep = nn.ParameterList([_prompt_tokens(n_ctx_text, text_width) for _ in range(depth_text - 1)])
        if depth_vision > 0:
            self.vision_ctx = _prompt_tokens(n_ctx_vision, vision_width)
        else:
            self.register_parameter("vision_ctx", None)
        self.vision_deep = nn.ParameterList(
            [_prompt_tokens(n_ctx_vision, vision_width) for _ in range(max(depth_vision - 1, 0))]
        )
        print(
            f"Deep prompts: text depth {depth_text} ({n_ctx_text} tokens), "
            f"vision depth {depth_vision} ({n_ctx_vision if depth_vision else 0} tokens)"
        )

    @property
    def depth_text(self) -> int:
        return len(self.text_deep) + 1

    @property
    def depth_vision(self) -> int:
        return 0 if self.vision_ctx is None else len(self.vision_deep) + 1

    def text_positions(self) -> slice:
        """Where the context sits in the 77 text tokens (after SOS): what deep text prompts replace."""
        return slice(1, 1 + self.n_ctx)


class VLPromptedCLIP(PromptedCLIP):
    """CLIP with deep text and vision prompts; satisfies the FVG backbone protocol."""

    def __init__(self, clip_model: CLIP, prompt_learner: VLPromptLearner) -> None:
        super().__init__(clip_model, prompt_learner)
        text_layers = len(clip_model.transformer.resblocks)
        if prompt_learner.depth_text > text_layers:
            raise ValueError(
                f"TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT {prompt_learner.depth_text} exceeds the {text_layers} "
                f"layers of the text encoder"
            )
        if prompt_learner.vision_ctx is not None:
            self.image_encoder = VisionEncoder(clip_model.visual)
            if prompt_learner.depth_vision > self.image_encoder.num_layers:
                raise ValueError(
                    f"TRAINER.PROMPTSRC.PROMPT_DEPTH_VISION {prompt_learner.depth_vision} exceeds the "
                    f"{self.image_encoder.num_layers} layers of the image encoder"
                )
            if prompt_learner.vision_ctx.shape[1] != self.image_encoder.width:
                raise ValueError(
                    f"vision prompts of width {prompt_learner.vision_ctx.shape[1]} do not fit an image encoder "
                    f"of width {self.image_encoder.width}"
                )

    def encode_text(self) -> torch.Tensor:
        pl = self.prompt_learner
        feats = self.text_encoder(pl(), pl.tokenized_prompts, list(pl.text_deep), pl.text_positions())
        return F.normalize(feats, dim=-1)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        pl = self.prompt_learner
        if pl.vision_ctx is None:
            return super().encode_image(image)
        return F.normalize(self.image_encoder(image, pl.vision_ctx, list(pl.vision_deep)), dim=-1)

    @torch.no_grad()
    def encode_image_frozen(self, image: torch.Tensor) -> torch.Tensor:
        """L2-normalised image features of frozen, prompt-free CLIP (the same stock modules)."""
        visual = self.image_encoder.visual if isinstance(self.image_encoder, VisionEncoder) else self.image_encoder
        return F.normalize(visual(image.type(self.dtype)), dim=-1)


_REF_DEEP = re.compile(r"^(image|text)_encoder\.transformer\.resblocks\.(\d+)\.VPT_shallow$")


def from_reference_state_dict(state: Mapping[str, torch.Tensor]) -> Optional[Dict[str, torch.Tensor]]:
    """Translate a checkpoint of the reference PromptSRC (its whole CustomCLIP) to our prompt keys.

    The reference stores all of CLIP with prompts inside CLIP's blocks:
    ``prompt_learner.ctx``, ``image_encoder.VPT`` and
    ``{image,text}_encoder.transformer.resblocks.<i>.VPT_shallow`` (block ``i`` >= 1).
    Everything else (CLIP's frozen weights, its zero-shot copy) is dropped.
    Returns None when ``state`` is not in the reference layout.
    """
    if "prompt_learner.ctx" not in state:
        return None
    out: Dict[str, torch.Tensor] = {"ctx": state["prompt_learner.ctx"]}
    if "image_encoder.VPT" in state:
        out["vision_ctx"] = state["image_encoder.VPT"]
    for key, value in state.items():
        m = _REF_DEEP.match(key)
        if m:
            tower = "vision_deep" if m.group(1) == "image" else "text_deep"
            out[f"{tower}.{int(m.group(2)) - 1}"] = value
    return out
