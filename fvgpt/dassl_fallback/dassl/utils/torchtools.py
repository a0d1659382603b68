"""Checkpoint I/O and parameter helpers.

Checkpoints are plain data (tensors, numbers, strings, lists, dicts), so
``torch.load(weights_only=True)`` (the default since torch 2.6) reads them,
and they are written atomically so a crash never leaves a truncated file.
"""
from __future__ import annotations

import os
import pickle
import shutil
import warnings
from collections import OrderedDict
from typing import Any, Iterable

import torch
import torch.nn as nn

from .tools import atomic_write

__all__ = [
    "save_checkpoint",
    "load_checkpoint",
    "resume_from_checkpoint",
    "count_num_param",
    "load_pretrained_weights",
    "strip_module_prefix",
]

CHECKPOINT_POINTER = "checkpoint"  # text file naming the last checkpoint saved in a folder


def strip_module_prefix(state_dict: dict[str, Any]) -> OrderedDict[str, Any]:
    """Drop the leading ``module.`` that nn.DataParallel adds to every key."""
    return OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in state_dict.items())


def save_checkpoint(
    state: dict[str, Any],
    save_dir: str,
    is_best: bool = False,
    remove_module_from_keys: bool = True,
    model_name: str = "",
) -> str:
    """Save ``state`` to ``save_dir/model.pth.tar-<state['epoch']>`` (or ``model_name``).

    Also records the file name in ``save_dir/checkpoint`` (read by
    :func:`resume_from_checkpoint`) and, with ``is_best``, copies it to
    ``model-best.pth.tar``. Every file is replaced atomically. Returns the path.
    """
    state = dict(state)  # do not mutate the caller's dict
    if remove_module_from_keys:
        state["state_dict"] = strip_module_prefix(state["state_dict"])
    fpath = os.path.join(save_dir, model_name or f"model.pth.tar-{state['epoch']}")
    atomic_write(fpath, lambda f: torch.save(state, f))
    print(f"Checkpoint saved to {fpath}")

    pointer = (os.path.basename(fpath) + "\n").encode("utf-8")
    atomic_write(os.path.join(save_dir, CHECKPOINT_POINTER), lambda f: f.write(pointer))

    if is_best:
        best_fpath = os.path.join(save_dir, "model-best.pth.tar")

        def copy(f: Any) -> None:
            with open(fpath, "rb") as src:
                shutil.copyfileobj(src, f)

        atomic_write(best_fpath, copy)
        print(f'Best checkpoint saved to "{best_fpath}"')
    return fpath


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
    map_location = None if torch.cuda.is_available() else "cpu"
    try:
        return torch.load(fpath, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        print(
            f'Warning: "{fpath}" holds pickled Python objects (a checkpoint from '
            "upstream Dassl?); loading it with weights_only=False. Re-save it to avoid this. "
            f"({str(e).splitlines()[0]})"
        )
        return torch.load(fpath, map_location=map_location, weights_only=False)
    except Exception:
        print(f'Unable to load checkpoint from "{fpath}"')
        raise


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
