"""Marine heatwaves (Hobday et al. 2016) in NumPy: the reference that tessera's
`climate::marine_heatwaves` is checked against and timed beside (`workloads.py numpy mhw`).

It follows the authors' code (ecjoliver/marineHeatWaves, `detect`) with its defaults, written
the way a NumPy user with a grid would: vectorised over the cells, a slab of cells at a time
so the memory stays bounded, land (cells NaN on every day) left out.

- Climatology: each day's calendar-day label (the day of a leap year with its month and day:
  29 February is 59, 1 March 60 in every year). For each label but 29 February, the baseline
  days with that label each pool the days up to 5 either side (within the record): the
  threshold is the 90th percentile of the pooled values (`np.nanpercentile`, linear), the
  seasonal mean their `np.nanmean`. 29 February is the mean of its neighbours; both are then
  smoothed by a circular running mean of 31 days (`runavg`).
- Events: days whose temperature (a missing day takes the seasonal mean) exceeds the threshold;
  runs of at least 5 such days; events at most 2 days apart joined (the days between
  included). Per cell: number of events, days in events, largest temperature minus seasonal
  mean over their days, longest event. Runs are found for all cells at once from the edges of
  the exceedance mask (`np.diff`), joined with `np.cumsum` over "joins the previous" flags, and
  reduced per event with `np.maximum.reduceat`.

Usage: python mhw.py check DIR   (DIR holds sst.npy, days.txt and tessera's outputs)
"""

import sys

import numpy as np


def month_day_labels(dates):
    """The calendar-day label of each date (numpy datetime64[D]): its day in a leap year."""
    months = dates.astype("datetime64[M]")
    day = (dates - months).astype(int)
    month = months.astype(int) % 12
    start = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])
    return start[month] + day


