//! `tessera bench`: the benchmark workloads, timed in this process (median of `--repeat`
//! runs, with the peak RSS), for benches/compare/ to put beside NumPy and dask.

use std::time::Instant;

use tessera::datasets::{SST_LAT, SST_LON, sst};
use tessera::prelude::*;

/// Peak resident set size of this process, in bytes (Linux; 0 elsewhere).
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The median seconds of `repeat` runs of `f`.
pub fn time_it(repeat: usize, mut f: impl FnMut() -> tessera::Result<()>) -> tessera::Result<f64> {
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

/// Every workload `tessera bench` times, then `all` (the standard set: the first seven).
pub const WORKLOADS: &[&str] = &[
    "sst-nanmean",
    "tiny-tasks",
    "lazy-slice",
    "delayed-10k",
    "stencil",
    "rechunk",
    "fancy-index",
    "rechunk-computed",
    "out-of-core-npy",
    "out-of-core-zarr",
    "climatology",
    "cholesky",
    "xxT-sum",
    "compound",
    "tsqr-svd",
    "qr-square",
    "svd-square",
    "svd-square-disk",
    "lu-solve",
    "gemm-tile",
    "sst-nanmean-gpu",
    "xxT-sum-gpu",
    "matmul-f32",
    "matmul-f32-gpu",
    "gpu-kernels",
    "quantile-time",
    "quantile-time-lazy",
    "sort-axis",
    "sort-axis0",
    "histogram",
    "mhw",
    "all",
];

/// `tessera bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The workload, or all: the standard set (sst-nanmean to fancy-index).
    #[arg(value_name = "WORKLOAD", value_parser = clap::builder::PossibleValuesParser::new(WORKLOADS))]
    pub workload: String,
    /// Runs timed; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// One JSON object per workload (benches/compare/ reads them).
    #[arg(long)]
    pub json: bool,
}

/// `tessera bench`: time the workload (or the standard set) and print one line each.
pub fn bench(args: &BenchArgs) -> tessera::Result<()> {
    let (repeat, json) = (args.repeat as usize, args.json);
    let names: Vec<&str> = match args.workload.as_str() {
        "all" => WORKLOADS[..7].to_vec(),
        w => vec![w],
    };
    for name in names {
        let (secs, extra) = match name {
            "sst-nanmean" => sst_nanmean(repeat)?,
            "tiny-tasks" => (time_it(repeat, tiny_tasks)?, String::new()),
            "lazy-slice" => (time_it(repeat, lazy_slice)?, String::new()),
            "delayed-10k" => (time_it(repeat, delayed_10k)?, String::new()),
            "stencil" => stencil(repeat)?,
            "rechunk" => (time_it(repeat, rechunk)?, String::new()),
            "rechunk-computed" => rechunk_computed(repeat)?,
            "fancy-index" => fancy_index(repeat)?,
            "out-of-core-npy" => crate::bench_disk::out_of_core("npy", repeat)?,
            "out-of-core-zarr" => crate::bench_disk::out_of_core("zarr", repeat)?,
            "climatology" => crate::bench_disk::climatology(repeat)?,
            "cholesky" => crate::bench_linalg::cholesky_bench(repeat)?,
            "xxT-sum" => crate::bench_linalg::xxt_sum(repeat)?,
            "qr-square" => crate::bench_linalg::qr_square(repeat)?,
            "svd-square" => crate::bench_linalg::svd_square(repeat, false)?,
            "svd-square-disk" => crate::bench_linalg::svd_square(repeat, true)?,
            "compound" => crate::bench_linalg::compound(repeat)?,
            "tsqr-svd" => crate::bench_linalg::tsqr_svd(repeat)?,
            "gemm-tile" => crate::bench_linalg::gemm_tile(repeat)?,
            "lu-solve" => crate::bench_linalg::lu_solve(repeat)?,
            "sst-nanmean-gpu" => crate::bench_gpu::sst_nanmean(repeat)?,
            "xxT-sum-gpu" => crate::bench_gpu::xxt_sum(repeat)?,
            "matmul-f32" => crate::bench_gpu::matmul_f32(repeat, false)?,
            "matmul-f32-gpu" => crate::bench_gpu::matmul_f32(repeat, true)?,
            "gpu-kernels" => return crate::bench_gpu::kernels(repeat, json),
            "quantile-time" => crate::bench_order::quantile_time(repeat, false)?,
            "quantile-time-lazy" => crate::bench_order::quantile_time(repeat, true)?,
            "sort-axis" => crate::bench_order::sort_axis(repeat, -1)?,
            "sort-axis0" => crate::bench_order::sort_axis(repeat, 0)?,
            "histogram" => crate::bench_order::histogram(repeat)?,
            "mhw" => crate::bench_order::mhw(repeat)?,
            other => return Err(Error::InvalidArgument(format!("unknown workload {other}"))),
        };
        if json {
            println!(
                "{{\"workload\": \"{name}\", \"impl\": \"tessera\", \"seconds\": {secs}, \"peak_rss\": {}{extra}}}",
                peak_rss()
            );
        } else {
            println!(
                "{name}: {secs:.4} s (median of {repeat}), peak RSS {:.0} MB{extra}",
                peak_rss() as f64 / 1e6
            );
        }
    }
    Ok(())
}

