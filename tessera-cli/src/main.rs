//! The `tessera` command line, on clap: one subcommand per command, each with its `--help`
//! (a paragraph and examples).
//!
//! ```text
//! tessera info
//! tessera reduce <files, globs or @list.txt>... --op nanmean [--axis 0]
//!         [--groupby dayofyear|month|year|yearmonth] --out result.npy|.zarr|.nc [run options]
//! tessera <verb> <inputs>... --out result.npy|.zarr|.nc [run options]
//! tessera <verb> <inputs>... result.npy|.zarr|.nc [run options]       (CDO's order)
//! tessera generate-sst --out DIR [--years 3] [--start-year 1982] [--grid 720x1440]
//!         [--seed 0] [--format zarr|npy|netcdf]
//! tessera bench <workload|all> [--repeat N] [--json]
//! tessera completions <bash|zsh|fish|elvish|powershell>
//! ```
//!
//! Run options: `--var sst`, `--start YYYY-MM-DD`, `--budget 2GiB`, `--workers N`, `--png
//! map.png`, `--trace trace.json`. The verbs are CDO's names for fixed reductions, NaN-aware
//! as NumPy's `nan*` functions ([`verbs::VERBS`]): `timmean`, `timsum`, `timmin`, `timmax`,
//! `timstd` over time; `ydaymean|std|min|max` per day of the year, `ymonmean|std|min|max` per
//! month; `monmean`, `yearmean` per month and year of the series; `ydayanomaly`; `zonmean`
//! over longitude. netCDF (`.nc`, `--format netcdf`) is there only in a build with the
//! `netcdf` feature.
//!
//! Exit status: 0 on success, 1 when the work failed (`error: <message>`, naming the file,
//! variable or value at fault), 2 for a command line that makes no sense (clap's message,
//! naming the option or value), 130 when interrupted (Ctrl-C, SIGTERM, SIGHUP).

mod areas;
mod args;
mod bench;
mod bench_disk;
mod bench_gpu;
mod bench_linalg;
mod bench_order;
mod cfmeta;
mod heatwaves;
mod reduce;
mod select;
mod verbs;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "tessera",
    version,
    about = "Blocked, lazy, parallel reductions and climatologies of gridded data files",
    long_about = long_about(),
    after_help = AFTER_HELP,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

fn long_about() -> String {
    let nc =
        if cfg!(feature = "netcdf") { ", Zarr v3 stores and netCDF files" } else { " and Zarr v3 stores" };
    format!(
        "Blocked, lazy, parallel reductions and climatologies of .npy files{nc}: whole-period statistics, \
         climatologies and anomalies under CDO's names (tessera timmean in.zarr out.zarr), the general \
         reduce, synthetic data and benchmarks. Many files are one series joined along time; a run holds \
         at most --budget in memory and spills the rest to disk."
    )
}

const AFTER_HELP: &str = "Examples:
  tessera generate-sst --out sst --years 2 --grid 180x360
  tessera ydaymean 'sst/sst.*.zarr' clim.zarr --png clim.png
  tessera reduce 'sst/sst.*.zarr' --op nanmax --groupby month --out months.npy
  tessera timmean --help

Exit status: 0 done, 1 the work failed, 2 a command line that makes no sense, 130 interrupted.";

