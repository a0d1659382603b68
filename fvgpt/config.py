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
    # KgCoOp (keeps the reference's key): weight of the knowledge-guided term
    # W * (1 - mean cos(learned class text features, frozen CLIP's hand-written-template features)).
    # The reference's TRAINER.COOP.ALPHA is declared there but read nowhere, and no reference
    # config or script sets it, so it is not accepted here (a key that silently does nothing).
    # Unlike the reference, CTX_INIT is a string (words), as in CoOp: "a photo of a", not True.
    cfg.TRAINER.COOP.W = 1.0


def _add_promptsrc(cfg: CN) -> None:
    """PromptSRC (Khattak et al., ICCV 2023); names and defaults as the reference. All integers."""
    src = cfg.TRAINER.PROMPTSRC = CN()
    src.N_CTX_VISION = 4  # learnable tokens appended after the image patch tokens
    src.N_CTX_TEXT = 4  # learnable context tokens of the text prompt (must match CTX_INIT's words)
    src.CTX_INIT = "a photo of a"  # initial text context; "" = random (N(0, 0.02))
    src.PREC = "fp16"  # fp16, fp32 or amp
    # Depth d: the input prompts plus new tokens before blocks 1 .. d-1 (vision 0 = no vision prompts).
    src.PROMPT_DEPTH_VISION = 9
    src.PROMPT_DEPTH_TEXT = 9  # >= 1
    src.TEXT_LOSS_WEIGHT = 25  # L1(text features, 60-template frozen CLIP text features)
    src.IMAGE_LOSS_WEIGHT = 10  # L1(image features, frozen CLIP image features)
    # Gaussian weighted prompt aggregation over epochs 1..MAX_EPOCH: w(e) ~ N(e; GPA_MEAN, GPA_STD)
    src.GPA_MEAN = 15
    src.GPA_STD = 1


def _add_fvg(cfg: CN) -> None:
    """FVG stage (docs: shared METHOD.md). Every "(choice)" of the method is a switch here."""
    fvg = cfg.TRAINER.FVG = CN()
    # Stage-1 (baseline) run to build on: its output directory and epoch (0 = last saved).
    fvg.BACKBONE_DIR = ""
    fvg.BACKBONE_EPOCH = 0
    # Foreground masks: <MASK_ROOT or DATASET.ROOT/mask>/<image path relative to DATASET.ROOT>
    fvg.MASK_ROOT = ""  # "" = <DATASET.ROOT>/mask
    fvg.MASK_POLICY = "error"  # missing/unreadable mask: error (at start-up) or full (all-ones mask)
    # (choice) background of the foreground view: "mean" = 0 in normalised space, "black" = 0 in pixels
    fvg.BG_FILL = "mean"
    # (choice) CLIP prior text: "photo" = "a photo of a {}.", "dataset" = the dataset's hand-written template
    fvg.PRIOR_TEMPLATE = "photo"
    # FDC adapters. (choice) form: "clip_adapter" = (1-a) v + a MLP(v); "residual" = v + a MLP(v)
    fvg.ADAPTER_FORM = "clip_adapter"
    fvg.ADAPTER_REDUCTION = 4
    fvg.ADAPTER_ALPHA = 0.2
    # Reliability gates (FRG -> r, BRG -> b): MLP 3 -> GATE_HIDDEN -> 1, sigmoid
    fvg.GATE_HIDDEN = 32
    # (choice) L_dist form: "weighted" = (1-r) KL(full) + r KL(fg); "mixture" = KL(mix of teacher logits)
    fvg.DIST_FORM = "weighted"
    fvg.TEMPERATURE = 1.0
    # (choice) prior calibration: which logits b weighs, "backbone" (b z_full + (1-b) z_clip) or "clip"
    fvg.PC_WEIGHT = "backbone"
    # L = L_CE + LAMBDA_BASE * L_dist + LAMBDA_NEW * L_new (the authors' run script uses 10 and 1)
    fvg.LAMBDA_BASE = 10.0
    fvg.LAMBDA_NEW = 1.0
    # Test-time logits: auto (base for SUBSAMPLE_CLASSES base/all, new for new), base, new, backbone, clip
    fvg.EVAL_BRANCH = "auto"


def extend_cfg(cfg: CN) -> None:
    """Add the project's keys to a Dassl default config (mutates ``cfg``)."""
    _add_coop(cfg)
    _add_promptsrc(cfg)
    _add_fvg(cfg)
    cfg.DATASET.SUBSAMPLE_CLASSES = "all"  # all, base or new
