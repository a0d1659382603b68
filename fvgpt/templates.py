"""Hand-written prompt templates for frozen CLIP text features, keyed by DATASET.NAME.

These are the zero-shot templates of CoOp's ZeroshotCLIP (also KgCoOp's anchors,
except where a trainer overrides one). Unknown dataset names fall back to the
generic :data:`PHOTO_TEMPLATE`.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from fvgpt.prompt_learner import clean_classname

__all__ = ["PHOTO_TEMPLATE", "CUSTOM_TEMPLATES", "dataset_template", "fill_template"]

PHOTO_TEMPLATE = "a photo of a {}."

CUSTOM_TEMPLATES: Dict[str, str] = {
    "OxfordPets": "a photo of a {}, a type of pet.",
    "OxfordFlowers": "a photo of a {}, a type of flower.",
    "FGVCAircraft": "a photo of a {}, a type of aircraft.",
    "DescribableTextures": "{} texture.",
    "EuroSAT": "a centered satellite photo of {}.",
    "StanfordCars": "a photo of a {}.",
    "Food101": "a photo of {}, a type of food.",
    "SUN397": "a photo of a {}.",
    "Caltech101": "a photo of a {}.",
    "UCF101": "a photo of a person doing {}.",
    "ImageNet": "a photo of a {}.",
    "ImageNetSketch": "a photo of a {}.",
    "ImageNetV2": "a photo of a {}.",
    "ImageNetA": "a photo of a {}.",
    "ImageNetR": "a photo of a {}.",
    "Synthetic": "a photo of a {}.",
}


def dataset_template(dataset_name: str) -> str:
    """The dataset's hand-written template, or the generic photo template."""
    return CUSTOM_TEMPLATES.get(dataset_name, PHOTO_TEMPLATE)


def fill_template(template: str, classnames: Sequence[str]) -> List[str]:
    """One sentence per class, with CoOp's class-name cleaning."""
    return [template.format(clean_classname(c)) for c in classnames]
