//! The CDO-named verbs end to end: each run by the `tessera` binary on two years of the
//! synthetic data set (1983 and the leap year 1984, NaN over land) in .npy and Zarr, and
//! checked against an eager reference computed here with ndarray, as NumPy defines the
//! numbers (`nanmean` skips NaN; a group of NaN alone gives NaN; `nansum` gives 0 there;
//! `nanstd` has ddof 0). The dates of the reference come from a calendar written here, not
//! from tessera's.

mod common;

use common::*;
use ndarray::{Array2, Array3, ArrayD, Axis, concatenate};

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

/// `fldmean` from Zarr (a glob, --out) and netCDF (CDO order) against the hand computation;
/// .npy files, which carry no latitudes, are refused with a message saying so.
#[cfg(feature = "netcdf")]
#[test]
fn fldmean_weights_rows_by_the_cosine_of_latitude() {
    let d = tmpdir("fld");
    let x = generate(&d);
    let want = fldmean_reference(&x, &generator_latitudes(GRID.0));
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
