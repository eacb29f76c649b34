"""pytest plugin (entry point `nhkit_golden`): compare hashes in your tests with golden files.

    def test_model_hashes(golden_hashes):
        hasher = Hasher.from_onnx("model.onnx", "seed.dat")
        golden_hashes.check({p.stem: hasher.hash_file(p) for p in IMAGES}, hasher=hasher)

The golden file lives at `<test folder>/golden/<test module>/<test name>.json` (ini option
`golden_dir`, or `@pytest.mark.golden(file=...)`). It is the `nhkit-golden` format, so `nhkit
golden check` and `calibrate` read the same file.

- A missing golden file fails the test; `pytest --golden-update` writes it (and refreshes
  changed ones), like syrupy's `--snapshot-update` and pytest-regressions' `--force-regen`:
  a golden value must never be created silently by a normal run.
- Judging follows `nhkit golden check`'s model stage: a lossless image passes when its hash is
  within the Hamming tolerance and no flipped bit lies outside the golden fragile mask (unless
  allowed); lossy images only need the lossy tolerance. The tolerance comes from the `check`
  arguments, else `@pytest.mark.golden(...)`, else the ini option `golden_tolerance`, else the
  golden file.
- A failure lists per image which bits flipped, each with its golden margin |projection| and
  whether it was fragile, so "2 bits near zero moved" and "the model changed" look different.

Imports of nhkit's numeric code happen inside the fixture: this module is loaded by every pytest
session on a machine with nhkit installed, and must cost nothing there.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .compare import Tolerance
    from .golden import GoldenImage, GoldenSet
    from .hasher import Hasher, HashResult
    from .spec import Spec

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
_WRITTEN = pytest.StashKey[list[str]]()


class GoldenUnusedWarning(UserWarning):
    """Golden images that a test no longer checks (refresh with --golden-update)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nhkit-golden", "nhkit golden hashes")
    group.addoption(
        "--golden-update",
        action="store_true",
        default=False,
        help="write missing golden hash files and refresh changed ones (golden_hashes fixture)",
    )
    parser.addini(
        "golden_dir",
        "folder for golden hash files, relative to each test file's folder (default: golden)",
        default="golden",
    )
    parser.addini(
        "golden_tolerance",
        "lossless Hamming tolerance for golden_hashes (default: the golden file's)",
        default="",
    )
    parser.addini(
        "golden_ignore_fragile",
        "allow flips outside the fragile mask (default: false)",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "golden(tolerance=None, lossy_tolerance=None, ignore_fragile=None, "
        "file=None): options for the golden_hashes fixture",
    )
    config.stash[_WRITTEN] = []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember the call-phase outcome so the fixture writes golden files only for tests that
    passed (a test that crashed half-way must not overwrite a golden file with half a set)."""
    rep = yield
    if rep.when == "call":
        item.stash[_CALL_REPORT] = rep
    return rep


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    written = config.stash.get(_WRITTEN, [])
    if written:
        terminalreporter.section("nhkit golden files")
        for line in written:
            terminalreporter.write_line(line)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "test"


@dataclass
class _Entry:
    result: Any  # HashResult or hex str
    tolerance: dict[str, Any] = field(default_factory=dict)


class GoldenHashes:
    """The `golden_hashes` fixture object. See the module docstring for the rules."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._config = request.config
        self.update: bool = bool(self._config.getoption("--golden-update"))
        marker = request.node.get_closest_marker("golden")
        self._marker: dict[str, Any] = dict(marker.kwargs) if marker else {}
        self.path: Path = self._default_path()
        self._recorded: dict[str, Any] = {}
        self._checked: set[str] = set()
        self._spec: Spec | None = None
        self._hasher: Hasher | None = None

    def _default_path(self) -> Path:
        test_dir = Path(str(self._request.node.path)).parent
        if self._marker.get("file"):
            return test_dir / str(self._marker["file"])
        folder = str(self._config.getini("golden_dir") or "golden")
        module = Path(str(self._request.node.path)).stem
        return test_dir / folder / module / f"{_safe_name(self._request.node.name)}.json"

    # ----- public API ---------------------------------------------------------------------
    def check(
        self,
        results: Mapping[str, HashResult | str],
        *,
        hasher: Hasher | None = None,
        spec: Spec | None = None,
        tolerance: int | None = None,
        lossy_tolerance: int | None = None,
        ignore_fragile: bool | None = None,
    ) -> None:
        """Compare {image id: HashResult or hex hash} with the golden file (or, with
        --golden-update, record them to be written when the test passes).

        Pass `hasher` (or `spec`) so a new golden file records the spec and model; hex strings
        can be compared but not written (a golden file needs the projections)."""
        if not isinstance(results, Mapping):
            raise TypeError("golden_hashes.check takes a mapping {image id: HashResult}")
        if hasher is not None:
            self._hasher = hasher
            spec = spec or hasher.spec
        if spec is not None:
            self._spec = spec
        if self.update:
            self._record(results)
            return
        self._compare(
            results,
            spec,
            dict(
                tolerance=tolerance, lossy_tolerance=lossy_tolerance, ignore_fragile=ignore_fragile
            ),
        )

    def check_image(self, image_id: str, result: HashResult | str, **kwargs: Any) -> None:
        """check() for one image."""
        self.check({image_id: result}, **kwargs)

    # ----- compare ------------------------------------------------------------------------
    def _load(self) -> GoldenSet:
        from .errors import NhkitError
        from .golden import load_golden

        if not self.path.exists():
            pytest.fail(
                f"golden file {self._rel(self.path)} does not exist; run "
                "`pytest --golden-update` to create it",
                pytrace=False,
            )
        try:
            return load_golden(self.path)
        except NhkitError as exc:
            pytest.fail(f"golden file is not usable: {exc}", pytrace=False)

    def _rel(self, p: Path) -> str:
        try:
            return os.path.relpath(p, self._config.rootpath)
        except ValueError:
            return str(p)

    def _tolerance(self, golden: GoldenSet, kw: dict[str, Any]) -> Tolerance:
        tol = replace(golden.tolerance, source=f"{self._rel(self.path)}")

        def pick(name: str) -> Any:
            if kw.get(name) is not None:
                return kw[name], "check()"
            if self._marker.get(name) is not None:
                return self._marker[name], "@pytest.mark.golden"
            return None, None

        value, where = pick("tolerance")
        if value is None and str(self._config.getini("golden_tolerance")).strip():
            value, where = int(str(self._config.getini("golden_tolerance"))), "ini golden_tolerance"
        if value is not None:
            tol = replace(tol, hamming=int(value), source=str(where))
        value, where = pick("lossy_tolerance")
        if value is not None:
            tol = replace(tol, lossy_hamming=int(value), source=str(where))
        ignore, _ = pick("ignore_fragile")
        if ignore is None:
            ignore = bool(self._config.getini("golden_ignore_fragile"))
        if ignore:
            tol = replace(tol, nonfragile_flips=None)
        return tol

    def _compare(
        self, results: Mapping[str, HashResult | str], spec: Spec | None, kw: dict[str, Any]
    ) -> None:
        from .compare import judge
        from .golden import file_sha256
        from .hashing import hex_to_bits

        golden = self._load()
        if spec is not None and not spec.hash_compatible(golden.spec):
            pytest.fail(
                f"golden file {self._rel(self.path)} was made under spec "
                f"{golden.spec.to_json()}, these hashes under {spec.to_json()}; run "
                "`pytest --golden-update` if the change is intended",
                pytrace=False,
            )
        tol = self._tolerance(golden, kw)
        refs = golden.by_id
        problems: list[str] = []
        for image_id, result in results.items():
            self._checked.add(image_id)
            ref = refs.get(image_id)
            if ref is None:
                problems.append(
                    f"  {image_id}: not in the golden file (run `pytest --golden-update` to add it)"
                )
                continue
            hex_now = result if isinstance(result, str) else result.hex
            try:
                now_bits = hex_to_bits(hex_now)
            except ValueError as exc:
                problems.append(f"  {image_id}: {exc}")
                continue
            verdict = judge(
                hex_to_bits(ref.hash), now_bits, ref.fragile, lossless=ref.lossless, tolerance=tol
            )
            if verdict.passed:
                continue
            flips = verdict.flips.indices()
            why = []
            if verdict.over_hamming:
                why.append(f"tolerance {verdict.allowed}")
            if verdict.over_nonfragile:
                why.append(
                    f"{verdict.nonfragile} outside the fragile mask, {tol.nonfragile_flips} allowed"
                )
            note = ""
            src = getattr(result, "source", None)
            if src and ref.sha256 and Path(src).is_file() and file_sha256(src) != ref.sha256:
                note = " [the source file changed since the golden file was written]"
            lines = [f"  {image_id}: {len(flips)} bit(s) flipped ({'; '.join(why)}){note}"]
            proj_now = None if isinstance(result, str) else result.projections
            for i in flips:
                now = "" if proj_now is None else f" -> now {float(proj_now[i]):+.6g}"
                lines.append(
                    f"      bit {i:2d}: margin {ref.margins[i]:.6g} "
                    f"({'fragile' if ref.fragile[i] else 'NOT fragile'}), golden "
                    f"{float(ref.projections[i]):+.6g}{now}"
                )
            problems.append("\n".join(lines))
        if problems:
            nf = "any" if tol.nonfragile_flips is None else tol.nonfragile_flips
            head = (
                f"golden hashes differ from {self._rel(self.path)} (lossless <= {tol.hamming}"
                f" bits, lossy <= {tol.lossy_hamming} bits, non-fragile flips <= {nf}; "
                f"tolerance from {tol.source}):"
            )
            tail = (
                f"{len(problems)} of {len(results)} image(s) differ; run `pytest "
                "--golden-update` if the change is intended"
            )
            pytest.fail("\n".join([head, *problems, tail]), pytrace=False)

    # ----- update -------------------------------------------------------------------------
    def _record(self, results: Mapping[str, HashResult | str]) -> None:
        if self._spec is None and not self.path.is_file():
            pytest.fail(
                "golden_hashes.check(..., hasher=h) or spec=... is needed to write a new "
                "golden file: it records the spec and its fragile margin",
                pytrace=False,
            )
        for image_id, result in results.items():
            if isinstance(result, str):
                pytest.fail(
                    f"{image_id}: --golden-update needs a HashResult (with projections) "
                    "to write a golden file, got a hex string",
                    pytrace=False,
                )
            if image_id in self._recorded:
                pytest.fail(
                    f"{image_id}: checked twice in one test; image ids must be unique",
                    pytrace=False,
                )
            self._recorded[image_id] = result

    def _finish(self) -> None:
        """Teardown: write the golden file (update mode, test passed) or warn about golden
        images the test did not check."""
        rep = self._request.node.stash.get(_CALL_REPORT, None)
        if rep is None or not rep.passed:
            return
        if self.update:
            if self._recorded:
                self._write()
            return
        if self._checked and self.path.is_file():
            from .golden import load_golden

            unused = [i.id for i in load_golden(self.path).images if i.id not in self._checked]
            if unused:
                warnings.warn(
                    GoldenUnusedWarning(
                        f"{self._rel(self.path)}: golden image(s) not checked by "
                        f"{self._request.node.nodeid}: {', '.join(unused[:10])}; run `pytest "
                        "--golden-update` to drop them"
                    ),
                    stacklevel=1,
                )

    def _write(self) -> None:
        from .digest import seed_sha256
        from .errors import NhkitError
        from .golden import (
            DEFAULT_TOLERANCE,
            GoldenSet,
            ModelInfo,
            image_from_result,
            load_golden,
            write_golden,
        )
        from .hashing import fragile_mask

        old: GoldenSet | None = None
        if self.path.is_file():
            try:
                old = load_golden(self.path)
            except NhkitError:
                old = None  # a broken golden file is what --golden-update is for
        spec: Spec | None = self._spec or (old.spec if old else None)
        if spec is None:
            pytest.fail(
                "golden_hashes.check(..., hasher=h) or spec=... is needed to write a "
                "new golden file: it records the spec and its fragile margin",
                pytrace=False,
            )
        images: list[GoldenImage] = []
        for image_id, result in self._recorded.items():
            im = image_from_result(image_id, result)
            images.append(replace(im, fragile=fragile_mask(im.projections, spec.fragile_margin)))
        model = old.model if old else ModelInfo()
        if self._hasher is not None:
            h = self._hasher
            path = getattr(h.backend, "path", None)
            try:
                fingerprint: str | None = h.identity.fingerprint
            except NhkitError:  # a backend with no ONNX model or bundle behind it
                fingerprint = None
            model = ModelInfo(
                name=Path(path).stem if path else getattr(h.backend, "name", None),
                fingerprint=fingerprint,
                sha256=_sha(path),
                seed_sha256=seed_sha256(h.seed),
                backend=h.backend.describe(),
            )
        from . import __version__

        new = GoldenSet(
            spec=spec,
            model=model,
            images=images,
            tolerance=old.tolerance if old else DEFAULT_TOLERANCE,
            rules=list(old.rules) if old else [],
            tool={"nhkit": __version__},
        )
        if old is not None and _same_content(old, new):
            return
        write_golden(new, self.path)
        if old is None:
            what = f"created ({len(images)} images)"
        else:
            before = {i.id: i.hash for i in old.images}
            changed = sum(1 for i in images if i.id in before and before[i.id] != i.hash)
            added = sum(1 for i in images if i.id not in before)
            removed = len(set(before) - {i.id for i in images})
            what = f"updated ({changed} hash(es) changed, {added} added, {removed} removed)"
        self._config.stash[_WRITTEN].append(f"{self._rel(self.path)}: {what}")


def _sha(path: Any) -> str | None:
    from .golden import file_sha256

    return file_sha256(path) if path and Path(path).is_file() else None


def _same_content(a: GoldenSet, b: GoldenSet) -> bool:
    """Equal apart from the timestamp and tool versions: then the file is left untouched, so
    --golden-update does not churn files in version control."""
    ja, jb = a.to_json(), b.to_json()
    for j in (ja, jb):
        j.pop("created", None)
        j.pop("tool", None)
    return ja == jb


@pytest.fixture
def golden_hashes(request: pytest.FixtureRequest) -> Generator[GoldenHashes, None, None]:
    """Compare image hashes with this test's golden file; see nhkit.runtime.pytest_plugin."""
    gh = GoldenHashes(request)
    yield gh
    gh._finish()
