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
    assert!(out.contains("Usage: tessera reduce") && out.contains("--groupby"), "{out}");
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
    assert!(err.contains("--op") && err.contains("'median'"), "{err}");
    let (code, _, err) = tessera(&["reduce", &f, "--op", "mean", "--out", "o.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("--out") && err.contains("o.csv") && err.contains(".npy"), "{err}");
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
    assert!(err.contains("Usage") && err.contains("'frobnicate'"), "{err}");
    let (code, _, err) =
        tessera(&["reduce", &f, "--op", "mean", "--out", s(&d.join("o.npy")), "--frob", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--frob"), "{err}");
    let (code, _, err) = tessera(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Nothing lost: an output over an input is refused before anything is written, a failed run
/// leaves no output and no temporary, and odd arguments get a message naming them.
#[test]
fn outputs_never_destroy_inputs_and_odd_arguments_are_named() {
    let d = tmpdir("safety");
    let data = d.join("sst");
    let (code, _, err) = tessera(&["generate-sst", "--out", s(&data), "--years", "1", "--grid", "4x8"]);
    assert_eq!(code, 0, "{err}");
    let f = s(&data.join("sst.1982.zarr")).to_string();
    let reduce = |out: &str, extra: &[&str]| {
        let mut a = vec!["reduce", f.as_str(), "--op", "nanmean", "--out", out];
        a.extend_from_slice(extra);
        tessera(&a)
    };
    let fine = d.join("fine.npy");
    assert_eq!(reduce(s(&fine), &[]).0, 0);
    // Bit patterns: the land cells are NaN.
    let bits = |p: &Path| read_npy::<_, ArrayD<f32>>(p).unwrap().mapv(f32::to_bits);
    let want = bits(&fine);
    for out in [f.clone(), format!("{f}/../../sst/sst.1982.zarr"), format!("{f}/sst/inside.npy")] {
        let (code, _, err) = reduce(&out, &[]);
        assert_eq!(code, 1, "{out}: {err}");
        assert!(err.contains("would destroy data the run reads"), "{out}: {err}");
    }
    // The input is whole: the same mean again.
    assert_eq!(reduce(s(&fine), &[]).0, 0);
    assert_eq!(bits(&fine), want);
    // A run refused for its budget leaves nothing; an existing output stays as it was.
    let (code, _, err) = reduce(s(&d.join("o.npy")), &["--budget", "10"]);
    assert_eq!(code, 1, "{err}");
    assert!(!d.join("o.npy").exists());
    let (code, _, _) = reduce(s(&fine), &["--budget", "10"]);
    assert_eq!(code, 1);
    assert_eq!(bits(&fine), want);
    let mut left: Vec<String> =
        std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["fine.npy", "sst"], "no temporaries left");
    // Negative axes count from the end, as in NumPy.
    let last = d.join("last.npy");
    let (code, _, err) = reduce(s(&last), &["--axis", "-1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_npy::<_, ArrayD<f32>>(&last).unwrap().shape(), [365, 4]);
    let (code, _, err) = reduce(s(&last), &["--axis", "18446744073709551615"]);
    assert_eq!(code, 2);
    assert!(err.contains("not an axis"), "{err}");
    let (code, _, err) = reduce(s(&last), &["--axis", "-4"]);
    assert_eq!(code, 1);
    assert!(err.contains("--axis -4 is out of bounds") && err.contains("3 dimensions"), "{err}");
    for w in ["0", "1000000", "many"] {
        let (code, _, err) = reduce(s(&last), &["--workers", w]);
        assert_eq!(code, 2, "--workers {w}: {err}");
        assert!(err.contains("--workers") && err.contains(&format!("'{w}'")), "{err}");
    }
    let (code, _, err) = tessera(&["generate-sst", "--out", s(&d.join("none")), "--years", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--years") && err.contains("'0'"), "{err}");
    // A directory named like a .npy file, and a Zarr v2 store.
    std::fs::create_dir_all(d.join("dir.npy")).unwrap();
    let (code, _, err) = tessera(&["reduce", s(&d.join("dir.npy")), "--op", "mean", "--out", s(&last)]);
    assert_eq!(code, 1);
    assert!(err.contains("is a directory"), "{err}");
    let v2 = d.join("old.zarr");
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(v2.join(".zgroup"), r#"{"zarr_format": 2}"#).unwrap();
    let (code, _, err) = tessera(&["reduce", s(&v2), "--op", "mean", "--out", s(&last)]);
    assert_eq!(code, 1);
    assert!(err.contains("Zarr format 2"), "{err}");
    let (code, usage, _) = tessera(&["help"]);
    assert_eq!(code, 0);
    assert_eq!(usage.contains("netCDF"), cfg!(feature = "netcdf"), "{usage}");
    let (_, usage, _) = tessera(&["generate-sst", "--help"]);
    assert_eq!(usage.contains("netcdf"), cfg!(feature = "netcdf"), "{usage}");
    let (_, usage, _) = tessera(&["reduce", "--help"]);
    assert_eq!(usage.contains(".nc"), cfg!(feature = "netcdf"), "{usage}");
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

/// The command line fuzzed: random arguments from the options' vocabulary and hostile values
/// end with exit code 0, 1 (a run error) or 2 (a usage error), never a panic or a signal.
#[test]
fn random_arguments_never_crash() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let d = tmpdir("fuzz-args");
    let data = d.join("sst");
    assert_eq!(tessera(&["generate-sst", "--out", s(&data), "--years", "1", "--grid", "4x8"]).0, 0);
    let input = s(&data.join("sst.1982.zarr")).to_string();
    let out_npy = s(&d.join("o.npy")).to_string();
    let words: Vec<String> = [
        "reduce",
        "generate-sst",
        "info",
        "bench",
        "help",
        "--op",
        "--axis",
        "--groupby",
        "--start",
        "--budget",
        "--workers",
        "--out",
        "--png",
        "--trace",
        "--var",
        "--years",
        "--grid",
        "--format",
        "--seed",
        "--repeat",
        "nanmean",
        "count",
        "argmax",
        "median",
        "month",
        "dayofyear",
        "-1",
        "0",
        "3",
        "-9223372036854775808",
        "18446744073709551616",
        "1e400",
        "NaN",
        "2GiB",
        "10",
        "1x0",
        "0x0",
        "4x8",
        "zarr",
        "npy",
        "1982-02-30",
        "",
        "--",
        "-",
        "Ω°",
        "o.csv",
    ]
    .iter()
    .map(|w| w.to_string())
    .chain([input, out_npy])
    .collect();
    let mut runner = TestRunner::new(Config { cases: 48, failure_persistence: None, ..Config::default() });
    runner
        .run(&prop::collection::vec(prop::sample::select(words), 0..7), |args| {
            // In the scratch directory: --png and --trace write where they are told.
            let out =
                Command::new(env!("CARGO_BIN_EXE_tessera")).args(&args).current_dir(&d).output().unwrap();
            let (code, err) = (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr));
            prop_assert!((0..=2).contains(&code), "{args:?} exited {code}: {err}");
            prop_assert!(!err.contains("panicked"), "{args:?}: {err}");
            Ok(())
        })
        .unwrap();
    std::fs::remove_dir_all(&d).unwrap();
}
