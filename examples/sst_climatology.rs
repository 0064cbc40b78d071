//! The main job: the NaN-aware mean over time of a synthetic OISST-shaped year.
//!
//! A (365, 720, 1440) f32 cube of daily sea-surface temperatures (~30 % land as NaN, a
//! seasonal cycle, noise) is generated lazily block by block in (24, 360, 360) chunks and
//! reduced with `nanmean` over time: the 1.5 GB cube is never held in memory at once.
//!
//! ```text
//! cargo run --release --example sst_climatology [-- --days N]
//! ```

use std::time::Instant;

use tessera::io::synthetic::{SST_LAT, SST_LON, sst};
use tessera::prelude::*;

fn main() -> tessera::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let days = args
        .iter()
        .position(|a| a == "--days")
        .and_then(|i| args.get(i + 1))
        .map(|d| d.parse::<usize>().expect("--days takes a number"))
        .unwrap_or(365);
    let x = sst(days, SST_LAT, SST_LON, 2026, [24, 360, 360])?;
    println!(
        "synthetic SST: {:?} f32, {:.2} GB in {} blocks of {:?}",
        x.shape(),
        x.nbytes() as f64 / 1e9,
        x.nblocks(),
        x.chunks().max_block_shape()
    );
    let mean = x.nanmean(0)?;
    let plan = mean.plan();
    println!(
        "plan: {} nodes, {} tasks (fused {} node(s) into their consumers)",
        plan.stats.nodes, plan.stats.tasks, plan.stats.fused_nodes
    );
    let t = Instant::now();
    let (m, report) = mean.compute_report(&ComputeOptions::default())?;
    let secs = t.elapsed().as_secs_f64();
    let ocean = m.iter().filter(|v| !v.is_nan()).count();
    let equator: Vec<f32> = (0..SST_LON).step_by(180).map(|j| m[[SST_LAT / 2, j]]).collect();
    let global: f64 = m.iter().filter(|v| !v.is_nan()).map(|&v| v as f64).sum::<f64>() / ocean as f64;
    println!(
        "nanmean over {days} days: {:?} map, {:.1} % ocean cells",
        m.shape(),
        100.0 * ocean as f64 / m.len() as f64
    );
    println!("global ocean mean {global:.3} °C; along the equator every 45°: {equator:.2?}");
    println!(
        "computed in {secs:.3} s on {} workers ({:.2} GB/s generated and reduced), peak {:.1} MB of blocks held",
        report.workers,
        x.nbytes() as f64 / secs / 1e9,
        report.peak_bytes as f64 / 1e6
    );
    Ok(())
}
