"""EVALUATOR_REGISTRY and ``build_evaluator(cfg)``: TEST.EVALUATOR -> evaluator instance."""
from __future__ import annotations

from typing import Any

from dassl.utils import Registry
from dassl.utils.registry import build_from_registry

EVALUATOR_REGISTRY = Registry("EVALUATOR")


def build_evaluator(cfg: Any, **kwargs: Any) -> Any:
    """Instantiate the evaluator registered as ``cfg.TEST.EVALUATOR`` with ``cfg`` and ``kwargs``."""
    return build_from_registry(EVALUATOR_REGISTRY, cfg.TEST.EVALUATOR, "evaluator", "TEST.EVALUATOR", cfg, **kwargs)
