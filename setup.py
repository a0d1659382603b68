"""Installs the core package ``fvgpt`` and the dependencies.

``trainers/``, ``datasets/`` and ``configs/`` are deliberately not installed:
as in every CoOp-family repository they are used from the repository root, and
top-level packages named ``trainers`` or ``datasets`` would shadow Hugging Face
``datasets`` and the ``trainers/`` folder of a user's own CoOp checkout.
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def read_version() -> str:
    for line in (HERE / "fvgpt" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip('"')
    raise RuntimeError("fvgpt/__init__.py defines no __version__")


setup(
    name="fvgpt",
    version=read_version(),
    description="FVG-PT: foreground view-guided prompt tuning for CLIP (CoOp-family plug-in)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=find_packages(include=["fvgpt", "fvgpt.*"]),
    # The Dassl fallback is data, not a subpackage: it is put on sys.path only
    # when no real Dassl is importable (fvgpt/dassl_compat.py).
    package_data={"fvgpt": ["dassl_fallback/dassl/*.py", "dassl_fallback/dassl/**/*.py"]},
    include_package_data=True,
    install_requires=[
        "torch",
        "torchvision",
        "openai-clip",
        "setuptools<81",  # openai-clip imports pkg_resources, removed in setuptools 81
        "yacs",
        "gdown",
        "tabulate",
        "tqdm",
        "ftfy",
        "regex",
        "tensorboard",
        "scikit-learn",
        "scipy",
        "matplotlib",
        "Pillow",
        "numpy",
    ],
    extras_require={"test": ["pytest"]},
)
