"""Keep converter chatter (TensorFlow's C++ logs, coremltools' progress bars) off the terminal.

Why at the file-descriptor level: TensorFlow's converter and LiteRT print from C++ straight to
fds 1 and 2, which no Python logging setting reaches; `nhkit export` promises one progress line
per step and one verdict per variant, so everything else is captured and only shown on failure.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_output() -> Iterator[list[str]]:
    """Silence what TensorFlow's C++ code prints straight to fds 1/2 (converter statistics,
    absl/oneDNN banners), so the CLI's progress lines stay readable. The captured text is handed
    back in the yielded list, so a failure can still show it."""
    captured: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))
