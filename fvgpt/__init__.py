"""FVG-PT: foreground view-guided prompt tuning for CLIP, as a CoOp-family plug-in.

The package holds everything the trainers share (CLIP loading, prompt assembly,
text encoding, the FVG machinery) so that each file under ``trainers/`` stays a
thin, CoOp-style binding. Importing it makes ``import dassl`` work: a real
Dassl installation is used when present, else the bundled fallback.
"""
from fvgpt.dassl_compat import ensure_dassl

__version__ = "0.1.0"

ensure_dassl()

__all__ = ["ensure_dassl", "__version__"]
