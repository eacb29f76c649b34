"""Read and verify an nhkit device bundle (docs/bundle-format.md), as a folder or its zip.

Why verify everything before use: a bundle travels through app asset pipelines, CDNs and hand
copies; a truncated model or a seed from another export silently changes every hash. So a bundle
is only handed out after its manifest passes the schema, every listed file matches its size and
sha256, no unlisted file is present, the seed and self-test cases are consistent with the
manifest, and each case's rgb360 bytes match its recorded stage digests.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from . import bundle_selftest
from .backends.base import EmbeddingBackend
from .digest import sha256_bytes, sha256_file, tensor_digest
from .errors import InputFileError
from .formats import BUNDLE_FORMAT, BUNDLE_VERSION, SELFTEST_FORMAT, SELFTEST_VERSION
from .jsonfile import check_format_header, parse_json_bytes, raise_problems, schema_problems
from .seed import parse_seed
from .spec import EMBEDDING_DIM, INPUT_SIZE, Spec
from .tensor import normalise
from .ziputil import list_files

MANIFEST_SCHEMA = "bundle-manifest.v1.schema.json"
CASES_SCHEMA = "selftest-cases.v1.schema.json"
RGB360_BYTES = INPUT_SIZE * INPUT_SIZE * 3
MAX_ZIP_BYTES = 2 * 1024**3  # refuse absurd archives before extracting (zip-bomb guard)


class BundleError(InputFileError):
    """A bundle is missing, malformed, or does not match its own manifest."""


#: The input shape each layout means (spec step 4, batch 1).
LAYOUT_SHAPES: dict[str, list[int]] = {
    "NCHW": [1, 3, INPUT_SIZE, INPUT_SIZE],
    "NHWC": [1, INPUT_SIZE, INPUT_SIZE, 3],
}


def validate_manifest(obj: Any, *, source: str = "manifest.json") -> None:
    """Format header + JSON Schema + what the schema cannot say (the input shape is the one its
    layout means, the output holds one embedding); every problem named by field. Used by
    writer and reader. Whether the manifest describes its model is checked when the model is
    opened (backends.factory), as every bridge's engine does."""
    check_format_header(obj, source, fmt=BUNDLE_FORMAT, version=BUNDLE_VERSION)
    raise_problems(source, schema_problems(obj, MANIFEST_SCHEMA))
    Spec.from_json(obj["spec"], source=source)
    inp, out = obj["model"]["inputs"][0], obj["model"]["outputs"][0]
    if inp["shape"] != LAYOUT_SHAPES[inp["layout"]]:
        raise BundleError(
            source,
            f"model.inputs[0].shape: {inp['shape']} is not the {inp['layout']} input shape "
            f"{LAYOUT_SHAPES[inp['layout']]}",
        )
    if math.prod(out["shape"]) != EMBEDDING_DIM:
        raise BundleError(
            source,
            f"model.outputs[0].shape: {out['shape']} does not hold {EMBEDDING_DIM} values",
        )


def validate_cases(obj: Any, *, source: str = "selftest/cases.json") -> None:
    check_format_header(obj, source, fmt=SELFTEST_FORMAT, version=SELFTEST_VERSION)
    raise_problems(source, schema_problems(obj, CASES_SCHEMA))
    seen: set[str] = set()
    for n, case in enumerate(obj["cases"]):
        if case["id"] in seen:
            raise BundleError(source, f"cases[{n}].id: case id {case['id']!r} appears twice")
        seen.add(case["id"])
    for n, dcase in enumerate(obj.get("decode_cases", [])):
        if dcase["id"] in seen:
            raise BundleError(
                source,
                f"decode_cases[{n}].id: case id {dcase['id']!r} appears twice "
                "(cases and decode_cases share ids)",
            )
        seen.add(dcase["id"])


def parse_manifest(data: bytes, source: str) -> dict[str, Any]:
    """manifest.json bytes -> the checked manifest (strict JSON, header, schema, shapes)."""
    manifest: dict[str, Any] = parse_json_bytes(data, source, what="bundle manifest")
    validate_manifest(manifest, source=source)
    return manifest


def parse_cases(data: bytes, source: str) -> dict[str, Any]:
    """selftest/cases.json bytes -> the checked cases (strict JSON, header, schema, unique ids);
    what ties them to a bundle is checked by load_bundle."""
    cases: dict[str, Any] = parse_json_bytes(data, source, what="self-test cases")
    validate_cases(cases, source=source)
    return cases


