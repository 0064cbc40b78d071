"""The climatology workload in xarray + dask, on the Zarr files `tessera generate-sst` wrote.

Usage: python climatology.py DIR [--repeat N]
Each file DIR/sst.YYYY.zarr is a Zarr v3 array (no group, no coordinates), opened with
dask.array.from_zarr in its own chunks, concatenated along time and wrapped in an
xarray.DataArray with a daily time coordinate from 1 January of the first year; then
groupby("time.dayofyear").mean() (NaN-skipping, as xarray's default) is written to a Zarr
store. Prints one JSON line like the other workloads.
"""

import glob
import json
import os
import re
import resource
import shutil
import statistics
import sys
import time
import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
import zarr


def main():
    warnings.simplefilter("ignore")
    d = sys.argv[1]
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    files = sorted(glob.glob(os.path.join(d, "sst.*.zarr")))
    first = int(re.search(r"(\d{4})", os.path.basename(files[0])).group(1))
    parts = [da.from_zarr(zarr.open_array(f, mode="r")) for f in files]
    x = da.concatenate(parts, axis=0)
    time_ = pd.date_range(f"{first}-01-01", periods=x.shape[0], freq="D")
    arr = xr.DataArray(x, dims=("time", "lat", "lon"), coords={"time": time_}, name="sst")
    out = "/tmp/xarray-clim.zarr"
    times = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        clim = arr.groupby("time.dayofyear").mean()
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
