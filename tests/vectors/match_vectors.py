"""Hash-list conformance vectors (docs/hashlist-format.md, last section), made through the Python
writer: `match_lists.json` (read: valid lists and every documented reader error) and
`match_search.json` (range search rows: ties, boundary, shared hashes, fragile bits).

Invalid lists are a valid list with one fault; where the fault is in a file's content (not its
checksum), the manifest is re-sealed (sizes and sha256 recomputed) so that the reader reaches
the content check instead of stopping at the checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from nhkit.runtime.hashlist import (
    Entry,
    HashListError,
    list_files,
    manifest_bytes,
    parse_files,
    seal,
)
from nhkit.runtime.spec import Spec

GENERATOR_VERSION = "1"
LIST_ID = "vec-list"
MODEL = {
    "name": "nhkit-vectors-model",
    "fingerprint": hashlib.sha256(b"nhkit vectors model fingerprint").hexdigest(),
    "seed_sha256": hashlib.sha256(b"nhkit vectors seed").hexdigest(),
}
OTHER_MODEL = {
    "name": "other-model",
    "fingerprint": hashlib.sha256(b"another model").hexdigest(),
    "seed_sha256": MODEL["seed_sha256"],
}
OTHER_SEED = {
    "name": MODEL["name"],
    "fingerprint": MODEL["fingerprint"],
    "seed_sha256": hashlib.sha256(b"another seed").hexdigest(),
}
SPEC = Spec(fragile_margin=0.1)
THRESHOLD = {
    "recommended": 12,
    "fpr": 0.0,
    "criterion": "zero-fp",
    "negative_pairs": 31125,
    "negative_images": 250,
    "drift_p99": 3,
    "source": "nhkit match calibrate",
    "report_sha256": hashlib.sha256(b"calibration report").hexdigest(),
}

NOTES = {
    "EmptyList": "A list with no entries: H = N = 0, offsets.bin is 4 zero bytes.",
    "SharedHash": "Several entries share one hash (exact duplicates in the list); they are "
    "consecutive and ordered by id.",
    "Fragile": "fragile.bin is present or the query carries a fragile mask; "
    "nonfragile_distance differs from distance.",
    "Utf8IdOrder": "Entries sharing a hash are ordered by id as UTF-8 bytes (code points); "
    "UTF-16 order (Java String.compareTo) differs for these ids.",
    "LineSeparator": "Strings hold U+2028/U+2029 unescaped: entries.jsonl is split on 0x0A only.",
    "Threshold": "The manifest carries a recommended threshold with its figures.",
    "Tie": "Several hits at the same distance: ordered by entry index.",
    "Boundary": "A hit at exactly distance T (and a hash at T+1 that is not a hit).",
    "NoHit": "No entry within T bits.",
    "AllEntries": "T = 96: every entry is a hit.",
    "ThresholdRange": "Threshold outside 0..96: the search must be rejected.",
    "OtherModel": "The query was made with another model fingerprint or seed than the list: "
    "an error naming both.",
    "Tampered": "A file's bytes changed after sealing: size or sha256 differs from the manifest.",
    "Truncated": "A file cut short: its size differs from the manifest.",
    "MissingFile": "A file listed in the manifest is absent.",
    "UnlistedFile": "A file present in the folder is not listed in the manifest.",
    "MissingManifest": "No manifest.json.",
    "WrongFormat": "manifest.json's format is not nhkit-hashlist.",
    "WrongVersion": "format_version is not 1.",
    "DuplicateKey": "A JSON object (manifest or entry line) has the same key twice.",
    "Unsorted": "hashes.bin not strictly ascending, or entries of one hash not sorted by id.",
    "BadOffsets": "offsets.bin not starting at 0, not strictly increasing, or not ending at N.",
    "CountsMismatch": "counts disagree with the file sizes.",
    "HugeLabel": "An entry's label exceeds 1024 characters.",
    "BadEntry": "An entry line that is not an object of the entry schema (unknown key, wrong "
    "type, bad hash text, blank line, not UTF-8, not JSON).",
    "HashMismatch": "An entry's hash differs from its group's hash in hashes.bin.",
    "DuplicateId": "Two entries with the same id.",
    "BadFingerprint": "model.fingerprint or model.seed_sha256 is not 64 lowercase hex digits.",
    "BadListId": "list_id does not match [A-Za-z0-9._-]{1,128} or is '.' / '..'.",
    "FragileSize": "fragile.bin is not 12 bytes per entry.",
    "BadThreshold": "threshold is neither null nor a complete threshold object.",
}


def _h(bits: list[int]) -> str:
    """Hex of a hash with the given bit indices set (bit 0 = MSB of byte 0)."""
    v = 0
    for b in bits:
        v |= 1 << (95 - b)
    return f"{v:024x}"


def _mask(bits: list[int]) -> bytes:
    return bytes.fromhex(_h(bits))


# A small list whose distances are easy to read: hashes differ in chosen bits.
BASE_ENTRIES = [
    Entry("cat-1", _h([]), "cat", "photos/cat-1.jpg", None, _mask([0, 1])),
    Entry("cat-2", _h([]), "cat (copy)", "photos/cat-2.jpg", {"album": "a"}, _mask([])),
    Entry("cat-0", _h([]), None, None, None, _mask([95])),
    Entry("dog", _h([0, 1, 2, 3]), "dog", "photos/dog.jpg", None, _mask([2, 40])),
    Entry("bird", _h([40, 41, 42, 43]), "bird", None, None, _mask([])),
    Entry("fish", _h([0, 1, 2, 3, 4, 5]), "fish", None, None, _mask([4, 5, 6])),
    Entry("tree", _h(list(range(48, 96))), "tree", None, None, _mask([])),
    Entry("sky", _h(list(range(96))), None, None, None, _mask(list(range(0, 96, 2)))),
]


def _files(
    entries: list[Entry],
    *,
    threshold: dict[str, Any] | None = None,
    list_id: str = LIST_ID,
    model: dict[str, str] = MODEL,
) -> dict[str, bytes]:
    return list_files(seal(entries, list_id=list_id, spec=SPEC, model=model, threshold=threshold))


def _manifest(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files["manifest.json"])


def _reseal(files: dict[str, bytes], **manifest_changes: Any) -> dict[str, bytes]:
    """Recompute every file's size and sha256 in the manifest (after a content fault)."""
    m = _manifest(files)
    m.update(manifest_changes)
    m["files"] = [
        {"path": p, "sha256": hashlib.sha256(files[p]).hexdigest(), "size": len(files[p])}
        for p in sorted(files)
        if p != "manifest.json"
    ]
    out = dict(files)
    out["manifest.json"] = manifest_bytes(m)
    return out


