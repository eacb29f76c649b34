"""Errors of the exporter as a whole."""

from __future__ import annotations

from nhkit.runtime.errors import NhkitError


class ExportError(NhkitError):
    """The export as a whole failed (e.g. a variant over its drift budget); nothing written."""
