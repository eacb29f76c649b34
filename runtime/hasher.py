"""Hasher = spec + backend + seed: the whole pipeline, one image or many.

Data flows one way: file -> decode/orient (decode.py) -> resize (resize.py) -> normalise
(tensor.py) -> backend.embed -> project/sign/hex (hashing.py). This module only wires the steps
together and adds batching and parallel decoding."""

from __future__ import annotations

import functools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends.base import EmbeddingBackend
from .decode import DecodedImage, ImageSource, decode_image
from .digest import ModelIdentity, StageDigests, onnx_fingerprint, seed_sha256, stage_digests
from .errors import ModelError, NhkitError
from .floathex import f32_to_hex, f64_to_hex
from .hashing import bits_from_projections, bits_to_hex, fragile_mask, project
from .resize import resize_image, resize_rgb
from .seed import load_seed
from .spec import DEFAULT_MAX_PIXELS, INPUT_SIZE, Spec, parse_orientation
from .tensor import normalise

if TYPE_CHECKING:
    from .bundle import Bundle


@dataclass(frozen=True)
class Prepared:
    """An image after spec steps 1-3, ready to normalise and batch."""

    rgb360: np.ndarray
    decoded: DecodedImage | None = None
    digests: StageDigests | None = None


@dataclass(frozen=True)
class HashResult:
    """One image's hash with everything needed to judge it: projections, not only bits."""

    hex: str
    bits: np.ndarray  # uint8 [96]
    projections: np.ndarray  # float64 [96]
    fragile: np.ndarray  # bool [96]
    embedding: np.ndarray  # float32 [128]
    source: str | None = None
    orientation: int = 1
    digests: StageDigests | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fragile_count(self) -> int:
        return int(self.fragile.sum())

    @property
    def min_margin(self) -> float:
        return float(np.abs(self.projections).min())

    def to_json(self, *, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.source,
            "hash": self.hex,
            "fragile_bits": [int(i) for i in np.flatnonzero(self.fragile)],
            "min_margin": self.min_margin,
        }
        if full:
            out["projections"] = f64_to_hex(self.projections)
            out["embedding"] = f32_to_hex(self.embedding)
            out["orientation"] = self.orientation
            if self.digests:
                out["digests"] = self.digests.to_json()
        return out


Outcome = tuple[str, "HashResult | NhkitError"]


