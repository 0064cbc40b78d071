//! Marine heatwaves (Hobday et al. 2016) in synthetic daily SST with one planted heatwave.
//!
//! 1. Years of daily SST from 2001 (the synthetic OISST-shaped cube of `tessera::datasets`,
//!    generated block by block inside the graph) with a heatwave planted: +2.5 °C for 30 days
//!    from 15 April 2004 over a box of the North Pacific.
//! 2. The climatology over 2001–2003 (90th-percentile threshold and seasonal mean per calendar
//!    day, 11-day windows, 31-day smoothing) and the events (≥ 5 days above the threshold, gaps of ≤ 2
//!    days joined) per cell, computed in one graph.
//! 3. A summary (events inside and outside the box), the map of each cell's longest event
//!    (`out/mhw_longest.png`), and with `--out DIR` the cube and every result as .npy files
//!    that `python benches/compare/mhw.py check DIR` compares with the NumPy reference.
//!
//! ```text
//! cargo run --release --example marine_heatwaves [-- --years N] [--grid 180x360] [--out DIR] [--profile]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{ArrayD, Ix2};
use tessera::calendar::{Day, days_from};
use tessera::climate::{MhwOptions, marine_heatwaves};
use tessera::datasets::{SST_LAT, SST_LON, sst};
use tessera::prelude::*;
use tessera::{AnyArray, Progress};
use tessera_cli::plot::{MapStyle, map_png};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// The planted heatwave: days and a box of rows and columns (scaled to the grid).
struct Planted {
    days: std::ops::Range<usize>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    warming: f32,
}