@dataclass
class Bundle:
    """A verified bundle. For a zip, `root` is a private extracted copy (see close())."""

    root: Path
    source: Path
    manifest: dict[str, Any]
    #: cases.json; None when the cases ship separately and are not here (see bundle_selftest)
    cases_json: dict[str, Any] | None
    spec: Spec
    seed: np.ndarray
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    #: the folder holding selftest/ (root, or an extracted <bundle_id>.selftest.zip)
    selftest_root: Path | None = None
    _st_tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @property
    def cases(self) -> dict[str, Any]:
        """The verified cases.json; a BundleError when a separately shipped self-test is absent."""
        if self.cases_json is None:
            raise BundleError(
                self.source,
                "this bundle's self-test cases ship separately ("
                f"{bundle_selftest.archive_name(self.manifest)}) and are not here: "
                "put that file beside the bundle, or unpack it into the bundle "
                "folder",
            )
        return self.cases_json

    @property
    def bundle_id(self) -> str:
        return str(self.manifest["bundle_id"])

    @property
    def target(self) -> str:
        return str(self.manifest["target"])

    @property
    def model_path(self) -> Path:
        return self.root / self.manifest["model"]["file"]

    @property
    def input(self) -> dict[str, Any]:
        return dict(self.manifest["model"]["inputs"][0])

    @property
    def output(self) -> dict[str, Any]:
        return dict(self.manifest["model"]["outputs"][0])

    @property
    def tolerance(self) -> dict[str, int]:
        return dict(self.manifest["tolerance"])

    @property
    def over_budget(self) -> bool:
        """True when the variant missed its drift budget and was exported with an override."""
        return not self.manifest["drift"]["passed"]

    def case_path(self, case: dict[str, Any], key: str = "source") -> Path:
        return (self.selftest_root or self.root) / "selftest" / case[key]

    def rgb360(self, case: dict[str, Any]) -> np.ndarray:
        """A case's exact 360x360x3 RGB8 input (spec step 3 output)."""
        data = self.case_path(case, "rgb360").read_bytes()
        return np.frombuffer(data, dtype=np.uint8).reshape(INPUT_SIZE, INPUT_SIZE, 3)

    def backend(self, threads: int | None = None) -> EmbeddingBackend:
        """An EmbeddingBackend running this bundle's model on this machine (the manifest's
        input and output entries are checked against the model; see backends.factory)."""
        from .backends.factory import bundle_backend

        return bundle_backend(self, threads=threads)

    @property
    def manifest_sha256(self) -> str:
        """sha256 of manifest.json's bytes: what a device report names the bundle build by."""
        return sha256_file(self.root / "manifest.json")

    def close(self) -> None:
        for tmp in (self._tmp, self._st_tmp):
            if tmp is not None:
                tmp.cleanup()
        self._tmp = self._st_tmp = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _extract_zip(path: Path) -> tuple[tempfile.TemporaryDirectory[str], Path, str]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(path, f"not a readable zip file: {exc}") from None
    with zf:
        infos = zf.infolist()
        if not infos:
            raise BundleError(path, "zip is empty")
        tops = set()
        total = 0
        for info in infos:
            name = info.filename
            pp = PurePosixPath(name)
            if (
                name.startswith("/")
                or "\\" in name
                or not pp.parts  # "." or "" name nothing
                or any(p in ("..", ".") for p in pp.parts)
            ):
                raise BundleError(path, f"zip entry {name!r} has an unsafe path")
            mode = (info.external_attr >> 16) & 0o170000
            if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise BundleError(path, f"zip entry {name!r} is not a regular file")
            tops.add(pp.parts[0])
            total += info.file_size
        if len(tops) != 1:
            raise BundleError(
                path, f"zip must hold one top folder <bundle_id>/, found {sorted(tops)[:5]}"
            )
        if total > MAX_ZIP_BYTES:
            raise BundleError(path, f"zip expands to {total} bytes (limit {MAX_ZIP_BYTES})")
        tmp = tempfile.TemporaryDirectory(prefix="nhkit-bundle-")
        try:
            for info in infos:
                if info.is_dir():
                    continue
                dst = Path(tmp.name) / info.filename
                dst.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dst, "wb") as out:
                    shutil.copyfileobj(src, out)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            tmp.cleanup()
            raise BundleError(path, f"corrupt zip: {exc}") from None
        top = tops.pop()
    return tmp, Path(tmp.name) / top, top


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Open a bundle folder or zip and verify it completely (see module docstring)."""
    src = Path(path)
    if not src.exists():
        raise BundleError(src, "bundle not found")
    tmp = None
    zip_top = None
    if src.is_dir():
        root = src
    elif zipfile.is_zipfile(src):
        tmp, root, zip_top = _extract_zip(src)
    else:
        raise BundleError(src, "not a bundle: expected a folder with manifest.json or a .zip")
    try:
        return _verify(root, src, tmp, zip_top)
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise


def _verify(root: Path, src: Path, tmp: Any, zip_top: str | None) -> Bundle:
    mpath = root / "manifest.json"
    label = f"{src}/manifest.json" if src.is_dir() else f"{src}:{zip_top}/manifest.json"
    if not mpath.is_file():
        raise BundleError(src, "manifest.json is missing")
    manifest = parse_manifest(mpath.read_bytes(), label)
    if zip_top is not None and zip_top != manifest["bundle_id"]:
        raise BundleError(
            src, f"zip top folder {zip_top!r} is not the bundle id {manifest['bundle_id']!r}"
        )

    listed = [f["path"] for f in manifest["files"]]
    if listed != sorted(listed) or len(set(listed)) != len(listed):
        raise BundleError(label, "files: paths must be unique and sorted")
    problems = []
    for entry in manifest["files"]:
        p = root / entry["path"]
        if not p.is_file() or p.is_symlink():
            problems.append(f"{entry['path']}: missing")
            continue
        size = p.stat().st_size
        if size != entry["size"]:
            problems.append(f"{entry['path']}: size {size} bytes, manifest says {entry['size']}")
            continue
        if sha256_file(p) != entry["sha256"]:
            problems.append(
                f"{entry['path']}: sha256 does not match the manifest (file changed or corrupt)"
            )
    separate = bundle_selftest.separate_files(manifest)
    st_listed = [f["path"] for f in separate or []]
    if (
        st_listed != sorted(st_listed)
        or len(set(st_listed)) != len(st_listed)
        or any(not p.startswith("selftest/") for p in st_listed)
        or set(st_listed) & set(listed)
    ):
        raise BundleError(
            label,
            "selftest.files: paths must be unique, sorted, under selftest/ and not also in files",
        )
    unlisted = sorted(set(list_files(root)) - set(listed) - set(st_listed) - {"manifest.json"})
    problems += [f"{u}: file is not listed in the manifest" for u in unlisted]
    mfile = manifest["model"]["file"]
    if not any(p == mfile or p.startswith(mfile.rstrip("/") + "/") for p in listed):
        problems.append(f"model.file {mfile!r}: no such file listed")
    for required in ("seed.f32", "selftest/cases.json"):
        if required not in listed + st_listed:
            problems.append(f"{required}: not listed in files")
    if problems:
        raise BundleError(
            src,
            "bundle does not match its manifest:\n  "
            + "\n  ".join(problems[:20])
            + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""),
        )

    seed_bytes = (root / "seed.f32").read_bytes()
    if sha256_bytes(seed_bytes) != manifest["seed"]["sha256"]:
        raise BundleError(src, "seed.f32 does not match seed.sha256 in the manifest")
    seed = parse_seed(seed_bytes, source=str(root / "seed.f32"))

    st_root: Path | None = root
    st_tmp: tempfile.TemporaryDirectory[str] | None = None
    if separate is not None:
        st_root, st_tmp = bundle_selftest.locate(
            root, src, manifest, extract=_extract_zip, error=BundleError
        )
        if st_root is None:
            spec = Spec.from_json(manifest["spec"], source=label)
            return Bundle(
                root=root,
                source=src,
                manifest=manifest,
                cases_json=None,
                spec=spec,
                seed=seed,
                _tmp=tmp,
            )
    assert st_root is not None  # returned above when a separate self-test is absent
    try:
        cases = _verify_cases(st_root, src, manifest, listed + st_listed)
    except BaseException:
        if st_tmp is not None:
            st_tmp.cleanup()
        raise
    spec = Spec.from_json(manifest["spec"], source=label)
    return Bundle(
        root=root,
        source=src,
        manifest=manifest,
        cases_json=cases,
        spec=spec,
        seed=seed,
        _tmp=tmp,
        selftest_root=st_root,
        _st_tmp=st_tmp,
    )


def _verify_cases(
    root: Path, src: Path, manifest: dict[str, Any], listed: list[str]
) -> dict[str, Any]:
    """cases.json under root/selftest/: schema, ids, counts, files, rgb360 digests."""
    clabel = f"{src}/selftest/cases.json"
    cases = parse_cases((root / "selftest" / "cases.json").read_bytes(), clabel)
    if cases["bundle_id"] != manifest["bundle_id"]:
        raise BundleError(
            clabel,
            f"bundle_id {cases['bundle_id']!r} differs from the "
            f"manifest's {manifest['bundle_id']!r}",
        )
    if len(cases["cases"]) != manifest["selftest"]["cases"]:
        raise BundleError(
            clabel, f"{len(cases['cases'])} cases, manifest says {manifest['selftest']['cases']}"
        )
    for d in cases.get("decode_cases", []):
        if f"selftest/{d['source']}" not in listed:
            raise BundleError(
                clabel, f"decode case {d['id']}: source file {d['source']!r} is not in the bundle"
            )
    for case in cases["cases"]:
        for key in ("source", "rgb360"):
            if f"selftest/{case[key]}" not in listed:
                raise BundleError(
                    clabel, f"case {case['id']}: {key} file {case[key]!r} is not in the bundle"
                )
        rgb = (root / "selftest" / case["rgb360"]).read_bytes()
        if len(rgb) != RGB360_BYTES:
            raise BundleError(
                clabel,
                f"case {case['id']}: {case['rgb360']} has {len(rgb)} "
                f"bytes, expected {RGB360_BYTES}",
            )
        if sha256_bytes(rgb) != case["digests"]["resized"]:
            raise BundleError(
                clabel, f"case {case['id']}: rgb360 bytes do not match digests.resized"
            )
        t = normalise(np.frombuffer(rgb, np.uint8).reshape(INPUT_SIZE, INPUT_SIZE, 3), "NCHW")
        if tensor_digest(t) != case["digests"]["tensor"]:
            raise BundleError(
                clabel,
                f"case {case['id']}: digests.tensor is not the digest of "
                "the normalised rgb360 bytes",
            )
    return cases
