"""Hand-written prompt templates for frozen CLIP text features, keyed by DATASET.NAME.

These are the zero-shot templates of CoOp's ZeroshotCLIP; KgCoOp's anchors use
them too except for DescribableTextures (:data:`KGCOOP_TEMPLATES`). Unknown
dataset names fall back to the generic :data:`PHOTO_TEMPLATE`. PromptSRC's
frozen text teacher averages the 60 ImageNet templates of
:data:`IMAGENET_TEMPLATES_60` (OpenAI's prompt-engineering list, in PromptSRC's
selection and order).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from fvgpt.prompt_learner import clean_classname

__all__ = [
    "PHOTO_TEMPLATE",
    "CUSTOM_TEMPLATES",
    "KGCOOP_TEMPLATES",
    "IMAGENET_TEMPLATES_60",
    "dataset_template",
    "kgcoop_template",
    "fill_template",
]

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

# KgCoOp's anchors: CoOp's table with one different entry.
KGCOOP_TEMPLATES: Dict[str, str] = {
    **CUSTOM_TEMPLATES,
    "DescribableTextures": "a photo of a {}, a type of texture.",
}

IMAGENET_TEMPLATES_60: Tuple[str, ...] = (
    "a photo of a {}.", "a bad photo of a {}.", "a photo of many {}.",
    "a sculpture of a {}.", "a photo of the hard to see {}.", "a low resolution photo of the {}.",
    "a rendering of a {}.", "graffiti of a {}.", "a bad photo of the {}.",
    "a cropped photo of the {}.", "a tattoo of a {}.", "the embroidered {}.",
    "a photo of a hard to see {}.", "a bright photo of a {}.", "a photo of a clean {}.",
    "a photo of a dirty {}.", "a dark photo of the {}.", "a drawing of a {}.",
    "a photo of my {}.", "the plastic {}.", "a photo of the cool {}.",
    "a close-up photo of a {}.", "a black and white photo of the {}.", "a painting of the {}.",
    "a painting of a {}.", "a pixelated photo of the {}.", "a sculpture of the {}.",
    "a bright photo of the {}.", "a cropped photo of a {}.", "a plastic {}.",
    "a photo of the dirty {}.", "a jpeg corrupted photo of a {}.", "a blurry photo of the {}.",
    "a photo of the {}.", "a good photo of the {}.", "a rendering of the {}.",
    "a {} in a video game.", "a photo of one {}.", "a doodle of a {}.",
    "a close-up photo of the {}.", "the origami {}.", "the {} in a video game.",
    "a sketch of a {}.", "a doodle of the {}.", "a origami {}.",
    "a low resolution photo of a {}.", "the toy {}.", "a rendition of the {}.",
    "a photo of the clean {}.", "a photo of a large {}.", "a rendition of a {}.",
    "a photo of a nice {}.", "a photo of a weird {}.", "a blurry photo of a {}.",
    "a cartoon {}.", "art of a {}.", "a sketch of the {}.",
    "a embroidered {}.", "a pixelated photo of a {}.", "itap of the {}.",
)


def dataset_template(dataset_name: str) -> str:
    """The dataset's hand-written template, or the generic photo template."""
    return CUSTOM_TEMPLATES.get(dataset_name, PHOTO_TEMPLATE)


def kgcoop_template(dataset_name: str) -> str:
    """KgCoOp's hand-written anchor template for the dataset (generic photo template if unknown)."""
    return KGCOOP_TEMPLATES.get(dataset_name, PHOTO_TEMPLATE)


def fill_template(template: str, classnames: Sequence[str]) -> List[str]:
    """One sentence per class, with CoOp's class-name cleaning."""
    return [template.format(clean_classname(c)) for c in classnames]
