//! The options `tessera reduce` and the CDO-named verbs share, and the parsers of their
//! values (sizes, worker counts, axes, dates, output names). A value that does not parse is a
//! usage error (status 2) naming the option and the value.

use std::path::{Path, PathBuf};

use tessera::Reduction;
use tessera::calendar::Day;

use crate::Failure;

/// The inputs and the output: `INPUT... --out FILE`, or CDO's order `INPUT... OUTPUT`.
#[derive(clap::Args, Debug, Clone)]
pub struct Io {
    /// Input files, globs (quoted, 'sst.*.zarr', for tessera to expand in sorted order) or
    /// @list.txt (a file of paths or globs, one per line). Without --out, the last one is the
    /// output, as in CDO.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// The output file, named by its format.
    #[arg(long, value_name = "FILE", value_parser = output_path, help = out_help())]
    pub out: Option<PathBuf>,
}

/// What a run reads and writes besides its inputs and output, and how it computes.
#[derive(clap::Args, Debug, Clone)]
pub struct RunOptions {
    /// The variable to read from a Zarr group or netCDF file (a .npy file holds one array).
    #[arg(long, value_name = "NAME", default_value = "sst")]
    pub var: String,
    /// The date of the first time step, YYYY-MM-DD (the days after it consecutive); by
    /// default each file's time coordinate or, without one, 1 January of the year in its
    /// name (sst.1982.zarr).
    #[arg(long, value_name = "DATE", value_parser = date)]
    pub start: Option<Day>,
    /// Only the steps of these years: 1983, 1983,1985 or 1983/1990 (CDO's selyear), chosen
    /// before anything is reduced.
    #[arg(long, value_name = "YEARS", value_parser = crate::select::years)]
    pub years: Option<crate::select::Years>,
    /// Only the steps from FROM to TO, both included: 1983-03-01,1983-05-31 (CDO's
    /// seldate), in the files' calendar.
    #[arg(long, value_name = "FROM,TO", value_parser = crate::select::dates)]
    pub dates: Option<crate::select::Dates>,
    /// Only the region from LON1 east to LON2 and between LAT1 and LAT2, in degrees:
    /// -60,20,-40,40 (CDO's sellonlatbox; from the first file's lat/lon coordinates).
    #[arg(long, value_name = "LON1,LON2,LAT1,LAT2", value_parser = crate::select::lonlatbox)]
    #[arg(allow_hyphen_values = true)]
    pub lonlatbox: Option<crate::select::LonLatBox>,
    /// The most memory the run may hold, e.g. 2GiB, 500MB, 1.5G (the rest spills to disk);
    /// by default half the machine's memory.
    #[arg(long, value_name = "SIZE", value_parser = bytes)]
    pub budget: Option<usize>,
    /// Worker threads, 1 to 16 per core (by default one per core).
    #[arg(long, value_name = "N", value_parser = workers)]
    pub workers: Option<usize>,
    /// Also draw the result (its first 2-d field) as a PNG map.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Write the run's tasks as a Chrome trace (chrome://tracing, Perfetto).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// The output formats this build writes, for help and messages.
fn formats() -> &'static str {
    if cfg!(feature = "netcdf") { ".npy, .zarr or .nc" } else { ".npy or .zarr" }
}

fn out_help() -> String {
    let which = if cfg!(feature = "netcdf") { "a .zarr or .nc result" } else { "a .zarr result" };
    format!(
        "The output file: {} (the name says the format; {which} carries the input's dimension \
         names, coordinates and attributes, a Zarr group as xarray reads it)",
        formats()
    )
}

/// Whether `p` names an output this build can write (.npy, .zarr, and .nc with netCDF).
pub fn is_output_name(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    ["npy", "zarr"].contains(&ext) || (cfg!(feature = "netcdf") && ext == "nc")
}

/// Why `p` cannot be an output.
fn not_an_output(p: &Path) -> String {
    let nc = if cfg!(feature = "netcdf") { "" } else { " (.nc needs a build with the netcdf feature)" };
    format!("'{}' names no output format: name it {}{nc}", p.display(), formats())
}

/// `--out`: a path whose extension names an output format.
fn output_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if is_output_name(&p) { Ok(p) } else { Err(not_an_output(&p)) }
}

