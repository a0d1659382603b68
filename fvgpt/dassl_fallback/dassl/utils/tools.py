"""Small filesystem, seeding and image helpers shared by datasets and trainers."""
from __future__ import annotations

import json
import os
import random
import warnings
from difflib import SequenceMatcher
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from fvgpt.checkpoint_io import atomic_write  # shared with fvgpt.upstream_patches

__all__ = [
    "mkdir_if_missing",
    "check_isfile",
    "read_json",
    "write_json",
    "atomic_write",
    "set_random_seed",
    "read_image",
    "collect_env_info",
    "listdir_nohidden",
    "get_most_similar_str_to_a_from_b",
    "check_availability",
    "tolist_if_not",
]


def mkdir_if_missing(dirname: str | os.PathLike[str]) -> None:
    """Create ``dirname`` (and parents); a no-op when it exists or is empty."""
    if dirname:
        os.makedirs(dirname, exist_ok=True)


def check_isfile(fpath: str | os.PathLike[str]) -> bool:
    """True if ``fpath`` is a file; warns (naming the path) otherwise."""
    isfile = os.path.isfile(fpath)
    if not isfile:
        warnings.warn(f'No file found at "{fpath}"')
    return isfile


def read_json(fpath: str | os.PathLike[str]) -> Any:
    with open(fpath) as f:
        return json.load(f)


def write_json(obj: Any, fpath: str | os.PathLike[str]) -> None:
    """Write ``obj`` as indented JSON (atomically, so split files are never half-written)."""
    text = json.dumps(obj, indent=4, separators=(",", ": "))
    atomic_write(fpath, lambda f: f.write(text.encode("utf-8")))


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def read_image(path: str | os.PathLike[str]) -> Image.Image:
    """Read an image as RGB PIL, failing loudly on a missing or corrupt file.

    The error names the file, so one bad image in a 100k-image dataset can be
    found and re-downloaded instead of hanging or crashing a worker silently.
    """
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except FileNotFoundError as e:
        raise FileNotFoundError(f'Image file not found: "{path}" (check DATASET.ROOT)') from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise OSError(
            f'Cannot read image "{path}": {e}. The file may be truncated, not an image or '
            "unreadable; re-download or delete it."
        ) from e


def collect_env_info() -> str:
    """Versions of Python, torch, CUDA, GPUs and Pillow, for the top of log.txt."""
    import PIL
    from torch.utils.collect_env import get_pretty_env_info

    return get_pretty_env_info() + f"\n        Pillow ({PIL.__version__})"


def listdir_nohidden(path: str | os.PathLike[str], sort: bool = False) -> list[str]:
    """Entries of ``path`` not starting with a dot (skips .DS_Store and friends)."""
    items = [f for f in os.listdir(path) if not f.startswith(".")]
    if sort:
        items.sort()
    return items


def get_most_similar_str_to_a_from_b(a: str, b: Sequence[str]) -> str | None:
    """The candidate in ``b`` most similar to ``a`` (None when ``b`` is empty)."""
    best, best_ratio = None, -1.0
    for candidate in b:
        ratio = SequenceMatcher(None, a, candidate).ratio()
        if ratio >= best_ratio:
            best, best_ratio = candidate, ratio
    return best


def check_availability(requested: str, available: Sequence[str], what: str = "name") -> None:
    """Raise ValueError listing ``available`` (with a suggestion) if ``requested`` is absent."""
    if requested in available:
        return
    hint = get_most_similar_str_to_a_from_b(requested, available)
    suggestion = f" (do you mean [{hint}]?)" if hint is not None else ""
    raise ValueError(
        f"Unknown {what} [{requested}]; available: {list(available)}{suggestion}. "
        "A project class is only available once the module defining it has been imported."
    )


def tolist_if_not(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]