/// (ones(1_000_000, chunks=10) + 1).sum(), end to end: 100,000 blocks.
fn tiny_tasks() -> tessera::Result<()> {
    let x = tessera::ones::<f64>(&[1_000_000], [10])?;
    let s = (&x + 1.0).sum(Axes::All)?.item()?;
    assert_eq!(s, 2e6);
    Ok(())
}

/// 5-point Laplacian with reflect boundaries via map_overlap on an in-memory (8000, 8000) f64
/// array in 1000² blocks, then its sum.
#[allow(clippy::reversed_empty_ranges)] // ndarray's s![1..-1] counts from the end
fn stencil(repeat: usize) -> tessera::Result<(f64, String)> {
    use ndarray::{Array2, ArrayViewD, Ix2, Zip, s};
    use tessera::overlap::Boundary;
    let data = tessera::random::normal::<f64>(7, &[8000, 8000], [1000, 1000], 0.0, 1.0)?.compute()?;
    let x = tessera::from_array(data, [1000, 1000])?;
    let lap = |b: ArrayViewD<'_, f64>| {
        let b = b.into_dimensionality::<Ix2>().expect("2-d blocks");
        let mut out = Array2::<f64>::zeros(b.raw_dim());
        Zip::from(out.slice_mut(s![1..-1, 1..-1]))
            .and(b.slice(s![..-2, 1..-1]))
            .and(b.slice(s![2.., 1..-1]))
            .and(b.slice(s![1..-1, ..-2]))
            .and(b.slice(s![1..-1, 2..]))
            .and(b.slice(s![1..-1, 1..-1]))
            .for_each(|o, &n, &so, &w, &e, &c| *o = n + so + w + e - 4.0 * c);
        out.into_dyn()
    };
    let y = x.map_overlap(&[1, 1], &[Boundary::Reflect, Boundary::Reflect], lap)?.sum(Axes::All)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(y.item()?);
        Ok(())
    })?;
    Ok((secs, String::new()))
}

/// Random (20000, 20000) f64 in (20000, 100) column blocks rechunked to (100, 20000) row
/// blocks, then summed, with a 1 GB memory budget.
fn rechunk() -> tessera::Result<()> {
    let x = tessera::random::uniform::<f64>(11, &[20_000, 20_000], [20_000, 100])?;
    let opts = tessera::ComputeOptions::default().memory_budget(1_000_000_000);
    let s = x.rechunk([100, 20_000])?.sum(Axes::All)?.compute_with(&opts)?.sum();
    assert!((s / 4e8 - 0.5).abs() < 1e-3);
    Ok(())
}

