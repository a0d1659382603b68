"""Load a CLIP model from an official name or a local checkpoint, without network surprises.

Every trainer reads ``MODEL.BACKBONE.NAME`` through :func:`load_clip`. Official
names resolve to OpenAI's TorchScript archives in the CLIP cache directory;
anything else is treated as a path to a local checkpoint (a TorchScript archive
or a plain state dict), which is how tests and offline machines supply weights.
The model is always built with ``clip.build_model`` so that a tiny test
checkpoint goes through exactly the code path of a real one.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Dict

import clip
import torch
from clip.model import CLIP, build_model

__all__ = ["CLIPLoadError", "clip_cache_dir", "official_models", "resolve_checkpoint", "read_state_dict", "load_clip"]


class CLIPLoadError(FileNotFoundError):
    """CLIP weights could not be located or read; the message says where to put them."""


def clip_cache_dir() -> Path:
    """Where official weights are cached (``$CLIP_CACHE_DIR`` or ``~/.cache/clip``, as in openai/CLIP)."""
    return Path(os.environ.get("CLIP_CACHE_DIR", "~/.cache/clip")).expanduser()


def official_models() -> Dict[str, str]:
    """Official model name -> download URL (taken from the installed ``clip`` package)."""
    return dict(clip.clip._MODELS)


def resolve_checkpoint(name: str) -> Path:
    """Return the file holding the weights for ``name`` (official name or local path).

    An official model that is not cached is downloaded through ``clip``; when
    that fails (no network), the error names the exact file and where it belongs.
    """
    models = official_models()
    if name in models:
        url = models[name]
        target = clip_cache_dir() / os.path.basename(url)
        try:
            return Path(clip.clip._download(url, str(clip_cache_dir())))
        except Exception as exc:  # no network, checksum mismatch, read-only cache...
            raise CLIPLoadError(
                f"CLIP weights for MODEL.BACKBONE.NAME '{name}' are not available: expected the file "
                f"{target} ({exc.__class__.__name__}: {exc}). Download {url} on a machine with "
                f"internet access and copy it to {target} (or set $CLIP_CACHE_DIR), or set "
                f"MODEL.BACKBONE.NAME to the path of a local checkpoint."
            ) from exc
    path = Path(name).expanduser()
    if path.is_file():
        return path
    raise CLIPLoadError(
        f"MODEL.BACKBONE.NAME '{name}' is neither an official CLIP model ({', '.join(models)}) "
        f"nor an existing checkpoint file."
    )


def read_state_dict(path: Path) -> Dict[str, torch.Tensor]:
    """Read CLIP weights from a TorchScript archive (official format) or a plain state dict."""
    try:
        with warnings.catch_warnings():  # torch.jit is deprecated, but it is OpenAI's file format
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path), map_location="cpu").state_dict()
    except RuntimeError:
        pass
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CLIPLoadError(f"Cannot read CLIP checkpoint {path}: {exc}") from exc
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or "text_projection" not in obj:
        raise CLIPLoadError(
            f"{path} is not a CLIP checkpoint: expected a TorchScript archive or a state dict "
            f"with CLIP's keys (e.g. 'text_projection')."
        )
    return dict(obj)


def load_clip(name: str) -> CLIP:
    """Build the CLIP model for ``name`` on the CPU, in eval mode, with CLIP's own fp16 weights.

    Callers move it to their device and call ``.float()`` for fp32/amp, as CoOp does.
    """
    path = resolve_checkpoint(name)
    state_dict = read_state_dict(path)
    try:
        return build_model(state_dict)
    except Exception as exc:
        raise CLIPLoadError(f"{path} does not hold a CLIP model that clip.build_model can build: {exc}") from exc
