"""Checkpoint I/O and parameter helpers.

Checkpoints are plain data (tensors, numbers, strings, lists, dicts), so
``torch.load(weights_only=True)`` (the default since torch 2.6) reads them,
and they are written atomically so a crash never leaves a truncated file.
The file handling is :mod:`fvgpt.checkpoint_io`'s, which the patches for
upstream Dassl share.
"""
from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from typing import Any, Iterable

import torch
import torch.nn as nn

from fvgpt.checkpoint_io import CHECKPOINT_POINTER, read_checkpoint, save_checkpoint, strip_module_prefix

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "resume_from_checkpoint",
    "count_num_param",
    "load_pretrained_weights",
    "strip_module_prefix",
]


def load_checkpoint(fpath: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Load a checkpoint on CPU (or as saved, when CUDA is available).

    Files are read with ``weights_only=True``. Checkpoints written by upstream
    Dassl with a warm-up scheduler pickle scheduler objects, which that refuses;
    for such a file only, we warn (naming it) and unpickle it fully, which runs
    code from the file: only do this with files you trust.
    """
    if fpath is None:
        raise ValueError("load_checkpoint(): the file path is None")
    if not os.path.exists(fpath):
        raise FileNotFoundError(f'No checkpoint file at "{fpath}"')
    return read_checkpoint(fpath, legacy_origin="a checkpoint from upstream Dassl?")


def resume_from_checkpoint(
    fdir: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
) -> int:
    """Restore model, optimizer and scheduler from the file named in ``fdir/checkpoint``.

    Returns the saved epoch (the number of finished epochs), i.e. the index of
    the epoch to run next.
    """
    pointer = os.path.join(fdir, CHECKPOINT_POINTER)
    if not os.path.isfile(pointer):
        raise FileNotFoundError(f'Cannot resume: no "{CHECKPOINT_POINTER}" file in "{fdir}"')
    with open(pointer) as f:
        fpath = os.path.join(fdir, f.readline().strip())
    print(f'Loading checkpoint from "{fpath}"')
    checkpoint = load_checkpoint(fpath)
    model.load_state_dict(checkpoint["state_dict"])
    print("Loaded model weights")
    if optimizer is not None and checkpoint.get("optimizer") is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        print("Loaded optimizer")
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
        print("Loaded scheduler")
    start_epoch = int(checkpoint["epoch"])
    print(f"Previous epoch: {start_epoch}")
    return start_epoch


def count_num_param(model: nn.Module | None = None, params: Iterable[Any] | None = None) -> int:
    """Number of scalars in all parameters (trainable or not)."""
    if model is not None:
        return sum(p.numel() for p in model.parameters())
    if params is not None:
        return sum(p["params"].numel() if isinstance(p, dict) else p.numel() for p in params)
    raise ValueError("count_num_param() needs a model or params")


def load_pretrained_weights(model: nn.Module, weight_path: str) -> None:
    """Copy the weights whose names and shapes match; ignore the rest.

    Used for MODEL.INIT_WEIGHTS, where the file may come from a different
    architecture or head, so a partial match is expected (a zero match warns).
    """
    checkpoint = load_checkpoint(weight_path)
    state_dict = checkpoint.get("state_dict", checkpoint)
    model_dict = model.state_dict()
    matched: OrderedDict[str, Any] = OrderedDict()
    discarded: list[str] = []
    for k, v in strip_module_prefix(state_dict).items():
        if k in model_dict and model_dict[k].size() == v.size():
            matched[k] = v
        else:
            discarded.append(k)
    model_dict.update(matched)
    model.load_state_dict(model_dict)
    if not matched:
        warnings.warn(f'Cannot load "{weight_path}": no key matched in name and shape')
    else:
        print(f"Successfully loaded pretrained weights from {weight_path}")
        if discarded:
            print(f"Layers discarded due to unmatched keys or size: {discarded}")