/// The rechunk workload over a computed array (`map_blocks(x * 2)`: nothing to push the
/// rechunk into) under a 1 GB memory budget: the rechunk planner goes through intermediate
/// chunks and the scheduler spills what does not fit.
fn rechunk_computed(repeat: usize) -> tessera::Result<(f64, String)> {
    let x = tessera::random::uniform::<f64>(11, &[20_000, 20_000], [20_000, 100])?;
    let y = x.map_blocks(|b| b.mapv(|v| v * 2.0))?.rechunk([100, 20_000])?.sum(Axes::All)?;
    let opts = tessera::ComputeOptions::default().memory_budget(1_000_000_000);
    let stages = y.plan_with(&opts).stats.rechunk_stages;
    let mut spilled = 0;
    let secs = time_it(repeat, || {
        let (s, report) = y.compute_report(&opts)?;
        assert!((s.sum() / 8e8 - 0.5).abs() < 1e-3);
        spilled = report.spilled_bytes;
        Ok(())
    })?;
    Ok((secs, format!(", \"rechunk_stages\": {stages}, \"spilled_bytes\": {spilled}")))
}

/// x[:, idx] with 5,000 random column indices on a random (20000, 20000) f64 array in 2000²
/// blocks, then the sum; reports the largest output block relative to the input blocks.
fn fancy_index(repeat: usize) -> tessera::Result<(f64, String)> {
    let idx: Vec<isize> = (0..5000u64).map(|i| (tessera::random::bits(5, 0, i) % 20_000) as isize).collect();
    let x = tessera::random::uniform::<f64>(13, &[20_000, 20_000], [2000, 2000])?;
    let y = x.take(&idx, 1)?;
    let biggest = y.chunks().max_block_shape().iter().product::<usize>() as f64 / (2000.0 * 2000.0);
    let s = y.sum(Axes::All)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(s.item()?);
        Ok(())
    })?;
    Ok((secs, format!(", \"largest_block_ratio\": {biggest}")))
}

/// 10,000 independent delayed `inc` calls and one sum of their results, build plus compute.
fn delayed_10k() -> tessera::Result<()> {
    use tessera::delayed;
    let inc = delayed::wrap1("inc", |x: &i64| x + 1);
    let xs: Vec<delayed::Delayed<i64>> = (0..10_000i64).map(|i| inc.call(i)).collect();
    let total = delayed::gather("results", &xs).map("sum", |v: &Vec<i64>| v.iter().sum::<i64>());
    assert_eq!(total.compute()?, 50_005_000);
    Ok(())
}

/// exp(ones((10000, 10000), chunks=1000))[1:100, 1:100].
fn lazy_slice() -> tessera::Result<()> {
    let x = tessera::ones::<f64>(&[10_000, 10_000], [1000, 1000])?;
    let y = x.exp().slice(&sl![1..100, 1..100])?.compute()?;
    assert_eq!(y.shape(), &[99, 99]);
    Ok(())
}

/// A plain vectorised sum (16 independent accumulators): the fastest way to read a buffer.
fn plain_sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let chunks = x.chunks_exact(16);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for k in 0..16 {
            acc[k] += c[k];
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// nanmean over time of an in-memory (365, 720, 1440) f32 cube in (24, 360, 360) blocks, with
/// the memory-bandwidth floor (a plain two-thread sum over the same buffer).
fn sst_nanmean(repeat: usize) -> tessera::Result<(f64, String)> {
    let data = sst(365, SST_LAT, SST_LON, 2026, [24, 360, 360])?.compute()?;
    let bytes = data.len() * 4;
    let rss_input = peak_rss();
    let flat = data.as_slice().expect("standard layout");
    let floor = time_it(repeat, || {
        let (a, b) = flat.split_at(flat.len() / 2);
        let (sa, sb) = std::thread::scope(|s| {
            let h = s.spawn(|| plain_sum(a));
            let sb = plain_sum(b);
            (h.join().expect("sum thread"), sb)
        });
        std::hint::black_box(sa + sb);
        Ok(())
    })?;
    let x = tessera::from_array(data, [24, 360, 360])?;
    let m = x.nanmean(0)?;
    let mut peak_blocks = 0;
    let secs = time_it(repeat, || {
        let (r, report) = m.compute_report(&ComputeOptions::default())?;
        peak_blocks = report.peak_bytes;
        std::hint::black_box(r);
        Ok(())
    })?;
    Ok((
        secs,
        format!(
            ", \"floor_seconds\": {floor}, \"floor_ratio\": {:.3}, \"input_bytes\": {bytes}, \"rss_after_input\": {rss_input}, \"peak_block_bytes\": {peak_blocks}",
            secs / floor
        ),
    ))
}
