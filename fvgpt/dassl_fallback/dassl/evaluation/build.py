"""EVALUATOR_REGISTRY and ``build_evaluator(cfg)``: TEST.EVALUATOR -> evaluator instance."""
from __future__ import annotations

from typing import Any

from dassl.utils import Registry, check_availability

EVALUATOR_REGISTRY = Registry("EVALUATOR")


def build_evaluator(cfg: Any, **kwargs: Any) -> Any:
    check_availability(cfg.TEST.EVALUATOR, EVALUATOR_REGISTRY.registered_names(), what="evaluator (TEST.EVALUATOR)")
    if cfg.VERBOSE:
        print(f"Loading evaluator: {cfg.TEST.EVALUATOR}")
    return EVALUATOR_REGISTRY.get(cfg.TEST.EVALUATOR)(cfg, **kwargs)
