"""The parser and the types of the command line's arguments: a bad one is one line, status 2."""

from __future__ import annotations

import argparse
import math
import sys
from typing import NoReturn

USAGE_ERROR = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is reported in one line that says where help is."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see: {self.prog} --help)\n")
        sys.exit(USAGE_ERROR)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of 1 or more, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds, 0 or more: `3600`, `0.5`."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"a number of seconds, 0 or more, got {text!r}")
    return value


def seconds_or_none(text: str) -> float | None:
    """`seconds`, or `none` for no limit."""
    if text.strip().lower() == "none":
        return None
    try:
        return seconds(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"a number of seconds, 0 or more, or 'none', got {text!r}"
        ) from None
