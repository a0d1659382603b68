"""Targeted fixes for upstream Dassl's defects on current PyTorch (filled in by the fallback work)."""
from __future__ import annotations


def apply_upstream_patches() -> None:
    """Detect each known defect of the installed upstream Dassl and patch it in place."""
