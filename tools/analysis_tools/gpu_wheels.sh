#!/usr/bin/env bash
# Download the wheels that tools/analysis_tools/gpu_check.py installs on a
# machine without a package registry (requirements/device_wheels.txt),
# for CPython 3.12 on x86-64 Linux, into an ignored folder (default .whl/).
#
#   tools/analysis_tools/gpu_wheels.sh [DEST] [PYTHON_VERSION]
#
# Prints each wheel and the total size, and stops if the wheels and the
# tracked files together exceed the 64 MiB that travel with a device call.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${1:-$ROOT/.whl}"
PYVER="${2:-3.12}"
LIST="$ROOT/requirements/device_wheels.txt"
LIMIT=$((64 * 1024 * 1024))

mkdir -p "$DEST"
# one version of each package: a stale second wheel stops `pip install`
find "$DEST" -maxdepth 1 -name '*.whl' -delete
python3 -m pip download --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 \
    -d "$DEST" -r "$LIST"

wheels=$(du -cb "$DEST"/*.whl | tail -1 | cut -f1)
tracked=$(cd "$ROOT" && git ls-files -z | du -cb --files0-from=- | tail -1 \
    | cut -f1)
ls -l "$DEST"/*.whl
echo "wheels: $wheels bytes; tracked files: $tracked bytes;" \
    "together $((wheels + tracked)) of $LIMIT"
if [ $((wheels + tracked)) -gt $LIMIT ]; then
    echo "over the 64 MiB a device call carries" >&2
    exit 1
fi
