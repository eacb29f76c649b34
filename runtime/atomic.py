"""Atomic file writes: the whole new file or the old one, never half of either.

Every file nhkit writes for users (golden sets, reports, hash lists, bundles' JSON) goes through
here, because they are rewritten in place (calibrate, --golden-update) and read by other
programs: a crash, a full disk or Ctrl-C must leave the previous file intact. The bytes go to a
temporary file in the same folder (same filesystem, so the final rename is atomic), which is
then renamed over the target."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputFileError


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically, creating missing parent folders; an OSError becomes
    an InputFileError naming the file, and no temporary file is left behind."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputFileError(p, f"cannot write file: {exc.strerror or exc}") from None


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """write_bytes_atomic of UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))
