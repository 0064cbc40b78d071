//! The CDO-named verbs end to end: each run by the `tessera` binary on two years of the
//! synthetic data set (1983 and the leap year 1984, NaN over land) in .npy and Zarr, and
//! checked against an eager reference computed here with ndarray, as NumPy defines the
//! numbers (`nanmean` skips NaN; a group of NaN alone gives NaN; `nansum` gives 0 there;
//! `nanstd` has ddof 0). The dates of the reference come from a calendar written here, not
//! from tessera's.

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::{Array2, Array3, ArrayD, Axis, concatenate};
use ndarray_npy::read_npy;

fn tessera(args: &[&str]) -> (i32, String, String) {
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

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-verbs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const GRID: (usize, usize) = (12, 16);

/// Two years, 1983 and 1984, of 12 × 16 in `dir/npy` and `dir/zarr`, and the data as one
/// array (from the .npy files).
fn generate(dir: &Path) -> Array3<f32> {
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

/// A date: year, 0-based month, 0-based day of the year.
#[derive(Clone, Copy, Debug)]
struct Date {
    year: i32,
    month: usize,
    doy: usize,
}

fn leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// `n` consecutive days from `year-month-day` (1-based month and day), Gregorian.
fn dates(year: i32, month: usize, day: usize, n: usize) -> Vec<Date> {
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
fn groups(days: &[Date], label: impl Fn(&Date) -> i64) -> Vec<Vec<usize>> {
    let mut labels: Vec<i64> = days.iter().map(&label).collect();
    labels.sort_unstable();
    labels.dedup();
    labels.iter().map(|&l| (0..days.len()).filter(|&t| label(&days[t]) == l).collect()).collect()
}

/// NumPy's nan-reductions of the values of one cell, in f64.
fn nanmean(v: &[f64]) -> f64 {
    let k: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if k.is_empty() { f64::NAN } else { k.iter().sum::<f64>() / k.len() as f64 }
}
fn nansum(v: &[f64]) -> f64 {
    v.iter().filter(|x| !x.is_nan()).sum()
}
fn nanmin(v: &[f64]) -> f64 {
    v.iter().copied().filter(|x| !x.is_nan()).reduce(f64::min).unwrap_or(f64::NAN)
}
fn nanmax(v: &[f64]) -> f64 {
    v.iter().copied().filter(|x| !x.is_nan()).reduce(f64::max).unwrap_or(f64::NAN)
}
fn nanstd(v: &[f64]) -> f64 {
    let m = nanmean(v);
    let k: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    (k.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / k.len() as f64).sqrt()
}

/// `f` over the time steps of each group, per cell: groups × lat × lon.
fn per_group(x: &Array3<f32>, groups: &[Vec<usize>], f: fn(&[f64]) -> f64) -> Array3<f64> {
    let (_, ny, nx) = x.dim();
    Array3::from_shape_fn((groups.len(), ny, nx), |(g, i, j)| {
        let v: Vec<f64> = groups[g].iter().map(|&t| x[[t, i, j]] as f64).collect();
        f(&v)
    })
}

/// The whole period: lat × lon.
fn over_time(x: &Array3<f32>, f: fn(&[f64]) -> f64) -> ArrayD<f64> {
    let all = vec![(0..x.dim().0).collect::<Vec<_>>()];
    per_group(x, &all, f).index_axis_move(Axis(0), 0).into_dyn()
}

/// The reference of each verb on `x` dated by `days`.
fn reference(verb: &str, x: &Array3<f32>, days: &[Date]) -> ArrayD<f64> {
    let yday = groups(days, |d| d.doy as i64);
    let ymon = groups(days, |d| d.month as i64);
    let mon = groups(days, |d| d.year as i64 * 12 + d.month as i64);
    let year = groups(days, |d| d.year as i64);
    match verb {
        "timmean" => over_time(x, nanmean),
        "timsum" => over_time(x, nansum),
        "timmin" => over_time(x, nanmin),
        "timmax" => over_time(x, nanmax),
        "timstd" => over_time(x, nanstd),
        "ydaymean" => per_group(x, &yday, nanmean).into_dyn(),
        "ydaystd" => per_group(x, &yday, nanstd).into_dyn(),
        "ydaymin" => per_group(x, &yday, nanmin).into_dyn(),
        "ydaymax" => per_group(x, &yday, nanmax).into_dyn(),
        "ymonmean" => per_group(x, &ymon, nanmean).into_dyn(),
        "ymonstd" => per_group(x, &ymon, nanstd).into_dyn(),
        "ymonmin" => per_group(x, &ymon, nanmin).into_dyn(),
        "ymonmax" => per_group(x, &ymon, nanmax).into_dyn(),
        "monmean" => per_group(x, &mon, nanmean).into_dyn(),
        "yearmean" => per_group(x, &year, nanmean).into_dyn(),
        "ydayanomaly" => {
            let clim = per_group(x, &yday, nanmean);
            let mut group_of = vec![0; x.dim().0];
            for (g, steps) in yday.iter().enumerate() {
                for &t in steps {
                    group_of[t] = g;
                }
            }
            Array3::from_shape_fn(x.dim(), |(t, i, j)| x[[t, i, j]] as f64 - clim[[group_of[t], i, j]])
                .into_dyn()
        }
        "zonmean" => {
            let (nt, ny, nx) = x.dim();
            Array2::from_shape_fn((nt, ny), |(t, i)| {
                let v: Vec<f64> = (0..nx).map(|j| x[[t, i, j]] as f64).collect();
                nanmean(&v)
            })
            .into_dyn()
        }
        v => panic!("no reference for {v}"),
    }
}

const VERBS: [&str; 17] = [
    "timmean",
    "timsum",
    "timmin",
    "timmax",
    "timstd",
    "ydaymean",
    "ydaystd",
    "ydaymin",
    "ydaymax",
    "ymonmean",
    "ymonstd",
    "ymonmin",
    "ymonmax",
    "monmean",
    "yearmean",
    "ydayanomaly",
    "zonmean",
];

/// `x` with NaN at scattered ocean cells and days, and at the first ocean cell's 31 December
/// 1984 (day 366, a group of that day alone); and that cell.
fn punch_holes(x: &Array3<f32>) -> (Array3<f32>, [usize; 2]) {
    let mut h = x.clone();
    for ((t, i, j), v) in h.indexed_iter_mut() {
        if (t * 7 + i * 3 + j) % 5 == 0 {
            *v = f32::NAN;
        }
    }
    let (_, i, j) = x.indexed_iter().find(|(_, v)| !v.is_nan()).unwrap().0;
    h[[365 + 365, i, j]] = f32::NAN;
    (h, [i, j])
}

/// A result read back: .npy or Zarr.
fn read(p: &Path) -> ArrayD<f32> {
    if p.extension().is_some_and(|e| e == "zarr") {
        tessera::io::zarr::open_zarr::<f32>(p, None).unwrap().compute().unwrap()
    } else {
        read_npy(p).unwrap()
    }
}

/// `got` is `want` to f32 rounding (NaN where it is NaN), or a message naming the first cell
/// that differs.
fn check(what: &str, got: &ArrayD<f32>, want: &ArrayD<f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for ((idx, &g), &w) in got.indexed_iter().zip(want.iter()) {
        let ok = if w.is_nan() { g.is_nan() } else { (g as f64 - w).abs() <= 1e-5 * w.abs().max(1.0) };
        assert!(ok, "{what}: at {idx:?} got {g}, want {w}");
    }
}

/// Every verb, from .npy inputs in CDO's order (`VERB a.npy b.npy out.npy`) and from a Zarr
/// glob with --out into Zarr, against the reference.
#[test]
fn every_verb_matches_numpy() {
    let d = tmpdir("all");
    let x = generate(&d);
    let days = dates(1983, 1, 1, x.dim().0);
    // The Zarr copy holds the same values (and dates itself by its time coordinate).
    let z: Vec<ArrayD<f32>> = [1983, 1984]
        .iter()
        .map(|y| {
            let p = d.join(format!("zarr/sst.{y}.zarr"));
            tessera::io::open_any::<f32>(&p, "sst", None).unwrap().compute().unwrap()
        })
        .collect();
    let zx = concatenate(Axis(0), &[z[0].view(), z[1].view()]).unwrap();
    assert!(zx.iter().zip(x.iter()).all(|(a, b)| a.to_bits() == b.to_bits()));
    let npy = [d.join("npy/sst.1983.npy"), d.join("npy/sst.1984.npy")];
    let glob = format!("{}/sst.*.zarr", s(&d.join("zarr")));
    for verb in VERBS {
        let want = reference(verb, &x, &days);
        let out = d.join(format!("{verb}.npy"));
        let (code, stdout, err) = tessera(&[verb, s(&npy[0]), s(&npy[1]), s(&out)]);
        assert_eq!(code, 0, "{verb}: {err}");
        assert!(stdout.contains("2 file(s)"), "{verb}: {stdout}");
        check(&format!("{verb} (npy, CDO order)"), &read(&out), &want);
        let out = d.join(format!("{verb}.zarr"));
        let (code, _, err) =
            tessera(&[verb, &glob, "--out", s(&out), "--budget", "256KiB", "--workers", "2"]);
        assert_eq!(code, 0, "{verb}: {err}");
        check(&format!("{verb} (zarr, --out)"), &read(&out), &want);
    }
    // The shapes CDO users expect: 366 days, 12 months, 24 months, 2 years.
    assert_eq!(read(&d.join("ydaymean.npy")).shape(), [366, 12, 16]);
    assert_eq!(read(&d.join("ymonmax.npy")).shape(), [12, 12, 16]);
    assert_eq!(read(&d.join("monmean.npy")).shape(), [24, 12, 16]);
    assert_eq!(read(&d.join("yearmean.npy")).shape(), [2, 12, 16]);
    assert_eq!(read(&d.join("zonmean.npy")).shape(), [731, 12]);
    // Land is NaN at every step: NaN for the means, 0 for the sum (NumPy's nansum).
    let (mean, sum) = (read(&d.join("timmean.npy")), read(&d.join("timsum.npy")));
    let land: Vec<usize> = (0..mean.len()).filter(|&i| mean.as_slice().unwrap()[i].is_nan()).collect();
    assert!(!land.is_empty());
    assert!(land.iter().all(|&i| sum.as_slice().unwrap()[i] == 0.0));
    // The same as `tessera reduce`, the general form.
    // NaN within the ocean too: NumPy's nan-reductions differ from the plain ones there, and
    // one day-of-year group of an ocean cell (day 366, 1984 alone) is NaN throughout.
    let (holes, [i, j]) = punch_holes(&x);
    let dir = d.join("holes");
    std::fs::create_dir_all(&dir).unwrap();
    let h = [dir.join("sst.1983.npy"), dir.join("sst.1984.npy")];
    ndarray_npy::write_npy(&h[0], &holes.slice(ndarray::s![..365, .., ..]).to_owned()).unwrap();
    ndarray_npy::write_npy(&h[1], &holes.slice(ndarray::s![365.., .., ..]).to_owned()).unwrap();
    for verb in VERBS {
        let out = d.join(format!("{verb}-holes.zarr"));
        let (code, _, err) = tessera(&[verb, s(&h[0]), s(&h[1]), s(&out)]);
        assert_eq!(code, 0, "{verb}: {err}");
        check(&format!("{verb} (NaN in the ocean)"), &read(&out), &reference(verb, &holes, &days));
    }
    let clim = read(&d.join("ydaymean-holes.zarr"));
    assert!(clim[[365, i, j]].is_nan() && !clim[[364, i, j]].is_nan(), "an all-NaN group gives NaN");
    let general = d.join("general.npy");
    let (code, _, err) = tessera(&[
        "reduce",
        s(&npy[0]),
        s(&npy[1]),
        "--op",
        "nanmean",
        "--groupby",
        "yearmonth",
        "--out",
        s(&general),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(&general).mapv(f32::to_bits), read(&d.join("monmean.npy")).mapv(f32::to_bits));
    std::fs::remove_dir_all(&d).unwrap();
}

/// `--start` dates the steps: from 1 July 1983 the months and days of the year shift.
#[test]
fn start_dates_the_series() {
    let d = tmpdir("start");
    let x = generate(&d);
    let days = dates(1983, 7, 1, x.dim().0);
    let list = d.join("years.txt");
    std::fs::write(&list, "# both years\nnpy/sst.1983.npy\nnpy/sst.1984.npy\n").unwrap();
    let at = format!("@{}", s(&list));
    for verb in ["ymonmean", "ydaystd", "monmean", "yearmean"] {
        let out = d.join(format!("{verb}.npy"));
        let (code, _, err) = tessera(&[verb, &at, s(&out), "--start", "1983-07-01"]);
        assert_eq!(code, 0, "{verb}: {err}");
        check(&format!("{verb} from 1983-07-01"), &read(&out), &reference(verb, &x, &days));
    }
    assert_eq!(read(&d.join("monmean.npy")).shape(), [24, 12, 16]);
    assert_eq!(read(&d.join("yearmean.npy")).shape(), [3, 12, 16], "1983, 1984 and half of 1985");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Help per verb, completions, and the output name: status 0 for help, 2 for a command line
/// that makes no sense, with a message naming what is wrong.
#[test]
fn help_completions_and_usage_errors() {
    for verb in VERBS {
        let (code, out, err) = tessera(&[verb, "--help"]);
        assert_eq!(code, 0, "{verb}: {err}");
        assert!(out.contains(&format!("tessera {verb}")) && out.contains("Example"), "{verb}: {out}");
        assert!(out.contains("--budget") && out.contains("--out"), "{verb}: {out}");
    }
    let (_, out, _) = tessera(&["timstd", "--help"]);
    assert!(out.contains("ddof=0"), "{out}");
    let (code, out, _) = tessera(&["--help"]);
    assert_eq!(code, 0);
    assert!(VERBS.iter().all(|v| out.contains(v)), "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = tessera(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains("ydayanomaly") && out.contains("budget"), "{shell}: {out}");
    }
    let (code, _, err) = tessera(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("tcsh"), "{err}");

    let d = tmpdir("usage");
    let data = d.join("sst");
    let (code, _, err) =
        tessera(&["generate-sst", "--out", s(&data), "--years", "2", "--grid", "4x8", "--format", "npy"]);
    assert_eq!(code, 0, "{err}");
    let (a, b) = (data.join("sst.1982.npy"), data.join("sst.1983.npy"));
    let before = std::fs::read(&b).unwrap();
    // An output name without a format: a usage error naming it, nothing written.
    let csv = d.join("mean.csv");
    for args in [vec!["timmean", s(&a), s(&csv)], vec!["timmean", s(&a), "--out", s(&csv)]] {
        let (code, _, err) = tessera(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("mean.csv") && err.contains(".npy"), "{err}");
        assert!(!csv.exists());
    }
    // No output at all.
    let (code, _, err) = tessera(&["ydaymean", s(&a)]);
    assert_eq!(code, 2);
    assert!(err.contains("--out"), "{err}");
    // An unquoted glob expanded by a shell: its last file is not taken for the output.
    let (code, _, err) = tessera(&["timmean", s(&a), s(&b)]);
    assert_eq!(code, 2);
    assert!(err.contains("sst.1983.npy") && err.contains("--out"), "{err}");
    assert_eq!(std::fs::read(&b).unwrap(), before);
    // Options reduce takes that a verb fixes, and a missing input.
    let (code, _, err) = tessera(&["timmean", s(&a), "--op", "nanmax", "--out", s(&d.join("o.npy"))]);
    assert_eq!(code, 2);
    assert!(err.contains("--op"), "{err}");
    let (code, _, err) = tessera(&["zonmean", s(&d.join("none.npy")), s(&d.join("o.npy"))]);
    assert_eq!(code, 1);
    assert!(err.contains("none.npy"), "{err}");
    // A .nc output: netCDF in a build with it, a usage error naming the feature without.
    let nc = d.join("mean.nc");
    let (code, _, err) = tessera(&["timmean", s(&a), s(&b), "--out", s(&nc)]);
    if cfg!(feature = "netcdf") {
        assert_eq!(code, 0, "{err}");
        #[cfg(feature = "netcdf")]
        {
            let m = tessera::io::netcdf::open_netcdf::<f32>(&nc, "sst", [4, 8]).unwrap().compute().unwrap();
            assert_eq!(m.shape(), [4, 8]);
        }
    } else {
        assert_eq!(code, 2);
        assert!(err.contains("netcdf feature"), "{err}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// CDO's own case: netCDF in, netCDF out, in CDO's order (`tessera ydaymean a.nc b.nc clim.nc`).
/// The same two years as netCDF files, `dir/nc/sst.{1983,1984}.nc`.
#[cfg(feature = "netcdf")]
fn generate_netcdf(dir: &Path) -> [PathBuf; 2] {
    let nc = dir.join("nc");
    let args = ["--grid", "12x16", "--years", "2", "--start-year", "1983", "--format", "netcdf"];
    let (code, _, err) = tessera(&[&["generate-sst", "--out", s(&nc)][..], &args].concat());
    assert_eq!(code, 0, "{err}");
    [nc.join("sst.1983.nc"), nc.join("sst.1984.nc")]
}

#[cfg(feature = "netcdf")]
#[test]
fn netcdf_in_and_out_in_cdo_order() {
    let d = tmpdir("nc");
    let x = generate(&d);
    let days = dates(1983, 1, 1, x.dim().0);
    let [a, b] = generate_netcdf(&d);
    for verb in ["timmean", "ydaymean", "monmean", "zonmean"] {
        let out = d.join(format!("{verb}.nc"));
        let (code, _, err) = tessera(&[verb, s(&a), s(&b), s(&out)]);
        assert_eq!(code, 0, "{verb}: {err}");
        let want = reference(verb, &x, &days);
        let got =
            tessera::io::netcdf::open_netcdf::<f32>(&out, "sst", want.shape()).unwrap().compute().unwrap();
        check(&format!("{verb} (netCDF)"), &got, &want);
    }
    // CF metadata: the input's dimensions and coordinates, time in its units and calendar
    // (a group dated by its last day), the variable's attributes, cell_methods, history.
    use tessera::io::netcdf::{dimension_names, string_attributes, time_coordinate};
    let yday = d.join("ydaymean.nc");
    assert_eq!(dimension_names(&yday, "sst").unwrap(), ["time", "lat", "lon"]);
    let (t, units, cal) = time_coordinate(&yday).unwrap().unwrap();
    assert_eq!(
        (units.as_str(), cal.as_deref()),
        ("days since 1983-01-01 00:00:00", Some("proleptic_gregorian"))
    );
    // Day 1 last falls on 1 January 1984 (365 days on); day 366 on 31 December 1984.
    assert_eq!((t.len(), t[0], t[365]), (366, 365.0, 730.0));
    let lat = tessera::io::open_any::<f64>(&yday, "lat", None).unwrap().to_vec().unwrap();
    assert_eq!(lat.len(), 12);
    assert!((lat[0] + 82.5).abs() < 1e-12, "{lat:?}");
    let attrs = string_attributes(&yday, Some("sst")).unwrap();
    let get = |k: &str| attrs.iter().find(|a| a.0 == k).map(|a| a.1.clone());
    assert_eq!(get("units").as_deref(), Some("degC"));
    assert_eq!(get("cell_methods").as_deref(), Some("time: mean"));
    let global = string_attributes(&yday, None).unwrap();
    let history = global.iter().find(|a| a.0 == "history").map(|a| a.1.clone()).unwrap();
    assert!(history.contains("tessera ydaymean ") && history.ends_with("ydaymean.nc"), "{history}");
    let zon = d.join("zonmean.nc");
    assert_eq!(dimension_names(&zon, "sst").unwrap(), ["time", "lat"]);
    assert_eq!(time_coordinate(&zon).unwrap().unwrap().0.len(), 731);
    assert_eq!(dimension_names(&d.join("timmean.nc"), "sst").unwrap(), ["lat", "lon"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[cfg(feature = "netcdf")]
/// CDO's fldmean by hand: per step, Σ cos(lat)·x / Σ cos(lat) over the cells that are not
/// NaN, at the generator's cell-centre latitudes.
fn fldmean_reference(x: &Array3<f32>) -> ArrayD<f64> {
    let (nt, ny, nx) = x.dim();
    let w: Vec<f64> =
        (0..ny).map(|i| (-90.0 + (i as f64 + 0.5) * 180.0 / ny as f64).to_radians().cos()).collect();
    ndarray::Array1::from_shape_fn(nt, |t| {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..ny {
            for j in 0..nx {
                let v = x[[t, i, j]] as f64;
                if !v.is_nan() {
                    num += w[i] * v;
                    den += w[i];
                }
            }
        }
        num / den
    })
    .into_dyn()
}

/// `fldmean` from Zarr (a glob, --out) and netCDF (CDO order) against the hand computation;
/// .npy files, which carry no latitudes, are refused with a message saying so.
#[cfg(feature = "netcdf")]
#[test]
fn fldmean_weights_rows_by_the_cosine_of_latitude() {
    let d = tmpdir("fld");
    let x = generate(&d);
    let want = fldmean_reference(&x);
    let out = d.join("fld.zarr");
    let glob = format!("{}/sst.*.zarr", s(&d.join("zarr")));
    let (code, _, err) = tessera(&["fldmean", &glob, "--out", s(&out)]);
    assert_eq!(code, 0, "{err}");
    check("fldmean (zarr)", &read(&out), &want);
    let [a, b] = generate_netcdf(&d);
    let out = d.join("fld.nc");
    let (code, _, err) = tessera(&["fldmean", s(&a), s(&b), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let got = tessera::io::netcdf::open_netcdf::<f32>(&out, "sst", [731]).unwrap().compute().unwrap();
    check("fldmean (netCDF)", &got, &want);
    let (code, _, err) = tessera(&["fldmean", s(&d.join("npy/sst.1983.npy")), s(&d.join("f.npy"))]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("latitude") && err.contains("sst.1983.npy"), "{err}");
    assert!(!d.join("f.npy").exists());
    std::fs::remove_dir_all(&d).unwrap();
}

/// `--years` and `--dates` keep the steps CDO's selyear and seldate would, before the
/// reduction; a selection that keeps nothing is an error and writes nothing.
#[test]
fn years_and_dates_select_steps_before_reducing() {
    let d = tmpdir("sel");
    let x = generate(&d);
    let days = dates(1983, 1, 1, x.dim().0);
    let npy = [d.join("npy/sst.1983.npy"), d.join("npy/sst.1984.npy")];
    let only = |from: usize, to: usize| x.slice(ndarray::s![from..to, .., ..]).to_owned();
    let out = d.join("y.npy");
    let (code, _, err) = tessera(&["timmean", "--years", "1984", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 0, "{err}");
    check("timmean --years 1984", &read(&out), &over_time(&only(365, 731), nanmean));
    // 1 March to 31 May 1984 (a leap year): days 60..152 of 1984, positions 365+60 ..= 365+151.
    let out = d.join("m.npy");
    let (code, _, err) =
        tessera(&["ymonmean", "--dates", "1984-03-01,1984-05-31", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let sub = only(365 + 60, 365 + 152);
    let sub_days = &days[365 + 60..365 + 152];
    let want = per_group(&sub, &groups(sub_days, |d| d.month as i64), nanmean).into_dyn();
    assert_eq!(want.shape()[0], 3);
    check("ymonmean --dates", &read(&out), &want);
    // Two years apart: a take, not a slice.
    let out = d.join("two.npy");
    let (code, _, err) = tessera(&["timmax", "--years", "1983,1984", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 0, "{err}");
    check("timmax --years 1983,1984", &read(&out), &over_time(&x, nanmax));
    let out = d.join("none.npy");
    let (code, _, err) = tessera(&["timmean", "--years", "1990/1991", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("keeps no time step"), "{err}");
    assert!(!out.exists());
    let (code, _, err) = tessera(&["timmean", "--dates", "1984-03-01", s(&npy[0]), s(&out)]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `--lonlatbox` keeps CDO's region (longitudes from LON1 east, wrapping; latitudes either
/// order) before the reduction, and the netCDF result carries the region's coordinates,
/// longitudes running east from LON1; fldmean weights the region's rows.
#[cfg(feature = "netcdf")]
#[test]
fn lonlatbox_keeps_the_region_across_the_meridian() {
    let d = tmpdir("box");
    let x = generate(&d);
    let [a, b] = generate_netcdf(&d);
    let coord = |name: &str| tessera::io::open_any::<f64>(&a, name, None).unwrap().to_vec().unwrap();
    let (lat, lon) = (coord("lat"), coord("lon"));
    let rows: Vec<usize> = (0..lat.len()).filter(|&i| lat[i].abs() <= 30.0).collect();
    let mut cols: Vec<(f64, usize)> =
        (0..lon.len()).map(|j| ((lon[j] + 50.0).rem_euclid(360.0), j)).filter(|c| c.0 <= 100.0).collect();
    cols.sort_by(|p, q| p.0.total_cmp(&q.0));
    assert!(cols.first().unwrap().1 > cols.last().unwrap().1, "the region wraps past 360°: {cols:?}");
    let region =
        Array3::from_shape_fn((x.dim().0, rows.len(), cols.len()), |(t, i, j)| x[[t, rows[i], cols[j].1]]);
    let out = d.join("box.nc");
    let (code, _, err) = tessera(&["timmean", "--lonlatbox", "-50,50,30,-30", s(&a), s(&b), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let want = over_time(&region, nanmean);
    let got = tessera::io::netcdf::open_netcdf::<f32>(&out, "sst", want.shape()).unwrap().compute().unwrap();
    check("timmean --lonlatbox", &got, &want);
    let out_lon = tessera::io::open_any::<f64>(&out, "lon", None).unwrap().to_vec().unwrap();
    let want_lon: Vec<f64> = cols.iter().map(|c| c.0 - 50.0).collect();
    assert_eq!(out_lon, want_lon);
    let out_lat = tessera::io::open_any::<f64>(&out, "lat", None).unwrap().to_vec().unwrap();
    assert_eq!(out_lat, rows.iter().map(|&i| lat[i]).collect::<Vec<_>>());
    let out = d.join("boxfld.npy");
    let (code, _, err) = tessera(&["fldmean", "--lonlatbox", "-50,50,-30,30", s(&a), s(&b), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let w: Vec<f64> = rows.iter().map(|&i| lat[i].to_radians().cos()).collect();
    let want = ndarray::Array1::from_shape_fn(x.dim().0, |t| {
        let (mut num, mut den) = (0.0, 0.0);
        for (i, wi) in w.iter().enumerate() {
            for j in 0..cols.len() {
                let v = region[[t, i, j]] as f64;
                if !v.is_nan() {
                    num += wi * v;
                    den += wi;
                }
            }
        }
        num / den
    })
    .into_dyn();
    check("fldmean --lonlatbox", &read(&out), &want);
    let (code, _, err) = tessera(&["timmean", "--lonlatbox", "0,1,0,1", s(&a), s(&d.join("e.npy"))]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("holds no grid cell"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}
