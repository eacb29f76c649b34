"""nhkit hashes in python-threatexchange (and so in Meta's Hasher-Matcher-Actioner): a
SignalType and a SignalTypeIndex, loadable as an extension next to PDQ.

    pip install 'nhkit[threatexchange]'
    threatexchange config extensions add nhkit.runtime.tx_extension

Signal strings are nhkit's 24 lowercase hex digits; the index is nhkit's exact range search
(runtime/match.py), so HMA banks get the same hits as `nhkit match`. A distance threshold is
only meaningful with the false-positive rate it was measured at: `NhkitIndex.from_hashlist`
takes the list's calibrated threshold; the class default (12 bits) is the issue's realistic
figure for the default model, not a measured one.

Everything here imports threatexchange, so this module is only imported on request.
"""

from __future__ import annotations

import os
import random
import re
import typing as t

import numpy as np
from threatexchange.content_type.content_base import ContentType
from threatexchange.content_type.photo import PhotoContent
from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest
from threatexchange.signal_type import signal_base
from threatexchange.signal_type.index import (
    IndexMatchUntyped,
    SignalSimilarityInfoWithIntDistance,
    SignalTypeIndex,
)
from threatexchange.signal_type.index import T as IndexT

from .hashing import hamming

# The default model's recommended list threshold: zero false positives on 51,360 distinct
# pairs and the device-vs-server cross pairs of its bundles (nhkit-mnv3s-v3:
# benchmarks/results/calibrate_v3.md, where the int8 and pal6 bundles' closest cross pairs are
# 17 bits; v2's was 14, calibrate_v2.md).
DEFAULT_THRESHOLD = 16
_HEX = re.compile(r"^[0-9a-f]{24}$")

NhkitIndexMatch = IndexMatchUntyped[SignalSimilarityInfoWithIntDistance, IndexT]


class NhkitSignal(
    signal_base.SimpleSignalType, signal_base.BytesHasher, signal_base.CanGenerateRandomSignal
):
    """nhkit's 96-bit perceptual hash (nh-spec-v1) of a photo, with the default model.

    Hashes of different models or seeds do not compare; this signal type is the default
    model's. Use nhkit's own CLI/API for lists made with another model."""

    @classmethod
    def get_name(cls) -> str:
        return "nhkit"

    @classmethod
    def get_content_types(cls) -> list[type[ContentType]]:
        return [PhotoContent]

    @classmethod
    def get_index_cls(cls) -> type[NhkitIndex[t.Any]]:
        return NhkitIndex

    @classmethod
    def validate_signal_str(cls, signal_str: str) -> str:
        s = signal_str.strip().lower()
        if not _HEX.match(s):
            raise ValueError(f"invalid nhkit hash (24 hex digits expected): {signal_str[:40]!r}")
        return s

    @classmethod
    def compare_hash(
        cls, hash1: str, hash2: str, threshold: int = DEFAULT_THRESHOLD
    ) -> signal_base.SignalComparisonResult:
        return signal_base.SignalComparisonResult.from_simple_dist(hamming(hash1, hash2), threshold)

    _hasher: t.Any = None

    @classmethod
    def hash_from_bytes(cls, bytes_: bytes) -> str:
        if cls._hasher is None:
            from .hasher import Hasher

            cls._hasher = Hasher.from_onnx()
        return str(cls._hasher.hash_file(bytes_).hex)

    @classmethod
    def get_random_signal(cls) -> str:
        return f"{random.randrange(16**24):024x}"

    @staticmethod
    def get_examples() -> list[str]:
        return ["bc6cf2d368442f7d30da97ba", "bcf8d2d368c42f35219a973a", "2b186faa6b6cd6e5b6c5a0c1"]


class NhkitIndex(SignalTypeIndex[IndexT]):
    """Exact range search over nhkit hashes (all entries within the threshold, duplicates
    included), on nhkit's own backends."""

    threshold: int = DEFAULT_THRESHOLD

    def __init__(
        self, entries: t.Iterable[tuple[str, IndexT]] = (), *, threshold: int | None = None
    ) -> None:
        super().__init__()
        if threshold is not None:
            self.threshold = int(threshold)
        self._hashes: list[str] = []
        self._entries: list[IndexT] = []
        self._index: t.Any = None
        self.add_all(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, signal_str: str, entry: IndexT) -> None:
        self._hashes.append(NhkitSignal.validate_signal_str(signal_str))
        self._entries.append(entry)
        self._index = None

    def _built(self) -> t.Any:
        if self._index is None:
            from .match import choose_backend, make_index

            codes = np.frombuffer(bytes.fromhex("".join(self._hashes)), np.uint8).reshape(-1, 12)
            self._index = make_index(codes, choose_backend(len(codes), self.threshold))
        return self._index

    def query(self, query: str) -> t.Sequence[NhkitIndexMatch[IndexT]]:
        q = np.frombuffer(bytes.fromhex(NhkitSignal.validate_signal_str(query)), np.uint8).reshape(
            1, 12
        )
        lims, ids, dist = self._built().range_search(q, self.threshold)
        return [
            IndexMatchUntyped(SignalSimilarityInfoWithIntDistance(int(d)), self._entries[int(i)])
            for i, d in zip(ids.tolist(), dist.tolist())
        ]

    def __getstate__(self) -> dict[str, t.Any]:
        state = dict(self.__dict__)
        state["_index"] = None  # rebuilt on the first query after deserialize
        return state

    @classmethod
    def from_hashlist(
        cls, path: str | os.PathLike[str], threshold: int | None = None
    ) -> NhkitIndex[dict[str, t.Any]]:
        """An index over a verified nhkit hash list; entries are {"id", "label", "source"};
        the threshold defaults to the list's calibrated one."""
        from .hashlist import load

        hl = load(path)
        th = threshold if threshold is not None else hl.recommended_threshold
        idx: NhkitIndex[dict[str, t.Any]] = NhkitIndex(threshold=th)
        for i in range(len(hl)):
            e = hl.entry(i)
            idx.add(e.hash, {"id": e.id, "label": e.label, "source": e.source})
        return idx


TX_MANIFEST = ThreatExchangeExtensionManifest(signal_types=(NhkitSignal,))
