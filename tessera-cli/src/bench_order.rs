//! `tessera bench` workloads of order statistics (issue 22), beside NumPy's and xarray's in
//! benches/compare/workloads.py.

use tessera::datasets::{SST_LAT, SST_LON, sst};
use tessera::prelude::*;

use crate::bench::time_it;

/// The 90th percentile over time of a year of daily SST (365 × 720 × 1440 f32, NaN land) in
/// blocks of (24, 360, 360), NaN skipped: `np.nanpercentile(x, 90, axis=0)`. With `lazy`
/// the days are generated inside the graph instead of held in memory first (the time then
/// includes making them; the peak RSS is what tessera needs without the input in memory).
pub fn quantile_time(repeat: usize, lazy: bool) -> tessera::Result<(f64, String)> {
    let cube = sst(365, SST_LAT, SST_LON, 2026, [24, 360, 360])?;
    let x = if lazy { cube } else { tessera::from_array(cube.compute()?, [24, 360, 360])? };
    let p = x.nanpercentile(90.0, 0)?;
    let mut tasks = 0;
    let secs = time_it(repeat, || {
        let (r, report) = p.compute_report(&ComputeOptions::default())?;
        tasks = report.tasks_run;
        std::hint::black_box(r);
        Ok(())
    })?;
    Ok((secs, format!(", \"tasks\": {tasks}, \"lazy_input\": {lazy}")))
}

/// A 20000² f64 uniform matrix in 2000² blocks, held in memory, sorted along `axis`
/// (`np.sort(x, axis)`); the sorted matrix is assembled in memory as NumPy's is.
pub fn sort_axis(repeat: usize, axis: isize) -> tessera::Result<(f64, String)> {
    let data = tessera::random::uniform::<f64>(11, &[20000, 20000], [2000, 2000])?.compute()?;
    let x = tessera::from_array(data, [2000, 2000])?;
    let s = x.sort(axis)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(s.compute()?);
        Ok(())
    })?;
    Ok((secs, format!(", \"axis\": {axis}")))
}

/// A 256-bin histogram over [0, 1) of 1e9 uniform f32 values held in memory, in blocks of
/// 2^24: `np.histogram(x, 256, range=(0, 1))`.
pub fn histogram(repeat: usize) -> tessera::Result<(f64, String)> {
    let n = 1_000_000_000;
    let data = tessera::random::uniform::<f32>(5, &[n], [1 << 24])?.compute()?;
    let x = tessera::from_array(data, [1 << 24])?;
    let (h, _) = x.histogram(256, Some((0.0, 1.0)))?;
    let mut total = 0;
    let secs = time_it(repeat, || {
        total = h.compute()?.sum();
        Ok(())
    })?;
    Ok((secs, format!(", \"counted\": {total}")))
}

/// Marine heatwaves (Hobday et al. 2016, the defaults) over 5 synthetic years of daily SST
/// (2001–2005, 1826 × 720 × 1440 f32, NaN land) held in memory in blocks of (24, 360, 360):
/// the climatology and the four event statistics per cell, beside
/// `benches/compare/mhw.py`'s NumPy reference. `TESSERA_MHW_GRID=360x720` runs a coarser grid.
pub fn mhw(repeat: usize) -> tessera::Result<(f64, String)> {
    use tessera::calendar::{Day, days_from};
    use tessera::climate::{MhwOptions, marine_heatwaves};
    let (nlat, nlon) = mhw_grid();
    let days = days_from(Day::parse("2001-01-01")?, 1826);
    let cube = sst(days.len(), nlat, nlon, 2026, [24, 360, 360])?.compute()?;
    let x = tessera::from_array(cube, [24, 360, 360])?;
    let (_, events) = marine_heatwaves(&x, &days, &MhwOptions::default())?;
    let mut found = 0;
    let secs = time_it(repeat, || {
        let s = events.compute(&ComputeOptions::default())?;
        found = s.count.sum();
        Ok(())
    })?;
    Ok((secs, format!(", \"events\": {found}, \"grid\": \"{nlat}x{nlon}\"")))
}

/// The grid of the mhw workload: `TESSERA_MHW_GRID` (ROWSxCOLS), else OISST's.
pub fn mhw_grid() -> (usize, usize) {
    std::env::var("TESSERA_MHW_GRID")
        .ok()
        .and_then(|g| {
            let (a, b) = g.split_once('x')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .unwrap_or((SST_LAT, SST_LON))
}
