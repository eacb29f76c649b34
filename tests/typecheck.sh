#!/usr/bin/env bash
# mypy over the Python packages nhkit.runtime, nhkit.export and nhkit.dist (config: [tool.mypy] in
# pyproject.toml). The repository keeps runtime/ and export/ at the top (setuptools package-dir),
# and the editable install resolves them with an import hook mypy cannot follow, so this maps
# them (and scale/ -> nhkit.dist) to nhkit/runtime, nhkit/export and nhkit/dist in a temporary folder (symlinks) and checks by package.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/nhkit"
touch "$tmp/nhkit/__init__.py"  # a regular package, so runtime/models/ (data) cannot shadow models.py
ln -s "$root/runtime" "$tmp/nhkit/runtime"
ln -s "$root/export" "$tmp/nhkit/export"
ln -s "$root/scale" "$tmp/nhkit/dist"
cd "$tmp"
python3 -m mypy --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" \
  -p nhkit.runtime -p nhkit.export -p nhkit.dist
