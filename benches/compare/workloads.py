"""NumPy and dask versions of the benchmark workloads, timed the same way as `tessera bench`.

Usage: python workloads.py {numpy,dask} WORKLOAD [--repeat N]
Prints one JSON line: workload, impl, seconds (median of N), peak_rss (bytes), and extras.
Each workload runs in its own process so that peak RSS is its own.
"""

import json
import resource
import warnings
import statistics
import sys
import time

import numpy as np


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sst_cube(days=365, nlat=720, nlon=1440, seed=2026):
    """The same kind of cube as tessera's synthetic SST: ~30 % land as NaN, a warm equator,
    a seasonal cycle flipping sign between hemispheres, noise. Not bit-identical to tessera's
    (different noise generator), same shape, dtype and NaN fraction."""
    lat = -90 + (np.arange(nlat) + 0.5) * 180 / nlat
    lon = (np.arange(nlon) + 0.5) * 360 / nlon
    phi = np.radians(lat)[:, None]
    th = np.radians(lon)[None, :]
    c = (np.sin(2 * th) * np.cos(1.5 * phi) + 0.6 * np.sin(3 * th + 1) * np.cos(2 * phi + 0.5)
         + 0.4 * np.cos(5 * th - 2 * phi))
    land = (c > 0.55) | (lat[:, None] > 80) | (lat[:, None] < -78)
    base = np.where(land, np.nan, 28 - 30 * np.sin(phi) ** 2).astype(np.float32)
    amp = (4 * np.sin(phi)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((days, nlat, nlon), dtype=np.float32)
    for d in range(days):
        season = np.float32(np.cos(2 * np.pi * (d - 200) / 365.25))
        out[d] = base + amp * season + (rng.random((nlat, nlon), dtype=np.float32) - 0.5)
    return out


def run(impl, workload, repeat):
    warnings.simplefilter("ignore", RuntimeWarning)  # "Mean of empty slice" on land cells
    extra = {}
    if workload == "sst-nanmean":
        x = sst_cube()
        if impl == "numpy":
            secs = timed(lambda: np.nanmean(x, axis=0), repeat)
        else:
            import dask.array as da
            y = da.nanmean(da.from_array(x, chunks=(24, 360, 360)), axis=0)
            secs = timed(lambda: y.compute(), repeat)
        extra["input_bytes"] = x.nbytes
    elif workload == "tiny-tasks":
        if impl == "numpy":
            secs = timed(lambda: (np.ones(1_000_000) + 1).sum(), repeat)
        else:
            import dask.array as da
            secs = timed(lambda: (da.ones(1_000_000, chunks=10) + 1).sum().compute(), repeat)
    elif workload == "lazy-slice":
        if impl == "numpy":
            secs = timed(lambda: np.exp(np.ones((10000, 10000)))[1:100, 1:100].copy(), repeat)
        else:
            import dask.array as da
            secs = timed(lambda: da.exp(da.ones((10000, 10000), chunks=1000))[1:100, 1:100].compute(), repeat)
    elif workload == "stencil":
        x = np.random.default_rng(7).standard_normal((8000, 8000))

        def lap(b):
            out = np.zeros_like(b)
            out[1:-1, 1:-1] = b[:-2, 1:-1] + b[2:, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:] - 4 * b[1:-1, 1:-1]
            return out

        if impl == "numpy":
            secs = timed(lambda: lap(np.pad(x, 1, mode="symmetric"))[1:-1, 1:-1].sum(), repeat)
        else:
            import dask.array as da
            y = da.from_array(x, chunks=1000).map_overlap(lap, depth=1, boundary="reflect").sum()
            secs = timed(lambda: y.compute(), repeat)
    elif workload == "rechunk":
        if impl == "numpy":
            return  # the input alone is 3.2 GB: nothing to compare with
        import dask.array as da
        y = da.random.random((20000, 20000), chunks=(20000, 100)).rechunk((100, 20000)).sum()
        secs = timed(lambda: y.compute(), repeat)
    elif workload == "rechunk-computed":
        if impl == "numpy":
            return
        import dask.array as da
        x = da.random.random((20000, 20000), chunks=(20000, 100)).map_blocks(lambda b: b * 2.0)
        y = x.rechunk((100, 20000)).sum()
        secs = timed(lambda: y.compute(), repeat)
    elif workload == "fancy-index":
        if impl == "numpy":
            return  # the input alone is 3.2 GB
        import dask.array as da
        idx = np.random.default_rng(5).integers(0, 20000, 5000)
        x = da.random.random((20000, 20000), chunks=(2000, 2000))
        y = x[:, idx]
        extra["largest_block_ratio"] = max(a * b for a in y.chunks[0] for b in y.chunks[1]) / 2000 ** 2
        s = y.sum()
        secs = timed(lambda: s.compute(), repeat)
    elif workload == "cholesky":
        n = 10000
        r = np.random.default_rng(3).random((n, n))
        a = (r + r.T) / 2 + n * np.eye(n)
        del r
        if impl == "numpy":
            secs = timed(lambda: np.linalg.cholesky(a), repeat)
        else:
            import dask.array as da
            x = da.from_array(a, chunks=1000)
            secs = timed(lambda: da.linalg.cholesky(x, lower=True).compute(), repeat)
    elif workload == "xxT-sum":
        a = np.arange(9e6).reshape(3000, 3000)
        if impl == "numpy":
            secs = timed(lambda: (a @ a.T).sum(axis=0), repeat)
        else:
            import dask.array as da
            x = da.from_array(a, chunks=750)
            secs = timed(lambda: (x @ x.T).sum(axis=0).compute(), repeat)
    elif workload == "compound":
        a = np.random.default_rng(5).random((10000, 10000))
        if impl == "numpy":
            secs = timed(lambda: (a @ (a.T + 1) - a.mean()).std(), repeat)
        else:
            import dask.array as da
            x = da.from_array(a, chunks=1000)
            secs = timed(lambda: (x @ (x.T + 1) - x.mean()).std().compute(), repeat)
    elif workload == "tsqr-svd":
        if impl == "numpy":
            a = np.random.default_rng(9).random((2_000_000, 100))
            secs = timed(lambda: np.linalg.svd(a, full_matrices=False), repeat)
        else:
            import dask
            import dask.array as da
            # Generated block by block, as tessera's input is.
            x = da.random.random((2_000_000, 100), chunks=(100_000, 100))
            secs = timed(lambda: dask.compute(*da.linalg.svd(x)), repeat)
    elif workload == "lu-solve":
        rng = np.random.default_rng(21)
        a, b = rng.random((8000, 8000)), rng.random((8000, 10))
        if impl == "numpy":
            secs = timed(lambda: np.linalg.solve(a, b), repeat)
        else:
            import dask.array as da
            x, y = da.from_array(a, chunks=1000), da.from_array(b, chunks=(1000, 10))
            secs = timed(lambda: da.linalg.solve(x, y).compute(), repeat)
    elif workload == "delayed-10k":
        if impl == "numpy":
            return  # no NumPy version: a graph of Python calls
        from dask import delayed

        def inc(x):
            return x + 1

        def build_and_compute():
            xs = [delayed(inc)(i) for i in range(10000)]
            assert delayed(sum)(xs).compute() == 50005000

        secs = timed(build_and_compute, repeat)
    elif workload in ("quantile-time", "quantile-time-lazy"):
        x = sst_cube()
        if impl == "numpy":
            secs = timed(lambda: np.nanpercentile(x, 90, axis=0), repeat)
        else:
            # xarray's quantile on dask: the time axis must first be one chunk.
            import dask.array as da
            import xarray as xr
            a = xr.DataArray(da.from_array(x, chunks=(24, 360, 360)), dims=("time", "lat", "lon"))
            q = a.chunk({"time": -1}).quantile(0.9, dim="time", skipna=True)
            secs = timed(lambda: q.compute(), repeat)
    elif workload in ("sort-axis", "sort-axis0"):
        x = np.random.default_rng(11).random((20000, 20000))
        axis = -1 if workload == "sort-axis" else 0
        if impl == "numpy":
            secs = timed(lambda: np.sort(x, axis=axis), repeat)
        else:
            return  # dask has no sort
    elif workload == "histogram":
        if impl != "numpy":
            return  # dask's histogram is the same per-block count and sum; NumPy is the target
        x = np.random.default_rng(5).random(1_000_000_000, dtype=np.float32)
        secs = timed(lambda: np.histogram(x, 256, range=(0, 1)), repeat)
    elif workload == "mhw":
        if impl != "numpy":
            return  # neither dask nor xarray has marine heatwaves; mhw.py is the reference
        import os
        import mhw
        grid = os.environ.get("TESSERA_MHW_GRID", "720x1440")
        nlat, nlon = (int(v) for v in grid.split("x"))
        x = sst_cube(days=1826, nlat=nlat, nlon=nlon)
        dates = np.datetime64("2001-01-01") + np.arange(x.shape[0])
        found = []
        secs = timed(lambda: found.append(int(mhw.marine_heatwaves(x, dates)[1][0].sum())), repeat)
        extra["events"] = found[-1]
        extra["grid"] = grid
    else:
        raise SystemExit(f"unknown workload {workload}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"workload": workload, "impl": impl, "seconds": secs, "peak_rss": rss, **extra}
    print(json.dumps(out))


def info():
    from threadpoolctl import threadpool_info
    import dask
    blas = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, {p.get('num_threads')} threads)"
            for p in threadpool_info() if p.get("user_api") == "blas"]
    print(json.dumps({"numpy": np.__version__, "dask": dask.__version__, "blas": blas}))


if __name__ == "__main__":
    if sys.argv[1] == "info":
        info()
    else:
        repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 5
        run(sys.argv[1], sys.argv[2], repeat)