def _with_manifest(
    files: dict[str, bytes], mutate: Callable[[dict[str, Any]], None]
) -> dict[str, bytes]:
    m = _manifest(files)
    mutate(m)
    out = dict(files)
    out["manifest.json"] = manifest_bytes(m)
    return out


def _lines(files: dict[str, bytes]) -> list[bytes]:
    return files["entries.jsonl"].split(b"\n")[:-1]


def _set_lines(files: dict[str, bytes], lines: list[bytes]) -> dict[str, bytes]:
    out = dict(files)
    out["entries.jsonl"] = b"".join(line + b"\n" for line in lines)
    return _reseal(out)


def _encode(files: dict[str, bytes]) -> dict[str, Any]:
    return {name: {"hex": files[name].hex()} for name in sorted(files)}


def _verdict(files: dict[str, bytes]) -> HashListError | Any:
    try:
        return parse_files(files, LIST_ID)
    except HashListError as exc:
        return exc


def _case(
    comment: str,
    inp: dict[str, Any],
    expected: dict[str, Any],
    flags: list[str],
    result: str = "valid",
) -> dict[str, Any]:
    for f in flags:
        assert f in NOTES, f
    return {
        "tcId": 0,
        "comment": comment,
        "flags": flags,
        "result": result,
        "input": inp,
        "expected": expected,
    }


def _doc(algorithm: str, header: list[str], groups: list[dict[str, Any]]) -> dict[str, Any]:
    n = 0
    used: set[str] = set()
    for g in groups:
        for t in g["tests"]:
            n += 1
            t["tcId"] = n
            used.update(t["flags"])
    return {
        "schema": "nhkit-vectors-v1",
        "algorithm": algorithm,
        "generatorVersion": GENERATOR_VERSION,
        "header": header,
        "notes": {k: NOTES[k] for k in sorted(used)},
        "numberOfTests": n,
        "testGroups": groups,
    }


