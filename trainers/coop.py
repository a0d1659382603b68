"""CoOp (Zhou et al., IJCV 2022): learn the context words of CLIP's text prompt."""
from typing import Sequence

from clip.model import CLIP

from dassl.engine import TRAINER_REGISTRY

from fvgpt.prompt_learner import PromptLearner
from fvgpt.prompt_trainer import PromptTuningTrainer
from fvgpt.prompted_clip import PromptedCLIP


def build_coop_prompt_learner(cfg, clip_model: CLIP, classnames: Sequence[str]) -> PromptLearner:
    """CoOp's prompt learner from TRAINER.COOP (shared with KgCoOp)."""
    c = cfg.TRAINER.COOP
    return PromptLearner(
        classnames,
        clip_model.token_embedding,
        n_ctx=c.N_CTX,
        ctx_init=c.CTX_INIT,
        csc=c.CSC,
        class_token_position=c.CLASS_TOKEN_POSITION,
        dtype=clip_model.dtype,
    )


@TRAINER_REGISTRY.register()
class CoOp(PromptTuningTrainer):
    """Context Optimization: only ``prompt_learner.ctx`` is trained, with cross-entropy."""

    cfg_section = "COOP"
    model_name = "prompt_learner"

    def build_backbone(self, clip_model: CLIP, classnames: Sequence[str]) -> PromptedCLIP:
        return PromptedCLIP(clip_model, build_coop_prompt_learner(self.cfg, clip_model, classnames))
