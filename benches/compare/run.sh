#!/usr/bin/env bash
# NumPy, dask and tessera on the same workloads, in the same run, on this machine.
# Usage: benches/compare/run.sh [workload ...]   (default: all; DASK_TINY=0 skips dask's ~1 min tiny-tasks)
# Linear algebra: cholesky xxT-sum compound tsqr-svd lu-solve (NumPy and dask 3 runs each, tessera 5).
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q numpy scipy "dask[array]" threadpoolctl xarray "zarr>=3" pandas
cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
export TESSERA_BENCH_DATA="${TESSERA_BENCH_DATA:-$ROOT/target/bench-data}"
WORKLOADS=("${@:-sst-nanmean tiny-tasks lazy-slice delayed-10k stencil rechunk fancy-index}")
mkdir -p results
OUT="results/$(date -u +%Y%m%dT%H%M%SZ).jsonl"
# NumPy runs without the OpenBLAS overrides some machines set (they slow a current NumPy).
PY=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python)
"${PY[@]}" workloads.py info | tee -a "$OUT"
for w in ${WORKLOADS[*]}; do
    case "$w" in
    out-of-core-npy|out-of-core-zarr)
        # tessera only: measured against the disk's own read speed (in the JSON line).
        "$ROOT/target/release/tessera" bench "$w" --repeat 3 --json | tee -a "$OUT"
        continue ;;
    climatology)
        # tessera writes the 5 years of Zarr files on first use; xarray + dask read the same.
        "$ROOT/target/release/tessera" bench "$w" --repeat 3 --json | tee -a "$OUT"
        "${PY[@]}" climatology.py "${TESSERA_BENCH_DATA:-$ROOT/target/bench-data}/sst5" --repeat 1 | tee -a "$OUT"
        continue ;;
    cholesky|compound|tsqr-svd|lu-solve)
        # Seconds to a minute per run: three runs each, side by side.
        "${PY[@]}" workloads.py numpy "$w" --repeat 3 | tee -a "$OUT"
        "${PY[@]}" workloads.py dask "$w" --repeat 3 | tee -a "$OUT"
        "$ROOT/target/release/tessera" bench "$w" --repeat 3 --json | tee -a "$OUT"
        continue ;;
    esac
    "${PY[@]}" workloads.py numpy "$w" --repeat 5 | tee -a "$OUT"
    if [ "$w" = tiny-tasks ]; then
        [ "${DASK_TINY:-1}" = 0 ] || "${PY[@]}" workloads.py dask "$w" --repeat 1 | tee -a "$OUT"
    elif [ "$w" = delayed-10k ] || [ "$w" = rechunk ] || [ "$w" = rechunk-computed ] || [ "$w" = fancy-index ]; then
        "${PY[@]}" workloads.py dask "$w" --repeat 3 | tee -a "$OUT"
    else
        "${PY[@]}" workloads.py dask "$w" --repeat 5 | tee -a "$OUT"
    fi
    "$ROOT/target/release/tessera" bench "$w" --repeat 5 --json | tee -a "$OUT"
done
echo
.venv/bin/python report.py "$OUT"