class Hasher:
    """Hash images under one spec with one model and seed.

    Decoding and resizing run on a thread pool (Pillow releases the GIL there) while the
    backend embeds the previous batch, so 2 cores stay busy."""

    def __init__(
        self,
        backend: EmbeddingBackend,
        seed: np.ndarray,
        spec: Spec | None = None,
        *,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        with_digests: bool = False,
        bundle: Bundle | None = None,
        model_name: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """`bundle`: the verified bundle whose model the backend runs (kept open as long as the
        hasher lives: a zip's extracted files are its model). `model_name` and `fingerprint`
        name the model when the caller knows them (a shipped model's model.json); otherwise
        `identity` computes them from the backend's ONNX file or the bundle's manifest."""
        self.backend = backend
        self.seed = np.asarray(seed, dtype=np.float32)
        self.spec = spec or Spec()
        self.max_pixels = max_pixels
        self.with_digests = with_digests
        self.bundle = bundle
        self._model_name = model_name
        self._fingerprint = fingerprint
        self._identity: ModelIdentity | None = None

    @property
    def identity(self) -> ModelIdentity:
        """Which model and seed this hasher runs (computed on first use, then cached).

        From the bundle's manifest (`source_model`, seed sha256 checked against the seed in
        use), else the ONNX file the backend runs (weights fingerprint read from the file, or
        the one the shipped model's model.json records). A backend with neither raises
        ModelError: its hashes cannot be attributed to a model."""
        if self._identity is None:
            self._identity = self._compute_identity()
        return self._identity

    def _compute_identity(self) -> ModelIdentity:
        seed_hash = seed_sha256(self.seed)
        if self.bundle is not None:
            manifest = self.bundle.manifest
            src = manifest.get("source_model") or {}
            if seed_hash != manifest["seed"]["sha256"]:
                raise ModelError(
                    self.bundle.source,
                    "the hasher's seed is not the bundle's seed (seed.sha256 in the manifest)",
                )
            fp, name = src.get("fingerprint"), src.get("name")
            if not isinstance(fp, str):
                raise ModelError(self.bundle.source, "manifest source_model.fingerprint is missing")
            return ModelIdentity(name if isinstance(name, str) else None, fp, seed_hash)
        path = getattr(self.backend, "path", None)
        fingerprint = self._fingerprint
        if fingerprint is None:
            if path is None or Path(path).suffix.lower() != ".onnx":
                raise ModelError(
                    path,
                    f"the {self.backend.name} backend's model has no known "
                    "identity (hash with an ONNX model or a bundle)",
                )
            fingerprint = onnx_fingerprint(path)
        name = self._model_name or (Path(path).stem if path is not None else None)
        return ModelIdentity(name, fingerprint, seed_hash)

    # ----- construction ---------------------------------------------------------------------
    @classmethod
    def from_onnx(
        cls,
        model: str | os.PathLike[str] | None = None,
        seed: str | os.PathLike[str] | None = None,
        *,
        orientation: str = "apply",
        fragile_margin: float | None = None,
        threads: int | None = None,
        **kwargs: Any,
    ) -> Hasher:
        """A Hasher on onnxruntime. With no model, the default model shipped with nhkit; a
        model given by name (`nhkit-mnv3s-v1`) is that shipped model, with its own seed."""
        from .backends.onnx import OnnxBackend
        from .models import model_name_argument, shipped_model

        margin = fragile_margin
        name = fingerprint = None
        shipped_name = model_name_argument(model)
        if model is None or shipped_name is not None:
            shipped = shipped_model() if shipped_name is None else shipped_model(shipped_name)
            if seed is not None and load_seed(seed).tobytes() != load_seed(shipped.seed).tobytes():
                raise NhkitError(
                    f"{seed}: the shipped model {shipped.name!r} has its own seed and this one "
                    "differs; drop --seed"
                )
            model = shipped.onnx
            seed = seed or shipped.seed
            margin = shipped.fragile_margin if margin is None else margin
            name, fingerprint = shipped.name, shipped.meta.fingerprint
        elif seed is None:
            raise NhkitError(f"{model}: a custom model needs its seed file (--seed S.dat)")
        spec = Spec(orientation=parse_orientation(orientation), fragile_margin=float(margin or 0.0))
        return cls(
            OnnxBackend(model, threads=threads),
            load_seed(seed),
            spec,
            model_name=name,
            fingerprint=fingerprint,
            **kwargs,
        )

    # ----- single steps ---------------------------------------------------------------------
    def prepare(self, source: ImageSource, *, name: str | None = None) -> Prepared:
        """Spec steps 1-3 for one file or bytes."""
        decoded = decode_image(
            source, orientation=self.spec.orientation, max_pixels=self.max_pixels, name=name
        )
        if decoded.image is not None and not self.with_digests:
            return Prepared(rgb360=resize_image(decoded.image, INPUT_SIZE), decoded=decoded)
        return self.prepare_rgb(decoded.rgb, decoded=decoded)

    def prepare_rgb(self, rgb: np.ndarray, *, decoded: DecodedImage | None = None) -> Prepared:
        """Spec step 3 for pixels the caller already decoded and oriented."""
        rgb360 = resize_rgb(rgb, INPUT_SIZE)
        digests = stage_digests(rgb, rgb360) if self.with_digests else None
        return Prepared(rgb360=rgb360, decoded=decoded, digests=digests)

    def finish(
        self,
        embeddings: np.ndarray,
        prepared: list[Prepared | None] | None = None,
        sources: list[str | None] | None = None,
    ) -> list[HashResult]:
        """Spec steps 6-7 for a batch of embeddings."""
        emb = np.asarray(embeddings, dtype=np.float32).reshape(-1, self.spec.embedding_dim)
        proj = project(self.seed, emb)
        out = []
        for i in range(emb.shape[0]):
            bits = bits_from_projections(proj[i])
            p = prepared[i] if prepared else None
            out.append(
                HashResult(
                    hex=bits_to_hex(bits),
                    bits=bits,
                    projections=proj[i],
                    fragile=fragile_mask(proj[i], self.spec.fragile_margin),
                    embedding=emb[i],
                    source=sources[i] if sources else None,
                    orientation=p.decoded.orientation if p and p.decoded else 1,
                    digests=p.digests if p else None,
                )
            )
        return out

    def embed_prepared(self, prepared: list[Prepared]) -> np.ndarray:
        batch = normalise(np.stack([p.rgb360 for p in prepared]), "NCHW")
        return self.backend.embed(batch)

    # ----- whole pipeline -------------------------------------------------------------------
    def hash_rgb(self, rgb: np.ndarray) -> HashResult:
        """Hash decoded, upright RGB8 pixels (e.g. from your own decoder)."""
        p = self.prepare_rgb(np.ascontiguousarray(rgb, dtype=np.uint8))
        return self.finish(self.embed_prepared([p]), [p])[0]

    def hash_file(self, source: ImageSource) -> HashResult:
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
        p = self.prepare(source)
        return self.finish(self.embed_prepared([p]), [p], [name])[0]

    def hash_files(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        batch_size: int = 16,
        workers: int = 2,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Outcome]:
        """Yield (path, HashResult or the error) for every input, in input order.

        A bad file never stops the batch: its error is yielded in its place."""
        names = [os.fspath(p) for p in paths]
        return self.hash_sources(
            zip(names, names), batch_size=batch_size, workers=workers, progress=progress
        )

    def hash_sources(
        self,
        items: Iterable[tuple[str, ImageSource]],
        *,
        batch_size: int = 16,
        workers: int = 2,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Outcome]:
        """hash_files for (name, path or bytes) pairs: distributed engines hand over file bytes
        they already read, and decoding those (not re-reading the path) keeps one read per file.
        Errors name `name`."""
        batch_size = max(1, int(batch_size))
        window = max(batch_size * 2, workers * 2)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: deque[tuple[str, Future[Prepared]]] = deque()
            it = iter(items)

            def top_up() -> None:
                while len(pending) < window:
                    try:
                        path, source = next(it)
                    except StopIteration:
                        return
                    pending.append((path, pool.submit(self.prepare, source, name=path)))

            top_up()
            while pending:
                chunk: list[tuple[str, Prepared | NhkitError]] = []
                while pending and len(chunk) < batch_size:
                    path, fut = pending.popleft()
                    try:
                        chunk.append((path, fut.result()))
                    except NhkitError as exc:  # bad input: reported in its place, batch goes on
                        chunk.append((path, exc))
                    top_up()
                good = [(i, p) for i, (_, p) in enumerate(chunk) if isinstance(p, Prepared)]
                results: dict[int, HashResult | NhkitError] = {}
                if good:
                    try:
                        emb = self.embed_prepared([p for _, p in good])
                        done = self.finish(
                            emb, [p for _, p in good], [chunk[i][0] for i, _ in good]
                        )
                        results = {i: r for (i, _), r in zip(good, done)}
                    except (ValueError, NhkitError) as exc:
                        err = exc if isinstance(exc, NhkitError) else NhkitError(str(exc))
                        results = {i: err for i, _ in good}
                for i, (path, p) in enumerate(chunk):
                    if i in results:
                        yield path, results[i]
                    elif isinstance(p, NhkitError):
                        yield path, p
                    else:  # every prepared image got a result or its batch's error above
                        raise RuntimeError(f"{path}: no result for a prepared image")
                if progress:
                    progress(len(chunk))


def collect_images(
    inputs: Iterable[str | os.PathLike[str]], *, recursive: bool = False
) -> tuple[list[str], list[tuple[str, str]]]:
    """Expand CLI inputs into image paths; problems (missing path, directory without -r,
    unreadable directory) are returned as (path, reason) so the batch can go on."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    for path, problem in iter_images(inputs, recursive=recursive):
        if problem is None:
            files.append(path)
        else:
            problems.append((path, problem))
    return files, problems


def _record_walk_error(problems: list[tuple[str, str]], top: str, exc: OSError) -> None:
    """os.walk's onerror: keep the unlistable folder as a (path, problem) pair, so the walk goes
    on and the caller reports it with the other failures."""
    problems.append((exc.filename or top, f"cannot list directory: {exc.strerror}"))


def iter_images(
    inputs: Iterable[str | os.PathLike[str]], *, recursive: bool = False
) -> Iterator[tuple[str, str | None]]:
    """collect_images as a stream of (path, None) or (path, problem): a folder of millions of
    files is walked without holding its listing (nhkit.dist plans runs from this)."""
    from .decode import SUPPORTED_SUFFIXES

    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            if not recursive:
                yield str(p), "is a directory (use -r to hash the images in it)"
                continue
            problems: list[tuple[str, str]] = []
            onerror = functools.partial(_record_walk_error, problems, str(p))
            for root, dirs, names in os.walk(p, onerror=onerror):
                dirs.sort()
                for n in sorted(names):
                    if Path(n).suffix.lower() in SUPPORTED_SUFFIXES:
                        yield os.path.join(root, n), None
                yield from problems
                problems.clear()
            yield from problems
        elif p.exists():
            yield str(p), None
        else:
            yield str(p), "no such file or directory"
