"""Every config key the project adds to Dassl's defaults, with its default, in one place.

``train.py`` calls :func:`extend_cfg` before merging any yaml file, exactly as the
CoOp family's ``extend_cfg`` does, so reference yaml files and shell scripts keep
working. Key names follow the reference repositories (``TRAINER.COOP.*``,
``TRAINER.PROMPTSRC.*``); FVG's keys live under ``TRAINER.FVG``.
"""
from __future__ import annotations

from yacs.config import CfgNode as CN


def _add_coop(cfg: CN) -> None:
    cfg.TRAINER.COOP = CN()
    cfg.TRAINER.COOP.N_CTX = 16  # number of context vectors
    cfg.TRAINER.COOP.CSC = False  # class-specific context
    cfg.TRAINER.COOP.CTX_INIT = ""  # initialisation words; "" = random
    cfg.TRAINER.COOP.PREC = "fp16"  # fp16, fp32 or amp
    cfg.TRAINER.COOP.CLASS_TOKEN_POSITION = "end"  # end, middle or front


def _add_fvg(cfg: CN) -> None:
    cfg.TRAINER.FVG = CN()
    # Foreground masks: <MASK_ROOT or DATASET.ROOT/mask>/<image path relative to DATASET.ROOT>
    cfg.TRAINER.FVG.MASK_ROOT = ""  # "" = <DATASET.ROOT>/mask
    cfg.TRAINER.FVG.MASK_POLICY = "error"  # missing/unreadable mask: error (at start-up) or full (all-ones mask)


def extend_cfg(cfg: CN) -> None:
    """Add the project's keys to a Dassl default config (mutates ``cfg``)."""
    _add_coop(cfg)
    _add_fvg(cfg)
    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base or new
