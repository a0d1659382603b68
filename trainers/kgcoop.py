"""KgCoOp (Yao et al., CVPR 2023): CoOp plus a pull toward frozen CLIP's hand-written prompt.

Loss: ``CE + W * (1 - mean_i cos(t_i, t_i^clip))``, with ``t_i`` the learned
class text features and ``t_i^clip`` frozen CLIP's features of the dataset's
template (:func:`fvgpt.templates.kgcoop_template`). The anchors are computed
for the current class names when first needed, never saved. Unlike the
reference, CTX_INIT and CLASS_TOKEN_POSITION are honoured, no unused modules
are created and amp works.
"""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F

from dassl.engine import TRAINER_REGISTRY

from fvgpt.prompt_trainer import LossParts
from fvgpt.prompted_clip import PromptedCLIP
from fvgpt.regularizers import knowledge_guidance_loss
from fvgpt.templates import fill_template, kgcoop_template
from fvgpt.text_encoder import encode_texts
from trainers.coop import CoOp

# Parameters of the reference's prompt learner that it never uses; dropped when loading its checkpoints.
_REFERENCE_UNUSED = ("bias_vectors", "meta_net.")


@TRAINER_REGISTRY.register()
class KgCoOp(CoOp):
    """Knowledge-guided context optimisation; only ``prompt_learner.ctx`` is trained."""

    cfg_section = "COOP"
    model_name = "prompt_learner"

    def anchor_text_features(self) -> torch.Tensor:
        """Frozen CLIP's normalised features of the KgCoOp template for the current class names."""
        template = kgcoop_template(self.cfg.DATASET.NAME)

        def encode(names):
            with torch.autocast(self.device.type, enabled=False):
                return encode_texts(self.clip_model, fill_template(template, names))

        return self.per_class_set("kgcoop_anchors", encode)

    def compute_loss(self, image: torch.Tensor, label: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, LossParts]:
        model: PromptedCLIP = self.model
        text = model.encode_text()
        logits = model.logits(model.encode_image(image), text)
        loss = F.cross_entropy(logits, label)
        w = self.cfg.TRAINER.COOP.W
        if w == 0:  # plain CoOp
            return loss, logits, {}
        kg = knowledge_guidance_loss(text, self.anchor_text_features())
        return loss + w * kg, logits, {"loss_kg": kg.item()}

    def adapt_checkpoint_state(self, state: Dict[str, torch.Tensor], module) -> Dict[str, torch.Tensor]:
        if module is not self.tuned_module():
            return state
        return {k: v for k, v in state.items() if not k.startswith(_REFERENCE_UNUSED)}
