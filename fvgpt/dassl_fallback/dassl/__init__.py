"""FVG-PT's bundled stand-in for Dassl.pytorch (the subset the CoOp family uses).

It is put on ``sys.path`` by :func:`fvgpt.dassl_compat.ensure_dassl` only when no
real Dassl is importable, so a user's own Dassl installation always wins. Module
paths match upstream (``dassl.engine``, ``dassl.data.datasets.base_dataset``...)
so CoOp-family code and pickled few-shot caches work unchanged.
"""

__fvgpt_fallback__ = True
__version__ = "0.6.3+fvgpt"
