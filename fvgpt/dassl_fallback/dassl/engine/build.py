"""TRAINER_REGISTRY and ``build_trainer(cfg)``: TRAINER.NAME -> trainer instance."""
from __future__ import annotations

from typing import Any

from dassl.utils import Registry
from dassl.utils.registry import build_from_registry

# Upstream Dassl registers its own trainers under these names, so a project
# trainer class with one of them would fail to import there.
UPSTREAM_TRAINER_NAMES = (
    "ADDA AdaBN CDAC CrossGrad DAEL DAELDG DANN DDAIG DomainMix EntMin FixMatch M3SDA "
    "MCD MME MeanTeacher MixMatch SE SourceOnly SupBaseline Vanilla"
).split()

TRAINER_REGISTRY = Registry("TRAINER", reserved=UPSTREAM_TRAINER_NAMES)


def build_trainer(cfg: Any) -> Any:
    """Instantiate the trainer class registered as ``cfg.TRAINER.NAME`` with ``cfg``."""
    return build_from_registry(TRAINER_REGISTRY, cfg.TRAINER.NAME, "trainer", "TRAINER.NAME", cfg)
