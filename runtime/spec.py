"""nh-spec-v1 as data: the parameters every implementation, bundle, golden file and report carry.

The normative text is docs/spec/nh-spec-v1.md. Anything that changes a hash must be a field here,
so two hashes can only be compared when their `Spec` values are equal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

SPEC_ID = "nh-spec-v1"
INPUT_SIZE = 360
HASH_BITS = 96
EMBEDDING_DIM = 128
RESIZE_METHOD = "pillow-bicubic-hv"
NORMALISE_METHOD = "v/255*2-1"
DEFAULT_MAX_PIXELS = 100_000_000

Orientation = Literal["apply", "ignore"]
ORIENTATIONS: tuple[str, ...] = ("apply", "ignore")


def parse_orientation(value: str) -> Orientation:
    """A command-line or file value as the Orientation type; anything else is a ValueError."""
    if value == "apply":
        return "apply"
    if value == "ignore":
        return "ignore"
    raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {value!r}")


class SpecMismatchError(ValueError):
    """Two artefacts were made under different spec parameters, so their hashes do not compare."""


@dataclass(frozen=True)
class Spec:
    """The hash-defining parameters. Only `orientation` and `fragile_margin` are free in v1."""

    orientation: Orientation = "apply"
    fragile_margin: float = 0.0
    id: str = SPEC_ID
    resize: str = RESIZE_METHOD
    size: int = INPUT_SIZE
    normalise: str = NORMALISE_METHOD
    hash_bits: int = HASH_BITS
    embedding_dim: int = EMBEDDING_DIM

    def __post_init__(self) -> None:
        if self.orientation not in ORIENTATIONS:
            raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {self.orientation!r}")
        if not (self.fragile_margin >= 0.0):  # also rejects NaN
            raise ValueError(f"fragile_margin must be a number >= 0, got {self.fragile_margin!r}")
        fixed = {
            "id": SPEC_ID,
            "resize": RESIZE_METHOD,
            "size": INPUT_SIZE,
            "normalise": NORMALISE_METHOD,
            "hash_bits": HASH_BITS,
            "embedding_dim": EMBEDDING_DIM,
        }
        for name, value in fixed.items():
            if getattr(self, name) != value:
                raise SpecMismatchError(
                    f"spec field {name!r} is {getattr(self, name)!r}; {SPEC_ID} requires {value!r}"
                )

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object (key order fixed) used in manifests, goldens and reports."""
        return {
            "id": self.id,
            "orientation": self.orientation,
            "resize": self.resize,
            "size": self.size,
            "normalise": self.normalise,
            "hash_bits": self.hash_bits,
            "embedding_dim": self.embedding_dim,
            "fragile_margin": self.fragile_margin,
        }

    @classmethod
    def from_json(cls, obj: Any, *, source: str = "spec") -> Spec:
        """Parse a spec object, naming `source` in every error (files are user input)."""
        if not isinstance(obj, dict):
            raise SpecMismatchError(f"{source}: 'spec' must be an object, got {type(obj).__name__}")
        if obj.get("id") != SPEC_ID:
            raise SpecMismatchError(
                f"{source}: spec id is {obj.get('id')!r}; this nhkit implements {SPEC_ID!r}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise SpecMismatchError(f"{source}: unknown spec fields {unknown}")
        try:
            return cls(**obj)
        except (TypeError, ValueError) as exc:
            raise SpecMismatchError(f"{source}: {exc}") from None

    def hash_compatible(self, other: Spec) -> bool:
        """Hashes compare when everything but the fragile margin (a reporting choice) agrees."""
        return dataclasses.replace(self, fragile_margin=0.0) == dataclasses.replace(
            other, fragile_margin=0.0
        )
