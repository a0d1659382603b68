"""Dassl-layout checkpoint files, written atomically and read as plain data.

Shared by the bundled Dassl fallback (``dassl.utils``) and the patches for
upstream Dassl (:mod:`fvgpt.upstream_patches`), which cannot import each other
(both are named ``dassl``). Imports neither ``dassl`` nor anything heavier than
torch, so the fallback can import it while ``fvgpt`` itself is being imported.

Layout (Dassl's): ``<save_dir>/model.pth.tar-<epoch>`` (or a given name), a
``checkpoint`` text file naming the last file saved and, for the best model,
a copy named ``model-best.pth.tar``.
"""
from __future__ import annotations

import os
import pickle
import shutil
import uuid
from collections import OrderedDict
from typing import IO, Any, Callable

import torch

__all__ = [
    "CHECKPOINT_POINTER",
    "atomic_write",
    "read_checkpoint",
    "save_checkpoint",
    "strip_module_prefix",
]

CHECKPOINT_POINTER = "checkpoint"  # text file naming the last checkpoint saved in a folder


def atomic_write(fpath: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write`` on a temporary file next to ``fpath``, then rename it into place.

    The rename is atomic on POSIX and Windows, so a crash or an exception in
    ``write`` leaves either the previous file or the complete new one, never a
    truncated file; the temporary file is removed on failure. The file gets the
    usual permissions (0o666 minus the umask), unlike ``tempfile.mkstemp``'s 0o600.
    """
    fpath = os.fspath(fpath)
    directory = os.path.dirname(fpath) or "."
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(fpath)}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fpath)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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

    Also records the file name in ``save_dir/checkpoint`` (read when resuming)
    and, with ``is_best``, copies it to ``model-best.pth.tar``. Every file is
    replaced atomically; the caller's ``state`` is not modified. Prints Dassl's
    lines and returns the path.
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


def read_checkpoint(fpath: str | os.PathLike[str], legacy_origin: str) -> dict[str, Any]:
    """Load the checkpoint at ``fpath`` on CPU (or as saved, when CUDA is available).

    The file is read with ``weights_only=True``. Checkpoints written by upstream
    Dassl with a warm-up scheduler pickle scheduler objects, which that refuses;
    for such a file only, a warning naming it (and, in parentheses,
    ``legacy_origin``: where such a file comes from) is printed and the file is
    unpickled fully, which runs code from the file: only load files you trust.
    Callers check ``fpath`` first, with their own messages.
    """
    map_location = None if torch.cuda.is_available() else "cpu"
    try:
        return torch.load(fpath, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        print(
            f'Warning: "{fpath}" holds pickled Python objects ({legacy_origin}); '
            "loading it with weights_only=False. Re-save it to avoid this. "
            f"({str(e).splitlines()[0]})"
        )
        return torch.load(fpath, map_location=map_location, weights_only=False)
    except Exception:
        print(f'Unable to load checkpoint from "{fpath}"')
        raise
