"""FVGStage: stage 2 of FVG-PT on top of any prompt-tuning baseline of the project.

A concrete FVG trainer is one line of binding, ``class FVG_X(FVGStage, X)``,
where ``X`` is a :class:`~fvgpt.prompt_trainer.PromptTuningTrainer`. What the
stage needs from the baseline's model (the *backbone protocol*):

- ``encode_image(images)`` -> L2-normalised image features of the tuned backbone,
- ``encode_text()`` -> L2-normalised text features for the current class names,
- ``logits(image_features, text_features)`` and ``logit_scale``,

plus the baseline trainer's ``build_clip``, ``build_backbone``,
``tuned_module``, ``model_name`` and ``load_weights`` (its own checkpoint
loading). A baseline whose image encoder differs from frozen CLIP's (PromptSRC)
sets ``shares_image_encoder = False`` so the CLIP prior gets its own pass.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from dassl.metrics import compute_accuracy
from fvgpt.checkpoints import saved_epochs
from fvgpt.data.masks import MaskedDatasetWrapper
from fvgpt.fvg.foreground import BG_FILLS, foreground_area, foreground_view
from fvgpt.fvg.head import FVGHead, FVGSettings
from fvgpt.precision import autocast
from fvgpt.prompt_trainer import LossParts, PromptTuningTrainer
from fvgpt.templates import PHOTO_TEMPLATE, dataset_template, fill_template
from fvgpt.text_encoder import encode_texts

__all__ = ["EVAL_BRANCHES", "FVGStage"]

EVAL_BRANCHES = ("auto", "base", "new", "backbone", "clip")
PRIOR_TEMPLATES = ("photo", "dataset")
_BRANCH_LOGITS = {"base": "z_FDC", "new": "z_PC", "backbone": "z_full", "clip": "z_clip"}


class FVGStage(PromptTuningTrainer):
    """Freeze a tuned baseline and train only the FVG head (adapters + gates) on foreground views."""

    baseline: ClassVar[str] = ""  # trainer name expected in stage-1 checkpoints
    fvg_model_name: ClassVar[str] = "fvg"  # registered name and checkpoint folder of the FVG modules
    shares_image_encoder: ClassVar[bool] = True  # the tuned image encoder is frozen CLIP's (f0 == f)

    # ------------------------------------------------------------------ config
    @property
    def fvg_cfg(self):
        return self.cfg.TRAINER.FVG

    def check_cfg(self, cfg) -> None:
        super().check_cfg(cfg)
        fvg = cfg.TRAINER.FVG
        for key, value, allowed in (
            ("EVAL_BRANCH", fvg.EVAL_BRANCH, EVAL_BRANCHES),
            ("BG_FILL", fvg.BG_FILL, BG_FILLS),
            ("PRIOR_TEMPLATE", fvg.PRIOR_TEMPLATE, PRIOR_TEMPLATES),
        ):
            if value not in allowed:
                raise ValueError(f"TRAINER.FVG.{key} must be one of {allowed}, got '{value}'")
        if fvg.TEMPERATURE <= 0:
            raise ValueError(f"TRAINER.FVG.TEMPERATURE must be > 0, got {fvg.TEMPERATURE}")
        FVGSettings.from_cfg(fvg)

    def dataset_wrapper(self):
        return MaskedDatasetWrapper

    # ------------------------------------------------------------------- model
    def trainable(self) -> torch.nn.Module:
        return self.fvg

    def build_model(self) -> None:
        clip_model = self.build_clip()
        print("Building custom CLIP (frozen backbone for the FVG stage)")
        self.model = self.build_backbone(clip_model, self.dm.dataset.classnames)
        self.clip_model = clip_model  # the frozen prior; shares its modules with self.model
        clip_model.requires_grad_(False)
        self.model.requires_grad_(False)
        clip_model.to(self.device)
        self.model.to(self.device)
        self.backbone_source: Optional[Dict[str, Any]] = None
        if self.fvg_cfg.BACKBONE_DIR:
            self.load_backbone(self.fvg_cfg.BACKBONE_DIR, self.fvg_cfg.BACKBONE_EPOCH)
        else:
            print("Note: TRAINER.FVG.BACKBONE_DIR is empty; the backbone will come from the FVG checkpoint")
        dim = clip_model.text_projection.shape[1]
        self.fvg = FVGHead(dim, FVGSettings.from_cfg(self.fvg_cfg)).to(self.device)
        names = [f"{self.fvg_model_name}.{n}" for n, _ in self.fvg.named_parameters()]
        print(f"Parameters to be updated: {names}")
        print(f"# trainable params: {sum(p.numel() for p in self.fvg.parameters()):,}")
        self.register_trainable(self.fvg_model_name, self.fvg)

    def load_backbone(self, directory: str, epoch: int = 0) -> None:
        """Load the stage-1 weights through the baseline's own loader; 0 = the last saved epoch."""
        model_dir = Path(directory).expanduser() / self.model_name
        if not epoch:
            epochs = saved_epochs(model_dir)
            if not epochs and not model_dir.is_dir():
                epoch = None  # let the loader report what the directory holds
            elif not epochs:
                raise FileNotFoundError(f"No model.pth.tar-<epoch> checkpoint in {model_dir} (TRAINER.FVG.BACKBONE_DIR)")
            else:
                epoch = epochs[-1]
        checkpoint = self.load_weights(self.tuned_module(), directory, self.model_name, epoch)
        trainer = checkpoint.get("trainer")
        if trainer is None:
            print(f"Note: the checkpoint in {directory} records no trainer (reference code?); assuming {self.baseline}")
        elif trainer != self.baseline:
            raise ValueError(
                f"TRAINER.FVG.BACKBONE_DIR {directory} holds a {trainer} checkpoint, but "
                f"{self.cfg.TRAINER.NAME} builds on {self.baseline}: train {self.baseline} first or pick its output directory"
            )
        self.backbone_source = {
            "dir": os.path.abspath(os.path.expanduser(directory)),
            "epoch": int(checkpoint["epoch"]),
            "trainer": trainer or self.baseline,
        }
        self.forget_class_set_features()  # g depends on the backbone's weights

    # ------------------------------------------------------------- features
    def prior_text_features(self, classnames: Sequence[str]) -> torch.Tensor:
        """g0: frozen CLIP's text features for the hand-crafted prompt (TRAINER.FVG.PRIOR_TEMPLATE)."""
        if self.fvg_cfg.PRIOR_TEMPLATE == "dataset":
            template = dataset_template(self.cfg.DATASET.NAME)
        else:
            template = PHOTO_TEMPLATE
        return encode_texts(self.clip_model, fill_template(template, classnames))

    def fvg_text_features(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """(g, g0) for the current class set, computed once and reused until the class set changes."""
        def encode(names):
            with torch.no_grad():
                return self.model.encode_text(), self.prior_text_features(names)

        return self.per_class_set("fvg_text", encode)

    def class_text_features(self) -> torch.Tensor:
        return self.fvg_text_features()[0]

    def prior_image_features(self, image: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """f0: frozen CLIP's image features (the backbone's own when it does not touch the image encoder)."""
        if self.shares_image_encoder:
            return f
        return F.normalize(self.clip_model.encode_image(image.type(self.clip_model.dtype)), dim=-1)

    @torch.no_grad()
    def prior_logits(self, image: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """z_clip = s f0(x) g0^T (fp32), given the backbone's features ``f`` of the same images."""
        g0 = self.fvg_text_features()[1]
        f0 = self.prior_image_features(image, f)
        return self.model.logit_scale.exp().float() * f0.float() @ g0.float().t()

    @torch.no_grad()
    def frozen_logits(self, image: torch.Tensor, with_prior: bool = True) -> Dict[str, torch.Tensor]:
        """Everything the frozen encoders give for ``image``: f, g, scale, z_full (and z_clip)."""
        f = self.model.encode_image(image)
        g = self.fvg_text_features()[0]
        out = {"f": f, "g": g, "scale": self.model.logit_scale.exp(), "z_full": self.model.logits(f, g)}
        if with_prior:
            out["z_clip"] = self.prior_logits(image, f)
        return out

    # --------------------------------------------------------------- training
    def before_train(self) -> None:
        if self.backbone_source is None:
            raise ValueError(
                f"{self.cfg.TRAINER.NAME} trains on a tuned {self.baseline}: set TRAINER.FVG.BACKBONE_DIR to the "
                f"output directory of a {self.baseline} run (and TRAINER.FVG.BACKBONE_EPOCH, 0 = last epoch)"
            )
        super().before_train()

    def parse_batch_train(self, batch: Dict[str, Any]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return batch["img"].to(self.device), batch["label"].to(self.device), batch["mask"].to(self.device)

    def forward_backward(self, batch: Dict[str, Any]) -> LossParts:
        image, label, mask = self.parse_batch_train(batch)
        cfg = self.cfg
        with torch.no_grad(), autocast(self.prec, self.device):
            view = foreground_view(image, mask, self.fvg_cfg.BG_FILL, cfg.INPUT.PIXEL_MEAN, cfg.INPUT.PIXEL_STD)
            both = self.frozen_logits(torch.cat([image, view]), with_prior=False)
            n = image.shape[0]
            f, z_full, z_fg = both["f"][:n], both["z_full"][:n], both["z_full"][n:]
            z_clip = self.prior_logits(image, f)  # the prior needs the full images only
        with autocast(self.prec, self.device):
            out = self.fvg.step(
                f.float(), both["g"].float(), both["scale"], z_full, z_fg, z_clip, foreground_area(mask), label
            )
        self.backward_and_update(out.loss)
        summary = {"loss": out.loss.item(), "acc": compute_accuracy(out.z_fdc, label)[0].item(), **out.log_values()}
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary

    # ------------------------------------------------------------- evaluation
    def eval_branch(self) -> str:
        branch = self.fvg_cfg.EVAL_BRANCH
        if branch == "auto":
            return "new" if self.cfg.DATASET.SUBSAMPLE_CLASSES == "new" else "base"
        return branch

    def branch_logits(self, image: torch.Tensor, branch: str) -> torch.Tensor:
        if branch == "backbone":  # the baseline's own inference path: reproduces stage 1 exactly
            return super().model_inference(image)
        out = self.frozen_logits(image, with_prior=branch != "base")
        if branch == "base":
            return self.fvg.base_logits(out["f"].float(), out["g"].float(), out["scale"])
        if branch == "clip":
            return out["z_clip"]
        return self.fvg.new_logits(out["z_full"], out["z_clip"])[0]

    def model_inference(self, image: torch.Tensor) -> torch.Tensor:
        return self.branch_logits(image, self.eval_branch())

    def test(self, split: Optional[str] = None) -> float:
        branch = self.eval_branch()
        how = f"TRAINER.FVG.EVAL_BRANCH {self.fvg_cfg.EVAL_BRANCH}"
        if self.fvg_cfg.EVAL_BRANCH == "auto":
            how += f", DATASET.SUBSAMPLE_CLASSES {self.cfg.DATASET.SUBSAMPLE_CLASSES}"
        print(f"FVG evaluation branch: {branch} ({_BRANCH_LOGITS[branch]}; {how})")
        return super().test(split)

    # ------------------------------------------------------------ checkpoints
    def checkpoint_extras(self) -> Dict[str, Any]:
        return {**super().checkpoint_extras(), "fvg_backbone": self.backbone_source}

    def load_model(self, directory: str, epoch: Optional[int] = None) -> None:
        """Restore the FVG modules from ``directory`` and the backbone they were trained on."""
        if not directory:
            print("Note that load_model() is skipped as no pretrained model is given")
            return
        checkpoint = self.load_weights(self.fvg, directory, self.fvg_model_name, epoch)
        recorded = checkpoint.get("fvg_backbone")
        if self.fvg_cfg.BACKBONE_DIR:
            if recorded and (recorded["dir"], recorded["epoch"]) != (
                self.backbone_source["dir"],
                self.backbone_source["epoch"],
            ):
                print(
                    f"Warning: these FVG modules were trained on {recorded['dir']} (epoch {recorded['epoch']}); "
                    f"using TRAINER.FVG.BACKBONE_DIR {self.backbone_source['dir']} (epoch {self.backbone_source['epoch']})"
                )
            return
        if not recorded:
            raise ValueError(f"{directory} records no backbone: set TRAINER.FVG.BACKBONE_DIR to its stage-1 directory")
        if not os.path.isdir(recorded["dir"]):
            raise FileNotFoundError(
                f"The backbone recorded in {directory} is gone ({recorded['dir']}); if it moved, set "
                f"TRAINER.FVG.BACKBONE_DIR to its new location (and TRAINER.FVG.BACKBONE_EPOCH {recorded['epoch']})"
            )
        self.load_backbone(recorded["dir"], recorded["epoch"])
