//! `tessera reduce` and `tessera generate-sst`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Axis, Ix2};
use tessera::calendar::{Day, GroupBy, labels};
use tessera::io::{dtype_of, expand, open_any, open_daily, open_many};
use tessera::prelude::*;
use tessera::{Float, Progress, Reduction};
use tessera_cli::plot::{MapStyle, map_png};
use tessera_cli::synthetic::{FileFormat, write_sst_years};

use crate::Failure;

/// `--name value` options and positional arguments.
struct Args {
    positional: Vec<String>,
    named: Vec<(String, String)>,
}

impl Args {
    fn parse(args: &[String], known: &[&str]) -> Result<Args, Failure> {
        let mut a = Args { positional: Vec::new(), named: Vec::new() };
        let mut it = args.iter();
        while let Some(s) = it.next() {
            if let Some(name) = s.strip_prefix("--") {
                if !known.contains(&name) {
                    return Err(Failure::Usage(format!("unknown option --{name}")));
                }
                let v = it.next().ok_or_else(|| Failure::Usage(format!("--{name} needs a value")))?;
                a.named.push((name.to_string(), v.clone()));
            } else {
                a.positional.push(s.clone());
            }
        }
        Ok(a)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.named.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn num<N: std::str::FromStr>(&self, name: &str, default: N) -> Result<N, Failure> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| Failure::Usage(format!("--{name} {v}: not a number"))),
        }
    }
}

/// `2GiB`, `500MB`, `1.5G`, `1000000`.
fn parse_bytes(s: &str) -> Result<usize, Failure> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| Failure::Usage(format!("'{s}' is not a size (try 2GiB)")))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => (1u64 << 30) as f64,
        "t" | "tb" => 1e12,
        "tib" => (1u64 << 40) as f64,
        u => return Err(Failure::Usage(format!("unknown size unit '{u}' in '{s}'"))),
    };
    Ok((n * mult) as usize)
}

fn reduce_op(name: &str) -> Result<Reduction, Failure> {
    name.parse::<Reduction>().map_err(|_| {
        let known: Vec<&str> = Reduction::names().collect();
        Failure::Usage(format!("unknown --op '{name}' (known: {})", known.join(", ")))
    })
}

/// A plain reduction over one axis, as `T` (counts and indices converted).
fn reduce_axis<T: Float>(x: &Array<T>, axis: usize, op: Reduction) -> tessera::Result<Array<T>> {
    let (a, opts) = (axis as isize, ReduceOptions::default());
    Ok(match op.over(T::DTYPE).out_dtype() {
        DType::I64 => x.reduce::<i64>(op, a, &opts)?.astype::<T>(),
        DType::Bool => x.reduce::<bool>(op, a, &opts)?.astype::<T>(),
        DType::F64 => x.reduce::<f64>(op, a, &opts)?.astype::<T>(),
        _ => x.reduce::<T>(op, a, &opts)?,
    })
}

pub fn reduce(args: &[String]) -> Result<(), Failure> {
    let known = ["var", "op", "axis", "groupby", "start", "budget", "workers", "out", "png", "trace"];
    let a = Args::parse(args, &known)?;
    if a.positional.is_empty() {
        return Err(Failure::Usage("reduce: no input files".into()));
    }
    let op = reduce_op(a.get("op").ok_or_else(|| Failure::Usage("reduce: --op is required".into()))?)?;
    let out = PathBuf::from(a.get("out").ok_or_else(|| Failure::Usage("reduce: --out is required".into()))?);
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    let known = ["npy", "zarr"].contains(&ext) || (cfg!(feature = "netcdf") && ext == "nc");
    if !known {
        return Err(Failure::Usage(format!(
            "--out {}: name it .npy or .zarr (or .nc with the netcdf feature)",
            out.display()
        )));
    }
    let groupby = match a.get("groupby") {
        None => None,
        Some("month") => Some(GroupBy::Month),
        Some("dayofyear") => Some(GroupBy::DayOfYear),
        Some(g) => return Err(Failure::Usage(format!("unknown --groupby '{g}' (month or dayofyear)"))),
    };
    let start = a.get("start").map(Day::parse).transpose()?;
    let mut files = Vec::new();
    for p in &a.positional {
        files.extend(expand(p)?);
    }
    let var = a.get("var").unwrap_or("sst").to_string();
    let mut opts = ComputeOptions::default().progress(Progress::Auto).profile(a.get("trace").is_some());
    if let Some(b) = a.get("budget") {
        opts = opts.memory_budget(parse_bytes(b)?);
    }
    if let Some(w) = a.get("workers") {
        let n: usize = w.parse().map_err(|_| Failure::Usage(format!("--workers {w}: not a whole number")))?;
        let most = tessera::max_workers();
        if !(1..=most).contains(&n) {
            return Err(Failure::Usage(format!(
                "--workers {w}: give 1 to {most} (16 per core of this machine's {})",
                most / 16
            )));
        }
        opts = opts.workers(n);
    }
    let axis: isize = match a.get("axis") {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            Failure::Usage(format!("--axis {v}: not an axis (an integer; negative ones count from the end)"))
        })?,
    };
    let job = Job { files, var, axis, op, groupby, start, out, png: a.get("png").map(PathBuf::from), opts };
    let t = Instant::now();
    let report = match dtype_of(&job.files[0], &job.var)? {
        DType::F32 => job.run::<f32>()?,
        DType::F64 => job.run::<f64>()?,
        d => {
            return Err(Failure::Run(tessera::Error::format(
                &job.files[0],
                format!("holds {d} data; reduce needs f32 or f64"),
            )));
        }
    };
    if let (Some(path), Some(p)) = (a.get("trace"), &report.profile) {
        // Whole or not at all, like every output.
        let staged = tessera::io::staged::Staged::new(Path::new(path), tessera::io::staged::Kind::File)?;
        std::fs::write(staged.path(), p.to_chrome_trace())
            .map_err(|e| tessera::Error::Io { path: path.into(), cause: e.to_string() })?;
        staged.commit()?;
    }
    println!(
        "{} file(s) → {} in {:.2} s ({} tasks, peak {:.0} MB held, {:.0} MB spilled, budget {:.1} GB)",
        job.files.len(),
        job.out.display(),
        t.elapsed().as_secs_f64(),
        report.tasks_run,
        report.peak_bytes as f64 / 1e6,
        report.spilled_bytes as f64 / 1e6,
        report.budget_bytes as f64 / 1e9
    );
    Ok(())
}

