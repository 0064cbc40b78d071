#!/usr/bin/env bash
# CDO and tessera taking turns on the same netCDF files: N rounds of (cdo VERB, then tessera
# VERB), each in its own process, timed with /usr/bin/time (seconds and peak RSS); prints
# each round and the medians of the per-round ratios (the machine's speed drifts, a ratio of
# two runs minutes apart can mislead).
# Usage: benches/compare/cdo.sh VERB ROUNDS FILE...     (Debian: apt-get install cdo)
#        e.g. benches/compare/cdo.sh timmean 3 data/oisst/sst.1982.nc
# TESSERA=path/to/tessera picks the binary (default: target/release/tessera, built here).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
verb="$1"; rounds="$2"; shift 2
command -v cdo >/dev/null || { echo "cdo is not installed (apt-get install cdo)" >&2; exit 1; }
if [ -z "${TESSERA:-}" ]; then
    cargo build --release --bin tessera --manifest-path "$ROOT/Cargo.toml" >&2
    TESSERA="$ROOT/target/release/tessera"
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# No Vulkan device: both sides on the CPU.
export VK_ICD_FILENAMES=/nonexistent.json
# CDO's operators take one input (cat them first for several, as a CDO user does): -cat.
if [ $# -gt 1 ]; then cdo_in=(-"$verb" -cat "$@"); else cdo_in=(-"$verb" "$@"); fi
for r in $(seq "$rounds"); do
    /usr/bin/time -f "cdo %e %M" cdo -s -O "${cdo_in[@]}" "$tmp/cdo.nc" 2>>"$tmp/times" >/dev/null
    /usr/bin/time -f "tessera %e %M" "$TESSERA" "$verb" "$@" "$tmp/tessera.nc" 2>>"$tmp/times" >/dev/null
done
python3 - "$tmp/times" "$verb" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.split() and l.split()[0] in ("cdo", "tessera")]
cdo = [(float(s), int(m)) for k, s, m in rows if k == "cdo"]
ts = [(float(s), int(m)) for k, s, m in rows if k == "tessera"]
for i, (c, t) in enumerate(zip(cdo, ts), 1):
    print(f"round {i}: cdo {c[0]:.2f} s {c[1] / 1024:.0f} MiB, tessera {t[0]:.2f} s {t[1] / 1024:.0f} MiB, "
          f"cdo / tessera {c[0] / t[0]:.2f}")
print(f"{sys.argv[2]}: median cdo / tessera {statistics.median(c[0] / t[0] for c, t in zip(cdo, ts)):.2f} "
      f"(cdo {statistics.median(c[0] for c in cdo):.2f} s, {statistics.median(c[1] for c in cdo) / 1024:.0f} MiB; "
      f"tessera {statistics.median(t[0] for t in ts):.2f} s, {statistics.median(t[1] for t in ts) / 1024:.0f} MiB)")
PY
