//! The memory budget, measured by the kernel: the peak resident memory of `tessera reduce
//! --budget 64MiB` stays within the budget, plus what a trivial run of the same command
//! costs (the binary, its threads, the allocator), plus 10 %.
//!
//! Why a test runs a child process and reads its RSS: the scheduler's own accounting (the
//! `peak held` it reports) can be right while the process is not — buffers it never counted
//! (partial states four times a block, reads decompressing, inputs read back from the spill
//! file) and an allocator keeping freed pages once let a 64 MiB run peak at 169 MB. Only
//! the kernel's count of the child's pages says what the user sees. Linux only: the peak
//! comes from `wait4`'s resource usage (`ru_maxrss`, the child's VmHWM in /proc).
//!
//! The data is one year of daily 720 × 1440 SST in Zarr (867 MB on disk, 1.5 GB of f32,
//! chunks of 7.8 MB): blocks that large against a 64 MiB budget are what broke it. The
//! children run without a GPU (`VK_ICD_FILENAMES` pointing nowhere), so every byte is on
//! the host where the budget applies.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BUDGET_MIB: u64 = 64;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-budget-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tessera(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera"));
    c.args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("VK_ICD_FILENAMES", "/nonexistent/tessera-no-gpu.json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Run `cmd` to its end; its exit status and peak resident memory in bytes.
#[allow(clippy::zombie_processes)] // wait4 below reaps the child
fn run_measured(mut cmd: Command) -> (i32, u64, String) {
    let child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // The stderr pipe holds a line or two: the child does not block on it.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    let mut err = String::new();
    if let Some(mut e) = child.stderr {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    (code, usage.ru_maxrss as u64 * 1024, err)
}

fn generate(dir: &Path, grid: &str) {
    let d = dir.to_str().unwrap();
    let st = tessera(&["generate-sst", "--out", d, "--years", "1", "--grid", grid]).status().unwrap();
    assert!(st.success(), "generate-sst --grid {grid} failed");
}

#[test]
fn peak_rss_stays_within_the_budget() {
    let dir = tmpdir("rss");
    let (big, tiny) = (dir.join("big"), dir.join("tiny"));
    generate(&big, "720x1440");
    generate(&tiny, "8x16");
    let budget = format!("{BUDGET_MIB}MiB");
    let run = |data: &Path, op: &[&str]| {
        let input = data.join("sst.1982.zarr");
        let out = dir.join("out.npy");
        let mut args = vec!["reduce", input.to_str().unwrap(), "--op"];
        args.extend_from_slice(op);
        args.extend_from_slice(&["--budget", &budget, "--workers", "2", "--out", out.to_str().unwrap()]);
        let (code, rss, err) = run_measured(tessera(&args));
        assert_eq!(code, 0, "tessera {args:?} failed: {err}");
        assert!(out.exists());
        std::fs::remove_file(&out).unwrap();
        rss
    };
    let cases: [&[&str]; 3] =
        [&["nanmean", "--groupby", "dayofyear"], &["nanstd", "--groupby", "month"], &["nanstd"]];
    let mut report = Vec::new();
    for op in cases {
        // The fixed cost of the same command on a grid of 8 × 16.
        let baseline = run(&tiny, op);
        let rss = run(&big, op);
        let limit = (BUDGET_MIB * (1 << 20) + baseline) * 11 / 10;
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        report.push(format!(
            "{op:?}: peak {:.0} MiB, trivial run {:.0} MiB, limit {:.0} MiB",
            mib(rss),
            mib(baseline),
            mib(limit)
        ));
        assert!(rss <= limit, "over the budget:\n{}", report.join("\n"));
    }
    eprintln!("{}", report.join("\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}
