"""The climatology workload in xarray + dask, on the Zarr files `tessera generate-sst` wrote.

Usage: python climatology.py DIR [--repeat N]
Each file DIR/sst.YYYY.zarr is a Zarr v3 group (the array `sst` over time, lat, lon and
CF coordinates), opened with xarray.open_mfdataset(engine="zarr") in the files' own chunks;
then groupby("time.dayofyear").mean() (NaN-skipping, as xarray's default) is written to a
Zarr store. The timing includes opening the files, as tessera's does. Prints one JSON line
like the other workloads.
"""

import glob
import json
import os
import resource
import shutil
import statistics
import sys
import time
import warnings

import dask
import xarray as xr


def main():
    warnings.simplefilter("ignore")
    d = sys.argv[1]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    files = sorted(glob.glob(os.path.join(d, "sst.*.zarr")))
    out = "/tmp/xarray-clim.zarr"
    times = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        ds = xr.open_mfdataset(files, engine="zarr", consolidated=False, chunks={})
        clim = ds.sst.groupby("time.dayofyear").mean()
        clim.to_dataset().to_zarr(out, mode="w")
        times.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"workload": "climatology", "impl": "xarray+dask", "seconds": statistics.median(times),
                      "peak_rss": rss, "files": len(files), "xarray": xr.__version__, "dask": dask.__version__,
                      "flox": _flox()}))


def _flox():
    try:
        import flox
        return flox.__version__
    except ImportError:
        return None


if __name__ == "__main__":
    main()
