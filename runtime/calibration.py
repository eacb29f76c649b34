"""`nhkit match calibrate`'s measurements: hash distinct images, their edited copies and their
device-bundle hashes, and turn the distances into a threshold report (a plain dict, the
content of report.json; calibration_report.py writes and reads the folder).

Not to be confused with calibrate.py, which tunes golden-set *tolerances* (`nhkit golden
calibrate`); this module chooses a *matching threshold* with a measured false-positive rate.

Why the device terms: a list is usually built on a server and queried from phones. A device hash
differs from the server hash of the same image by the bundle's drift, so (a) the threshold must
be at least the drift's p99 or an unedited photo fails to match itself, and (b) the device hash
of one photo must not come closer to the server hash of another than the threshold allows: the
"cross pairs" (device i vs server j, i != j) are negatives too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .atomic import write_text_atomic
from .digest import ModelIdentity, sha256_file
from .edits import EDITS, SUITE_VERSION, Edit, apply_edit, edit_seed
from .errors import InputFileError, NhkitError
from .hasher import Hasher, Prepared, collect_images
from .hashing import hex_to_bits
from .threshold import (
    Distribution,
    ThresholdChoice,
    criterion_name,
    histogram,
    pairwise_distances,
    quantile,
    threshold_at,
    true_positive_rate,
)

REPORT_FORMAT = "nhkit-calibration-report"
REPORT_VERSION = 1
SOURCE = "nhkit match calibrate"


# ----- inputs -----------------------------------------------------------------------------------


def model_json(model: ModelIdentity) -> dict[str, Any]:
    """The report's `model`: what its hashes are meaningless without."""
    return {"name": model.name, "fingerprint": model.fingerprint, "seed_sha256": model.seed_sha256}


def list_images(folder: str | os.PathLike[str], what: str) -> list[tuple[str, str]]:
    """(path, id) of every image under a folder, id = path relative to it (POSIX)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(
            root, f"{what}: not a folder" if root.exists() else f"{what}: no such folder"
        )
    files, problems = collect_images([root], recursive=True)
    if problems:
        raise InputFileError(problems[0][0], f"{what}: {problems[0][1]}")
    return [(f, Path(f).relative_to(root).as_posix()) for f in files]


class HashCache:
    """Hashes already computed, keyed by (model, spec, file bytes, edit): a second calibration
    of the same photos (another --bundle, another --fpr) only hashes what is new.

    One JSON line per hash; written whole and atomically by save(). Keys are sha256 digests of
    everything that defines the hash, so a changed photo, edit suite or model never hits."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self.entries: dict[str, str] = {}
        self.hits = 0
        self.dirty = False
        if self.path and self.path.is_file():
            for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    obj = json.loads(line)
                    hex_to_bits(obj["hash"])
                    self.entries[str(obj["key"])] = obj["hash"]
                except (ValueError, KeyError, TypeError):
                    raise InputFileError(
                        self.path,
                        f"line {n}: not a hash-cache line (delete the cache file to rebuild it)",
                    ) from None

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        hit = self.entries.get(key)
        self.hits += hit is not None
        return hit

    def put(self, key: str, hex_hash: str) -> None:
        if self.path is not None:
            self.entries[key] = hex_hash
            self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        write_text_atomic(
            self.path,
            "".join(
                json.dumps({"key": k, "hash": v}) + "\n" for k, v in sorted(self.entries.items())
            ),
        )


# ----- hashing ----------------------------------------------------------------------------------


@dataclass
class HashedSet:
    """Hashes of a set of images (and optionally of edited copies), by image index."""

    ids: list[str]
    paths: list[str]
    bits: dict[int, np.ndarray] = field(default_factory=dict)  # original hashes
    edit_bits: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def ok_indices(self) -> list[int]:
        return sorted(self.bits)


def _model_key(hasher: Hasher, model_id: str) -> list[Any]:
    return [model_id, hasher.spec.to_json()]


