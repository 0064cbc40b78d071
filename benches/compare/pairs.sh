#!/usr/bin/env bash
# NumPy (or dask) and tessera taking turns on one workload: N rounds of (NumPy, then tessera),
# one run each per round, each in its own process. This machine's speed drifts by up to 2x over
# minutes (other tenants), so a ratio from two runs minutes apart can mislead; the median of
# the per-round ratios does not.
# Usage: benches/compare/pairs.sh WORKLOAD [ROUNDS] [numpy|dask]
#        (default 5 rounds against NumPy; run.sh sets up .venv)
#        TESSERA_FEATURES=blas benches/compare/pairs.sh compound   (tessera built with features)
# Both sides run without this machine's OPENBLAS_CORETYPE=Haswell, which turns off OpenBLAS's
# AVX-512 kernels (NumPy's, and tessera's under the `blas` feature).
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
w="$1"
rounds="${2:-5}"
other="${3:-numpy}"
[ -x .venv/bin/python ] || { echo "run benches/compare/run.sh once first (it makes .venv)" >&2; exit 1; }
FEATURES="${TESSERA_FEATURES:-}"
cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" ${FEATURES:+--features "$FEATURES"} >&2
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
CLEAN=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
PY=("${CLEAN[@]}" .venv/bin/python)
mkdir -p results
OUT="results/pairs-$w${FEATURES:+-$FEATURES}-$other-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
for r in $(seq "$rounds"); do
    "${PY[@]}" workloads.py "$other" "$w" --repeat 1 | tee -a "$OUT"
    "${CLEAN[@]}" "$ROOT/target/release/tessera" bench "$w" --repeat 1 --json | tee -a "$OUT"
done
echo
.venv/bin/python - "$OUT" "$other" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
name = {"numpy": "NumPy", "dask": "dask"}[sys.argv[2]]
np_ = [r["seconds"] for r in rows if r.get("impl") == sys.argv[2]]
ts = [r["seconds"] for r in rows if r.get("impl") == "tessera"]
ratios = [a / b for a, b in zip(np_, ts)]
for i, (a, b, q) in enumerate(zip(np_, ts, ratios), 1):
    print(f"round {i}: {name} {a:.3f} s, tessera {b:.3f} s, {name} / tessera {q:.2f}")
print(f"median {name} / tessera over {len(ratios)} rounds: {statistics.median(ratios):.2f} "
      f"({name} median {statistics.median(np_):.3f} s, tessera median {statistics.median(ts):.3f} s)")
PY
