"""Find Dassl checkpoints on disk, with errors that say what exists instead.

Layout (Dassl): ``<dir>/<registered model name>/model.pth.tar-<epoch>``, an
optional ``model-best.pth.tar`` and a ``checkpoint`` file naming the last one.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

__all__ = ["saved_epochs", "checkpoint_path", "BEST_FILE"]

BEST_FILE = "model-best.pth.tar"
_EPOCH_FILE = re.compile(r"^model\.pth\.tar-(\d+)$")


def saved_epochs(model_dir: Path) -> List[int]:
    """Epochs with a regular checkpoint in ``model_dir`` (one registered model's folder), sorted."""
    if not model_dir.is_dir():
        return []
    found = (_EPOCH_FILE.match(p.name) for p in model_dir.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def checkpoint_path(directory: str, name: str, epoch: Optional[int] = None) -> Path:
    """Path of the checkpoint of model ``name`` under run folder ``directory``.

    ``epoch`` None (or 0) means ``model-best.pth.tar`` when present, else the
    last saved epoch. Every failure names what was looked for and what exists.
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"Model directory {root} does not exist")
    model_dir = root / name
    if not model_dir.is_dir():
        others = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "tensorboard")
        hint = f" It holds: {', '.join(others)} (a checkpoint of another trainer?)" if others else ""
        raise FileNotFoundError(f"No '{name}' checkpoint folder in {root}.{hint}")
    epochs = saved_epochs(model_dir)
    if not epoch:
        best = model_dir / BEST_FILE
        if best.is_file():
            return best
        if not epochs:
            raise FileNotFoundError(f"No checkpoint in {model_dir} (expected model.pth.tar-<epoch> or {BEST_FILE})")
        print(f"Note: no {BEST_FILE} in {model_dir}; using the last saved epoch ({epochs[-1]})")
        return model_dir / f"model.pth.tar-{epochs[-1]}"
    path = model_dir / f"model.pth.tar-{epoch}"
    if not path.is_file():
        have = ", ".join(map(str, epochs)) or "none"
        raise FileNotFoundError(f"No checkpoint at {path} (epochs saved in {model_dir}: {have})")
    return path