# ----- match_lists.json -----------------------------------------------------------------------


def _invalid_lists(base: dict[str, bytes]) -> list[tuple[str, list[str], str, dict[str, bytes]]]:
    """(comment, flags, field the error must name, files)."""
    out: list[tuple[str, list[str], str, dict[str, bytes]]] = []

    def add(comment: str, flags: list[str], field: str, files: dict[str, bytes]) -> None:
        out.append((comment, flags, field, files))

    f = dict(base)
    f["hashes.bin"] = bytes([base["hashes.bin"][0] ^ 1]) + base["hashes.bin"][1:]
    add("one bit of hashes.bin flipped after sealing", ["Tampered"], "hashes.bin", f)
    f = dict(base)
    f["entries.jsonl"] = base["entries.jsonl"].replace(b'"dog"', b'"cow"', 1)
    add("a label edited by hand (same size, other sha256)", ["Tampered"], "entries.jsonl", f)
    f = dict(base)
    f["entries.jsonl"] = base["entries.jsonl"][:-20]
    add("entries.jsonl cut short", ["Truncated"], "entries.jsonl", f)
    f = dict(base)
    del f["offsets.bin"]
    add("offsets.bin missing", ["MissingFile"], "offsets.bin", f)
    f = dict(base)
    f["notes.txt"] = b"hello\n"
    add("an extra file in the folder", ["UnlistedFile"], "notes.txt", f)
    f = dict(base)
    del f["manifest.json"]
    add("no manifest.json", ["MissingManifest"], "manifest.json", f)
    add(
        "format_version 2",
        ["WrongVersion"],
        "format_version",
        _with_manifest(base, lambda m: m.update(format_version=2)),
    )
    add(
        "format of a bundle",
        ["WrongFormat"],
        "format",
        _with_manifest(base, lambda m: m.update(format="nhkit-bundle")),
    )
    dup = dict(base)
    text = base["manifest.json"].decode()
    dup["manifest.json"] = text.replace('"counts": {', '"counts": {\n    "hashes": 1,', 1).encode()
    add("manifest key counts.hashes appears twice", ["DuplicateKey"], "counts.hashes", dup)
    lines = _lines(base)
    k = next(i for i, line in enumerate(lines) if b'"id": "dog"' in line)
    add(
        "an entry line with the key id twice",
        ["DuplicateKey"],
        "id",
        _set_lines(
            base,
            [lines[0].replace(b'{"id": "cat-0", ', b'{"id": "cat-0", "id": "x", ')] + lines[1:],
        ),
    )
    h = base["hashes.bin"]
    swapped = h[12:24] + h[0:12] + h[24:]
    add(
        "hashes.bin not ascending (first two swapped)",
        ["Unsorted"],
        "hashes.bin",
        _reseal({**base, "hashes.bin": swapped}),
    )
    add(
        "entries sharing a hash not sorted by id",
        ["Unsorted"],
        "id",
        _set_lines(base, [lines[1], lines[0]] + lines[2:]),
    )
    off = np.frombuffer(base["offsets.bin"], "<u4").copy()
    bad = off.copy()
    bad[2] = bad[1]
    add(
        "offsets not strictly increasing",
        ["BadOffsets"],
        "offsets.bin",
        _reseal({**base, "offsets.bin": bad.astype("<u4").tobytes()}),
    )
    bad = off.copy()
    bad[-1] += 1
    add(
        "last offset is not N",
        ["BadOffsets"],
        "offsets.bin",
        _reseal({**base, "offsets.bin": bad.astype("<u4").tobytes()}),
    )
    bad = off.copy()
    bad[0] = 1
    add(
        "first offset is not 0",
        ["BadOffsets"],
        "offsets.bin",
        _reseal({**base, "offsets.bin": bad.astype("<u4").tobytes()}),
    )
    m = _manifest(base)
    add(
        "counts.hashes one more than hashes.bin holds",
        ["CountsMismatch"],
        "hashes.bin",
        _with_manifest(base, lambda mm: mm["counts"].update(hashes=m["counts"]["hashes"] + 1)),
    )
    add(
        "counts.entries one more than entries.jsonl holds",
        ["CountsMismatch"],
        "fragile.bin",
        _with_manifest(base, lambda mm: mm["counts"].update(entries=m["counts"]["entries"] + 1)),
    )
    big = json.loads(lines[k])
    big["label"] = "x" * 1025
    add(
        "a label of 1025 characters",
        ["HugeLabel"],
        "label",
        _set_lines(base, lines[:k] + [json.dumps(big).encode()] + lines[k + 1 :]),
    )
    obj = json.loads(lines[k])
    obj["colour"] = "red"
    add(
        "an entry with an unknown key",
        ["BadEntry"],
        "colour",
        _set_lines(base, lines[:k] + [json.dumps(obj).encode()] + lines[k + 1 :]),
    )
    obj = json.loads(lines[k])
    obj["label"] = 5
    add(
        "a label that is a number",
        ["BadEntry"],
        "label",
        _set_lines(base, lines[:k] + [json.dumps(obj).encode()] + lines[k + 1 :]),
    )
    obj = json.loads(lines[k])
    obj["hash"] = obj["hash"].upper()
    add(
        "an entry hash in upper case",
        ["BadEntry"],
        "hash",
        _set_lines(base, lines[:k] + [json.dumps(obj).encode()] + lines[k + 1 :]),
    )
    obj = json.loads(lines[k])
    obj.pop("meta")
    add(
        "an entry without meta",
        ["BadEntry"],
        "meta",
        _set_lines(base, lines[:k] + [json.dumps(obj).encode()] + lines[k + 1 :]),
    )
    add(
        "a blank line",
        ["BadEntry"],
        "entries.jsonl",
        _set_lines(base, lines[:k] + [b""] + lines[k + 1 :]),
    )
    add(
        "a line that is not UTF-8",
        ["BadEntry"],
        "entries.jsonl",
        _set_lines(base, lines[:k] + [lines[k].replace(b'"dog"', b'"d\xffg"', 1)] + lines[k + 1 :]),
    )
    add(
        "a line that is not JSON",
        ["BadEntry"],
        "entries.jsonl",
        _set_lines(base, lines[:k] + [lines[k][:-1]] + lines[k + 1 :]),
    )
    obj = json.loads(lines[k])
    obj["hash"] = "f" * 24
    add(
        "an entry hash that is not its group's",
        ["HashMismatch"],
        "hash",
        _set_lines(base, lines[:k] + [json.dumps(obj).encode()] + lines[k + 1 :]),
    )
    obj = json.loads(lines[k])
    obj["id"] = "cat-1"
    add(
        "two entries with id cat-1",
        ["DuplicateId"],
        "id",
        _set_lines(base, lines[:k] + [json.dumps(obj).encode()] + lines[k + 1 :]),
    )
    add(
        "fingerprint with upper-case hex",
        ["BadFingerprint"],
        "model.fingerprint",
        _with_manifest(
            base, lambda mm: mm["model"].update(fingerprint=mm["model"]["fingerprint"].upper())
        ),
    )
    add(
        "seed_sha256 of 63 digits",
        ["BadFingerprint"],
        "model.seed_sha256",
        _with_manifest(
            base, lambda mm: mm["model"].update(seed_sha256=mm["model"]["seed_sha256"][:63])
        ),
    )
    add(
        "list_id '..'",
        ["BadListId"],
        "list_id",
        _with_manifest(base, lambda mm: mm.update(list_id="..")),
    )
    add(
        "fragile.bin one mask short",
        ["FragileSize", "Fragile"],
        "fragile.bin",
        _reseal({**base, "fragile.bin": base["fragile.bin"][:-12]}),
    )
    add(
        "threshold without its figures",
        ["BadThreshold"],
        "threshold",
        _with_manifest(base, lambda mm: mm.update(threshold={"recommended": 12})),
    )
    add(
        "threshold 97",
        ["BadThreshold"],
        "threshold",
        _with_manifest(base, lambda mm: mm.update(threshold={**THRESHOLD, "recommended": 97})),
    )
    return out


