//! The main job: a daily climatology and a mean map of years of daily sea-surface
//! temperatures stored one Zarr file per year, out of core.
//!
//! 1. If `data/sst/` does not hold the years asked for, a synthetic OISST-shaped data set is
//!    written there (daily 720 × 1440 f32 maps, ~30 % land as NaN, a seasonal cycle and
//!    noise; zstd-compressed Zarr v3, one file per year).
//! 2. The files are opened lazily and joined along time; the daily climatology (NaN-aware
//!    mean per day of year, 366 maps) and the mean map are computed in one pass over the
//!    data inside a memory budget, and written to `out/climatology.zarr` and
//!    `out/mean_sst.npy` block by block.
//! 3. The mean map is drawn to `out/mean_sst.png`.
//!
//! ```text
//! cargo run --release --example sst_climatology [-- --years N | --full] [--budget-gb G]
//! ```
//!
//! `--full` is the researcher's case: 36 years (1982–2017, ~51 GB of f32 on disk before
//! compression). The default is 3 years.

use std::path::Path;
use std::time::Instant;

use tessera::calendar::{GroupBy, labels};
use tessera::datasets::{SST_LAT, SST_LON};
use tessera::io::zarr::{ZarrMeta, zarr_writer_for};
use tessera::io::{npy::NpyWriter, open_daily, store_many};
use tessera::prelude::*;
use tessera::{AnyArray, Progress, ReduceKind, Reduction};
use tessera_cli::plot::{MapStyle, map_png};
use tessera_cli::synthetic::{FileFormat, write_sst_years};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() -> tessera::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let years: usize = if args.iter().any(|a| a == "--full") {
        36
    } else {
        arg(&args, "--years").map_or(3, |y| y.parse().expect("--years takes a number"))
    };
    let budget_gb: f64 =
        arg(&args, "--budget-gb").map_or(2.0, |b| b.parse().expect("--budget-gb takes a number"));
    let first_year = 1982;
    let data = Path::new("data/sst");
    let out = Path::new("out");
    std::fs::create_dir_all(out).map_err(|e| tessera::Error::io(out, e))?;
    let opts = ComputeOptions::default().memory_budget((budget_gb * 1e9) as usize).progress(Progress::Auto);
    let t0 = Instant::now();

    // 1. The data set (written once, reused by later runs).
    let files: Vec<_> =
        (0..years).map(|k| data.join(format!("sst.{}.zarr", first_year + k as i32))).collect();
    if files.iter().any(|f| !f.join("sst").join("zarr.json").exists()) {
        println!("writing {years} synthetic year(s) of daily 720 × 1440 SST to {} …", data.display());
        let t = Instant::now();
        write_sst_years(data, first_year, years, (SST_LAT, SST_LON), 2026, FileFormat::Zarr, &opts)?;
        println!("  done in {:.1} s", t.elapsed().as_secs_f64());
    }

    // 2. Climatology and mean map in one pass.
    let (sst, days) = open_daily::<f32>(&files, "sst", 0, None, None)?;
    println!(
        "{} file(s): {:?} f32, {:.2} GB, {} blocks of {:?}",
        files.len(),
        sst.shape(),
        sst.nbytes() as f64 / 1e9,
        sst.nblocks(),
        sst.chunks().max_block_shape()
    );
    let clim = sst.groupby_reduce(0, &labels(&days, GroupBy::DayOfYear), Reduction::nan(ReduceKind::Mean))?;
    let mean = sst.nanmean(0)?;
    let (clim_arr, clim_w) =
        zarr_writer_for(&clim.array, out.join("climatology.zarr"), &ZarrMeta::default().zstd(1))?;
    let mean_w = NpyWriter::create(out.join("mean_sst.npy"), DType::F32, mean.shape())?;
    let t = Instant::now();
    let items: [(&dyn AnyArray, &dyn tessera::io::BlockSink); 2] = [(&clim_arr, &clim_w), (&mean, &mean_w)];
    let report = store_many(&items, &opts)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "climatology {:?} and mean map {:?} in {secs:.2} s ({:.2} GB/s of f32 read; {} tasks, \
         peak {:.0} MB held of a {:.1} GB budget, {:.0} MB spilled)",
        clim_arr.shape(),
        mean.shape(),
        sst.nbytes() as f64 / 1e9 / secs,
        report.tasks_run,
        report.peak_bytes as f64 / 1e6,
        report.budget_bytes as f64 / 1e9,
        report.spilled_bytes as f64 / 1e6
    );

    // 3. The map.
    let m = tessera::io::npy::open_npy::<f32>(out.join("mean_sst.npy"), ChunkSpec::Auto)?.compute()?;
    let ocean: Vec<f64> = m.iter().filter(|v| !v.is_nan()).map(|&v| v as f64).collect();
    let global = ocean.iter().sum::<f64>() / ocean.len() as f64;
    let m2 = m
        .mapv(f64::from)
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|e| tessera::Error::invalid(e.to_string()))?;
    let title = format!("Mean SST {first_year}–{}, synthetic (tessera)", first_year + years as i32 - 1);
    let style = MapStyle { title, units: "°C".into(), ..Default::default() };
    map_png(&m2.view(), out.join("mean_sst.png"), &style)?;
    println!(
        "global ocean mean {global:.3} °C over {:.1} % ocean cells; wrote out/climatology.zarr, \
         out/mean_sst.npy, out/mean_sst.png",
        100.0 * ocean.len() as f64 / m.len() as f64
    );
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}
