//! Fault tests: a `tessera` process killed (SIGKILL) while it writes its output, for each
//! output format. The target must be absent or the previous complete file, and the next
//! run's start-up clean-up must leave no temporary behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-faults-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Temporaries (`.tessera-…`) in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tessera-"))
                .collect()
        })
        .unwrap_or_default()
}

/// The bytes of every file under `p` (a file or a directory tree), sorted by path.
fn contents(p: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            out.extend(contents(&e));
        }
    } else if p.exists() {
        out.push((p.to_path_buf(), std::fs::read(p).unwrap()));
    }
    out
}

/// `tessera generate-sst` of `years` small years into `dir`, quiet.
fn generate_years(dir: &Path, format: &str, years: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.args([
        "generate-sst",
        "--out",
        dir.to_str().unwrap(),
        "--years",
        years,
        "--grid",
        "90x180",
        "--format",
        format,
    ])
    .env("XDG_RUNTIME_DIR", std::env::temp_dir())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    c
}

fn generate(dir: &Path, format: &str) -> Command {
    generate_years(dir, format, "1")
}

fn killed_midway_leaves_the_old_output(format: &str, file: &str) {
    let dir = tmpdir(format);
    // A complete first run: the previous outputs.
    assert!(generate(&dir, format).status().unwrap().success());
    let target = dir.join(file);
    let before = contents(&target);
    assert!(!before.is_empty(), "{format}: {} was not written", target.display());
    // A second run, killed as soon as a temporary appears (mid-write).
    let mut child = generate(&dir, format).spawn().unwrap();
    let t = Instant::now();
    let mut caught = false;
    while t.elapsed() < Duration::from_secs(60) {
        if !temporaries(&dir).is_empty() {
            caught = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(caught, "{format}: never saw the run write a temporary");
    // The target is the previous complete output, byte for byte.
    assert_eq!(contents(&target), before, "{format}: {} changed by a killed run", target.display());
    // The next run cleans up what the killed one left, and completes.
    assert!(generate(&dir, format).status().unwrap().success());
    assert_eq!(temporaries(&dir), Vec::<String>::new(), "{format}: temporaries left after the next run");
    assert_eq!(contents(&target), before, "{format}: the same data again");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn npy_outputs_survive_a_kill() {
    killed_midway_leaves_the_old_output("npy", "sst.1982.npy");
}

#[test]
fn zarr_outputs_survive_a_kill() {
    killed_midway_leaves_the_old_output("zarr", "sst.1982.zarr");
}

#[cfg(feature = "netcdf")]
#[test]
fn netcdf_outputs_survive_a_kill() {
    killed_midway_leaves_the_old_output("netcdf", "sst.1982.nc");
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP while an output is being written: the run stops at a task
/// boundary, removes what it was writing and exits with status 130.
#[cfg(unix)]
#[test]
fn a_signal_stops_the_run_and_leaves_nothing() {
    for (sig, name) in [(libc::SIGINT, "int"), (libc::SIGTERM, "term"), (libc::SIGHUP, "hup")] {
        let dir = tmpdir(&format!("signal-{name}"));
        let mut c = generate_years(&dir, "npy", "4");
        c.stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let t = Instant::now();
        while temporaries(&dir).is_empty() && t.elapsed() < Duration::from_secs(60) {
            assert!(child.try_wait().unwrap().is_none(), "finished before a temporary was seen");
            std::thread::sleep(Duration::from_micros(200));
        }
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(child.id() as libc::pid_t, sig);
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "SIG{name}: {err}");
        assert!(err.contains("interrupted"), "SIG{name}: {err}");
        assert_eq!(temporaries(&dir), Vec::<String>::new(), "SIG{name}: temporaries left");
        // Whatever years were finished before the signal are whole.
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let a: ndarray::ArrayD<f32> = ndarray_npy::read_npy(e.path()).unwrap();
            assert_eq!(&a.shape()[1..], [90, 180]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// `tessera reduce` of `inputs` into `out`, with every file it writes limited to `limit`
/// bytes: past it a write fails with EFBIG, as on a full disk it would with ENOSPC (the
/// limit is per file and needs no privileges, where a small filesystem would; SIGXFSZ, which
/// would kill the process instead, is ignored as a full disk sends nothing).
#[cfg(unix)]
fn reduce_on_a_full_disk(
    inputs: &[PathBuf],
    out: &Path,
    extra: &[&str],
    limit: u64,
) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.arg("reduce")
        .args(inputs)
        .args(["--op", "nanmean", "--out"])
        .arg(out)
        .args(extra)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("VK_ICD_FILENAMES", "/nonexistent/tessera-no-gpu.json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: limit as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A disk that fills up while the result is written: the run fails
/// with status 1 and a message naming the file and the cause, a previous output at the
/// target is as it was, and no temporary is left (`tests/full_disk.rs` fills it while spilling).
#[cfg(unix)]
#[test]
fn a_full_disk_fails_cleanly_and_leaves_the_old_output() {
    let dir = tmpdir("full-disk");
    assert!(generate_years(&dir, "zarr", "2").status().unwrap().success());
    let inputs: Vec<PathBuf> = ["sst.1982.zarr", "sst.1983.zarr"].iter().map(|f| dir.join(f)).collect();
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    // A climatology is 366 × 90 × 180 f32 (23.7 MB): every output file format passes 64 KiB.
    let clim = ["--groupby", "dayofyear"];
    for name in ["clim.npy", "clim.zarr"] {
        let target = out_dir.join(name);
        let (code, err) = reduce_on_a_full_disk(&inputs, &target, &clim, u64::MAX);
        assert_eq!(code, Some(0), "{name}: the unlimited run failed: {err}");
        let before = contents(&target);
        let (code, err) = reduce_on_a_full_disk(&inputs, &target, &clim, 64 << 10);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert!(err.contains("too large") && err.contains(name), "{name}: {err}");
        assert_eq!(contents(&target), before, "{name}: the previous output changed");
        assert_eq!(temporaries(&out_dir), Vec::<String>::new(), "{name}: temporaries left");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