def list_vectors() -> dict[str, Any]:
    base = _files(BASE_ENTRIES)
    valid_lists = [
        ("8 entries, 6 hashes, fragile masks", ["SharedHash", "Fragile"], base),
        ("empty list", ["EmptyList"], _files([])),
        (
            "with a recommended threshold, no fragile.bin",
            ["Threshold", "SharedHash"],
            _files(
                [Entry(e.id, e.hash, e.label, e.source, e.meta) for e in BASE_ENTRIES],
                threshold=THRESHOLD,
            ),
        ),
        (
            "ids ordered by UTF-8 bytes, not UTF-16 units",
            ["Utf8IdOrder", "SharedHash"],
            _files([Entry(i, _h([7]), None) for i in ("\uff5e", "\U0001f600", "e\u0301", "z")]),
        ),
        (
            "U+2028 and U+2029 inside strings are not line ends",
            ["LineSeparator"],
            _files([Entry("a\u2028b", _h([9]), "x\u2029y", "s\u2028"), Entry("c", _h([10]))]),
        ),
    ]
    valid = []
    for comment, flags, files in valid_lists:
        hl = _verdict(files)
        assert not isinstance(hl, Exception), (comment, hl)
        valid.append(
            _case(
                comment,
                {"list_id": LIST_ID, "files": _encode(files)},
                {
                    "entries": len(hl.ids),
                    "hashes": len(hl.hashes),
                    "list_id": hl.list_id,
                    "fingerprint": hl.model["fingerprint"],
                    "seed_sha256": hl.model["seed_sha256"],
                    "ids": hl.ids,
                },
                flags,
            )
        )
    invalid = []
    for comment, flags, field, files in _invalid_lists(base):
        err = _verdict(files)
        assert isinstance(err, HashListError), (comment, err)
        assert field in str(err), (comment, field, str(err))
        invalid.append(
            _case(
                comment,
                {"list_id": LIST_ID, "files": _encode(files)},
                {"field": field},
                flags,
                result="invalid",
            )
        )
    header = [
        "Hash-list reader (docs/hashlist-format.md): materialise input.files (name -> "
        "exact bytes) as the folder <input.list_id>/ and load it.",
        "valid: the reader must accept the list and report expected counts, ids (in "
        "entry order) and identity; invalid: it must reject the list with an error whose "
        "message names expected.field.",
    ]
    return _doc(
        "nhkit-hashlist-v1/read",
        header,
        [
            {"type": "HashListReadTest", "comment": "valid lists", "params": {}, "tests": valid},
            {
                "type": "HashListReadTest",
                "comment": "invalid lists",
                "params": {},
                "tests": invalid,
            },
        ],
    )