fn main() -> tessera::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let years: usize = arg(&args, "--years").map_or(5, |y| y.parse().expect("--years takes a number"));
    let (nlat, nlon) = arg(&args, "--grid").map_or((SST_LAT, SST_LON), |g| {
        let (a, b) = g.split_once('x').expect("--grid takes ROWSxCOLS");
        (a.parse().expect("rows"), b.parse().expect("columns"))
    });
    let out_dir = arg(&args, "--out").map(PathBuf::from);
    let profile = args.iter().any(|a| a == "--profile");
    assert!(years >= 4, "--years must be at least 4: the heatwave is planted in 2004");

    // 1. The series, lazy, with the heatwave added through a broadcast (time × box) bump.
    let start = Day::parse("2001-01-01")?;
    let days = days_from(start, (2001..2001 + years as i32).map(|y| 365 + usize::from(y % 4 == 0)).sum());
    let april15 =
        days.iter().position(|d| *d == Day::parse("2004-04-15").unwrap()).expect("2004 is in the series");
    let planted = Planted {
        days: april15..april15 + 30,
        rows: nlat * 560 / 720..nlat * 620 / 720,
        cols: nlon * 640 / 1440..nlon * 760 / 1440,
        warming: 2.5,
    };
    let chunks = [24, 360.min(nlat), 360.min(nlon)];
    let base = sst(days.len(), nlat, nlon, 2026, chunks)?;
    let when = ndarray::Array::from_shape_fn((days.len(), 1, 1), |(t, _, _)| {
        if planted.days.contains(&t) { planted.warming } else { 0.0 }
    });
    let place = ndarray::Array::from_shape_fn((1, nlat, nlon), |(_, i, j)| {
        f32::from(u8::from(planted.rows.contains(&i) && planted.cols.contains(&j)))
    });
    let bump = tessera::from_array(when.into_dyn(), [24, 1, 1])?
        .try_mul(&tessera::from_array(place.into_dyn(), [1, nlat, nlon])?)?;
    let x = base.try_add(&bump)?.rechunk(chunks)?;
    println!("{} days ({years} years) of {nlat} × {nlon} daily SST, a heatwave planted in 2004", days.len());

    // 2. Climatology and events, one graph.
    let t = Instant::now();
    // The baseline leaves out the heatwave's year: with it in, its 11 warm days of each
    // window's 55 lift the 90th percentile into the heatwave itself.
    let mhw = MhwOptions { baseline: Some((2001, 2003)), ..Default::default() };
    let (clim, ev) = marine_heatwaves(&x, &days, &mhw)?;
    let opts = ComputeOptions::default().progress(Progress::Auto).profile(profile);
    let wanted: [&dyn AnyArray; 6] =
        [&ev.count, &ev.days, &ev.max_intensity, &ev.longest, &clim.thresh, &clim.seas];
    let (r, report) = tessera::compute_many_report(&wanted, &opts)?;
    println!("climatology and events in {:.2} s ({} tasks)", t.elapsed().as_secs_f64(), report.tasks_run);
    if let Some(p) = &report.profile {
        print_profile(p);
    }
    let mut r = r.into_iter();
    let mut next = || r.next().expect("six results");
    let count = next().into_typed::<i64>()?.into_dimensionality::<Ix2>().expect("2-d");
    let total = next().into_typed::<i64>()?;
    let peak = next().into_typed::<f64>()?;
    let longest = next().into_typed::<i64>()?.into_dimensionality::<Ix2>().expect("2-d");
    let thresh = next().into_typed::<f64>()?;
    let seas = next().into_typed::<f64>()?;

    // 3. Summary, map, files.
    // Ocean: the cells with a threshold (land is NaN on every day).
    let is_ocean = |i: usize, j: usize| !thresh[[0, i, j]].is_nan();
    let (mut inside, mut outside, mut hit, mut box_ocean, mut ocean) = (0i64, 0i64, 0usize, 0usize, 0usize);
    let mut longest_in = 0i64;
    for ((i, j), &c) in count.indexed_iter() {
        if !is_ocean(i, j) {
            continue;
        }
        ocean += 1;
        if planted.rows.contains(&i) && planted.cols.contains(&j) {
            inside += c;
            box_ocean += 1;
            hit += usize::from(longest[[i, j]] >= 30);
            longest_in = longest_in.max(longest[[i, j]]);
        } else {
            outside += c;
        }
    }
    println!(
        "events: {inside} in the heatwave's box ({hit} of its {box_ocean} ocean cells have one of 30 days or more, \
         the longest {longest_in} days), {outside} elsewhere ({:.2} per ocean cell: the noise's), {} heatwave days in all",
        outside as f64 / (ocean - box_ocean).max(1) as f64,
        total.sum()
    );
    std::fs::create_dir_all("out").map_err(|e| tessera::Error::io(Path::new("out"), e))?;
    let style = MapStyle {
        title: "Longest marine heatwave (days), 2001–".to_string() + &(2000 + years).to_string(),
        units: "days".into(),
        ..Default::default()
    };
    map_png(&longest.mapv(|v| v as f64).view(), "out/mhw_longest.png", &style)?;
    println!("map of the longest event per cell: out/mhw_longest.png");
    if let Some(dir) = out_dir {
        let counts = [count.clone().into_dyn(), total.clone(), longest.clone().into_dyn()];
        write_all(&dir, &x, start, mhw.baseline, [thresh, seas, peak], counts)?;
        println!(
            "cube and results in {}: python benches/compare/mhw.py check {}",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// The cube and the computed results as .npy files, with the first date and the baseline,
/// for the NumPy check (the results are written from memory, not computed again).
fn write_all(
    dir: &Path,
    x: &Array<f32>,
    start: Day,
    baseline: Option<(i32, i32)>,
    floats: [ArrayD<f64>; 3],
    counts: [ArrayD<i64>; 3],
) -> tessera::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| tessera::Error::io(dir, e))?;
    let opts = ComputeOptions::default();
    x.to_npy(dir.join("sst.npy"), &opts)?;
    // The first date, and the baseline years if any.
    let base = baseline.map_or(String::new(), |(a, b)| format!(" {a} {b}"));
    std::fs::write(dir.join("start.txt"), format!("{:04}-01-01{base}\n", start.year))
        .map_err(|e| tessera::Error::io(dir, e))?;
    for (name, a) in ["thresh", "seas", "max_intensity"].into_iter().zip(floats) {
        let shape = a.shape().to_vec();
        tessera::from_array(a, shape)?.to_npy(dir.join(format!("{name}.npy")), &opts)?;
    }
    for (name, a) in ["count", "days", "longest"].into_iter().zip(counts) {
        let shape = a.shape().to_vec();
        tessera::from_array(a, shape)?.to_npy(dir.join(format!("{name}.npy")), &opts)?;
    }
    Ok(())
}

/// Time per kernel name, summed over tasks (CPU seconds on all workers).
fn print_profile(p: &tessera::Profile) {
    let mut by: std::collections::BTreeMap<String, (u64, usize)> = Default::default();
    for t in &p.tasks {
        let name = t.label.split_whitespace().next().unwrap_or("").to_string();
        let e = by.entry(name).or_default();
        e.0 += t.duration_us;
        e.1 += 1;
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|(_, (us, _))| std::cmp::Reverse(*us));
    for (name, (us, n)) in rows.iter().take(12) {
        println!("  {name:<40} {:>8.2} s in {n} tasks", *us as f64 / 1e6);
    }
}
