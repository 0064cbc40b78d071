//! The `tessera` command line.
//!
//! ```text
//! tessera info
//! tessera reduce <files, globs or @list.txt>... --op nanmean [--var sst] [--axis 0]
//!         [--groupby month|dayofyear] [--start YYYY-MM-DD] [--budget 2GiB] [--workers N]
//!         --out result.npy|result.zarr{nc_out} [--png map.png] [--trace trace.json]
//! tessera generate-sst --out DIR [--years 3] [--start-year 1982] [--grid 720x1440]
//!         [--seed 0] [--format zarr|npy{nc}]
//! tessera bench <workload|all> [--repeat N] [--json]
//! ```
//!
//! Exit status: 0 on success, 1 when the work failed (the message names the file, variable
//! or value at fault), 2 for a command line that makes no sense.

mod bench;
mod bench_disk;
mod bench_gpu;
mod bench_linalg;
mod reduce;

use std::process::ExitCode;

/// mimalloc: large blocks are allocated and freed all the time; glibc's malloc returns each
/// to the kernel (munmap, TLB shootdowns across the workers), mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// With `--budget` on the command line, the process's resident memory follows the bytes
/// tessera holds, so that the budget means what it says: mimalloc gives freed pages back to
/// the kernel at once (its default keeps them 10 ms, 100 ms in its arenas, which let a
/// 64 MiB run's RSS drift 40–100 MB above what it held) and commits arena memory only as it
/// is used. Without a budget (half the memory) the defaults stay: keeping freed pages makes
/// in-memory reductions 10–30 % faster. Set by a constructor, before the first allocation
/// (an arena made with eager commit keeps its pages), from the arguments glibc passes to
/// constructors; `MIMALLOC_PURGE_DELAY` and `MIMALLOC_ARENA_EAGER_COMMIT` still override it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" fn tune_allocator(
    argc: libc::c_int,
    argv: *const *const libc::c_char,
    _env: *const *const libc::c_char,
) {
    use libmimalloc_sys::mi_option_set;
    // mimalloc's option numbers (stable across its versions: retired options keep theirs).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if argv.is_null() {
        return;
    }
    // SAFETY: glibc passes main's argc and argv (NUL-terminated strings) to constructors.
    let budget = (0..argc.max(0) as usize).any(|i| {
        let arg = unsafe { *argv.add(i) };
        !arg.is_null() && {
            let a = unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes();
            a == b"--budget" || a.starts_with(b"--budget=")
        }
    });
    if !budget {
        return;
    }
    let unset = |name: &std::ffi::CStr| {
        // SAFETY: getenv with a NUL-terminated name; no thread of ours runs yet.
        unsafe { libc::getenv(name.as_ptr()).is_null() }
    };
    // SAFETY: plain option setters, before any thread or allocation of ours.
    unsafe {
        if unset(c"MIMALLOC_PURGE_DELAY") {
            mi_option_set(PURGE_DELAY, 0);
        }
        if unset(c"MIMALLOC_ARENA_EAGER_COMMIT") {
            mi_option_set(ARENA_EAGER_COMMIT, 0);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn(libc::c_int, *const *const libc::c_char, *const *const libc::c_char) =
    tune_allocator;

/// A failure and the exit status it deserves.
pub enum Failure {
    /// The command line is wrong (status 2).
    Usage(String),
    /// The work failed (status 1).
    Run(tessera::Error),
}

impl From<tessera::Error> for Failure {
    fn from(e: tessera::Error) -> Self {
        Failure::Run(e)
    }
}

/// The usage text; the netCDF choices only in a build that has them.
fn usage() -> String {
    let nc = if cfg!(feature = "netcdf") { "|netcdf" } else { "" };
    let nc_out = if cfg!(feature = "netcdf") { "|result.nc" } else { "" };
    USAGE.replace("{nc}", nc).replace("{nc_out}", nc_out)
}

const USAGE: &str = "usage:
  tessera info
  tessera reduce <files, globs or @list.txt>... --op <a NumPy reduction: nanmean, mean, sum, std, max, argmax, ...; or count>
          (with --groupby: sum, mean, var, std, min, max, their nan forms, count)
          [--var sst] [--axis 0] [--groupby month|dayofyear] [--start YYYY-MM-DD]
          [--budget 2GiB] [--workers N] --out result.npy|result.zarr{nc_out} [--png map.png] [--trace trace.json]
  tessera generate-sst --out DIR [--years 3] [--start-year 1982] [--grid 720x1440] [--seed 0] [--format zarr|npy{nc}]
  tessera bench <sst-nanmean|tiny-tasks|lazy-slice|delayed-10k|stencil|rechunk|fancy-index|out-of-core-npy|out-of-core-zarr|climatology|cholesky|xxT-sum|compound|tsqr-svd|qr-square|svd-square|svd-square-disk|lu-solve|gemm-tile|sst-nanmean-gpu|xxT-sum-gpu|matmul-f32|matmul-f32-gpu|gpu-kernels|all> [--repeat N] [--json]";

/// Ctrl-C (SIGINT), SIGTERM or SIGHUP (the terminal closed): ask the running compute to stop at its next task boundary, so
/// that it unwinds (its half-written outputs removed) and the process exits with status 130;
/// a second signal kills at once.
extern "C" fn on_signal(sig: libc::c_int) {
    tessera::interrupt();
    // SAFETY: signal() is async-signal-safe; restoring the default lets a second signal kill.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    // SAFETY: the handler only stores to an atomic and calls signal().
    unsafe {
        libc::signal(libc::SIGINT, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        libc::signal(libc::SIGHUP, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `--help` anywhere (`tessera reduce --help`) prints the usage.
    let help = args.iter().any(|a| a == "-h" || a == "--help");
    let r = match args.first().map(String::as_str) {
        _ if help => {
            println!("{}", usage());
            Ok(())
        }
        Some("info") => {
            info();
            Ok(())
        }
        Some("reduce") => reduce::reduce(&args[1..]),
        Some("generate-sst") => reduce::generate(&args[1..]),
        Some("bench") => bench::bench(&args[1..]).map_err(Failure::Run),
        Some("help") => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => Err(Failure::Usage(format!("unknown command '{other}'"))),
        None => Err(Failure::Usage("no command given".into())),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}\n{}", usage());
            ExitCode::from(2)
        }
        Err(Failure::Run(tessera::Error::Interrupted)) => {
            eprintln!("interrupted: stopped; no output was written");
            ExitCode::from(130)
        }
        Err(Failure::Run(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn info() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tessera {}", env!("CARGO_PKG_VERSION"));
    println!("cores: {cores}");
    match tessera::physical_memory() {
        Some(m) => println!("memory: {:.1} GiB", m as f64 / (1u64 << 30) as f64),
        None => println!("memory: unknown"),
    }
    let budget = tessera::default_memory_budget();
    println!(
        "default memory budget: {:.1} GiB (half the memory; --budget or ComputeOptions::memory_budget)",
        budget as f64 / (1u64 << 30) as f64
    );
    let gpus = tessera::gpu::devices();
    if gpus.is_empty() {
        println!("GPUs: none found (Vulkan, Metal or DX12); everything runs on the CPU");
    }
    for g in gpus {
        println!(
            "GPU {}: {} ({}, {:?}, {}; largest binding {} MiB, f64 {}){}",
            g.index,
            g.name,
            g.backend,
            g.kind,
            g.driver,
            g.max_binding_size >> 20,
            if g.shader_f64 { "yes" } else { "no" },
            if g.kind == tessera::gpu::DeviceKind::Software {
                " — software: never chosen by Device::Auto"
            } else {
                ""
            }
        );
    }
}
