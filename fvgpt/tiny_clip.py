"""Tiny CLIP checkpoints with the real openai CLIP architecture, for tests and the demo.

Real weights cannot be downloaded in CI, so tests build a CLIP with small widths,
save it the way real checkpoints are stored, and load it through
:func:`fvgpt.clip_loading.load_clip`, the same path a real checkpoint takes. The
vocabulary (49,408 BPE tokens) and context length (77) are CLIP's, so the stock
tokenizer and every prompt-assembly code path run unchanged.
"""
from __future__ import annotations

import argparse
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import torch
from clip.model import CLIP

__all__ = ["TinyCLIPSpec", "build_tiny_clip", "save_tiny_clip"]


@dataclass(frozen=True)
class TinyCLIPSpec:
    """Architecture of a tiny ViT CLIP (heads = width // 64, as ``clip.build_model`` infers)."""

    embed_dim: int = 32
    image_resolution: int = 32
    vision_layers: int = 2
    vision_width: int = 64
    vision_patch_size: int = 8
    context_length: int = 77
    vocab_size: int = 49408
    transformer_width: int = 64
    transformer_layers: int = 2

    @property
    def transformer_heads(self) -> int:
        return self.transformer_width // 64


def build_tiny_clip(spec: TinyCLIPSpec = TinyCLIPSpec(), seed: int = 0) -> CLIP:
    """A randomly initialised fp32 CLIP with CLIP's own initialisation, deterministic per seed."""
    fields = asdict(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIP(transformer_heads=spec.transformer_heads, **fields)
    return model.eval()


def save_tiny_clip(path: Path, model: CLIP, torchscript: bool = False) -> Path:
    """Save ``model`` as a plain state dict, or as a TorchScript archive like OpenAI's files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if torchscript:
        res = model.visual.input_resolution
        example = (torch.zeros(1, 3, res, res), torch.zeros(1, model.context_length, dtype=torch.long))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(model, example, check_trace=False)
        traced.save(str(tmp))
    else:
        torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return path


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description="Write a tiny CLIP checkpoint (random weights).")
    parser.add_argument("output", type=Path, help="checkpoint file to write, e.g. checkpoints/tiny_clip.pt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torchscript", action="store_true", help="write a TorchScript archive")
    args = parser.parse_args(argv)
    path = save_tiny_clip(args.output, build_tiny_clip(seed=args.seed), torchscript=args.torchscript)
    print(f"Tiny CLIP written to {path}")


if __name__ == "__main__":
    main()