def climatology(x, labels, years, baseline=None, pctile=90, half=5, smooth=31):
    """Threshold and seasonal mean (366, cells) of a (time, cells) slab, in float64."""
    n, cells = x.shape
    in_base = np.ones(n, bool) if baseline is None else (years >= baseline[0]) & (years <= baseline[1])
    thresh = np.full((366, cells), np.nan)
    seas = np.full((366, cells), np.nan)
    any_nan = np.isnan(x).any()
    for d in range(366):
        if d == 59:
            continue
        occ = np.nonzero(in_base & (labels == d))[0]
        if occ.size == 0:
            continue
        pool = np.unique(np.clip((occ[:, None] + np.arange(-half, half + 1)).ravel(), 0, n - 1))
        vals = x[pool].astype(np.float64)
        if any_nan:
            thresh[d] = np.nanpercentile(vals, pctile, axis=0)
            seas[d] = np.nanmean(vals, axis=0)
        else:
            thresh[d] = np.percentile(vals, pctile, axis=0)
            seas[d] = np.mean(vals, axis=0)
    for c in (thresh, seas):
        c[59] = 0.5 * c[58] + 0.5 * c[60]
    if smooth > 1:
        inv = 1.0 / smooth
        out = []
        for c in (thresh, seas):
            acc = np.zeros_like(c)
            for k in range(smooth):
                acc += np.roll(c, smooth // 2 - k, axis=0) * inv
            out.append(acc)
        thresh, seas = out
    return thresh, seas


def events(x, labels, thresh, seas, min_duration=5, max_gap=2):
    """Per cell (count, days, max_intensity, longest) of a (time, cells) slab."""
    n, cells = x.shape
    th = thresh[labels]
    se = seas[labels]
    t = np.where(np.isnan(x), se, x)
    above = t > th
    anom = (t - se).T.copy()  # (cells, time): each cell's series contiguous
    edges = np.diff(np.pad(above.T.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    cell_s, start = np.nonzero(edges == 1)
    cell_e, end = np.nonzero(edges == -1)  # one past the last day
    keep = end - start >= min_duration
    cell, start, end = cell_s[keep], start[keep], end[keep]
    joins = np.zeros(cell.size, bool)
    joins[1:] = (cell[1:] == cell[:-1]) & (start[1:] - end[:-1] <= max_gap)
    event = np.cumsum(~joins) - 1
    n_ev = int(event[-1]) + 1 if event.size else 0
    first = np.nonzero(~joins)[0]
    ev_cell = cell[first]
    ev_start = start[first]
    ev_end = np.maximum.reduceat(end, first) if n_ev else end[:0]
    dur = ev_end - ev_start
    flat = np.append(anom.ravel(), np.nan)
    bounds = np.empty(2 * n_ev, np.int64)
    bounds[0::2] = ev_cell * n + ev_start
    bounds[1::2] = ev_cell * n + ev_end
    peak = np.fmax.reduceat(flat, bounds)[0::2] if n_ev else flat[:0]
    count = np.bincount(ev_cell, minlength=cells)
    days = np.bincount(ev_cell, weights=dur, minlength=cells).astype(np.int64)
    longest = np.zeros(cells, np.int64)
    np.maximum.at(longest, ev_cell, dur)
    intensity = np.full(cells, -np.inf)
    np.fmax.at(intensity, ev_cell, peak)
    intensity[count == 0] = np.nan
    return count, days, intensity, longest


def marine_heatwaves(sst, dates, baseline=None, slab=1 << 15):
    """Climatology (366, ...) and event statistics (...) of a (time, ...) cube."""
    labels = month_day_labels(dates)
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    shape = sst.shape[1:]
    flat = sst.reshape(sst.shape[0], -1)
    cells = flat.shape[1]
    ocean = np.nonzero(~np.isnan(flat).all(axis=0))[0]
    thresh = np.full((366, cells), np.nan)
    seas = np.full((366, cells), np.nan)
    out = [np.zeros(cells, np.int64), np.zeros(cells, np.int64), np.full(cells, np.nan), np.zeros(cells, np.int64)]
    for s in range(0, ocean.size, slab):
        idx = ocean[s:s + slab]
        x = flat[:, idx]
        th, se = climatology(x, labels, years, baseline)
        thresh[:, idx], seas[:, idx] = th, se
        for o, r in zip(out, events(x, labels, th, se)):
            o[idx] = r
    clim = (thresh.reshape((366,) + shape), seas.reshape((366,) + shape))
    return clim, [o.reshape(shape) for o in out]


def check(directory):
    """Compare tessera's outputs in `directory` with this reference; exit 1 on a difference."""
    import os
    sst = np.load(os.path.join(directory, "sst.npy"))
    start, *base = open(os.path.join(directory, "start.txt")).read().split()
    dates = np.datetime64(start) + np.arange(sst.shape[0])
    baseline = (int(base[0]), int(base[1])) if base else None
    (thresh, seas), stats = marine_heatwaves(sst, dates, baseline)
    ok = True
    for name, ref in (("thresh", thresh), ("seas", seas)):
        got = np.load(os.path.join(directory, name + ".npy"))
        err = np.nanmax(np.abs(got - ref)) if np.isfinite(ref).any() else 0.0
        same_nan = np.array_equal(np.isnan(got), np.isnan(ref))
        print(f"{name}: largest difference {err:.3g}, NaN in the same cells: {same_nan}")
        ok &= bool(err <= 1e-9 and same_nan)
    for name, ref in zip(("count", "days", "max_intensity", "longest"), stats):
        got = np.load(os.path.join(directory, name + ".npy"))
        if name == "max_intensity":
            equal = np.allclose(got, ref, rtol=0, atol=1e-9, equal_nan=True)
        else:
            equal = np.array_equal(got, ref)
        print(f"{name}: {'equal' if equal else 'DIFFERENT'} (tessera total {np.nansum(got):.6g}, "
              f"NumPy total {np.nansum(ref):.6g})")
        ok &= bool(equal)
    print("tessera's marine heatwaves equal the NumPy reference" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        raise SystemExit(__doc__)