# ----- match_search.json ----------------------------------------------------------------------


def _search_case(
    hl: Any,
    comment: str,
    query: str,
    fragile: bytes | None,
    threshold: int,
    flags: list[str],
    model: dict[str, str] | None = None,
) -> dict[str, Any]:
    inp: dict[str, Any] = {
        "query": query,
        "fragile": None if fragile is None else fragile.hex(),
        "threshold": threshold,
    }
    if model is not None:
        inp["model"] = {"fingerprint": model["fingerprint"], "seed_sha256": model["seed_sha256"]}
    try:
        if model is not None:
            hl.check_identity(model, "the query")
        res = hl.search(
            [query],
            threshold,
            backend="numpy",
            fragile=None if fragile is None else np.frombuffer(fragile, np.uint8),
        )
    except HashListError as exc:
        return _case(comment, inp, {"field": exc.field}, flags, result="invalid")
    except Exception as exc:  # threshold outside 0..96
        assert "threshold" in str(exc), exc
        return _case(comment, inp, {"field": "threshold"}, flags, result="invalid")
    hits = [
        {
            "entry": h.entry,
            "id": h.id,
            "label": h.label,
            "distance": h.distance,
            "nonfragile_distance": h.nonfragile_distance,
        }
        for h in res.hits(0)
    ]
    return _case(comment, inp, {"hits": hits}, flags)


