//! What the CLI's end-to-end tests share: running the `tessera` binary, the two years of
//! synthetic data they reduce (1983 and the leap year 1984, NaN over land), a Gregorian
//! calendar of their own, NumPy's nan-reductions and CDO's field mean computed eagerly with
//! ndarray, and reading results back. Each test file uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::{Array1, Array2, Array3, ArrayD, Axis, concatenate};
use ndarray_npy::read_npy;

/// Run the binary: its exit status, stdout and stderr.
pub fn tessera(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run tessera");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh, empty directory for test `name`.
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-verbs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub const GRID: (usize, usize) = (12, 16);

/// Two years, 1983 and 1984, of 12 × 16 in `dir/npy` and `dir/zarr`, and the data as one
/// array (from the .npy files).
pub fn generate(dir: &Path) -> Array3<f32> {
    for format in ["npy", "zarr"] {
        let out = dir.join(format);
        let (code, _, err) = tessera(&[
            "generate-sst",
            "--out",
            s(&out),
            "--grid",
            "12x16",
            "--years",
            "2",
            "--start-year",
            "1983",
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let years: Vec<Array3<f32>> = [1983, 1984]
        .iter()
        .map(|y| read_npy::<_, Array3<f32>>(dir.join(format!("npy/sst.{y}.npy"))).unwrap())
        .collect();
    let x = concatenate(Axis(0), &[years[0].view(), years[1].view()]).unwrap();
    assert_eq!(x.shape(), [365 + 366, GRID.0, GRID.1]);
    assert!(x.iter().any(|v| v.is_nan()) && x.iter().any(|v| !v.is_nan()), "land and sea");
    x
}

/// The same two years as netCDF files, `dir/nc/sst.{1983,1984}.nc`.
pub fn generate_netcdf(dir: &Path) -> [PathBuf; 2] {
    let nc = dir.join("nc");
    let args = ["--grid", "12x16", "--years", "2", "--start-year", "1983", "--format", "netcdf"];
    let (code, _, err) = tessera(&[&["generate-sst", "--out", s(&nc)][..], &args].concat());
    assert_eq!(code, 0, "{err}");
    [nc.join("sst.1983.nc"), nc.join("sst.1984.nc")]
}

/// A date: year, 0-based month, 0-based day of the year.
#[derive(Clone, Copy, Debug)]
pub struct Date {
    pub year: i32,
    pub month: usize,
    pub doy: usize,
}

fn leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// `n` consecutive days from `year-month-day` (1-based month and day), Gregorian.
pub fn dates(year: i32, month: usize, day: usize, n: usize) -> Vec<Date> {
    let len =
        |y: i32, m: usize| [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m];
    let (mut y, mut m, mut d) = (year, month - 1, day - 1);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let doy = (0..m).map(|k| len(y, k)).sum::<usize>() + d;
        out.push(Date { year: y, month: m, doy });
        d += 1;
        if d == len(y, m) {
            d = 0;
            m += 1;
            if m == 12 {
                m = 0;
                y += 1;
            }
        }
    }
    out
}

/// The time indices of each group, groups in ascending label order.
pub fn groups(days: &[Date], label: impl Fn(&Date) -> i64) -> Vec<Vec<usize>> {
    let mut labels: Vec<i64> = days.iter().map(&label).collect();
    labels.sort_unstable();
    labels.dedup();
    labels.iter().map(|&l| (0..days.len()).filter(|&t| label(&days[t]) == l).collect()).collect()
}

/// NumPy's nan-reductions of the values of one cell, in f64.
pub fn nanmean(v: &[f64]) -> f64 {
    let k: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if k.is_empty() { f64::NAN } else { k.iter().sum::<f64>() / k.len() as f64 }
}
pub fn nansum(v: &[f64]) -> f64 {
    v.iter().filter(|x| !x.is_nan()).sum()
}
pub fn nanmin(v: &[f64]) -> f64 {
    v.iter().copied().filter(|x| !x.is_nan()).reduce(f64::min).unwrap_or(f64::NAN)
}
pub fn nanmax(v: &[f64]) -> f64 {
    v.iter().copied().filter(|x| !x.is_nan()).reduce(f64::max).unwrap_or(f64::NAN)
}
pub fn nanstd(v: &[f64]) -> f64 {
    let m = nanmean(v);
    let k: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    (k.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / k.len() as f64).sqrt()
}

/// `f` over the time steps of each group, per cell: groups × lat × lon.
pub fn per_group(x: &Array3<f32>, groups: &[Vec<usize>], f: fn(&[f64]) -> f64) -> Array3<f64> {
    let (_, ny, nx) = x.dim();
    Array3::from_shape_fn((groups.len(), ny, nx), |(g, i, j)| {
        let v: Vec<f64> = groups[g].iter().map(|&t| x[[t, i, j]] as f64).collect();
        f(&v)
    })
}

/// The whole period: lat × lon.
pub fn over_time(x: &Array3<f32>, f: fn(&[f64]) -> f64) -> ArrayD<f64> {
    let all = vec![(0..x.dim().0).collect::<Vec<_>>()];
    per_group(x, &all, f).index_axis_move(Axis(0), 0).into_dyn()
}

/// The weighted mean of each step's field by hand: Σ w·x / Σ w over the cells that are not
/// NaN (NaN where none is left, or where their weights sum to 0).
pub fn weighted_field_mean(x: &Array3<f32>, w: &Array2<f64>) -> ArrayD<f64> {
    let (nt, ny, nx) = x.dim();
    assert_eq!(w.dim(), (ny, nx), "the weights' grid");
    Array1::from_shape_fn(nt, |t| {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..ny {
            for j in 0..nx {
                let v = x[[t, i, j]] as f64;
                if !v.is_nan() {
                    num += w[[i, j]] * v;
                    den += w[[i, j]];
                }
            }
        }
        num / den
    })
    .into_dyn()
}

/// CDO's fldmean on a regular grid by hand: each row weighted by cos(lat).
pub fn fldmean_reference(x: &Array3<f32>, lat: &[f64]) -> ArrayD<f64> {
    let w = Array2::from_shape_fn((x.dim().1, x.dim().2), |(i, _)| lat[i].to_radians().cos());
    weighted_field_mean(x, &w)
}

/// The generator's cell-centre latitudes for `ny` rows, south to north.
pub fn generator_latitudes(ny: usize) -> Vec<f64> {
    (0..ny).map(|i| -90.0 + (i as f64 + 0.5) * 180.0 / ny as f64).collect()
}

/// A result read back: .npy or Zarr.
pub fn read(p: &Path) -> ArrayD<f32> {
    if p.extension().is_some_and(|e| e == "zarr") {
        tessera::io::zarr::open_zarr::<f32>(p, None).unwrap().compute().unwrap()
    } else {
        read_npy(p).unwrap()
    }
}

/// `got` is `want` to f32 rounding (NaN where it is NaN), or a message naming the first cell
/// that differs.
pub fn check(what: &str, got: &ArrayD<f32>, want: &ArrayD<f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for ((idx, &g), &w) in got.indexed_iter().zip(want.iter()) {
        let ok = if w.is_nan() { g.is_nan() } else { (g as f64 - w).abs() <= 1e-5 * w.abs().max(1.0) };
        assert!(ok, "{what}: at {idx:?} got {g}, want {w}");
    }
}
