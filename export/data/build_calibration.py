"""Build export/data/calibration/: the int8 calibration photos that ship with nhkit.

Why a separate set from export/data/validation: those are the default model's *held-out* photos and
are what `nhkit export` verifies drift on; calibrating full-int8 models on them too would make
the reported drift optimistic. These come from the *train* split (training/split.json), one photo
per similarity group, chosen in sha256 order so the choice is reproducible:

    python export/data/build_calibration.py --photos /path/to/shared/photos
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
COUNT = 16
LONG_SIDE = 480


def group_of(rel: str) -> str:
    """Photos of one scene (x, x_2, aero1/aero3, ...) count as one group."""
    stem = rel.rsplit(".", 1)[0]
    return re.sub(r"(_\d+|\d+)$", "", stem)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=HERE / "calibration")
    args = ap.parse_args()
    split = json.loads((REPO / "training" / "split.json").read_text())
    manifest = {
        row["file"]: row
        for row in csv.DictReader(
            open(args.photos / "MANIFEST.tsv", encoding="utf-8"), delimiter="\t"
        )
    }
    chosen: dict[str, str] = {}
    for rel in sorted(
        split["train"],
        key=lambda r: hashlib.sha256(("nhkit-calibration-v1:" + r).encode()).hexdigest(),
    ):
        g = group_of(rel)
        if g not in chosen and rel in manifest:
            chosen[g] = rel
        if len(chosen) == COUNT:
            break
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for rel in sorted(chosen.values()):
        im = Image.open(args.photos / rel).convert("RGB")
        w, h = im.size
        s = min(1.0, LONG_SIDE / max(w, h))
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        if (nw, nh) != (w, h):
            im = im.resize((nw, nh), Image.Resampling.LANCZOS)
        name = rel.replace("/", "__").rsplit(".", 1)[0] + ".jpg"
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
                m["license"],
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
