"""CoOp's learnable prompt: context vectors placed around each class name's tokens.

Shared by CoOp, KgCoOp and the text side of PromptSRC. Only ``ctx`` is a
parameter. The class-name part (``token_prefix``/``token_suffix`` buffers) is
rebuilt by :meth:`PromptLearner.set_classnames`, so a context tuned on base
classes can be evaluated on new ones; those buffers are dropped when loading a
checkpoint for the same reason.
"""
from __future__ import annotations

from typing import List, Sequence

import clip
import torch
import torch.nn as nn

__all__ = ["CLASS_TOKEN_POSITIONS", "PromptLearner", "clean_classname"]

CLASS_TOKEN_POSITIONS = ("end", "middle", "front")


def clean_classname(name: str) -> str:
    """CoOp's rule: underscores in class names become spaces."""
    return name.replace("_", " ")


class PromptLearner(nn.Module):
    """Learned context + class-name tokens -> prompt embeddings (n_cls, 77, D).

    ``ctx_init`` (words, underscores allowed) fixes both the number of context
    tokens and their initial value, and is always generic (shared by all
    classes), as in CoOp. Otherwise ``n_ctx`` vectors are drawn from N(0, 0.02),
    one set per class when ``csc``.
    """

    def __init__(
        self,
        classnames: Sequence[str],
        token_embedding: nn.Embedding,
        n_ctx: int = 16,
        ctx_init: str = "",
        csc: bool = False,
        class_token_position: str = "end",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if class_token_position not in CLASS_TOKEN_POSITIONS:
            raise ValueError(
                f"TRAINER.COOP.CLASS_TOKEN_POSITION must be one of {CLASS_TOKEN_POSITIONS}, "
                f"got '{class_token_position}'"
            )
        ctx_dim = token_embedding.weight.shape[1]
        if ctx_init:
            ctx_init = ctx_init.replace("_", " ").strip()
            n_ctx = len(ctx_init.split(" "))
            with torch.no_grad():
                tokens = clip.tokenize(ctx_init).to(token_embedding.weight.device)
                embedding = token_embedding(tokens).type(dtype)
            ctx_vectors = embedding[0, 1 : 1 + n_ctx, :].clone()
            prompt_prefix = ctx_init
            if csc:
                print("Note: CTX_INIT gives a generic context; CSC is ignored (as in CoOp)")
            csc = False
        else:
            if n_ctx < 1:
                raise ValueError(f"TRAINER.COOP.N_CTX must be >= 1 without CTX_INIT, got {n_ctx}")
            shape = (len(classnames), n_ctx, ctx_dim) if csc else (n_ctx, ctx_dim)
            ctx_vectors = torch.empty(*shape, dtype=dtype)
            nn.init.normal_(ctx_vectors, std=0.02)
            prompt_prefix = " ".join(["X"] * n_ctx)
        print(f"Initial context: \"{prompt_prefix}\"")
        print(f"Number of context words (tokens): {n_ctx}")

        self.ctx = nn.Parameter(ctx_vectors)
        self.n_ctx = n_ctx
        self.csc = csc
        self.prompt_prefix = prompt_prefix
        self.class_token_position = class_token_position
        self.set_classnames(classnames, token_embedding)

    @property
    def n_cls(self) -> int:
        return self.token_prefix.shape[0]

    @torch.no_grad()
    def set_classnames(self, classnames: Sequence[str], token_embedding: nn.Embedding) -> None:
        """(Re)build the class-name tokens for ``classnames``, keeping the learned context."""
        if self.csc and len(classnames) != self.ctx.shape[0]:
            raise ValueError(
                f"class-specific context was learned for {self.ctx.shape[0]} classes and cannot "
                f"serve {len(classnames)} classes"
            )
        names: List[str] = [clean_classname(n) for n in classnames]
        self.classnames = names
        self.name_lens = [len(clip.clip._tokenizer.encode(n)) for n in names]
        prompts = [f"{self.prompt_prefix} {n}." for n in names]
        device = token_embedding.weight.device
        tokenized = clip.tokenize(prompts).to(device)
        embedding = token_embedding(tokenized).type(self.ctx.dtype)
        # Persistent like CoOp's, so checkpoints stay interchangeable with the reference.
        self.register_buffer("token_prefix", embedding[:, :1, :])  # SOS
        self.register_buffer("token_suffix", embedding[:, 1 + self.n_ctx :, :])  # CLS, EOS, padding
        self.register_buffer("tokenized_prompts", tokenized, persistent=False)

    def forward(self) -> torch.Tensor:
        ctx = self.ctx
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(self.n_cls, -1, -1)
        prefix, suffix = self.token_prefix, self.token_suffix
        if self.class_token_position == "end":
            return torch.cat([prefix, ctx, suffix], dim=1)
        parts = []
        half = self.n_ctx // 2
        for i, name_len in enumerate(self.name_lens):
            name, rest = suffix[i : i + 1, :name_len], suffix[i : i + 1, name_len:]
            c = ctx[i : i + 1]
            if self.class_token_position == "middle":
                parts.append(torch.cat([prefix[i : i + 1], c[:, :half], name, c[:, half:], rest], dim=1))
            else:  # front
                parts.append(torch.cat([prefix[i : i + 1], name, c, rest], dim=1))
        return torch.cat(parts, dim=0)
