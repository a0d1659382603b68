"""A tiny on-disk dataset in the CoOp layout, with foreground masks, for tests and the demo.

Each class is a coloured shape on a cluttered background, so the foreground
really is what identifies the class and a foreground view is informative.
Layout (as a released foreground dataset would be)::

    <root>/synthetic/images/<class>/<class>_<i>.jpg
    <root>/synthetic/split_zhou_Synthetic.json
    <root>/mask/synthetic/images/<class>/<class>_<i>.png   (white = foreground)

Masks are PNG beside JPEG images, which exercises the mask lookup's
same-stem fallback. Generation is deterministic per seed.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from PIL import Image, ImageDraw

__all__ = ["CLASSES", "DATASET_DIR", "SPLIT_FILE", "generate"]

DATASET_DIR = "synthetic"
SPLIT_FILE = "split_zhou_Synthetic.json"

Box = Tuple[int, int, int, int]


def _ellipse(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    d.ellipse(b, fill=fill)


def _rect(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    d.rectangle(b, fill=fill)


def _triangle(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    x0, y0, x1, y1 = b
    d.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=fill)


def _diamond(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    x0, y0, x1, y1 = b
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    d.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill)


def _cross(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    x0, y0, x1, y1 = b
    tx, ty = (x1 - x0) // 3, (y1 - y0) // 3
    d.rectangle((x0 + tx, y0, x1 - tx, y1), fill=fill)
    d.rectangle((x0, y0 + ty, x1, y1 - ty), fill=fill)


def _ring(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    d.ellipse(b, outline=fill, width=max(2, (b[2] - b[0]) // 5))


def _bar(d: ImageDraw.ImageDraw, b: Box, fill) -> None:
    x0, y0, x1, y1 = b
    h = (y1 - y0) // 3
    d.rectangle((x0, y0 + h, x1, y1 - h), fill=fill)


# class name (CoOp style: underscores become spaces in prompts) -> (shape, RGB colour)
CLASSES: Dict[str, Tuple[Callable, Tuple[int, int, int]]] = {
    "red_circle": (_ellipse, (220, 30, 30)),
    "green_square": (_rect, (30, 180, 40)),
    "blue_triangle": (_triangle, (40, 60, 220)),
    "yellow_cross": (_cross, (230, 210, 30)),
    "purple_ring": (_ring, (150, 40, 170)),
    "orange_diamond": (_diamond, (240, 130, 20)),
    "white_bar": (_bar, (245, 245, 245)),
    "pink_triangle": (_triangle, (240, 120, 180)),
    "cyan_circle": (_ellipse, (30, 200, 210)),
    "brown_square": (_rect, (120, 70, 30)),
}


def _render(rng: random.Random, shape: Callable, colour, size: int) -> Tuple[Image.Image, Image.Image]:
    """One image and its mask: the shape over a background of random blobs."""
    bg = tuple(rng.randint(0, 255) for _ in range(3))
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 6)):  # clutter
        x, y, r = rng.randint(0, size), rng.randint(0, size), rng.randint(size // 10, size // 4)
        draw.rectangle((x - r, y - r, x + r, y + r), fill=tuple(rng.randint(0, 255) for _ in range(3)))
    extent = rng.randint(size * 2 // 5, size * 7 // 10)
    x0, y0 = rng.randint(0, size - extent), rng.randint(0, size - extent)
    box = (x0, y0, x0 + extent, y0 + extent)
    jitter = tuple(max(0, min(255, c + rng.randint(-20, 20))) for c in colour)
    shape(draw, box, jitter)
    mask = Image.new("L", (size, size), 0)
    shape(ImageDraw.Draw(mask), box, 255)
    return img, mask


def generate(
    root: Path,
    n_train: int = 8,
    n_val: int = 2,
    n_test: int = 6,
    size: int = 48,
    seed: int = 0,
    classes: Optional[List[str]] = None,
) -> Path:
    """Write the dataset under ``root`` (idempotent: an existing split file is kept) and return its folder."""
    root = Path(root)
    dataset_dir = root / DATASET_DIR
    split_path = dataset_dir / SPLIT_FILE
    if split_path.is_file():
        return dataset_dir
    rng = random.Random(seed)
    split: Dict[str, List[list]] = {"train": [], "val": [], "test": []}
    for label, name in enumerate(classes or list(CLASSES)):
        shape, colour = CLASSES[name]
        counts = (("train", n_train), ("val", n_val), ("test", n_test))
        index = 0
        for part, count in counts:
            for _ in range(count):
                rel = f"{name}/{name}_{index:04d}.jpg"
                img, mask = _render(rng, shape, colour, size)
                img_path = dataset_dir / "images" / rel
                mask_path = (root / "mask" / DATASET_DIR / "images" / rel).with_suffix(".png")
                img_path.parent.mkdir(parents=True, exist_ok=True)
                mask_path.parent.mkdir(parents=True, exist_ok=True)
                img.save(img_path, quality=95)
                mask.save(mask_path)
                split[part].append([rel, label, name])
                index += 1
    tmp = split_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(split, indent=4))
    tmp.replace(split_path)  # written last: its presence means the dataset is complete
    return dataset_dir


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the synthetic CoOp-layout dataset with masks.")
    parser.add_argument("--root", type=Path, default=Path("data"), help="DATASET.ROOT to write into")
    parser.add_argument("--n-train", type=int, default=8)
    parser.add_argument("--n-val", type=int, default=2)
    parser.add_argument("--n-test", type=int, default=6)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = generate(args.root, args.n_train, args.n_val, args.n_test, args.size, args.seed)
    print(f"Synthetic dataset ready at {out}")


if __name__ == "__main__":
    main()
