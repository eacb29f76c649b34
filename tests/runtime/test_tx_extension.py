"""The python-threatexchange extension: loads as an extension, passes the library's own
interface validation, and its index returns exactly nhkit's hits (duplicates included)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("threatexchange")

from threatexchange.content_type.photo import PhotoContent  # noqa: E402
from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest  # noqa: E402
from threatexchange.interface_validation import SignalTypeMapping  # noqa: E402

from nhkit.runtime.hashlist import Entry, write_hashlist  # noqa: E402
from nhkit.runtime.spec import Spec  # noqa: E402
from nhkit.runtime.tx_extension import NhkitIndex, NhkitSignal  # noqa: E402


def test_manifest_loads_and_validates() -> None:
    m = ThreatExchangeExtensionManifest.load_from_module_name("nhkit.runtime.tx_extension")
    assert m.signal_types == (NhkitSignal,)
    mapping = SignalTypeMapping([PhotoContent], list(m.signal_types))
    assert mapping.signal_type_by_name["nhkit"] is NhkitSignal
    assert (
        NhkitSignal.validate_signal_str(" ABCDEF0123456789abcdefAB ") == "abcdef0123456789abcdefab"
    )
    with pytest.raises(ValueError):
        NhkitSignal.validate_signal_str("xyz")
    r = NhkitSignal.compare_hash("0" * 24, "0" * 23 + "7", threshold=3)
    assert r.match and r.distance.distance == 3
    assert not NhkitSignal.compare_hash("0" * 24, "f" * 24).match
    assert all(NhkitSignal.validate_signal_str(h) == h for h in NhkitSignal.get_examples())


def test_index_is_exact_with_duplicates_and_survives_serialize() -> None:
    rng = np.random.default_rng(5)
    hashes = [rng.integers(0, 256, 12, np.uint8).tobytes().hex() for _ in range(300)]
    hashes += hashes[:10]  # each of these banked twice
    idx = NhkitIndex.build((h, {"n": i}) for i, h in enumerate(hashes))
    q = hashes[3][:-1] + ("0" if hashes[3][-1] != "0" else "1")
    got = sorted((m.similarity_info.distance, m.metadata["n"]) for m in idx.query(q))
    want = sorted(
        (NhkitSignal.compare_hash(q, h).distance.distance, i)
        for i, h in enumerate(hashes)
        if NhkitSignal.compare_hash(q, h).match
    )
    assert got == want and {n for _, n in got} >= {3, 303}
    buf = io.BytesIO()
    idx.serialize(buf)
    buf.seek(0)
    again = NhkitIndex.deserialize(buf)
    assert sorted((m.similarity_info.distance, m.metadata["n"]) for m in again.query(q)) == got


def test_index_from_a_hash_list_uses_its_threshold(tmp_path: Path) -> None:
    th = {
        "recommended": 1,
        "fpr": 0.0,
        "criterion": "zero-fp",
        "negative_pairs": 10,
        "negative_images": 5,
        "drift_p99": None,
        "source": "test",
        "report_sha256": "5" * 64,
    }
    write_hashlist(
        tmp_path / "L",
        [Entry("a", "0" * 24, "A"), Entry("b", "0" * 23 + "3")],
        spec=Spec(),
        threshold=th,
        model={"name": "m", "fingerprint": "1" * 64, "seed_sha256": "2" * 64},
    )
    idx = NhkitIndex.from_hashlist(tmp_path / "L")
    assert idx.threshold == 1
    assert [m.metadata["id"] for m in idx.query("0" * 24)] == ["a"]
