"""Registering a class under a second name (the FVG-PT authors call the trainers FVGPT_*)."""
from __future__ import annotations

from typing import Any


def register_alias(registry: Any, alias: str, obj: Any) -> None:
    """Make ``registry.get(alias)`` return ``obj`` itself (no subclass), in upstream Dassl and the fallback."""
    registry._do_register(alias, obj)
