"""A minimal progress bar for terminals (stderr only, silent when not a TTY), so the light
runtime install does not need tqdm."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done >= self.total):
            self._last = now
            frac = self.done / self.total if self.total else 1.0
            width = 30
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            rate = self.done / max(now - self.start, 1e-9)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {rate:5.1f}/s")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