def search_vectors() -> dict[str, Any]:
    groups = []
    files = _files(BASE_ENTRIES)
    hl = parse_files(files, LIST_ID)
    tests = [
        _search_case(
            hl, "exact hit on a hash shared by 3 entries", _h([]), None, 0, ["SharedHash"]
        ),
        _search_case(
            hl,
            "dog at 4, bird at 4: tie ordered by entry index",
            _h([]),
            None,
            4,
            ["Tie", "Boundary", "SharedHash"],
        ),
        _search_case(
            hl, "T = 3: dog (4 bits away) is not a hit", _h([]), None, 3, ["Boundary", "SharedHash"]
        ),
        _search_case(
            hl, "query between dog and fish", _h([0, 1, 2, 3, 4]), None, 1, ["Tie", "Boundary"]
        ),
        _search_case(
            hl,
            "query with fragile bits 0..3",
            _h([0, 1]),
            _mask([0, 1, 2, 3]),
            6,
            ["Fragile", "SharedHash"],
        ),
        _search_case(
            hl,
            "query fragile mask covers the whole difference",
            _h([0, 1, 2, 3, 4, 5]),
            _mask([4, 5]),
            2,
            ["Fragile"],
        ),
        _search_case(hl, "far from everything", _h(list(range(20, 60))), None, 12, ["NoHit"]),
        _search_case(
            hl,
            "T = 96: every entry",
            _h([10, 20, 30]),
            _mask([10]),
            96,
            ["AllEntries", "Fragile", "Tie", "SharedHash"],
        ),
        _search_case(
            hl,
            "T = 48 boundary against tree and sky",
            _h(list(range(48))),
            None,
            48,
            ["Boundary", "Tie"],
        ),
        _search_case(hl, "threshold -1", _h([]), None, -1, ["ThresholdRange"]),
        _search_case(hl, "threshold 97", _h([]), None, 97, ["ThresholdRange"]),
        _search_case(
            hl, "query made with another model", _h([]), None, 4, ["OtherModel"], model=OTHER_MODEL
        ),
        _search_case(
            hl, "query made with another seed", _h([]), None, 4, ["OtherModel"], model=OTHER_SEED
        ),
        _search_case(
            hl, "query made with the list's model", _h([]), None, 0, ["SharedHash"], model=MODEL
        ),
    ]
    groups.append(
        {
            "type": "HashListSearchTest",
            "comment": "8 entries with fragile masks",
            "params": {"list_id": LIST_ID, "files": _encode(files)},
            "tests": tests,
        }
    )
    nf_files = _files([Entry(e.id, e.hash, e.label, e.source, e.meta) for e in BASE_ENTRIES])
    hl2 = parse_files(nf_files, LIST_ID)
    groups.append(
        {
            "type": "HashListSearchTest",
            "comment": "same list without fragile.bin",
            "params": {"list_id": LIST_ID, "files": _encode(nf_files)},
            "tests": [
                _search_case(
                    hl2,
                    "query fragile only",
                    _h([0, 1]),
                    _mask([0, 2]),
                    6,
                    ["Fragile", "SharedHash", "Tie"],
                ),
                _search_case(
                    hl2,
                    "no fragile anywhere",
                    _h([40, 41]),
                    None,
                    6,
                    ["Tie", "Boundary", "SharedHash"],
                ),
            ],
        }
    )
    empty = _files([])
    hl3 = parse_files(empty, LIST_ID)
    groups.append(
        {
            "type": "HashListSearchTest",
            "comment": "empty list",
            "params": {"list_id": LIST_ID, "files": _encode(empty)},
            "tests": [
                _search_case(hl3, "any query, T = 96", _h([]), None, 96, ["EmptyList"]),
                _search_case(
                    hl3,
                    "threshold 97 is still an error",
                    _h([]),
                    None,
                    97,
                    ["EmptyList", "ThresholdRange"],
                ),
            ],
        }
    )
    header = [
        "Hash-list range search (docs/hashlist-format.md, 'Search semantics'): load "
        "params.files as the folder <params.list_id>/, then search input.query (with "
        "input.fragile, null = no fragile bits) at input.threshold.",
        "valid: expected.hits in order (distance, then entry index); invalid: the search "
        "must be rejected with an error naming expected.field. input.model, when present, "
        "is the identity the query was made with; it must equal the list's.",
    ]
    return _doc("nhkit-hashlist-v1/search", header, groups)


MATCH_GENERATORS = {"match_lists.json": list_vectors, "match_search.json": search_vectors}
