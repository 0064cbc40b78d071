"""Turn the JSON lines of run.sh into the Markdown table of BENCHMARKS.md."""

import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
info = next((r for r in rows if "numpy" in r and "workload" not in r), {})
by = {}
for r in rows:
    if "workload" in r:
        by.setdefault(r["workload"], {})[r["impl"]] = r


def fmt_s(s):
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.3f} s"


print("| workload | NumPy | dask | tessera | NumPy / tessera | dask / tessera | peak RSS NumPy / dask / tessera |")
print("|---|---|---|---|---|---|---|")
for w, d in by.items():
    n, k, t = d.get("numpy"), d.get("dask"), d.get("tessera")
    cell = lambda r: fmt_s(r["seconds"]) if r else "–"
    ratio = lambda r: f"{r['seconds'] / t['seconds']:.1f}×" if r and t and r['seconds'] / t['seconds'] >= 0.1 else (f"{r['seconds'] / t['seconds']:.4f}×" if r and t else "–")
    rss = " / ".join(f"{r['peak_rss'] / 1e6:.0f} MB" if r else "–" for r in (n, k, t))
    print(f"| {w} | {cell(n)} | {cell(k)} | {cell(t)} | {ratio(n)} | {ratio(k)} | {rss} |")
print()
t = by.get("sst-nanmean", {}).get("tessera")
if t and "floor_seconds" in t:
    print(f"sst-nanmean memory-bandwidth floor (a vectorised 2-thread sum over the same buffer): "
          f"{fmt_s(t['floor_seconds'])} ({t['input_bytes'] / t['floor_seconds'] / 1e9:.1f} GB/s); "
          f"tessera / floor = {t['floor_ratio']:.2f}; tessera peak RSS = input + "
          f"{(t['peak_rss'] - t['input_bytes']) / t['input_bytes'] * 100:.1f} %.")
tt = by.get("tiny-tasks", {}).get("tessera")
if tt:
    print(f"tiny-tasks: tessera {tt['seconds'] / 1e5 * 1e6:.2f} µs per block end to end (100,000 blocks).")
if info:
    print(f"NumPy {info.get('numpy')}, dask {info.get('dask')}, BLAS: {', '.join(info.get('blas', [])) or 'none loaded'}.")
for w in ("out-of-core-npy", "out-of-core-zarr"):
    t = by.get(w, {}).get("tessera")
    if t:
        print(f"{w}: tessera {fmt_s(t['seconds'])} = {t['tessera_bytes_per_s'] / 1e9:.2f} GB/s, "
              f"disk sequential read in the same run {t['disk_bytes_per_s'] / 1e9:.2f} GB/s "
              f"({t['fraction_of_disk'] * 100:.0f} %), peak RSS {t['peak_rss'] / 1e6:.0f} MB (budget {t['budget'] / 1e9:.1f} GB).")
c = by.get("climatology", {})
t, x = c.get("tessera"), c.get("xarray+dask")
if t and x:
    print(f"climatology ({t.get('files')} years of Zarr files): tessera {fmt_s(t['seconds'])}, peak RSS {t['peak_rss'] / 1e6:.0f} MB; "
          f"xarray {x['xarray']} + dask {x['dask']} (flox {x['flox'] or 'not installed'}) {fmt_s(x['seconds'])}, "
          f"peak RSS {x['peak_rss'] / 1e6:.0f} MB; xarray / tessera = {x['seconds'] / t['seconds']:.1f}×.")
for w in ("cholesky", "lu-solve"):
    t = by.get(w, {}).get("tessera")
    if t and "faer_seconds" in t:
        print(f"{w}: faer on the whole matrix (all cores, same process) {fmt_s(t['faer_seconds'])}; "
              f"tessera / faer = {t['faer_ratio']:.2f}.")
