"""Build export/data/calibration/: the int8 calibration photos that ship with nhkit.

Why these photos: full-int8 ranges are fixed by what the calibration photos make each layer
output, so a set of one kind of picture (v1 had 16 wallpapers of 4 packages) gives ranges that
clip on photos of other sources. This set is drawn from the *train* side of
training/split_v2.json, round robin over its source packages (so no package dominates), one photo
per scene group, in sha256 order so the choice is reproducible. It excludes training/split.json's
held-out photos (the shipped export/data/validation set) and, by construction, every package of
split_v2's evaluation side, so drift measured on either is not flattered by calibration:

    python export/data/build_calibration.py --shared DIR   # DIR holds photos/, photos_extra/
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
COUNT = 64
LONG_SIDE = 480


def group_of(rel: str) -> str:
    """Photos of one scene (x, x_2, aero1/aero3, ...) count as one group."""
    stem = rel.rsplit(".", 1)[0]
    return re.sub(r"(_\d+|\d+)$", "", stem)


def _key(rel: str) -> str:
    return hashlib.sha256(("nhkit-calibration-v2:" + rel).encode()).hexdigest()


def _manifest(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "MANIFEST.tsv", encoding="utf-8") as f:
        return {f"{folder.name}/{row['file']}": row for row in csv.DictReader(f, delimiter="\t")}


def choose(train: list[str], excluded: set[str], count: int) -> list[str]:
    """Round robin over packages (package order and order within a package by sha256 key), one
    photo per scene group, skipping excluded photos."""
    by_pkg: dict[str, list[str]] = {}
    for rel in sorted(train, key=_key):
        if rel not in excluded:
            by_pkg.setdefault(rel.split("/")[1], []).append(rel)
    order = sorted(by_pkg, key=_key)
    chosen: list[str] = []
    groups: set[str] = set()
    while len(chosen) < count and any(by_pkg.values()):
        for pkg in order:
            while by_pkg[pkg]:
                rel = by_pkg[pkg].pop(0)
                if group_of(rel) not in groups:
                    groups.add(group_of(rel))
                    chosen.append(rel)
                    break
            if len(chosen) == count:
                break
    return sorted(chosen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=HERE / "calibration")
    ap.add_argument("--count", type=int, default=COUNT)
    args = ap.parse_args()
    split = json.loads((REPO / "training" / "split_v2.json").read_text())
    held_out = {
        "photos/" + r
        for r in json.loads((REPO / "training" / "split.json").read_text())["held_out"]
    }
    eval_pkgs = set(split["eval_packages"])
    train = [r for r in split["train"] if r.split("/")[1] not in eval_pkgs]
    manifest = {}
    for sub in split["folders"].values():
        manifest.update(_manifest(args.shared / sub))
    chosen = choose([r for r in train if r in manifest], held_out, args.count)
    rows = []
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.jpg"):
        old.unlink()
    for rel in chosen:
        im = Image.open(args.shared / rel).convert("RGB")
        w, h = im.size
        s = min(1.0, LONG_SIDE / max(w, h))
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), Image.Resampling.LANCZOS)
        name = rel.split("/", 1)[1].replace("/", "__").rsplit(".", 1)[0] + ".jpg"
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        (args.out / name).write_bytes(buf.getvalue())
        m = manifest[rel]
        rows.append(
            [
                name,
                m["source_package"],
                m["original_path"],
                m["original_size"],
                m.get("license") or m.get("licence", ""),
                f"downscaled to {nw}x{nh}, JPEG q90",
            ]
        )
    with open(args.out / "ATTRIBUTION.tsv", "w", encoding="utf-8", newline="") as f:
        wr = csv.writer(f, delimiter="\t", lineterminator="\n")
        wr.writerow(
            ["file", "source_package", "original_path", "original_size", "license", "change"]
        )
        wr.writerows(rows)
    print(f"wrote {len(rows)} photos to {args.out}")


if __name__ == "__main__":
    main()