def hash_images(
    hasher: Hasher,
    items: Sequence[tuple[str, str]],
    edits: Sequence[Edit] = (),
    *,
    model_id: str,
    cache: HashCache | None = None,
    batch_size: int = 16,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> HashedSet:
    """Hash each image and its edited copies. A file that cannot be decoded is recorded in
    `failed` (path, reason) and skipped; the batch goes on.

    Decoding and editing run on a thread pool (Pillow releases the GIL in its codecs and
    filters) while the main thread embeds full batches, like Hasher.hash_files."""
    cache = cache or HashCache(None)
    out = HashedSet(
        ids=[i for _, i in items],
        paths=[p for p, _ in items],
        edit_bits={e.name: {} for e in edits},
    )
    mkey = _model_key(hasher, model_id)

    def job(idx: int) -> list[tuple[str, str, Prepared | str]]:
        """[(edit name or '', cache key, Prepared or cached hex)] for one image."""
        path, ident = items[idx]
        sha = sha256_file(path)
        keys = {"": HashCache.key(mkey, sha, "")}
        keys.update({e.name: HashCache.key(mkey, sha, e.name, SUITE_VERSION, ident) for e in edits})
        cached = {name: cache.get(k) for name, k in keys.items()}
        res: list[tuple[str, str, Prepared | str]] = []
        pil: Image.Image | None = None
        if cached[""] is not None:
            res.append(("", keys[""], cached[""]))
        if cached[""] is None or any(v is None for v in cached.values()):
            prepared = hasher.prepare(path)
            if cached[""] is None:
                res.append(("", keys[""], prepared))
            dec = prepared.decoded
            assert dec is not None
            pil = dec.image if dec.image is not None else Image.fromarray(dec.rgb)
        seed = edit_seed(ident)
        for e in edits:
            hit = cached[e.name]
            if hit is not None:
                res.append((e.name, keys[e.name], hit))
                continue
            assert pil is not None
            try:
                edited = np.asarray(apply_edit(e, pil, seed))
            except (OSError, ValueError) as exc:
                raise NhkitError(f"{path}: edit {e.name} failed: {exc}") from None
            res.append((e.name, keys[e.name], hasher.prepare_rgb(edited)))
        return res

    pending_batch: list[tuple[int, str, str, Prepared]] = []

    def store(idx: int, name: str, bits: np.ndarray) -> None:
        if name:
            out.edit_bits[name][idx] = bits
        else:
            out.bits[idx] = bits

    def flush() -> None:
        if not pending_batch:
            return
        emb = hasher.embed_prepared([p for *_, p in pending_batch])
        for (idx, name, key, _), r in zip(pending_batch, hasher.finish(emb)):
            store(idx, name, r.bits)
            cache.put(key, r.hex)
        pending_batch.clear()

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        window = max(2, workers * 2)
        pending: deque[tuple[int, Future[list[tuple[str, str, Prepared | str]]]]] = deque()
        nxt = 0
        while nxt < len(items) or pending:
            while nxt < len(items) and len(pending) < window:
                pending.append((nxt, pool.submit(job, nxt)))
                nxt += 1
            idx, fut = pending.popleft()
            try:
                parts = fut.result()
            except NhkitError as exc:
                out.failed.append((items[idx][0], getattr(exc, "reason", None) or str(exc)))
                if progress:
                    progress(1)
                continue
            for name, key, p in parts:
                if isinstance(p, str):
                    store(idx, name, hex_to_bits(p))
                else:
                    pending_batch.append((idx, name, key, p))
                    if len(pending_batch) >= batch_size:
                        flush()
            if progress:
                progress(1)
        flush()
    return out


def hash_originals(
    hasher: Hasher,
    paths: Sequence[str],
    *,
    model_id: str,
    cache: HashCache | None = None,
    batch_size: int = 16,
    workers: int = 2,
) -> dict[int, np.ndarray | str]:
    """Hashes of unedited files through another hasher (a device bundle): index -> bits, or
    the failure reason."""
    cache = cache or HashCache(None)
    mkey = _model_key(hasher, model_id)
    out: dict[int, np.ndarray | str] = {}
    todo: list[int] = []
    keys: dict[int, str] = {}
    for i, p in enumerate(paths):
        keys[i] = HashCache.key(mkey, sha256_file(p), "")
        hit = cache.get(keys[i])
        if hit is not None:
            out[i] = hex_to_bits(hit)
        else:
            todo.append(i)
    results = hasher.hash_files([paths[i] for i in todo], batch_size=batch_size, workers=workers)
    for i, (_, r) in zip(todo, results):
        if isinstance(r, NhkitError):
            out[i] = getattr(r, "reason", None) or str(r)
        else:
            out[i] = r.bits
            cache.put(keys[i], r.hex)
    return out


# ----- the report -------------------------------------------------------------------------------


@dataclass
class BundleDrift:
    """One bundle's drift: what its manifest records and, when measured, what we saw."""

    path: str
    manifest: dict[str, Any]
    device_bits: dict[int, np.ndarray] | None = None  # measured: index -> device hash bits
    failed: list[tuple[str, str]] = field(default_factory=list)


def _manifest_summary(path: str, m: dict[str, Any]) -> dict[str, Any]:
    d = m["drift"]
    return {
        "path": path,
        "bundle_id": m["bundle_id"],
        "target": m["target"],
        "variant": (
            m["variant"].get("name") if isinstance(m.get("variant"), dict) else m.get("variant")
        ),
        "manifest_drift": {
            "mean": d["hamming"]["mean"],
            "p95": d["hamming"]["p95"],
            "max": d["hamming"]["max"],
            "images": d["images"],
            "photos": d["photos"],
            "passed": d["passed"],
        },
    }


def closest_pairs(bits: np.ndarray, ids: list[str], k: int = 10) -> list[dict[str, Any]]:
    """The k closest distinct pairs (the tail a threshold runs into), for the report."""
    x = bits.astype(np.int32)
    d = x.sum(1)[:, None] + x.sum(1)[None, :] - 2 * (x @ x.T)
    iu = np.triu_indices(len(ids), 1)
    order = np.lexsort((iu[1], iu[0], d[iu]))[:k]
    return [{"a": ids[iu[0][o]], "b": ids[iu[1][o]], "distance": int(d[iu][o])} for o in order]


# Fewer distinct pairs than this and the tail of the distance distribution is not seen: on 28
# photos (374 pairs) the v1 default model's closest distinct pair was 26 bits, on 629 unseen
# photos (197,506 pairs) it is 12 (benchmarks/results/calibrate.md). Issue 12 asks for >= 30,000
# pairs.
MIN_TAIL_PAIRS = 30_000


def small_set_caveats(pairs: int, images: int) -> list[str]:
    """A zero-FP threshold from a small set is optimistic: say so wherever it is shown, without
    blocking (a small set is still better than a guess)."""
    if pairs >= MIN_TAIL_PAIRS:
        return []
    return [
        f"only {pairs} distinct pairs of {images} images: fewer than {MIN_TAIL_PAIRS:,} pairs "
        "(about 250 distinct photos) do not show the tail of distinct-pair distances, so this "
        "threshold is optimistic (the default model's closest distinct pair is 26 bits on 28 "
        "photos but 12 bits on 629); calibrate on more distinct photos before relying on it"
    ]


def build_report(
    *,
    model: ModelIdentity,
    spec: dict[str, Any],
    negatives: HashedSet,
    negatives_folder: str,
    fprs: Sequence[float],
    target_fpr: float,
    edits: Sequence[Edit] = (),
    positives_source: str | None = None,
    bundles: Sequence[BundleDrift] = (),
    command: str = "",
    forced: bool = False,
) -> dict[str, Any]:
    """All figures of report.json, from hashes already made (pure: no file access)."""
    from . import __version__

    ok = negatives.ok_indices()
    n = len(ok)
    if n < 2:
        raise NhkitError(
            f"{negatives_folder}: {n} hashable image(s); calibration needs at least "
            "2 distinct images (hundreds for a threshold worth quoting)"
        )
    ids = [negatives.ids[i] for i in ok]
    server = np.stack([negatives.bits[i] for i in ok])
    neg_hist = histogram(pairwise_distances(server))
    targets = [0.0] + [f for f in fprs if f != 0.0]
    if target_fpr not in targets:
        targets.append(target_fpr)
    server_choices = {t: threshold_at(neg_hist, t) for t in targets}

    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "format_version": REPORT_VERSION,
        "tool": {"nhkit": __version__},
        "command": command,
        "model": model_json(model),
        "spec": spec,
        "negatives": {
            "folder": negatives_folder,
            "images": n,
            "pairs": int(neg_hist.sum()),
            "skipped": [{"path": p, "reason": r} for p, r in negatives.failed],
            "distances": Distribution.of(neg_hist).to_json(),
            "closest": closest_pairs(server, ids),
        },
        "thresholds": [server_choices[t].to_json() for t in targets],
    }

    # Device drift and cross pairs, per bundle.
    bundle_out = []
    cross_choices: list[dict[float, ThresholdChoice]] = []
    drift_p99s: list[int] = []
    for b in bundles:
        entry = _manifest_summary(b.path, b.manifest)
        entry["measured"] = None
        entry["cross"] = None
        if b.device_bits is not None:
            both = [i for i in ok if i in b.device_bits]
            if len(both) < 2:
                raise NhkitError(
                    f"{b.path}: the bundle hashed {len(both)} of the calibration "
                    "images; cannot measure its drift"
                )
            dev = np.stack([b.device_bits[i] for i in both])
            srv = np.stack([negatives.bits[i] for i in both])
            drift_hist = histogram(np.count_nonzero(dev != srv, axis=1))
            cross_hist = histogram(pairwise_distances(dev, srv))
            p99 = quantile(drift_hist, 0.99)
            choices = {t: threshold_at(cross_hist, t) for t in targets}
            cross_choices.append(choices)
            entry["measured"] = {
                "images": len(both),
                "failed": [{"path": p, "reason": r} for p, r in b.failed],
                "drift": Distribution.of(drift_hist).to_json(),
            }
            entry["cross"] = {
                "pairs": int(cross_hist.sum()),
                "distances": Distribution.of(cross_hist).to_json(),
                "server_min": int(np.flatnonzero(neg_hist)[0]),
                "thresholds": [choices[t].to_json() for t in targets],
            }
            entry["drift_p99"] = p99
            entry["drift_p99_source"] = "measured"
        else:
            # The manifest records mean/p95/max, not p99: max bounds p99 from above.
            entry["drift_p99"] = int(b.manifest["drift"]["hamming"]["max"])
            entry["drift_p99_source"] = (
                "manifest max (the manifest records mean/p95/max; "
                "max bounds p99; measure with --measure-drift)"
            )
            # Triangle inequality: a cross pair is at least server distance - drift.
            entry["cross_min_bound"] = max(
                0, int(np.flatnonzero(neg_hist)[0]) - int(b.manifest["drift"]["hamming"]["max"])
            )
        drift_p99s.append(int(entry["drift_p99"]))
        bundle_out.append(entry)
    report["bundles"] = bundle_out
    drift_p99 = max(drift_p99s) if drift_p99s else None

    # The recommendation: the strictest of the server and every cross-pair family.
    families = [server_choices] + cross_choices
    picks = [f[target_fpr] for f in families]
    ts = [c.threshold for c in picks]
    rec_t = None if any(t is None for t in ts) else min(t for t in ts if t is not None)
    fams_at_t = (
        [
            (histogram_fpr(fam_hist, rec_t))
            for fam_hist in [neg_hist]
            + [np.asarray(e["cross"]["distances"]["histogram"]) for e in bundle_out if e["cross"]]
        ]
        if rec_t is not None
        else []
    )
    problems = []
    if rec_t is None:
        problems.append(
            f"no threshold meets {criterion_name(target_fpr)}: distinct images share a hash"
        )
    if drift_p99 is not None and rec_t is not None and rec_t < drift_p99:
        problems.append(
            f"CONFLICT: the largest threshold with {criterion_name(target_fpr)} is "
            f"{rec_t} bits, but device drift p99 is {drift_p99} bits: a device hash "
            "of an unedited photo would fail to match its own server hash at this "
            "threshold, and raising the threshold to the drift breaks the "
            "false-positive target"
        )
    caveats = small_set_caveats(int(neg_hist.sum()), n)
    report["recommended"] = {
        "threshold": rec_t,
        "criterion": criterion_name(target_fpr),
        "target_fpr": target_fpr,
        "fpr": max((f for f, _ in fams_at_t), default=0.0),
        "false_positives": sum(k for _, k in fams_at_t),
        "negative_pairs": int(neg_hist.sum()),
        "negative_images": n,
        "cross_pairs": sum(e["cross"]["pairs"] for e in bundle_out if e["cross"]),
        "resolvable": server_choices[target_fpr].resolvable,
        "drift_p99": drift_p99,
        "margin_used": (round(drift_p99 / rec_t, 4) if drift_p99 is not None and rec_t else None),
        "conflict": bool(problems),
        "forced": bool(forced and problems),
        "problems": problems,
        "caveats": caveats,
    }

    if edits or positives_source:
        report["positives"] = positives_section(
            negatives,
            edits,
            ok,
            targets,
            {t: _strictest(families, t) for t in targets},
            drift_p99,
            positives_source or "",
        )
    else:
        report["positives"] = None
    report["threshold"] = list_threshold_fields(report)
    return report


