"""Resolve ``import dassl`` to upstream Dassl when installed, else to our fallback.

Every CoOp-family file imports ``dassl`` by name, and Dassl is not on PyPI. We
keep those imports untouched and decide, once per process, which package the
name refers to: a real installation always wins; only when none is importable
do we put ``fvgpt/dassl_fallback`` on ``sys.path``.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FALLBACK_ROOT = Path(__file__).resolve().parent / "dassl_fallback"


def is_fallback(module: ModuleType) -> bool:
    """True when ``module`` is our bundled Dassl rather than upstream's."""
    return bool(getattr(module, "__fvgpt_fallback__", False))


def ensure_dassl() -> ModuleType:
    """Import ``dassl`` (upstream if installed, else the fallback) and return it.

    Idempotent and cheap after the first call. Upstream gets its known defects
    on current PyTorch patched (see :mod:`fvgpt.upstream_patches`).
    """
    if "dassl" not in sys.modules and importlib.util.find_spec("dassl") is None:
        fallback = str(FALLBACK_ROOT)
        if fallback not in sys.path:
            sys.path.append(fallback)
    dassl = importlib.import_module("dassl")
    if not is_fallback(dassl):
        from fvgpt.upstream_patches import apply_upstream_patches

        apply_upstream_patches()
    return dassl
