#!/usr/bin/env bash
# Two tessera binaries taking turns on one workload: N rounds of (A, then B), one run each
# per round, each in its own process, for a before/after ratio that the machine's drift does
# not bend (see pairs.sh). Build the two binaries first, e.g. from two worktrees:
#   (cd ../before && cargo build --release --bin tessera && cp target/release/tessera /tmp/tessera-a)
# Usage: benches/compare/ab.sh A_BINARY B_BINARY WORKLOAD [ROUNDS]   (default 5 rounds)
#        TESSERA_BENCH_DATA=DIR sets where the disk workloads keep their files.
set -euo pipefail
a="$1"
b="$2"
w="$3"
rounds="${4:-5}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
out="$(mktemp)"
for r in $(seq "$rounds"); do
    "$a" bench "$w" --repeat 1 --json | sed 's/"impl": "tessera"/"impl": "A"/' | tee -a "$out"
    "$b" bench "$w" --repeat 1 --json | sed 's/"impl": "tessera"/"impl": "B"/' | tee -a "$out"
done
python3 - "$out" "$w" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
a = [r["seconds"] for r in rows if r["impl"] == "A"]
b = [r["seconds"] for r in rows if r["impl"] == "B"]
ratios = [y / x for x, y in zip(a, b)]
print(f"{sys.argv[2]}: A median {statistics.median(a):.4f} s, B median {statistics.median(b):.4f} s, "
      f"median B / A over {len(ratios)} rounds {statistics.median(ratios):.3f} "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
PY
rm -f "$out"
