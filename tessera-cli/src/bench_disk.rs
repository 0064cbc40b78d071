//! The out-of-core workloads of `tessera bench`: a sum over a (20000, 20000) f64 array on
//! disk (.npy and Zarr) inside a 1 GB budget, against the disk's own sequential read speed
//! measured in the same run. Each file is evicted from the page cache before it is read
//! (posix_fadvise DONTNEED: clean pages of one file, no root needed), so both the plain
//! read and tessera read from the disk.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tessera::prelude::*;
use tessera::{Error, Progress};

const N: usize = 20_000;
const BUDGET: usize = 1_000_000_000;

fn data_dir() -> PathBuf {
    std::env::var_os("TESSERA_BENCH_DATA").map_or_else(|| PathBuf::from("target/bench-data"), PathBuf::from)
}

/// Evict a file's (or a directory's files') pages from the page cache.
fn evict(path: &Path) {
    if path.is_dir() {
        if let Ok(rd) = std::fs::read_dir(path) {
            for e in rd.flatten() {
                evict(&e.path());
            }
        }
        return;
    }
    if let Ok(f) = std::fs::File::open(path) {
        use std::os::fd::AsRawFd;
        // Dirty pages cannot be dropped: write them first.
        let _ = f.sync_all();
        // SAFETY: a valid open descriptor; the call only drops clean cached pages.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
}

/// Bytes per second of a plain sequential read of every file under `path`.
fn disk_read_speed(path: &Path) -> tessera::Result<f64> {
    fn files(p: &Path, out: &mut Vec<PathBuf>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                files(&e.path(), out);
            }
        } else {
            out.push(p.to_path_buf());
        }
    }
    let mut all = Vec::new();
    files(path, &mut all);
    evict(path);
    let t = Instant::now();
    let mut total = 0usize;
    let mut buf = vec![0u8; 16 << 20];
    for f in all {
        let mut file = std::fs::File::open(&f).map_err(|e| Error::io(&f, e))?;
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(&f, e))?;
            if n == 0 {
                break;
            }
            total += n;
        }
    }
    Ok(total as f64 / t.elapsed().as_secs_f64())
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().memory_budget(BUDGET).progress(Progress::Off)
}

fn prepare(kind: &str) -> tessera::Result<PathBuf> {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let x = tessera::random::uniform::<f64>(7, &[N, N], [2000, 2000])?;
    let path = match kind {
        "npy" => dir.join("ooc.npy"),
        _ => dir.join("ooc.zarr"),
    };
    let done = if kind == "npy" { path.exists() } else { path.join("zarr.json").exists() };
    if !done {
        if kind == "npy" {
            x.to_npy(&path, &opts())?;
        } else {
            tessera::io::zarr::to_zarr(&x, &path, &opts())?;
        }
    }
    Ok(path)
}

/// `out-of-core-npy` / `out-of-core-zarr`: (median seconds, JSON extras).
pub fn out_of_core(kind: &str, repeat: usize) -> tessera::Result<(f64, String)> {
    let path = prepare(kind)?;
    let disk = disk_read_speed(&path)?;
    let x = if kind == "npy" {
        // Blocks of whole rows: one contiguous read each.
        tessera::io::npy::open_npy::<f64>(&path, [1000, N])?
    } else {
        tessera::io::zarr::open_zarr::<f64>(&path, None)?
    };
    let s = x.sum(Axes::All)?;
    let mut times = Vec::new();
    let mut peak_held = 0;
    for _ in 0..repeat {
        evict(&path);
        let t = Instant::now();
        let (_, report) = s.compute_report(&opts())?;
        times.push(t.elapsed().as_secs_f64());
        peak_held = peak_held.max(report.peak_bytes);
    }
    times.sort_by(f64::total_cmp);
    let secs = times[times.len() / 2];
    let bytes = (N * N * 8) as f64;
    let extra = format!(
        ", \"disk_bytes_per_s\": {disk:.0}, \"tessera_bytes_per_s\": {:.0}, \"fraction_of_disk\": {:.3}, \
         \"budget\": {BUDGET}, \"peak_held\": {peak_held}",
        bytes / secs,
        bytes / secs / disk
    );
    Ok((secs, extra))
}

/// `climatology`: the daily climatology (NaN-aware mean per day of year) of 5 synthetic
/// years of daily 720 × 1440 f32 maps in Zarr files (written on first use), 2 GB budget,
/// written to a Zarr store; benches/compare/climatology.py runs xarray + dask on the same
/// files.
pub fn climatology(repeat: usize) -> tessera::Result<(f64, String)> {
    use tessera::calendar::{GroupBy, labels};
    let dir = data_dir().join("sst5");
    let o = ComputeOptions::default().memory_budget(2_000_000_000).progress(Progress::Off);
    if !dir.join("sst.1986.zarr").join("sst").join("zarr.json").exists() {
        let grid = (tessera::datasets::SST_LAT, tessera::datasets::SST_LON);
        tessera_cli::synthetic::write_sst_years(
            &dir,
            1982,
            5,
            grid,
            0,
            tessera_cli::synthetic::FileFormat::Zarr,
            &o,
        )?;
    }
    let files = tessera::io::expand(dir.join("sst.*.zarr").to_str().unwrap_or_default())?;
    let mut times = Vec::new();
    let mut peak_held = 0;
    let out = std::env::temp_dir().join("tessera-bench-clim.zarr");
    for _ in 0..repeat {
        // A fresh target, as a first run has: replacing an existing 1.5 GB store keeps it until
        // the new one is whole (outputs are atomic), which costs its page cache and writeback.
        let _ = std::fs::remove_dir_all(&out);
        let t = Instant::now();
        let (x, days) = tessera::io::open_daily::<f32>(&files, "sst", 0, None, None)?;
        let c = x.groupby_reduce(
            0,
            &labels(&days, GroupBy::DayOfYear),
            tessera::Reduction::nan(tessera::ReduceKind::Mean),
        )?;
        let report = tessera::io::zarr::to_zarr(&c.array, &out, &o)?;
        times.push(t.elapsed().as_secs_f64());
        peak_held = peak_held.max(report.peak_bytes);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], format!(", \"files\": {}, \"peak_held\": {peak_held}", files.len())))
}
