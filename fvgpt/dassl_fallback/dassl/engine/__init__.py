"""Trainer registry and base classes (no built-in DA/DG/SSL trainers in the fallback)."""
from .build import TRAINER_REGISTRY, UPSTREAM_TRAINER_NAMES, build_trainer  # isort:skip
from .trainer import SimpleTrainer, TrainerBase, TrainerX

__all__ = ["TRAINER_REGISTRY", "UPSTREAM_TRAINER_NAMES", "build_trainer", "SimpleTrainer", "TrainerBase", "TrainerX"]