/// A command.
#[derive(Subcommand, Debug)]
enum Cmd {
    /// The machine as tessera sees it
    ///
    /// Prints tessera's version, the cores, the memory, the default memory budget (half the
    /// memory) and each GPU adapter found (Vulkan, Metal or DX12) with what it can do; without
    /// one everything runs on the CPU.
    #[command(after_help = "Example:\n  tessera info")]
    Info,
    /// Any reduction over one axis, or per group of days
    ///
    /// The general form of every verb: the inputs joined along --axis (in the order given,
    /// globs sorted) and reduced along it by --op, NumPy's reduction of that name (nanmean
    /// skips NaN, mean does not; std and var divide by n). With --groupby, the reduction is
    /// taken per group of days along the axis, the dates from each file's time coordinate,
    /// the year in its name or --start. The result is written whole or not at all, never over
    /// an input.
    #[command(after_help = "Examples:
  tessera reduce 'sst/sst.*.zarr' --op nanmean --groupby dayofyear --out clim.zarr --budget 2GiB
  tessera reduce @years.txt --var analysed_sst --op count --out count.npy --png count.png
  tessera reduce sst.1982.npy --op nanstd --axis -1 --out zonal_std.npy")]
    Reduce(reduce::ReduceArgs),
    #[command(flatten)]
    Verb(verbs::VerbCommand),
    /// Percentile threshold per calendar day (marine-heatwave climatology)
    ///
    /// Hobday et al. (2016)'s threshold: for each calendar day (month and day; 29 February is
    /// row 59 and 1 March row 60 in every year), the --percentile of the values of the
    /// --baseline years within --window days of it (NaN skipped, NumPy's linear method), 29
    /// February the mean of its neighbours, then a circular --smooth-day running mean. One
    /// field per calendar day, 366 rows (360 in a 360-day calendar), dated in the year 2000.
    /// The dates are each file's time coordinate, or the year in its name, or --start; the
    /// days must follow one another.
    #[command(after_help = "Examples:
  tessera ydaypctl 'sst.*.zarr' thresh.nc --baseline 1983/2012
  tessera ydaypctl sst.npy --start 2001-01-01 --percentile 95 --out p95.npy")]
    Ydaypctl(heatwaves::HeatwaveArgs),
    /// Marine heatwaves per cell (Hobday et al. 2016)
    ///
    /// Days above the ydaypctl threshold (a missing day takes the seasonal mean), runs of at
    /// least --min-duration of them, events at most --max-gap days apart joined into one.
    /// Per cell four statistics stacked along a first axis: the number of events, the days in
    /// events, the largest intensity (temperature minus the seasonal mean, NaN without
    /// events) and the longest event in days. The events are found by a scan along time, block
    /// by block: the time axis is never gathered.
    #[command(after_help = "Examples:
  tessera mhw 'sst.*.zarr' mhw.nc --baseline 1983/2012 --png mhw.png
  tessera mhw sst.npy --start 2001-01-01 --min-duration 7 --out mhw.npy")]
    Mhw(heatwaves::HeatwaveArgs),
    /// Write the synthetic daily SST data set
    ///
    /// One file per year (sst.YYYY.zarr, .npy or .nc) of daily sea surface temperature on a
    /// global grid: a seasonal cycle, weather-like noise from --seed, and NaN over land, laid
    /// out as xarray writes it (the Zarr and netCDF files carry CF time, lat and lon
    /// coordinates). Leap years have 366 days.
    #[command(after_help = "Example:
  tessera generate-sst --out sst --years 2 --start-year 1983 --grid 90x180 --format npy")]
    GenerateSst(reduce::GenerateArgs),
    /// Time a benchmark workload
    ///
    /// Runs the workload --repeat times in this process and prints the median seconds and the
    /// peak resident memory, or one JSON object per workload with --json for benches/compare/
    /// to put beside NumPy and dask. `all` runs the standard set.
    #[command(after_help = "Examples:\n  tessera bench sst-nanmean --repeat 3 --json\n  tessera bench all")]
    Bench(bench::BenchArgs),
    /// Print a shell completion script
    ///
    /// Prints the completion script of every command and option for the shell given; load it
    /// in the shell's start-up file.
    #[command(after_help = "Examples:
  tessera completions bash > ~/.local/share/bash-completion/completions/tessera
  tessera completions zsh > ~/.zfunc/_tessera
  tessera completions fish > ~/.config/fish/completions/tessera.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Cmd {
    /// The subcommand's name, for its usage line in a message.
    fn name(&self) -> &'static str {
        match self {
            Cmd::Info => "info",
            Cmd::Reduce(_) => "reduce",
            Cmd::Verb(v) => v.verb.name,
            Cmd::Ydaypctl(_) => "ydaypctl",
            Cmd::Mhw(_) => "mhw",
            Cmd::GenerateSst(_) => "generate-sst",
            Cmd::Bench(_) => "bench",
            Cmd::Completions { .. } => "completions",
        }
    }
}

/// A usage error found after parsing, in clap's form, with the usage of `sub`.
fn usage_error(sub: &str, message: &str) -> clap::Error {
    let mut cmd = Cli::command();
    cmd.build();
    match cmd.find_subcommand_mut(sub) {
        Some(c) => c.error(clap::error::ErrorKind::ValueValidation, message),
        None => cmd.error(clap::error::ErrorKind::ValueValidation, message),
    }
}

/// `tessera completions SHELL`: the script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "tessera", &mut script);
    std::io::stdout().write_all(&script).map_err(|e| Failure::Run(tessera::Error::io("standard output", e)))
}

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print on stdout (status 0); a wrong command line is status 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let name = cli.command.name();
    let r = match cli.command {
        Cmd::Info => {
            info();
            Ok(())
        }
        Cmd::Reduce(a) => reduce::reduce(a),
        Cmd::Verb(v) => v.run(),
        Cmd::Ydaypctl(a) => heatwaves::ydaypctl(a),
        Cmd::Mhw(a) => heatwaves::mhw(a),
        Cmd::GenerateSst(a) => reduce::generate(a),
        Cmd::Bench(a) => bench::bench(&a).map_err(Failure::Run),
        Cmd::Completions { shell } => completions(shell),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            let _ = usage_error(name, &m).print();
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
