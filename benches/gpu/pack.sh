#!/usr/bin/env bash
# Build the release CLI and GPU test binaries and pack them into .carry/bins.tar.xz for
# benches/gpu/device.sh on a lent GPU machine (x86-64, no Rust toolchain there).
set -euo pipefail
cargo build --release --bin tessera
cargo test --release --test gpu --test gpu_linalg --no-run --message-format=json 2>/dev/null |
  python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("gpu", "gpu_linalg"):
        print(m["target"]["name"], m["executable"])' > /tmp/tessera-gpu-tests.txt
mkdir -p .carry
cp target/release/tessera .carry/tessera
while read -r name exe; do cp "$exe" ".carry/${name}_tests"; done < /tmp/tessera-gpu-tests.txt
strip .carry/tessera .carry/gpu_tests .carry/gpu_linalg_tests
(cd .carry && tar cJf bins.tar.xz tessera gpu_tests gpu_linalg_tests && rm tessera gpu_tests gpu_linalg_tests)
ls -la .carry