impl Io {
    /// The input patterns and the output: `--out`, or else the last input (CDO's order:
    /// `tessera timmean in.nc out.nc`), which must then be named like an output.
    pub fn resolve(&self) -> Result<(Vec<String>, PathBuf), Failure> {
        if let Some(out) = &self.out {
            return Ok((self.inputs.clone(), out.clone()));
        }
        let (last, inputs) = self.inputs.split_last().expect("clap requires an input");
        if inputs.is_empty() {
            return Err(Failure::Usage(format!(
                "no output: give --out FILE, or name the output after the inputs \
                 ('{last}' is the only file given)"
            )));
        }
        let out = PathBuf::from(last);
        if !is_output_name(&out) {
            return Err(Failure::Usage(format!(
                "without --out, the last file is the output, and {}",
                not_an_output(&out)
            )));
        }
        // A shell-expanded glob (sst.*.zarr unquoted) makes its last file look like an output.
        let before = Path::new(&inputs[inputs.len() - 1]);
        if out.exists() && same_but_digits(&out, before) {
            return Err(Failure::Usage(format!(
                "'{}' exists and is named like the input before it, '{}': is it one more input? \
                 To write over it, give it with --out; to read it, name an output after it \
                 (or quote the glob: tessera expands it)",
                out.display(),
                before.display()
            )));
        }
        Ok((inputs.to_vec(), out))
    }
}

/// Whether two paths differ only in their digits (`sst.1983.zarr`, `sst.1984.zarr`).
fn same_but_digits(a: &Path, b: &Path) -> bool {
    let strip = |p: &Path| p.to_string_lossy().chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
    strip(a) == strip(b)
}

/// `2GiB`, `500MB`, `1.5G`, `1000000`.
pub fn bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("'{s}' is not a size (try 2GiB)"))?;
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
        u => return Err(format!("unknown size unit '{u}' in '{s}'")),
    };
    Ok((n * mult) as usize)
}

/// `--workers`: 1 to 16 per core.
fn workers(s: &str) -> Result<usize, String> {
    let most = tessera::max_workers();
    let n: usize = s.parse().map_err(|_| format!("'{s}' is not a whole number"))?;
    if (1..=most).contains(&n) {
        Ok(n)
    } else {
        Err(format!("give 1 to {most} (16 per core of this machine's {})", most / 16))
    }
}

/// `--axis`: an integer, negative ones counting from the end.
pub fn axis(s: &str) -> Result<isize, String> {
    s.parse().map_err(|_| format!("'{s}' is not an axis (an integer; negative ones count from the end)"))
}

/// `--start`: `YYYY-MM-DD`.
fn date(s: &str) -> Result<Day, String> {
    Day::parse(s).map_err(|e| e.to_string())
}

/// `--op`: a reduction by NumPy's name.
pub fn reduction(s: &str) -> Result<Reduction, String> {
    s.parse::<Reduction>().map_err(|_| {
        let known: Vec<&str> = Reduction::names().collect();
        format!("unknown reduction '{s}' (known: {})", known.join(", "))
    })
}

/// `--grid ROWSxCOLS`.
pub fn grid(s: &str) -> Result<(usize, usize), String> {
    s.split_once('x')
        .and_then(|(y, x)| Some((y.parse::<usize>().ok()?, x.parse::<usize>().ok()?)))
        .filter(|&(y, x)| y > 0 && x > 0)
        .ok_or_else(|| format!("'{s}': expected ROWSxCOLS, e.g. 720x1440"))
}

/// `--years`: 1 or more.
pub fn years(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0 years would write nothing; give 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_names() {
        assert_eq!(bytes("2GiB"), Ok(2 << 30));
        assert_eq!(bytes("1.5G"), Ok(1_500_000_000));
        assert_eq!(bytes("10"), Ok(10));
        assert!(bytes("lots").is_err() && bytes("3 parsecs").is_err());
        assert!(is_output_name(Path::new("a/b.zarr")) && is_output_name(Path::new("b.npy")));
        assert_eq!(is_output_name(Path::new("b.nc")), cfg!(feature = "netcdf"));
        assert!(!is_output_name(Path::new("b.csv")) && !is_output_name(Path::new("zarr")));
        assert!(same_but_digits(Path::new("d/sst.1983.zarr"), Path::new("d/sst.1984.zarr")));
        assert!(!same_but_digits(Path::new("d/sst.1984.zarr"), Path::new("d/clim.zarr")));
        assert_eq!(grid("4x8"), Ok((4, 8)));
        assert!(grid("0x8").is_err() && grid("4by8").is_err());
        assert!(years("0").is_err() && years("2") == Ok(2));
    }
}
