"""FVG-PT's second stage on a tuned KgCoOp (registered as FVG_KgCoOp, alias FVGPT_KgCoOp)."""
from dassl.engine import TRAINER_REGISTRY

from fvgpt.fvg.stage import FVGStage
from fvgpt.registry import register_alias
from trainers.kgcoop import KgCoOp


@TRAINER_REGISTRY.register()
class FVG_KgCoOp(FVGStage, KgCoOp):
    baseline = "KgCoOp"  # the image encoder is frozen CLIP's: one pass gives f and f0


register_alias(TRAINER_REGISTRY, "FVGPT_KgCoOp", FVG_KgCoOp)
