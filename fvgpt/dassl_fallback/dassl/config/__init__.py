"""``get_cfg_default()``: a fresh, mutable copy of Dassl's default config."""
from yacs.config import CfgNode

from .defaults import _C as cfg_default

__all__ = ["get_cfg_default", "clean_cfg"]


def get_cfg_default() -> CfgNode:
    """A deep copy, so callers may extend and freeze it without touching the defaults."""
    return cfg_default.clone()


def clean_cfg(cfg: CfgNode, trainer: str) -> None:
    """Drop every TRAINER section except NAME and ``trainer``'s, to shorten printed configs."""
    for key in list(cfg.TRAINER.keys()):
        if key not in ("NAME", trainer.upper()):
            cfg.TRAINER.pop(key, None)
