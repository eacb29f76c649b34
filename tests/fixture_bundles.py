"""Tiny fixture bundles for both bridges' suites, exported once per content of what makes them.

    python3 tests/fixture_bundles.py            # prints the folder holding the bundles
    python3 tests/fixture_bundles.py --key      # prints the cache key only

ios_bridge/test.sh and android_bridge/test.sh both call this (one export, one cache: the second
suite of `tests/run` reuses the first one's bundles). The bundles are `nhkit export` of the tiny
test model (`nhkit.export.testmodels.tiny_onnx(seed=3)`, seed matrix from numpy seed 5): Core ML
fp32/fp16 where coremltools is installed, TFLite fp32, fp16, dynamic-int8, int8, int8-io,
int16x8 where tensorflow and ai-edge-litert are.

The cache folder is `build/fixture-bundles/<key>/`, where the key hashes the working-tree
CONTENT (not the commit) of every file that can change a bundle: runtime/, export/ (which holds
the tiny model's source) and this script, tracked or untracked but not ignored (`git ls-files
-co --exclude-standard`), plus the converter versions. An uncommitted edit therefore re-exports;
a stale bundle can never be served (tests/test_fixture_bundles.py proves it). A new key's
folder is written under a temporary name and renamed when complete; older keys are removed.
Exit status 3 (with the reason on stderr) when the export extras are not installed here.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KEY_PATHS = ("runtime", "export", "tests/fixture_bundles.py")
# Converter and numeric stack: a new version can change the bytes of an exported bundle.
KEY_PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "ai-edge-litert",
    "coremltools",
    "onnx",
    "onnxruntime",
    "numpy",
    "pillow",
)
TARGETS = {"coreml": "fp32,fp16", "tflite": "fp32,fp16,dynamic-int8,int8,int8-io,int16x8"}


def key_files(repo: Path, paths: tuple[str, ...] = KEY_PATHS) -> list[str]:
    """Tracked and untracked (not ignored) files under `paths`, sorted; without git, every file."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "-co", "--exclude-standard", "--", *paths],
            cwd=repo,
            check=True,
            capture_output=True,
        ).stdout
        return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. a source tarball)
        found = []
        for top in paths:
            base = repo / top
            items = [base] if base.is_file() else base.rglob("*")
            found += [
                p.relative_to(repo).as_posix()
                for p in items
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            ]
        return sorted(found)


def content_key(repo: Path = REPO, paths: tuple[str, ...] = KEY_PATHS) -> str:
    """sha256 over (path, sha256 of its bytes) of every key file, plus the package versions."""
    h = hashlib.sha256()
    for rel in key_files(repo, paths):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        try:
            h.update(hashlib.sha256((repo / rel).read_bytes()).digest())
        except OSError:  # listed by git but deleted in the working tree
            h.update(b"(missing)")
    for name in KEY_PACKAGES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{name}={version}\0".encode())
    return h.hexdigest()


def available_targets() -> dict[str, str]:
    """The export targets this machine can produce (the export extras that are installed)."""
    have = {
        m: importlib.util.find_spec(m) is not None
        for m in ("nhkit.export", "coremltools", "tensorflow", "ai_edge_litert")
    }
    if not have["nhkit.export"]:
        return {}
    out = {}
    if have["coremltools"]:
        out["coreml"] = TARGETS["coreml"]
    if have["tensorflow"] and have["ai_edge_litert"]:
        out["tflite"] = TARGETS["tflite"]
    return out


def export_bundles(dest: Path, targets: dict[str, str]) -> None:
    """`nhkit export` of the tiny model into `dest` (one folder per bundle; no zips)."""
    import numpy as np

    from nhkit.export import testmodels

    src = dest / ".src"
    src.mkdir(parents=True)
    testmodels.save(testmodels.tiny_onnx(seed=3), str(src / "tiny.onnx"))
    np.random.default_rng(5).standard_normal((96, 128)).astype("<f4").tofile(src / "seed.f32")
    for target, variants in targets.items():
        cmd = [
            sys.executable,
            "-m",
            "nhkit.runtime",
            "export",
            "--model",
            "tiny.onnx",
            "--seed",
            "seed.f32",
            "--name",
            "tiny",
            "--target",
            target,
            "--variants",
            variants,
            "--allow-over-budget",
            "--threads",
            "1",
            "--quiet",
            "-o",
            str(dest),
        ]
        log = src / f"export-{target}.log"
        with log.open("wb") as f:
            rc = subprocess.run(cmd, cwd=src, stdout=f, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            raise RuntimeError(
                f"nhkit export --target {target} failed (exit {rc}):\n"
                + log.read_text(errors="replace")[-3000:]
            )
    for z in dest.glob("*.zip"):
        z.unlink()
    shutil.rmtree(src)


def ensure(cache: Path, repo: Path = REPO) -> Path:
    """The folder of bundles for the current content key, exported now if not cached."""
    targets = available_targets()
    if not targets:
        raise LookupError(
            "nhkit's export extras (coremltools or tensorflow + ai-edge-litert) are not installed"
        )
    key = content_key(repo)[:20]
    final = cache / key
    if (final / ".complete").is_file():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
    try:
        export_bundles(tmp, targets)
        (tmp / ".complete").write_text(",".join(sorted(targets)) + "\n")
        try:
            os.rename(tmp, final)
        except OSError:  # another run finished the same key first: use its folder
            if not (final / ".complete").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in cache.iterdir():  # earlier keys (and abandoned temporaries) are stale
        if old.name != key and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=REPO / "build" / "fixture-bundles")
    ap.add_argument("--key", action="store_true", help="print the content key and exit")
    args = ap.parse_args()
    if args.key:
        print(content_key())
        return 0
    try:
        print(ensure(args.cache.resolve()))
    except LookupError as e:
        print(f"fixture_bundles: {e}", file=sys.stderr)
        return 3
    except RuntimeError as e:
        print(f"fixture_bundles: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
