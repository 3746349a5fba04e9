#!/usr/bin/env bash
# One-call GPU check of the toolkit (tools/analysis_tools/gpu_check.py):
# install from the carried wheels in .whl/, bf16 training, the NYUv2
# benchmark table and a SyncBN step; the report goes to $OUT or --out-dir.
#
#   bash tools/analysis_tools/gpu_check.sh [--out-dir DIR] [--k-sweep]
#   bash tools/analysis_tools/gpu_check.sh --dry-run --out-dir /tmp/gc  # CPU
set -eo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" tools/analysis_tools/gpu_check.py "$@"
