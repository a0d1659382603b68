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

__all__ = ["TinyCLIPSpec", "build_tiny_clip", "save_tiny_clip", "pretrain_on_split"]


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
    parser.add_argument("--pretrain-on", type=Path, help="CoOp-layout dataset folder to align the model with")
    parser.add_argument("--split-file", default="split_zhou_Synthetic.json", help="split file inside --pretrain-on")
    parser.add_argument("--steps", type=int, default=200, help="pre-training steps")
    parser.add_argument("--layers", type=int, default=TinyCLIPSpec.vision_layers,
                        help="transformer layers per tower (deep prompts need one per prompt depth)")
    args = parser.parse_args(argv)
    model = build_tiny_clip(TinyCLIPSpec(vision_layers=args.layers, transformer_layers=args.layers), seed=args.seed)
    if args.pretrain_on:
        model = pretrain_on_split(model, args.pretrain_on, args.split_file, args.steps, args.seed)
    path = save_tiny_clip(args.output, model, torchscript=args.torchscript)
    print(f"Tiny CLIP written to {path}")



def pretrain_on_split(model: CLIP, dataset_dir: Path, split_file: str, steps: int = 200, seed: int = 0) -> CLIP:
    """Align a tiny CLIP with a CoOp-layout dataset, so its zero-shot predictions beat chance.

    A stand-in for CLIP's web-scale pre-training in the demo: image features are
    pulled towards the text features of "a photo of a {class}." with a
    cross-entropy over all classes. Uses the train split only, every class.
    """
    import json

    import clip
    import torch.nn.functional as F
    from PIL import Image
    from torchvision import transforms as T

    split = json.loads((Path(dataset_dir) / split_file).read_text())["train"]
    names = sorted({(label, name) for _, label, name in split})
    res = model.visual.input_resolution
    tfm = T.Compose([
        T.RandomResizedCrop(res, scale=(0.5, 1.0)),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ])
    images = [Image.open(Path(dataset_dir) / "images" / rel).convert("RGB") for rel, _, _ in split]
    labels = torch.tensor([label for _, label, _ in split])
    tokens = clip.tokenize([f"a photo of a {name.replace('_', ' ')}." for _, name in names])
    model = model.float().train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for step in range(steps):
            idx = torch.randint(len(images), (64,))
            batch = torch.stack([tfm(images[i]) for i in idx])
            img = F.normalize(model.encode_image(batch), dim=-1)
            txt = F.normalize(model.encode_text(tokens), dim=-1)
            loss = F.cross_entropy(model.logit_scale.exp() * img @ txt.t(), labels[idx])
            optim.zero_grad()
            loss.backward()
            optim.step()
            if (step + 1) % 50 == 0:
                print(f"tiny CLIP pre-training step {step + 1}/{steps} loss {loss.item():.4f}")
    return model.eval()


if __name__ == "__main__":
    main()
