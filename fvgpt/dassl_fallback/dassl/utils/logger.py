"""Tee ``print`` output to ``OUTPUT_DIR/log.txt``: result parsers read that file."""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from .tools import mkdir_if_missing

__all__ = ["Logger", "setup_logger"]


class Logger:
    """A stdout replacement writing to the console and a log file.

    Unlike upstream's, closing or garbage-collecting it never closes the real
    console, and any attribute it lacks (``isatty``, ``encoding``...) comes
    from the console, so libraries probing ``sys.stdout`` keep working.
    """

    def __init__(self, fpath: str | None = None, console: IO[str] | None = None) -> None:
        self.console = console if console is not None else sys.stdout
        self.file: IO[str] | None = None
        if fpath is not None:
            mkdir_if_missing(os.path.dirname(fpath))
            self.file = open(fpath, "w")

    def write(self, msg: str) -> int:
        self.console.write(msg)
        if self.file is not None:
            self.file.write(msg)
        return len(msg)

    def flush(self) -> None:
        self.console.flush()
        if self.file is not None:
            self.file.flush()
            os.fsync(self.file.fileno())

    def close(self) -> None:
        """Close the log file only; the console belongs to the interpreter."""
        if self.file is not None:
            self.file.close()
            self.file = None

    def __getattr__(self, name: str) -> Any:
        if name == "console":  # not yet set (e.g. during unpickling): avoid recursion
            raise AttributeError(name)
        return getattr(self.console, name)


def setup_logger(output: str | None = None) -> str | None:
    """Send stdout to ``output`` (a .txt/.log file, or a directory holding log.txt).

    An existing log file is kept and the new one gets a timestamp suffix.
    Calling it again replaces the previous tee instead of stacking tees.
    Returns the log file path.
    """
    if output is None:
        return None
    fpath = output if output.endswith((".txt", ".log")) else os.path.join(output, "log.txt")
    if os.path.exists(fpath):
        fpath += time.strftime("-%Y-%m-%d-%H-%M-%S")
    console = sys.stdout
    if isinstance(console, Logger):
        console.close()
        console = console.console
    sys.stdout = Logger(fpath, console=console)
    return fpath
