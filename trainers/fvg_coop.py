"""FVG-PT's second stage on a tuned CoOp (registered as FVG_CoOp, alias FVGPT_CoOp)."""
from dassl.engine import TRAINER_REGISTRY

from fvgpt.fvg.stage import FVGStage
from fvgpt.registry import register_alias
from trainers.coop import CoOp


@TRAINER_REGISTRY.register()
class FVG_CoOp(FVGStage, CoOp):
    baseline = "CoOp"


register_alias(TRAINER_REGISTRY, "FVGPT_CoOp", FVG_CoOp)
