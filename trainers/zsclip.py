"""Zero-shot CLIP with the dataset's hand-written prompt (CoOp's ZeroshotCLIP): the reference row of every table.

Nothing is trained. ``train.py --eval-only`` (with or without ``--model-dir``,
which is ignored) encodes one sentence per class with frozen CLIP, from the
template :func:`fvgpt.templates.dataset_template` gives for ``DATASET.NAME``,
and classifies the test set by cosine similarity, scaled by CLIP's logit scale.
Precision follows ``TRAINER.COOP.PREC`` as in CoOp, whose configs it reads.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from dassl.engine import TRAINER_REGISTRY

from fvgpt.prompt_trainer import PromptTuningTrainer
from fvgpt.templates import dataset_template, fill_template
from fvgpt.text_encoder import encode_texts


@TRAINER_REGISTRY.register()
class ZeroshotCLIP(PromptTuningTrainer):
    """Frozen CLIP; text features are computed once per class set and reused for every test batch."""

    cfg_section = "COOP"

    def build_model(self) -> None:
        clip_model = self.build_clip()
        clip_model.requires_grad_(False)
        self.clip_model = clip_model.to(self.device)
        self.model = self.clip_model
        self.template = dataset_template(self.cfg.DATASET.NAME)
        print(f"Zero-shot CLIP, prompt template: {self.template!r} (DATASET.NAME {self.cfg.DATASET.NAME})")
        print("# trainable params: 0")

    def train(self) -> None:
        raise SystemExit(
            "ZeroshotCLIP has nothing to train: run train.py with --eval-only "
            "(no --model-dir needed; one given is ignored)"
        )

    def load_model(self, directory: str, epoch: Optional[int] = None) -> None:
        if directory:
            print(f"Note: ZeroshotCLIP has no weights to load; ignoring --model-dir {directory}")

    def current_classnames(self) -> Tuple[str, ...]:
        return tuple(self.dm.dataset.classnames)  # no prompt learner here

    def class_text_features(self) -> torch.Tensor:
        """Normalised frozen-CLIP features of the template filled with the current class names."""
        return self.per_class_set(
            "zero_shot_text", lambda names: encode_texts(self.clip_model, fill_template(self.template, names))
        )

    @torch.no_grad()
    def model_inference(self, image: torch.Tensor) -> torch.Tensor:
        image_features = self.clip_model.encode_image(image.type(self.clip_model.dtype))
        image_features = F.normalize(image_features.float(), dim=-1)
        return self.clip_model.logit_scale.exp().float() * image_features @ self.class_text_features().t()
