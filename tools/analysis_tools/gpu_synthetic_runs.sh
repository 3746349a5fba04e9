#!/usr/bin/env bash
# Results-page runs (synthetic_results.py run) on a lent GPU, in one call
# or a few calls on the same warm machine:
#
#   bash tools/analysis_tools/gpu_synthetic_runs.sh SECONDS RUNS_ROOT \
#       'LANE' ['LANE' ...]
#
# installs the wheels carried in .whl/ (tools/analysis_tools/gpu_wheels.sh)
# into gpu_check.py's default site folder, unless mmengine is importable
# there already (after `gpu_check.sh` on the same machine), then runs every LANE (the arguments of one
# `synthetic_results.py run`, e.g. '--runs RUNS_ROOT/page --methods mtpsl
# --settings onelabel random --seeds 0 1 2 --jobs 4') in parallel. After
# SECONDS it stops what still trains: those runs keep their checkpoints
# under $SYNTHETIC_WORK (default /tmp/synthetic_work) and resume in the
# next call on the same machine.
# It then packs every summary under RUNS_ROOT into $OUT/runs.tar.gz and the
# runs' logs into $OUT/run_logs.tar.gz; $OUT/lanes.log is its own log.
# Set MTLPARTIAL_COMMIT to the commit the working tree was copied from
# (there is no .git there); the summaries record it and the GPU's name.
set -uo pipefail
cd "$(dirname "$0")/../.."
USAGE="usage: $0 SECONDS RUNS_ROOT 'LANE' ['LANE' ...]"
SECONDS_LEFT=${1:?$USAGE}
RUNS_ROOT=${2:?$USAGE}
[ $# -ge 3 ] || { echo "$USAGE: no lane given" >&2; exit 2; }
case $SECONDS_LEFT in
    ''|*[!0-9]*) echo "SECONDS must be whole seconds, got '$SECONDS_LEFT'" >&2
                 exit 2 ;;
esac
shift 2
OUT=${OUT:?set OUT to the folder that comes back}
WORK=${SYNTHETIC_WORK:-/tmp/synthetic_work}
SITE=/tmp/mtlpartial_site  # gpu_check.py --site-dir's default
export PYTHONUNBUFFERED=1 PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec > >(tee -a "$OUT/lanes.log") 2>&1

if ! python3 -c 'import mmengine' 2>/dev/null; then
    wheels=(.whl/*.whl)
    if python3 -c 'import pkg_resources' 2>/dev/null; then
        wheels=($(ls .whl/*.whl | grep -v '/setuptools-'))
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}" || exit 1
fi
python3 -c 'import torch; print("torch", torch.__version__, "cuda",
    torch.cuda.is_available() and torch.cuda.get_device_name(0))'

mkdir -p "$RUNS_ROOT" "$WORK"
pids=()
for lane in "$@"; do
    # shellcheck disable=SC2086  # a lane is a list of arguments
    setsid python3 tools/analysis_tools/synthetic_results.py run \
        --work-root "$WORK" $lane &
    pids+=($!)
done
end=$((SECONDS + SECONDS_LEFT))
while [ $SECONDS -lt $end ]; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 5
done
for pid in "${pids[@]}"; do  # each lane and its trainings; a lane that
    # has not reached its setsid yet has no group and no trainings
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null
done
sleep 3
echo "summaries: $(find "$RUNS_ROOT" -name 'seed*.json' | wc -l)" \
    "under $RUNS_ROOT after $SECONDS s"
tar czf "$OUT/runs.tar.gz" -C "$RUNS_ROOT" --exclude '*.lock' .
(cd "$WORK" && find . -name run.log -o -name '*.log' -path '*/20*' \
    | tar czf "$OUT/run_logs.tar.gz" -T -)
