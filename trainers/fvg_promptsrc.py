"""FVG-PT's second stage on a tuned PromptSRC (registered as FVG_PromptSRC, alias FVGPT_PromptSRC)."""
from dassl.engine import TRAINER_REGISTRY

from fvgpt.fvg.stage import FVGStage
from fvgpt.registry import register_alias
from trainers.promptsrc import PromptSRC


@TRAINER_REGISTRY.register()
class FVG_PromptSRC(FVGStage, PromptSRC):
    baseline = "PromptSRC"
    # Vision prompts change the image encoder: the CLIP prior f0 needs its own prompt-free pass.
    shares_image_encoder = False


register_alias(TRAINER_REGISTRY, "FVGPT_PromptSRC", FVG_PromptSRC)