def histogram_fpr(hist: np.ndarray, t: int) -> tuple[float, int]:
    """(observed FPR, false positives) of a negative histogram at threshold t."""
    h = np.asarray(hist, dtype=np.int64)
    fp = int(h[: t + 1].sum())
    return fp / int(h.sum()), fp


def _strictest(families: list[dict[float, ThresholdChoice]], t: float) -> int | None:
    ts = [f[t].threshold for f in families]
    return None if any(v is None for v in ts) else min(v for v in ts if v is not None)


def positives_section(
    negatives: HashedSet,
    edits: Sequence[Edit],
    ok: list[int],
    targets: list[float],
    thresholds: dict[float, int | None],
    drift_p99: int | None,
    source: str,
) -> dict[str, Any]:
    """Per edit: distance distribution to the original's hash and TPR at each threshold
    (and, with a drift term, at threshold - drift p99: the triangle-inequality worst case for
    an edited photo hashed on a device against a server list)."""
    out = []
    # A --positives folder named like a suite edit (e.g. hflip/) takes that edit's group.
    groups = {e.name: e for e in (*EDITS, *edits)}
    for name, per_image in negatives.edit_bits.items():
        e = groups.get(name)
        idx = [i for i in ok if i in per_image]
        if not idx:
            continue
        d = np.array([np.count_nonzero(per_image[i] != negatives.bits[i]) for i in idx])
        h = histogram(d)
        row: dict[str, Any] = {
            "name": name,
            "description": e.description if e else name,
            "group": e.group if e else "everyday",
            "pairs": len(idx),
            "distances": Distribution.of(h).to_json(),
            "tpr": {criterion_name(t): true_positive_rate(h, thresholds[t]) for t in targets},
            "tpr_after_drift": None,
        }
        if drift_p99 is not None:
            row_after: dict[str, float] = {}
            for t in targets:
                thr = thresholds[t]
                row_after[criterion_name(t)] = (
                    0.0 if thr is None else true_positive_rate(h, thr - drift_p99)
                )
            row["tpr_after_drift"] = row_after
        out.append(row)
    everyday = [r for r in out if r["group"] == "everyday"]
    means = {
        criterion_name(t): (
            float(np.mean([r["tpr"][criterion_name(t)] for r in everyday])) if everyday else None
        )
        for t in targets
    }
    after: dict[str, float] | None = None
    if drift_p99 is not None and everyday:
        after = {
            criterion_name(t): float(
                np.mean([r["tpr_after_drift"][criterion_name(t)] for r in everyday])
            )
            for t in targets
        }
    return {
        "source": source,
        "suite_version": SUITE_VERSION,
        "thresholds": {criterion_name(t): thresholds[t] for t in targets},
        "edits": out,
        "everyday_mean_tpr": means,
        "everyday_mean_tpr_after_drift": after,
    }


def list_threshold_fields(report: dict[str, Any]) -> dict[str, Any] | None:
    """The list manifest's `threshold` object (docs/hashlist-format.md) minus report_sha256,
    which is the digest of report.json itself and is added when the folder is written.
    None when there is no threshold to recommend (the format writes no threshold then)."""
    rec = report["recommended"]
    if rec["threshold"] is None or (rec["conflict"] and not rec["forced"]):
        return None
    return {
        "recommended": rec["threshold"],
        "fpr": rec["fpr"],
        "criterion": rec["criterion"],
        "negative_pairs": rec["negative_pairs"],
        "negative_images": rec["negative_images"],
        "drift_p99": rec["drift_p99"],
        "source": SOURCE,
    }
