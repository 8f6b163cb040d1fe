"""Lookup failures. Both subclass the built-in a caller would naturally catch."""
from __future__ import annotations


class RevNotFoundError(KeyError):
    """The revision is not in the tree."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else "revision not found"


class NotALeafError(ValueError):
    """The revision exists but has children where a leaf was required."""
