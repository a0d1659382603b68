"""PromptSRC (Khattak et al., ICCV 2023): deep V-L prompts regularised toward frozen CLIP.

Loss: ``CE + TEXT_LOSS_WEIGHT * L1(t, t^clip) + IMAGE_LOSS_WEIGHT * L1(f, f^clip)
+ KL(p^clip || p)``, where ``t^clip`` is frozen CLIP's text feature averaged
over 60 ImageNet templates and ``f^clip`` its prompt-free image feature (both
computed with the very CLIP modules the prompts drive, see
:mod:`fvgpt.vl_prompts`). After every epoch the prompts enter a Gaussian
weighted running sum (GPA, :mod:`fvgpt.gpa`) that replaces them after the
last epoch, so the last checkpoint and the final test use the aggregate.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from clip.model import CLIP

from dassl.engine import TRAINER_REGISTRY
from dassl.utils import load_checkpoint

from fvgpt.gpa import PromptAggregator, gpa_weights
from fvgpt.prompt_trainer import LossParts, PromptTuningTrainer
from fvgpt.regularizers import self_consistency_losses
from fvgpt.templates import IMAGENET_TEMPLATES_60
from fvgpt.text_encoder import encode_template_ensemble
from fvgpt.vl_prompts import VLPromptedCLIP, VLPromptLearner, from_reference_state_dict


def build_vl_prompt_learner(cfg, clip_model: CLIP, classnames: Sequence[str]) -> VLPromptLearner:
    """PromptSRC's prompts from TRAINER.PROMPTSRC."""
    c = cfg.TRAINER.PROMPTSRC
    return VLPromptLearner(
        classnames,
        clip_model.token_embedding,
        vision_width=clip_model.visual.conv1.out_channels,
        n_ctx_text=c.N_CTX_TEXT,
        n_ctx_vision=c.N_CTX_VISION,
        depth_text=c.PROMPT_DEPTH_TEXT,
        depth_vision=c.PROMPT_DEPTH_VISION,
        ctx_init=c.CTX_INIT,
        dtype=clip_model.dtype,
    )


@TRAINER_REGISTRY.register()
class PromptSRC(PromptTuningTrainer):
    """Deep vision and text prompts with self-regularising constraints and GPA."""

    cfg_section = "PROMPTSRC"
    model_name = "VLPromptLearner"
    gpa: Optional[PromptAggregator] = None  # set by build_model (not by the FVG stage, which trains no prompts)

    def build_backbone(self, clip_model: CLIP, classnames: Sequence[str]) -> VLPromptedCLIP:
        return VLPromptedCLIP(clip_model, build_vl_prompt_learner(self.cfg, clip_model, classnames))

    def build_model(self) -> None:
        c = self.cfg.TRAINER.PROMPTSRC
        weights = gpa_weights(self.cfg.OPTIM.MAX_EPOCH, c.GPA_MEAN, c.GPA_STD)
        super().build_model()
        self.gpa = PromptAggregator(dict(self.model.prompt_learner.named_parameters()), weights)

    # ------------------------------------------------------------ teachers
    def teacher_text_features(self) -> torch.Tensor:
        """Frozen CLIP's 60-template ensemble for the current class names (fp32, normalised), cached."""
        def encode(names):
            with torch.autocast(self.device.type, enabled=False):
                return encode_template_ensemble(self.clip_model, IMAGENET_TEMPLATES_60, names)

        return self.per_class_set("promptsrc_teacher_text", encode)

    def compute_loss(self, image: torch.Tensor, label: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, LossParts]:
        model: VLPromptedCLIP = self.model
        text = model.encode_text()
        feats = model.encode_image(image)
        logits = model.logits(feats, text)
        ce = F.cross_entropy(logits, label)
        teacher_text = self.teacher_text_features()
        with torch.no_grad():
            if model.prompt_learner.vision_ctx is None:
                teacher_image = feats.detach()  # no vision prompts: the image path is frozen CLIP's
            else:
                teacher_image = model.encode_image_frozen(image)
            teacher_logits = model.logit_scale.exp().float() * teacher_image.float() @ teacher_text.t()
        sc = self_consistency_losses(text, teacher_text, feats, teacher_image, logits, teacher_logits)
        c = self.cfg.TRAINER.PROMPTSRC
        loss = ce + c.TEXT_LOSS_WEIGHT * sc.text + c.IMAGE_LOSS_WEIGHT * sc.image + sc.logits
        parts = {
            "loss_ce": ce.item(),
            "loss_text": sc.text.item(),
            "loss_image": sc.image.item(),
            "loss_kl": sc.logits.item(),
        }
        return loss, logits, parts

    # ------------------------------------------------------------------ GPA
    def after_epoch(self) -> None:
        if self.gpa is not None:
            epoch = self.epoch + 1
            weight = self.gpa.accumulate(epoch)
            print(f"GPA: epoch {epoch} prompts added with weight {weight:.4f}")
            if epoch == self.max_epoch:
                c = self.cfg.TRAINER.PROMPTSRC
                print(
                    f"GPA: prompts replaced by their Gaussian-weighted average over epochs "
                    f"{self.gpa.epochs[0]}-{epoch} (GPA_MEAN {c.GPA_MEAN}, GPA_STD {c.GPA_STD})"
                )
                self.gpa.apply()
                self._text_cache = None
        super().after_epoch()  # saves the checkpoint: after the last epoch it holds the aggregate

    def checkpoint_extras(self) -> Dict:
        extras = super().checkpoint_extras()
        if self.gpa is not None:
            extras["gpa"] = self.gpa.state_dict()
        return extras

    def resume_model_if_exist(self, directory: str) -> int:
        start_epoch = super().resume_model_if_exist(directory)
        if self.gpa is None or start_epoch <= 0:
            return start_epoch
        model_dir = osp.join(directory, self.model_name)
        with open(osp.join(model_dir, "checkpoint")) as f:
            checkpoint = load_checkpoint(osp.join(model_dir, f.readline().strip()))
        state = checkpoint.get("gpa")
        if state is None:
            print(f"Warning: the checkpoint in {model_dir} holds no GPA state; GPA will average epochs {start_epoch + 1}.. only")
        else:
            self.gpa.load_state_dict(state)
            print(f"GPA: restored the running sum over epochs {self.gpa.epochs}")
        return start_epoch

    # ---------------------------------------------------------- checkpoints
    def adapt_checkpoint_state(self, state: Dict[str, torch.Tensor], module) -> Dict[str, torch.Tensor]:
        if module is not self.tuned_module():
            return state
        translated = from_reference_state_dict(state)
        if translated is None:
            return state
        print("Note: reference PromptSRC checkpoint (whole model); using its prompt tokens only")
        return translated
