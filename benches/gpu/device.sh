#!/usr/bin/env bash
# Run the GPU checks and benchmarks on a lent GPU machine, from carried binaries (that machine
# has no Rust toolchain and no network). Prepare here with benches/gpu/pack.sh (.carry/), plus
# the Vulkan loader's .deb files in .gl/ (see the device tool's README), then run
#   bash benches/gpu/device.sh [parts]        with .carry and .gl carried; parts default to all:
#   info tests kernels torch e2e
set -u
parts="${*:-info tests kernels torch e2e}"
out="${OUT:-/tmp/out}"
mkdir -p "$out"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export XDG_RUNTIME_DIR=/tmp
b=/tmp/tessera-bin
mkdir -p "$b" && tar xJf .carry/bins.tar.xz -C "$b"
has() { case " $parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
if has info; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.max.mem --format=csv
  nproc
  "$b/tessera" info
fi
if has tests; then
  for t in gpu_tests gpu_linalg_tests; do
    TESSERA_REQUIRE_GPU=1 timeout 300 "$b/$t" > "$out/$t.txt" 2>&1
    grep -E "^test result|panicked" -A 1 "$out/$t.txt"
  done
fi
if has kernels; then
  timeout 200 "$b/tessera" bench gpu-kernels --repeat 9 | tee "$out/kernels.txt"
fi
if has torch; then
  timeout 120 python3 - <<'PY' 2>&1 | tee "$out/torch.txt"
import torch
def med(f, n=15):
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(3): f()
    ts = []
    for _ in range(n):
        s.record(); f(); e.record(); e.synchronize(); ts.append(s.elapsed_time(e) / 1e3)
    return sorted(ts)[len(ts) // 2]
for e in (26, 28):
    x = torch.rand(1 << e, device="cuda"); y = torch.empty_like(x); z = torch.empty_like(x)
    mb = x.numel() * 4 >> 20
    t = med(lambda: y.copy_(x)); print(f"torch copy {mb} MiB: {t*1e3:.3f} ms, {2*x.numel()*4/t/1e9:.0f} GB/s (read+write)")
    t = med(lambda: torch.add(x, y, alpha=2, out=z)); print(f"torch x + 2y {mb} MiB: {t*1e3:.3f} ms, {3*x.numel()*4/t/1e9:.0f} GB/s")
    t = med(lambda: x.sum()); print(f"torch sum {mb} MiB f32: {t*1e3:.3f} ms, {x.numel()*4/t/1e9:.0f} GB/s")
    r = x.view(-1, 64)
    t = med(lambda: r.nanmean(1)); print(f"torch nanmean axis 1 of {list(r.shape)}: {t*1e3:.3f} ms, {x.numel()*4/t/1e9:.0f} GB/s")
    c = x.view(64, -1)
    t = med(lambda: c.nanmean(0)); print(f"torch nanmean axis 0 of {list(c.shape)}: {t*1e3:.3f} ms, {x.numel()*4/t/1e9:.0f} GB/s")
    del x, y, z
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
for n in (4096, 8192):
    a = torch.rand(n, n, device="cuda"); c = torch.rand(n, n, device="cuda")
    t = med(lambda: a @ c); print(f"torch f32 matmul {n} (no TF32): {t*1e3:.2f} ms, {2*n**3/t/1e9:.0f} GFLOP/s")
a = torch.rand(4096, 4096, device="cuda", dtype=torch.float64)
t = med(lambda: a @ a); print(f"torch f64 matmul 4096: {t*1e3:.2f} ms, {2*4096**3/t/1e9:.0f} GFLOP/s")
PY
fi
if has e2e; then
  for w in sst-nanmean-gpu sst-nanmean matmul-f32-gpu matmul-f32 xxT-sum-gpu xxT-sum; do
    timeout 120 "$b/tessera" bench "$w" --repeat 5 2>&1 | tee -a "$out/e2e.txt"
  done
fi
