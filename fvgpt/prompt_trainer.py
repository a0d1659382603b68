"""The lifecycle shared by every CLIP prompt-tuning trainer of the project.

CoOp-family repositories repeat CLIP loading, precision handling, freezing,
the amp step, checkpoint loading and batch parsing in each trainer file. Here
they live once in :class:`PromptTuningTrainer`; a baseline says how to build
its model (:meth:`build_backbone`), which module is trained (:meth:`trainable`)
and, when it is not plain cross-entropy, its loss (:meth:`compute_loss`).
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Callable, ClassVar, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from clip.model import CLIP

import fvgpt  # noqa: F401  (resolves `dassl`)
from dassl.data import DataManager
from dassl.engine import TrainerX
from dassl.metrics import compute_accuracy
from dassl.optim import build_lr_scheduler, build_optimizer
from dassl.utils import load_checkpoint, load_pretrained_weights, save_checkpoint
from fvgpt.checkpoints import checkpoint_path
from fvgpt.clip_loading import load_clip
from fvgpt.data.images import ImageDatasetWrapper
from fvgpt.precision import PRECISIONS, autocast, grad_scaler, resolve_precision

__all__ = ["PromptTuningTrainer", "LossParts"]

LossParts = Dict[str, float]

_DATA_ATTRIBUTES = (
    "train_loader_x", "train_loader_u", "val_loader", "test_loader", "num_classes", "num_source_domains", "lab2cname",
)


class PromptTuningTrainer(TrainerX):
    """Dassl TrainerX for a frozen CLIP with a small trainable module.

    Class attributes a subclass sets: ``cfg_section`` (its ``TRAINER.<SECTION>``
    holding PREC), ``model_name`` (the registered name, which is also the
    checkpoint folder) and ``rebuilt_buffers`` (state-dict entries dropped when
    loading because they depend on the current class names).
    """

    cfg_section: ClassVar[str] = "COOP"
    model_name: ClassVar[str] = "prompt_learner"
    rebuilt_buffers: ClassVar[Tuple[str, ...]] = ("token_prefix", "token_suffix")

    # ------------------------------------------------------------------ config
    @property
    def trainer_cfg(self):
        return self.cfg.TRAINER[self.cfg_section]

    def check_cfg(self, cfg) -> None:
        prec = cfg.TRAINER[self.cfg_section].PREC
        if prec not in PRECISIONS:
            raise ValueError(f"TRAINER.{self.cfg_section}.PREC must be one of {PRECISIONS}, got '{prec}'")

    # ------------------------------------------------------------------- data
    def dataset_wrapper(self):
        """Dassl dataset wrapper for every loader: reads images with errors that name the file."""
        return ImageDatasetWrapper

    def build_data_loader(self) -> None:
        # Dassl's own build_data_loader takes no wrapper; set the same attributes it sets.
        dm = DataManager(self.cfg, dataset_wrapper=self.dataset_wrapper())
        for name in _DATA_ATTRIBUTES:
            setattr(self, name, getattr(dm, name))
        self.dm = dm
        if self.cfg.TEST.FINAL_MODEL == "best_val" and dm.val_loader is None and not self.cfg.TEST.NO_TEST:
            # Dassl would silently select the model on the *test* set
            raise ValueError(
                f"TEST.FINAL_MODEL best_val needs a validation set, but {self.cfg.DATASET.NAME} has none here "
                f"(e.g. no few-shot sampling); use TEST.FINAL_MODEL last_step"
            )

    # ------------------------------------------------------------------ model
    def build_clip(self) -> CLIP:
        """CLIP from MODEL.BACKBONE.NAME in the precision PREC resolves to on this device."""
        name = self.cfg.MODEL.BACKBONE.NAME
        print(f"Loading CLIP (backbone: {name})")
        clip_model = load_clip(name)
        self.prec = resolve_precision(self.trainer_cfg.PREC, self.device, f"TRAINER.{self.cfg_section}.PREC")
        if self.prec in ("fp32", "amp"):
            clip_model.float()
        return clip_model

    def build_backbone(self, clip_model: CLIP, classnames: Sequence[str]) -> nn.Module:
        """The full model for ``classnames`` (e.g. a :class:`~fvgpt.prompted_clip.PromptedCLIP`)."""
        raise NotImplementedError

    def tuned_module(self) -> nn.Module:
        """The baseline's tuned part: what its checkpoints hold (CoOp: the prompt learner)."""
        return self.model.prompt_learner

    def trainable(self) -> nn.Module:
        """The module whose parameters are trained, registered and checkpointed by this trainer."""
        return self.tuned_module()

    def build_model(self) -> None:
        clip_model = self.build_clip()
        print("Building custom CLIP")
        self.model = self.build_backbone(clip_model, self.dm.dataset.classnames)
        # Frozen, prompt-free CLIP for teachers and anchors; it shares its modules with self.model.
        self.clip_model = clip_model.requires_grad_(False)
        freeze_all_but(self.model, self.trainable())
        if self.cfg.MODEL.INIT_WEIGHTS:
            load_pretrained_weights(self.trainable(), self.cfg.MODEL.INIT_WEIGHTS)
        clip_model.to(self.device)
        self.model.to(self.device)
        self.register_trainable(self.model_name, self.trainable())

    def register_trainable(self, name: str, module: nn.Module) -> None:
        """Register ``module`` with its own optimizer and scheduler from cfg.OPTIM."""
        optim = build_optimizer(module, self.cfg.OPTIM)
        sched = build_lr_scheduler(optim, self.cfg.OPTIM)
        self.register_model(name, module, optim, sched)
        self.scaler = grad_scaler(self.prec, self.device)

    # --------------------------------------------------------------- training
    def parse_batch_train(self, batch: Dict[str, Any]) -> Tuple[torch.Tensor, torch.Tensor]:
        return batch["img"].to(self.device), batch["label"].to(self.device)

    def compute_loss(self, image: torch.Tensor, label: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, LossParts]:
        """Loss, logits (for the accuracy column) and extra loss parts to log."""
        logits = self.model(image)
        return F.cross_entropy(logits, label), logits, {}

    def forward_backward(self, batch: Dict[str, Any]) -> LossParts:
        image, label = self.parse_batch_train(batch)
        with autocast(self.prec, self.device):
            loss, logits, parts = self.compute_loss(image, label)
        self.backward_and_update(loss)
        summary = {"loss": loss.item(), "acc": compute_accuracy(logits, label)[0].item(), **parts}
        if (self.batch_idx + 1) == self.num_batches:
            self.update_lr()
        return summary

    def backward_and_update(self, loss: torch.Tensor) -> None:
        if self.scaler is None:
            self.model_backward_and_update(loss)
            return
        self.model_zero_grad()
        self.detect_anomaly(loss)
        self.scaler.scale(loss).backward()
        for name in self.get_model_names():
            self.scaler.step(self._optims[name])
        self.scaler.update()

    # ------------------------------------------------------------- evaluation
    def set_model_mode(self, mode: str = "train", names=None) -> None:
        super().set_model_mode(mode, names)
        self._text_cache: Optional[torch.Tensor] = None  # weights may change between modes

    def class_text_features(self) -> torch.Tensor:
        """Text features of the current class set, computed once per evaluation."""
        if getattr(self, "_text_cache", None) is None:
            self._text_cache = self.model.encode_text()
        return self._text_cache

    def model_inference(self, image: torch.Tensor) -> torch.Tensor:
        return self.model(image, text_features=self.class_text_features())

    # ---------------------------------------------- frozen per-class features
    def current_classnames(self) -> Tuple[str, ...]:
        """The class names the model currently scores (the prompt learner's, after any rebuild)."""
        return tuple(self.model.prompt_learner.classnames)

    def per_class_set(self, slot: str, compute: Callable[[Tuple[str, ...]], Any]) -> Any:
        """``compute(classnames)`` for the current class set, kept under ``slot`` until that set changes.

        For features of frozen encoders (teachers, anchors, the CLIP prior), whose
        only input that can change is the class set.
        """
        key = self.current_classnames()
        cache = self.__dict__.setdefault("_class_set_cache", {})
        if slot not in cache or cache[slot][0] != key:
            cache[slot] = (key, compute(key))
        return cache[slot][1]

    def forget_class_set_features(self) -> None:
        """Drop everything :meth:`per_class_set` keeps (e.g. after new weights were loaded)."""
        self.__dict__.pop("_class_set_cache", None)

    # ------------------------------------------------------------ checkpoints
    def checkpoint_extras(self) -> Dict[str, Any]:
        """Plain-data fields stored beside Dassl's keys, to tell checkpoints apart later."""
        return {"trainer": self.cfg.TRAINER.NAME}

    def save_model(self, epoch: int, directory: str, is_best: bool = False, val_result=None, model_name: str = "") -> None:
        for name in self.get_model_names():
            optim, sched = self._optims[name], self._scheds[name]
            state = {
                "state_dict": self._models[name].state_dict(),
                "epoch": epoch + 1,
                "optimizer": optim.state_dict() if optim is not None else None,
                "scheduler": sched.state_dict() if sched is not None else None,
                "val_result": val_result,
                **self.checkpoint_extras(),
            }
            save_checkpoint(state, osp.join(directory, name), is_best=is_best, model_name=model_name)

    def load_model(self, directory: str, epoch: Optional[int] = None) -> None:
        if not directory:
            print("Note that load_model() is skipped as no pretrained model is given")
            return
        for name in self.get_model_names():
            self.load_weights(self._models[name], directory, name, epoch)

    def load_weights(self, module: nn.Module, directory: str, name: str, epoch: Optional[int] = None) -> Dict[str, Any]:
        """Load ``<directory>/<name>`` into ``module`` the CoOp way; return the checkpoint dict.

        Buffers that depend on the class names are dropped so they keep the
        current classes; a shape mismatch (other N_CTX, another baseline) is
        reported with both shapes.
        """
        path = checkpoint_path(directory, name, epoch)
        checkpoint = load_checkpoint(str(path))
        state = self.adapt_checkpoint_state(dict(checkpoint["state_dict"]), module)
        state = {k: v for k, v in state.items() if k not in self.rebuilt_buffers}
        own = module.state_dict()
        for key, value in state.items():
            if key in own and own[key].shape != value.shape:
                raise RuntimeError(
                    f"{path}: '{key}' has shape {tuple(value.shape)} but this {self.cfg.TRAINER.NAME} model "
                    f"expects {tuple(own[key].shape)} (trained with another context length, CSC setting "
                    f"or baseline?)"
                )
        missing = sorted(set(own) - set(state) - set(self.rebuilt_buffers))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise RuntimeError(
                f"{path} does not fit this {self.cfg.TRAINER.NAME} model ({name}): missing {missing or 'nothing'}, "
                f"unexpected {unexpected or 'nothing'} (trained with another prompt depth or baseline?)"
            )
        print(f'Loading weights to {name} from "{path}" (epoch = {checkpoint["epoch"]})')
        module.load_state_dict(state, strict=False)
        self._text_cache = None
        return checkpoint

    def adapt_checkpoint_state(self, state: Dict[str, torch.Tensor], module: nn.Module) -> Dict[str, torch.Tensor]:
        """Map a checkpoint's state dict onto ``module``'s keys (e.g. from a reference layout); identity here."""
        return state


def freeze_all_but(model: nn.Module, trainable: nn.Module) -> None:
    """Freeze ``model`` except ``trainable``; print what is trained and how many scalars."""
    model.requires_grad_(False)
    trainable.requires_grad_(True)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"Parameters to be updated: {sorted(names)}")
    print(f"# trainable params: {count:,}")
