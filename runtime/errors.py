"""nhkit's error types. Every error a user can cause names the file and the problem, so the CLI
can print one line per bad input instead of a traceback."""

from __future__ import annotations

import os


class NhkitError(Exception):
    """Base of all errors nhkit raises on purpose (the CLI prints these without a traceback)."""


class ValueFormatError(NhkitError, ValueError):
    """A text value (a hash's hex digits, a float's bit pattern) is malformed.

    Also a ValueError, the type Python callers of a parse function expect; an NhkitError, so the
    CLI prints it as one line and fuzzing can tell it from a crash."""


class InputFileError(NhkitError):
    """A user-supplied file (image, seed, model, JSON) is missing, malformed or unsupported."""

    def __init__(self, path: str | os.PathLike[str] | None, reason: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class ImageDecodeError(InputFileError):
    """The image could not be turned into RGB8 pixels under the spec's rules."""


class SeedFileError(InputFileError):
    """A seed file has the wrong size or holds non-finite numbers."""


class ModelError(InputFileError):
    """A model file is missing, corrupt, or does not have the NeuralHash interface."""
