"""Build the threshold-calibration / evaluation set from `photos_extra` (issue 11 §3, issue 12 §1).

    python benchmarks/calib_set.py --extra ../shared/photos_extra --train ../shared/photos \
        --link /tmp/nhkit-calib-set

Why a script: a calibration is only as honest as its negatives. Every pair of images in the set
is counted as a *distinct* pair (a false positive if it matches), so the set must hold no
near-duplicates of each other (same package: the same shot resized, re-encoded, a burst) and
nothing the default model was trained or tuned on (`../shared/photos`, all of it: its held-out
photos steered a design choice of v1, see training/README.md).

Rules (fixed, documented in benchmarks/README.md):
1. Candidates: every file of photos_extra/MANIFEST.tsv, in its order.
2. Training overlap: a candidate within pHash distance <= 10 (of 64) or PDQ distance <= 70
   (of 256) of any photo of `--train` is dropped and listed. (photos_extra was built to avoid
   this already; the scan confirms it and records the closest distances.)
3. Near-duplicates inside the set: pairs within pHash <= 10 or PDQ <= 70 are joined into groups
   (union-find); each group keeps its first file (MANIFEST order) and the others are dropped
   and listed with the pair distances that joined them.
PDQ's own recommended match threshold is 31 of 256 and pHash's usual one 8-10 of 64; the PDQ
bound here is looser on purpose (it catches crops and re-framings the strict bound misses),
at the cost of dropping a few merely similar photos.

Writes benchmarks/results/calib_set.json (kept files with sha256, exclusions with reasons,
the scan's closest distances) and, with --link, a folder of symlinks
`<package>__<file>` -> photo, the folder `nhkit match calibrate --negatives` reads.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time

import numpy as np
from PIL import Image, ImageOps

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASH_MAX = 10
PDQ_MAX = 70


def read_rows(folder: str) -> list[dict[str, str]]:
    """The rows of a photo folder's MANIFEST.tsv (file, source_package, version, ...)."""
    with open(os.path.join(folder, "MANIFEST.tsv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_manifest(folder: str) -> list[str]:
    return [row["file"] for row in read_rows(folder)]


def fingerprints(folder: str, files: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(pHash bits [N,64], PDQ bits [N,256], sha256) of each file, EXIF orientation applied."""
    import imagehash
    import pdqhash

    ph, pdq, sha = [], [], []
    for f in files:
        path = os.path.join(folder, f)
        with open(path, "rb") as fh:
            sha.append(hashlib.sha256(fh.read()).hexdigest())
        im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        ph.append(imagehash.phash(im).hash.ravel().astype(bool))
        pdq.append(pdqhash.compute(np.ascontiguousarray(np.asarray(im)))[0].astype(bool))
    return np.stack(ph), np.stack(pdq), sha


def read_pinned_folder(
    folder: str, rebuild: str
) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray, list[str]]:
    """A folder rebuilt from its pinned sources: its MANIFEST rows and each photo's (pHash, PDQ,
    sha256). Refuses gcompris photos (reserved for the independent evaluation) and any photo
    whose bytes differ from the MANIFEST's out_sha256, so a split is only ever made from the
    exact set its rebuild script names (`rebuild`, quoted in the error)."""
    rows = read_rows(folder)
    if any("gcompris" in r["source_package"] for r in rows):
        raise SystemExit(f"{folder}: gcompris photos are reserved for the independent evaluation")
    ph, pdq, sha = fingerprints(folder, [r["file"] for r in rows])
    bad = [r["file"] for s, r in zip(sha, rows) if s != r["out_sha256"]]
    if bad:
        raise SystemExit(
            f"{folder}: {len(bad)} photos differ from MANIFEST.tsv's out_sha256 "
            f"(first: {bad[0]}); rebuild with {rebuild}"
        )
    return rows, ph, pdq, sha


def refuse_shared_packages(
    folder: str, rows: list[dict[str, str]], used: dict[str, list[dict[str, str]]]
) -> None:
    """Stop when `folder` shares a source package with any set in `used` (name -> MANIFEST
    rows): photos of one package are cousins (same artist, same subject), so a shared package
    would leak near-duplicates across a split even when no single pair is caught by the scan."""
    mine = {r["source_package"] for r in rows}
    clash = {name: sorted(mine & {r["source_package"] for r in rs}) for name, rs in used.items()}
    clash = {name: pk for name, pk in clash.items() if pk}
    if clash:
        where = "; ".join(f"{name}: {pk}" for name, pk in sorted(clash.items()))
        raise SystemExit(f"{folder}: packages already used by other sets ({where})")


def write_set(res: dict, out: str, folder: str, files: list[str], link: str | None) -> None:
    """The scan's JSON (temp file, then rename) and, with `link`, a folder of symlinks
    `<package>__<file>` -> photo (what `nhkit match calibrate --negatives` reads)."""
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)
    if link:
        os.makedirs(link, exist_ok=True)
        for rel in files:
            dst = os.path.join(link, rel.replace("/", "__"))
            if not os.path.lexists(dst):
                os.symlink(os.path.abspath(os.path.join(folder, rel)), dst)


def cross_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All Hamming distances between rows of a and rows of b (bool bit arrays)."""
    a8, b8 = a.astype(np.int32), b.astype(np.int32)
    return a8.sum(1)[:, None] + b8.sum(1)[None, :] - 2 * (a8 @ b8.T)


def leak_scan(
    files: list[str],
    ph: np.ndarray,
    pdq: np.ndarray,
    known: list[str],
    known_ph: np.ndarray,
    known_pdq: np.ndarray,
    reason: str,
) -> tuple[set[int], list[dict[str, object]], np.ndarray, np.ndarray]:
    """The files within PHASH_MAX or PDQ_MAX of any known photo (a training photo, say): their
    indices, one exclusion record each (with the closest known photo by each hash), and the
    distance matrices (files x known) for the caller's own figures."""
    dph, dpdq = cross_distances(ph, known_ph), cross_distances(pdq, known_pdq)
    dropped: set[int] = set()
    excluded: list[dict[str, object]] = []
    for i, f in enumerate(files):
        j, k = int(dph[i].argmin()), int(dpdq[i].argmin())
        if dph[i, j] <= PHASH_MAX or dpdq[i, k] <= PDQ_MAX:
            dropped.add(i)
            excluded.append(
                {
                    "file": f,
                    "reason": reason,
                    "closest_phash": [known[j], int(dph[i, j])],
                    "closest_pdq": [known[k], int(dpdq[i, k])],
                }
            )
    return dropped, excluded, dph, dpdq


def drop_later_near_duplicates(
    files: list[str], ph: np.ndarray, pdq: np.ndarray, dropped: set[int], reason: str
) -> list[dict[str, object]]:
    """Inside one set, a file within PHASH_MAX or PDQ_MAX of an earlier file still kept is
    dropped (added to `dropped`), so each near-duplicate group keeps its first file; returns
    one exclusion record per file dropped."""
    sph, spdq = cross_distances(ph, ph), cross_distances(pdq, pdq)
    excluded: list[dict[str, object]] = []
    for j in range(len(files)):
        if j in dropped:
            continue
        for i in range(j):
            if i not in dropped and (sph[i, j] <= PHASH_MAX or spdq[i, j] <= PDQ_MAX):
                dropped.add(j)
                excluded.append(
                    {
                        "file": files[j],
                        "reason": reason,
                        "kept": files[i],
                        "phash": int(sph[i, j]),
                        "pdq": int(spdq[i, j]),
                    }
                )
                break
    return excluded


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--extra", default=os.path.join(REPO, "..", "shared", "photos_extra"))
    ap.add_argument("--train", default=os.path.join(REPO, "..", "shared", "photos"))
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results", "calib_set.json"))
    ap.add_argument("--link", help="make this folder of symlinks to the kept photos")
    a = ap.parse_args()
    t0 = time.time()

    files = read_manifest(a.extra)
    if any("gcompris" in f for f in files):  # reserved for independent evaluation
        sys.exit("photos_extra holds gcompris photos: they are reserved, refuse to use them")
    train = read_manifest(a.train)
    ph, pdq, sha = fingerprints(a.extra, files)
    tph, tpdq, _ = fingerprints(a.train, train)

    # 2. training overlap
    dropped, excluded, dph, dpdq = leak_scan(
        files, ph, pdq, train, tph, tpdq, "near-duplicate of a training photo"
    )
    overlap_min = {"phash": int(dph.min()), "pdq": int(dpdq.min())}

    # 3. near-duplicates inside the set
    n = len(files)
    sph, spdq = cross_distances(ph, ph), cross_distances(pdq, pdq)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    joins: dict[int, list[str]] = {}
    for i in range(n):
        for j in range(i + 1, n):
            if sph[i, j] <= PHASH_MAX or spdq[i, j] <= PDQ_MAX:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
                joins.setdefault(j, []).append(
                    f"{files[i]} (pHash {int(sph[i, j])}, PDQ {int(spdq[i, j])})"
                )
    for i in range(n):
        if i in dropped:
            continue
        if find(i) != i:
            dropped.add(i)
            excluded.append(
                {
                    "file": files[i],
                    "reason": "near-duplicate inside photos_extra",
                    "kept": files[find(i)],
                    "pairs": joins.get(i, []),
                }
            )
    kept = [i for i in range(n) if i not in dropped]
    kph, kpdq = sph[np.ix_(kept, kept)], spdq[np.ix_(kept, kept)]
    iu = np.triu_indices(len(kept), 1)
    res = {
        # Folder names only: where the shared folders sit differs per checkout.
        "source": os.path.basename(os.path.normpath(a.extra)),
        "rules": {
            "phash_max": PHASH_MAX,
            "pdq_max": PDQ_MAX,
            "training_folder": os.path.basename(os.path.normpath(a.train)),
        },
        "candidates": n,
        "kept_count": len(kept),
        "excluded_count": len(excluded),
        "distinct_pairs": len(kept) * (len(kept) - 1) // 2,
        "training_overlap_closest": overlap_min,
        "kept_closest": {"phash": int(kph[iu].min()), "pdq": int(kpdq[iu].min())},
        "kept": [{"file": files[i], "sha256": sha[i]} for i in kept],
        "excluded": excluded,
        "seconds": round(time.time() - t0, 1),
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    write_set(res, a.out, a.extra, [files[i] for i in kept], a.link)
    print(
        f"{n} candidates, {len(kept)} kept ({res['distinct_pairs']} distinct pairs), "
        f"{len(excluded)} excluded; closest to training: pHash {overlap_min['phash']}, "
        f"PDQ {overlap_min['pdq']}; closest kept pair: pHash {res['kept_closest']['phash']}, "
        f"PDQ {res['kept_closest']['pdq']} ({res['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
