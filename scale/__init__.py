"""nhkit.dist: hash photo libraries on a distributed engine (Ray Data, Spark) into Parquet.

Layout: `core` is engine-neutral (an Arrow batch of path + bytes in, the documented hash table
out; docs/parquet-format.md), `output` writes and reads the Parquet part files (atomic, resumable),
`ray` and `spark` are thin adapters, `match` is the matching-at-scale recipe.

Nothing here imports Ray or Spark at module level: `import nhkit.dist` works on the light install,
and each adapter names the extra it needs (`pip install 'nhkit[ray]'`) when it is missing."""

from __future__ import annotations

from nhkit.runtime.formats import HASHES_PARQUET_SCHEMA as SCHEMA_ID  # one home: runtime.formats

__all__ = ["SCHEMA_ID"]
