//! The `tessera` command line end to end on a tiny data set.

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::ArrayD;
use ndarray_npy::read_npy;

fn tessera(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).output().expect("run tessera");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn generate_reduce_and_draw() {
    let d = tmpdir("e2e");
    let data = d.join("sst");
    let (code, _, err) = tessera(&[
        "generate-sst",
        "--out",
        s(&data),
        "--years",
        "2",
        "--grid",
        "16x32",
        "--start-year",
        "1983",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(data.join("sst.1983.zarr").exists() && data.join("sst.1984.zarr").exists());
    let glob = format!("{}/sst.*.zarr", s(&data));

    // Climatology by day of year (1984 is a leap year: 366 groups).
    let clim = d.join("clim.npy");
    let png = d.join("clim.png");
    let (code, out, err) = tessera(&[
        "reduce",
        &glob,
        "--op",
        "nanmean",
        "--groupby",
        "dayofyear",
        "--out",
        s(&clim),
        "--png",
        s(&png),
        "--budget",
        "1MiB",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 file(s)"), "{out}");
    let c: ArrayD<f32> = read_npy(&clim).unwrap();
    assert_eq!(c.shape(), &[366, 16, 32]);
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);

    // The same climatology from the library, file by file.
    let files = tessera::io::expand(&glob).unwrap();
    let (x, days) = tessera::io::open_daily::<f32>(&files, "sst", 0, None, None).unwrap();
    assert_eq!(days.len(), 365 + 366);
    let labels = tessera::calendar::labels(&days, tessera::calendar::GroupBy::DayOfYear);
    let want = x
        .groupby_reduce(0, &labels, tessera::Reduction::nan(tessera::ReduceKind::Mean))
        .unwrap()
        .array
        .compute()
        .unwrap();
    assert_eq!(c.shape(), want.shape());
    assert!(c.iter().zip(want.iter()).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));

    // Monthly means into Zarr, and a plain reduction over time.
    let months = d.join("months.zarr");
    let (code, _, err) = tessera(&[
        "reduce",
        &glob,
        "--var",
        "sst",
        "--op",
        "nanmax",
        "--groupby",
        "month",
        "--out",
        s(&months),
    ]);
    assert_eq!(code, 0, "{err}");
    let m = tessera::io::zarr::open_zarr::<f32>(&months, None).unwrap();
    assert_eq!(m.shape(), &[12, 16, 32]);
    let count = d.join("count.npy");
    let trace = d.join("trace.json");
    let (code, _, err) = tessera(&[
        "reduce",
        &glob,
        "--op",
        "count",
        "--out",
        s(&count),
        "--trace",
        s(&trace),
        "--workers",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    let n: ArrayD<f32> = read_npy(&count).unwrap();
    assert!(n.iter().all(|&v| v == 0.0 || v == 731.0), "land is NaN every day, ocean never");
    assert!(std::fs::read_to_string(&trace).unwrap().starts_with("{\"traceEvents\":["));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn errors_name_what_is_wrong() {
    let d = tmpdir("errors");
    let (code, out, _) = tessera(&["reduce", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("usage:") && out.contains("generate-sst"), "{out}");
    let (code, _, err) =
        tessera(&["reduce", s(&d.join("nothing.*.zarr")), "--op", "mean", "--out", s(&d.join("o.npy"))]);
    assert_eq!(code, 1);
    assert!(err.contains("nothing.*.zarr") && err.contains("no file matches"), "{err}");
    let (code, _, err) =
        tessera(&["reduce", s(&d.join("missing.npy")), "--op", "mean", "--out", s(&d.join("o.npy"))]);
    assert_eq!(code, 1);
    assert!(err.contains("missing.npy"), "{err}");
    let data = d.join("sst");
    let (code, _, _) = tessera(&["generate-sst", "--out", s(&data), "--years", "1", "--grid", "4x8"]);
    assert_eq!(code, 0);
    let f = s(&data.join("sst.1982.zarr")).to_string();
    let (code, _, err) = tessera(&["reduce", &f, "--op", "median", "--out", "o.npy"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown --op 'median'"), "{err}");
    let (code, _, err) = tessera(&["reduce", &f, "--op", "mean", "--out", "o.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains(".npy or .zarr"), "{err}");
    let (code, _, err) =
        tessera(&["reduce", &f, "--op", "mean", "--out", s(&d.join("o.npy")), "--budget", "lots"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) =
        tessera(&["reduce", &f, "--op", "mean", "--out", s(&d.join("o.npy")), "--axis", "5"]);
    assert_eq!(code, 1);
    assert!(err.contains("axis 5"), "{err}");
    // A Zarr group without the variable asked for.
    let group = d.join("group.zarr");
    std::fs::create_dir_all(&group).unwrap();
    std::fs::write(group.join("zarr.json"), r#"{"zarr_format": 3, "node_type": "group"}"#).unwrap();
    let (code, _, err) = tessera(&[
        "reduce",
        s(&group),
        "--var",
        "analysed_sst",
        "--op",
        "mean",
        "--out",
        s(&d.join("o.npy")),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("analysed_sst"), "{err}");
    // Too small a budget for one block.
    let (code, _, err) =
        tessera(&["reduce", &f, "--op", "mean", "--out", s(&d.join("o.npy")), "--budget", "10"]);
    assert_eq!(code, 1);
    assert!(err.contains("memory budget"), "{err}");
    let (code, _, err) = tessera(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("usage"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn cpu_runs_print_nothing_about_a_display() {
    // Without XDG_RUNTIME_DIR (a machine with no display session), enumerating Vulkan
    // adapters made Mesa print "error: XDG_RUNTIME_DIR is invalid or not set in the
    // environment." on every run, GPU or not.
    let d = tmpdir("quiet");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("TESSERA_GPU_DEBUG")
            .output()
            .expect("run tessera");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("XDG_RUNTIME_DIR"), "{args:?} printed: {err}");
    };
    let data = d.join("sst");
    run(&["generate-sst", "--out", s(&data), "--years", "1", "--grid", "4x8"]);
    let f = s(&data.join("sst.1982.zarr")).to_string();
    run(&["reduce", &f, "--op", "nanmean", "--out", s(&d.join("m.npy"))]);
    run(&["info"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[cfg(feature = "netcdf")]
#[test]
fn netcdf_files_in_and_out() {
    let d = tmpdir("nc");
    let data = d.join("sst");
    let (code, _, err) =
        tessera(&["generate-sst", "--out", s(&data), "--years", "1", "--grid", "8x16", "--format", "netcdf"]);
    assert_eq!(code, 0, "{err}");
    let out = d.join("mean.nc");
    let (code, _, err) =
        tessera(&["reduce", s(&data.join("sst.1982.nc")), "--op", "nanmean", "--out", s(&out)]);
    assert_eq!(code, 0, "{err}");
    let m = tessera::io::netcdf::open_netcdf::<f32>(&out, "sst", [8, 16]).unwrap().compute().unwrap();
    assert_eq!(m.shape(), &[8, 16]);
    let (code, _, err) =
        tessera(&["reduce", s(&data.join("sst.1982.nc")), "--var", "temp", "--op", "mean", "--out", s(&out)]);
    assert_eq!(code, 1);
    assert!(err.contains("no variable 'temp'") && err.contains("sst"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}