struct Job {
    files: Vec<PathBuf>,
    var: String,
    /// As given: negative counts from the end, as in NumPy.
    axis: isize,
    op: Reduction,
    groupby: Option<GroupBy>,
    start: Option<Day>,
    out: PathBuf,
    png: Option<PathBuf>,
    opts: ComputeOptions,
}

impl Job {
    fn run<T: Float>(&self) -> tessera::Result<tessera::RunReport> {
        let ndim = open_any::<T>(&self.files[0], &self.var, None)?.ndim();
        let axis = if self.axis < 0 { self.axis + ndim as isize } else { self.axis };
        if !(0..ndim as isize).contains(&axis) {
            return Err(tessera::Error::invalid(format!(
                "--axis {} is out of bounds for '{}', which has {ndim} dimensions",
                self.axis, self.var
            )));
        }
        let axis = axis as usize;
        let (result, what) = match self.groupby {
            Some(by) => {
                let (x, days) = open_daily::<T>(&self.files, &self.var, axis, self.start, None)?;
                let g = x.groupby_reduce(axis as isize, &labels(&days, by), self.op)?;
                (g.array, format!("{} by {by:?}", self.op))
            }
            None => {
                let x = open_many(&self.files, axis, |p| open_any::<T>(p, &self.var, None))?;
                (reduce_axis(&x, axis, self.op)?, format!("{} over axis {axis}", self.op))
            }
        };
        let report = match self.out.extension().and_then(|e| e.to_str()) {
            Some("zarr") => tessera::io::zarr::to_zarr(&result, &self.out, &self.opts)?,
            #[cfg(feature = "netcdf")]
            Some("nc") => tessera::io::netcdf::to_netcdf(&result, &self.out, &self.var, None, &self.opts)?,
            _ => result.to_npy(&self.out, &self.opts)?,
        };
        if let Some(png) = &self.png {
            let back = open_any::<T>(&self.out, &self.var, None)?.compute()?.mapv(|v| v.to_f64());
            let (map, title) = match back.ndim() {
                2 => (back, format!("{} of {}: {what}", self.var, dataset_name(&self.files))),
                3 => {
                    let first = back.index_axis(Axis(0), 0).to_owned();
                    (
                        first,
                        format!(
                            "{} of {}: {what} (group 0 of {})",
                            self.var,
                            dataset_name(&self.files),
                            back.shape()[0]
                        ),
                    )
                }
                n => {
                    return Err(tessera::Error::invalid(format!(
                        "--png needs a 2-D result; this one has {n} dimensions"
                    )));
                }
            };
            let map = map.into_dimensionality::<Ix2>().map_err(|e| tessera::Error::invalid(e.to_string()))?;
            map_png(&map.view(), png, &MapStyle { title, ..Default::default() })?;
        }
        Ok(report)
    }
}

fn dataset_name(files: &[PathBuf]) -> String {
    let name = |p: &Path| p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    match files {
        [one] => name(one),
        [first, .., last] => format!("{} … {}", name(first), name(last)),
        [] => String::new(),
    }
}

pub fn generate(args: &[String]) -> Result<(), Failure> {
    let a = Args::parse(args, &["out", "years", "start-year", "grid", "seed", "format"])?;
    let dir = PathBuf::from(
        a.get("out").ok_or_else(|| Failure::Usage("generate-sst: --out DIR is required".into()))?,
    );
    let years: usize = a.num("years", 3)?;
    if years == 0 {
        return Err(Failure::Usage("generate-sst: --years 0 would write nothing; give 1 or more".into()));
    }
    let first: i32 = a.num("start-year", 1982)?;
    let seed: u64 = a.num("seed", 0)?;
    let grid = a.get("grid").unwrap_or("720x1440");
    let (lat, lon) = grid
        .split_once('x')
        .and_then(|(y, x)| Some((y.parse::<usize>().ok()?, x.parse::<usize>().ok()?)))
        .filter(|&(y, x)| y > 0 && x > 0)
        .ok_or_else(|| Failure::Usage(format!("--grid {grid}: expected ROWSxCOLS, e.g. 720x1440")))?;
    let format = match a.get("format").unwrap_or("zarr") {
        "zarr" => FileFormat::Zarr,
        "npy" => FileFormat::Npy,
        #[cfg(feature = "netcdf")]
        "netcdf" => FileFormat::Netcdf,
        f => {
            return Err(Failure::Usage(format!(
                "unknown --format '{f}' (zarr, npy{})",
                if cfg!(feature = "netcdf") { " or netcdf" } else { "; netcdf needs the netcdf feature" }
            )));
        }
    };
    let t = Instant::now();
    let opts = ComputeOptions::default().progress(Progress::Auto);
    let files = write_sst_years(&dir, first, years, (lat, lon), seed, format, &opts)?;
    println!("wrote {} file(s) to {} in {:.1} s", files.len(), dir.display(), t.elapsed().as_secs_f64());
    Ok(())
}
