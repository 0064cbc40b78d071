//! `tessera reduce` (any reduction over one axis, or per group of days), the run every
//! reducing command shares ([`Job`]: open, reduce, write, draw, trace), and `tessera
//! generate-sst`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use ndarray::{Axis, Ix2};
use tessera::calendar::{Day, GroupBy, labels};
use tessera::climate::{MhwOptions, marine_heatwaves, mhw_climatology};
use tessera::io::{dtype_of, expand, open_any, open_daily, open_many};
use tessera::prelude::*;
use tessera::{Float, Progress, Reduction};
use tessera_cli::plot::{MapStyle, map_png};
use tessera_cli::synthetic::{FileFormat, write_sst_years};

use crate::Failure;
use crate::args::{self, Io, RunOptions};

/// `tessera reduce`: the general form of every reducing verb.
#[derive(clap::Args, Debug)]
pub struct ReduceArgs {
    #[command(flatten)]
    pub io: Io,
    /// The reduction, by NumPy's name: nanmean, mean, sum, nansum, std, nanstd (ddof 0),
    /// var, min, max, argmax, any, ... or count (of the values that are not NaN). With
    /// --groupby: sum, mean, var, std, min, max, their nan forms, and count.
    #[arg(long, value_name = "OP", value_parser = args::reduction)]
    pub op: Reduction,
    /// The axis reduced, along which the files are joined; negative ones count from the end.
    #[arg(long, value_name = "AXIS", default_value = "0", allow_negative_numbers = true)]
    #[arg(value_parser = args::axis)]
    pub axis: isize,
    /// Reduce each group of days along the axis instead of all of it (the days from --start,
    /// or each file's time coordinate, or the year in its name).
    #[arg(long, value_name = "GROUPS")]
    pub groupby: Option<Groups>,
    #[command(flatten)]
    pub run: RunOptions,
}

/// What `--groupby` groups days by.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Groups {
    /// Day of the year, 366 groups (29 February is day 60, as xarray counts).
    #[value(name = "dayofyear")]
    DayOfYear,
    /// Month, 12 groups.
    Month,
    /// Year, one group per year of the record.
    Year,
    /// Month of each year, one group per month of the record.
    #[value(name = "yearmonth")]
    YearMonth,
}

impl From<Groups> for GroupBy {
    fn from(g: Groups) -> GroupBy {
        match g {
            Groups::DayOfYear => GroupBy::DayOfYear,
            Groups::Month => GroupBy::Month,
            Groups::Year => GroupBy::Year,
            Groups::YearMonth => GroupBy::YearMonth,
        }
    }
}

/// `tessera reduce`.
pub fn reduce(a: ReduceArgs) -> Result<(), Failure> {
    let compute = match a.groupby {
        Some(g) => Compute::Group(a.op, g.into()),
        None => Compute::Reduce(a.op),
    };
    Job::new(&a.io, &a.run, a.axis, a.axis, compute)?.execute()
}

/// What a job computes along its axis.
#[derive(Debug, Clone, Copy)]
pub enum Compute {
    /// One reduction over the whole axis.
    Reduce(Reduction),
    /// A reduction per group of days along the axis (the groups in ascending label order).
    Group(Reduction, GroupBy),
    /// Each value minus the reduction of its group of days (`groupby_anomalies`).
    Anomaly(Reduction, GroupBy),
    /// The area-weighted NaN-mean of each field over the last two axes, weighted by the
    /// first file's cell areas or cos(latitude) (`crate::areas::field_mean`).
    Field,
    /// Hobday et al.'s percentile threshold per calendar day (`mhw_climatology`).
    Threshold(MhwOptions),
    /// Marine-heatwave statistics per cell, stacked along a first axis in the order of
    /// [`crate::heatwaves::STATISTICS`] (`marine_heatwaves`).
    Heatwaves(MhwOptions),
}

/// A reducing run: its files, what it computes, where the result goes.
pub struct Job {
    files: Vec<PathBuf>,
    var: String,
    /// The axis the files are joined along; as given, negative counting from the end.
    join: isize,
    /// The axis reduced; as given, negative counting from the end. A grouped job groups the
    /// days along it, and joins its files along it.
    axis: isize,
    compute: Compute,
    start: Option<Day>,
    /// `--years`, `--dates`: the steps kept.
    years: Option<crate::select::Years>,
    dates: Option<crate::select::Dates>,
    /// `--lonlatbox`: the region kept.
    lonlatbox: Option<crate::select::LonLatBox>,
    out: PathBuf,
    png: Option<PathBuf>,
    trace: Option<PathBuf>,
    opts: ComputeOptions,
}

impl Job {
    /// The job of a command line: its inputs expanded (globs, lists), its options.
    pub fn new(
        io: &Io,
        run: &RunOptions,
        join: isize,
        axis: isize,
        compute: Compute,
    ) -> Result<Job, Failure> {
        let (patterns, out) = io.resolve()?;
        let mut files = Vec::new();
        for p in &patterns {
            files.extend(expand(p)?);
        }
        let mut opts = ComputeOptions::default().progress(Progress::Auto).profile(run.trace.is_some());
        if let Some(b) = run.budget {
            opts = opts.memory_budget(b);
        }
        if let Some(w) = run.workers {
            opts = opts.workers(w);
        }
        Ok(Job {
            files,
            var: run.var.clone(),
            join,
            axis,
            compute,
            start: run.start,
            years: run.years.clone(),
            dates: run.dates.clone(),
            lonlatbox: run.lonlatbox,
            out,
            png: run.png.clone(),
            trace: run.trace.clone(),
            opts,
        })
    }

    /// Run it in the files' element type, write the trace if asked, and print a summary.
    pub fn execute(&self) -> Result<(), Failure> {
        let t = Instant::now();
        let report = match dtype_of(&self.files[0], &self.var)? {
            DType::F32 => self.run::<f32>()?,
            DType::F64 => self.run::<f64>()?,
            d => {
                return Err(Failure::Run(tessera::Error::format(
                    &self.files[0],
                    format!("holds {d} data; reduce needs f32 or f64"),
                )));
            }
        };
        if let (Some(path), Some(p)) = (&self.trace, &report.profile) {
            // Whole or not at all, like every output.
            let staged = tessera::io::staged::Staged::new(path, tessera::io::staged::Kind::File)?;
            std::fs::write(staged.path(), p.to_chrome_trace())
                .map_err(|e| tessera::Error::Io { path: path.display().to_string(), cause: e.to_string() })?;
            staged.commit()?;
        }
        println!(
            "{} file(s) → {} in {:.2} s ({} tasks, peak {:.0} MB held, {:.0} MB spilled, budget {:.1} GB)",
            self.files.len(),
            self.out.display(),
            t.elapsed().as_secs_f64(),
            report.tasks_run,
            report.peak_bytes as f64 / 1e6,
            report.spilled_bytes as f64 / 1e6,
            report.budget_bytes as f64 / 1e9
        );
        Ok(())
    }

    /// `axis` as an index of an array of `ndim` dimensions, or an error naming it.
    fn norm(&self, axis: isize, ndim: usize) -> tessera::Result<usize> {
        let a = if axis < 0 { axis + ndim as isize } else { axis };
        if !(0..ndim as isize).contains(&a) {
            return Err(tessera::Error::invalid(format!(
                "--axis {axis} is out of bounds for '{}', which has {ndim} dimensions",
                self.var
            )));
        }
        Ok(a as usize)
    }

    fn run<T: Float>(&self) -> tessera::Result<tessera::RunReport> {
        let ndim = open_any::<T>(&self.files[0], &self.var, None)?.ndim();
        let (join, axis) = (self.norm(self.join, ndim)?, self.norm(self.axis, ndim)?);
        // --lonlatbox: the rows and columns of the last two axes kept, and their coordinates.
        let region = match &self.lonlatbox {
            Some(b) => {
                let (lat, lon) = (latitudes(&self.files[0])?, longitudes(&self.files[0])?);
                let (rows, cols, lon_kept) = crate::select::in_box(b, &lat, &lon)?;
                let lat_kept: Vec<f64> = rows.iter().map(|&i| lat[i]).collect();
                Some((rows, cols, lat_kept, lon_kept))
            }
            None => None,
        };
        let boxed = |x: Array<T>| -> tessera::Result<Array<T>> {
            let Some((rows, cols, ..)) = &region else { return Ok(x) };
            let nd = x.ndim();
            if nd < 2 {
                return Err(tessera::Error::invalid("--lonlatbox needs (…, lat, lon) data"));
            }
            let x = crate::select::restrict(&x, nd - 2, rows)?;
            crate::select::restrict(&x, nd - 1, cols)
        };
        let selecting = self.years.is_some() || self.dates.is_some();
        // The files joined along `ax` and the days of its steps, less the steps --years and
        // --dates leave out.
        let dated = |ax: usize| -> tessera::Result<(Array<T>, Vec<Day>)> {
            let (x, days) = open_daily::<T>(&self.files, &self.var, ax, self.start, None)?;
            let x = boxed(x)?;
            if !selecting {
                return Ok((x, days));
            }
            let keep = crate::select::kept(&days, self.years.as_ref(), self.dates.as_ref())?;
            crate::select::apply(&x, &days, ax, &keep)
        };
        let joined = || -> tessera::Result<Array<T>> {
            if selecting {
                return Ok(dated(join)?.0);
            }
            boxed(open_many(&self.files, join, |p| open_any::<T>(p, &self.var, None))?)
        };
        let by = |by: GroupBy| -> tessera::Result<(Array<T>, Vec<Day>, Vec<i64>)> {
            let (x, days) = dated(axis)?;
            let l = labels(&days, by);
            Ok((x, days, l))
        };
        // A result written with CF metadata that keeps time: the files joined and the days of
        // their steps, from one opening (best effort: without dates, no time coordinate).
        let metadata = matches!(self.out.extension().and_then(|e| e.to_str()), Some("zarr" | "nc"));
        let joined_dated = |keeps_time: bool| -> tessera::Result<(Array<T>, Option<Vec<Day>>)> {
            if metadata
                && keeps_time
                && join == 0
                && let Ok((x, d)) = dated(0)
            {
                return Ok((x, Some(d)));
            }
            Ok((joined()?, None))
        };
        let (result, what, kept, op) = match self.compute {
            Compute::Group(op, g) => {
                let (x, d, l) = by(g)?;
                let r = x.groupby_reduce(axis as isize, &l, op)?.array;
                (r, format!("{op} by {g:?}"), Kept::Grouped(d, l), Some(op))
            }
            Compute::Anomaly(op, g) => {
                let (x, d, l) = by(g)?;
                let r = x.groupby_anomalies(axis as isize, &l, op)?;
                (r, format!("anomaly from the {op} by {g:?}"), Kept::All(d), None)
            }
            Compute::Reduce(op) => {
                let (x, days) = joined_dated(axis != 0)?;
                let r = reduce_axis(&x, axis, op)?;
                (r, format!("{op} over axis {axis}"), Kept::AllBut(axis, days), Some(op))
            }
            Compute::Field => {
                let (x, days) = joined_dated(true)?;
                let keep = region.as_ref().map(|(rows, cols, ..)| (rows.as_slice(), cols.as_slice()));
                let lat = || match &region {
                    Some((_, _, lat, _)) => Ok(lat.clone()),
                    None => latitudes(&self.files[0]),
                };
                let r = crate::areas::field_mean(&x, &self.files[0], &self.var, keep, lat)?.astype::<T>();
                (
                    r,
                    "area-weighted mean".to_string(),
                    Kept::Field(days),
                    Some(Reduction::nan(tessera::ReduceKind::Mean)),
                )
            }
            Compute::Threshold(o) => {
                let (x, days) = dated(0)?;
                let clim = mhw_climatology(&x, &days, &o)?;
                let (d, l) = crate::heatwaves::climatology_year(days[0].calendar)?;
                let what = format!("{}th percentile by calendar day", o.percentile);
                (clim.thresh.astype::<T>(), what, Kept::Grouped(d, l), None)
            }
            Compute::Heatwaves(o) => {
                let (x, days) = dated(0)?;
                let (_, ev) = marine_heatwaves(&x, &days, &o)?;
                let stats = [
                    ev.count.astype::<T>(),
                    ev.days.astype::<T>(),
                    ev.max_intensity.astype::<T>(),
                    ev.longest.astype::<T>(),
                ];
                let r = tessera::stack(&stats.iter().collect::<Vec<_>>(), 0)?;
                (r, "marine heatwaves".to_string(), Kept::Stats, None)
            }
        };
        let report = match self.out.extension().and_then(|e| e.to_str()) {
            // A Zarr group or a netCDF file, with the result's CF metadata.
            Some("zarr" | "nc") => {
                use crate::cfmeta::{Axes, meta};
                let none: Vec<Day> = Vec::new();
                let stats = matches!(kept, Kept::Stats);
                let shape = if stats { &result.shape()[1..] } else { result.shape() };
                let axes = match &kept {
                    Kept::Stats => Axes::Reduced(0, None),
                    Kept::AllBut(a, days) => Axes::Reduced(*a, days.as_deref()),
                    Kept::Grouped(d, l) => Axes::Grouped(d, l),
                    Kept::All(d) => Axes::Kept(d),
                    Kept::Field(days) => Axes::Field(days.as_deref().unwrap_or(&none)),
                };
                let grid = region.as_ref().map(|(_, _, lat, lon)| (lat.as_slice(), lon.as_slice()));
                let mut m = meta(&self.files[0], &self.var, axes, shape, op, grid)?;
                if stats {
                    crate::heatwaves::stats_meta(&mut m);
                }
                crate::cfmeta::write(&result, &self.out, &self.var, &m, &self.opts)?
            }
            _ => result.to_npy(&self.out, &self.opts)?,
        };
        if let Some(png) = &self.png {
            let lat = match &region {
                Some((_, _, lat, _)) => Some(lat.clone()),
                None => latitudes(&self.files[0]).ok(),
            };
            self.draw::<T>(png, &what, lat.as_deref())?;
        }
        Ok(report)
    }

    /// The written result's first 2-d field as a PNG map.
    fn draw<T: Float>(&self, png: &Path, what: &str, lat: Option<&[f64]>) -> tessera::Result<()> {
        let back = open_any::<T>(&self.out, &self.var, None)?.compute()?.mapv(|v| v.to_f64());
        let name = format!("{} of {}: {what}", self.var, dataset_name(&self.files));
        let (map, title) = match back.ndim() {
            2 => (back, name),
            3 => {
                let first = back.index_axis(Axis(0), 0).to_owned();
                let of = match self.compute {
                    Compute::Group(..) => "group",
                    _ => "step",
                };
                (first, format!("{name} ({of} 0 of {})", back.shape()[0]))
            }
            n => {
                return Err(tessera::Error::invalid(format!(
                    "--png needs a 2-D result; this one has {n} dimensions"
                )));
            }
        };
        let map = map.into_dimensionality::<Ix2>().map_err(|e| tessera::Error::invalid(e.to_string()))?;
        // North up whatever the file's order: row 0 at the bottom when latitudes ascend.
        let lat = lat.filter(|l| l.len() == map.nrows());
        let style = MapStyle { title, origin_lower: rows_ascend(lat), ..Default::default() };
        map_png(&map.view(), png, &style)
    }
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

/// Which of the input's axes a result keeps (for its CF metadata), with the days of the
/// steps where it keeps time and they are known.
enum Kept {
    /// All but this one (reduced away).
    AllBut(usize, Option<Vec<Day>>),
    /// Time grouped: the days and their labels.
    Grouped(Vec<Day>, Vec<i64>),
    /// All, on these days.
    All(Vec<Day>),
    /// Time only (a field mean).
    Field(Option<Vec<Day>>),
    /// Time replaced by the marine-heatwave statistics.
    Stats,
}

/// Whether a map's row 0 goes at the bottom: its latitudes ascend (OISST, the generator), or
/// none are known (then OISST's order is assumed).
fn rows_ascend(lat: Option<&[f64]>) -> bool {
    match lat {
        Some(l) if l.len() > 1 => l[0] < l[l.len() - 1],
        _ => true,
    }
}

/// The latitudes of a file's grid: its `lat` or `latitude` coordinate, in degrees.
fn latitudes(path: &Path) -> tessera::Result<Vec<f64>> {
    coordinate_values(path, &["lat", "latitude"], "latitude")
}

/// The longitudes of a file's grid: its `lon` or `longitude` coordinate, in degrees.
fn longitudes(path: &Path) -> tessera::Result<Vec<f64>> {
    coordinate_values(path, &["lon", "longitude"], "longitude")
}

/// The first of coordinates `names` a file has, as f64 (a .npy file has none).
fn coordinate_values(path: &Path, names: &[&str], what: &str) -> tessera::Result<Vec<f64>> {
    for name in names {
        if let Some(v) = coordinate_1d(path, name)? {
            return Ok(v);
        }
    }
    Err(tessera::Error::format(
        path,
        format!(
            "has no {what} coordinate ({}), which this needs (a .npy file has none)",
            names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(" or ")
        ),
    ))
}

/// Coordinate `name` of a Zarr group or netCDF file as f64; `None` when it has none (a .npy
/// file never has).
pub(crate) fn coordinate_1d(path: &Path, name: &str) -> tessera::Result<Option<Vec<f64>>> {
    if path.extension().is_some_and(|e| e == "npy") {
        return Ok(None);
    }
    let Ok(dtype) = dtype_of(path, name) else { return Ok(None) };
    let f64s = |v: Vec<f64>| Ok(Some(v));
    if dtype == DType::Bool {
        return Err(tessera::Error::format(path, format!("coordinate '{name}' holds bool values")));
    }
    // Any number type (a netCDF `short` coordinate reads as i16), as f64.
    tessera::with_dtype!(dtype, T => f64s(open_any::<T>(path, name, None)?.astype::<f64>().to_vec()?))
}

fn dataset_name(files: &[PathBuf]) -> String {
    let name = |p: &Path| p.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    match files {
        [one] => name(one),
        [first, .., last] => format!("{} … {}", name(first), name(last)),
        [] => String::new(),
    }
}

/// `tessera generate-sst`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The directory to write, one file per year (sst.1982.zarr, ...).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// How many years (the leap years 366 days).
    #[arg(long, value_name = "N", default_value = "3", value_parser = args::years)]
    pub years: usize,
    /// The first year.
    #[arg(long, value_name = "YEAR", default_value_t = 1982, allow_negative_numbers = true)]
    pub start_year: i32,
    /// Rows (latitudes) by columns (longitudes).
    #[arg(long, value_name = "ROWSxCOLS", default_value = "720x1440", value_parser = args::grid)]
    pub grid: (usize, usize),
    /// The seed of the noise.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// The file format.
    #[arg(long, value_name = "FORMAT", default_value = "zarr", value_parser = file_format())]
    pub format: FileFormat,
}

/// `--format`: zarr, npy, and netcdf in a build with it.
fn file_format() -> impl TypedValueParser<Value = FileFormat> {
    let mut names = vec!["zarr", "npy"];
    if cfg!(feature = "netcdf") {
        names.push("netcdf");
    }
    PossibleValuesParser::new(names).map(|s| match s.as_str() {
        "npy" => FileFormat::Npy,
        #[cfg(feature = "netcdf")]
        "netcdf" => FileFormat::Netcdf,
        _ => FileFormat::Zarr,
    })
}

/// `tessera generate-sst`.
pub fn generate(a: GenerateArgs) -> Result<(), Failure> {
    let t = Instant::now();
    let opts = ComputeOptions::default().progress(Progress::Auto);
    let files = write_sst_years(&a.out, a.start_year, a.years, a.grid, a.seed, a.format, &opts)?;
    println!("wrote {} file(s) to {} in {:.1} s", files.len(), a.out.display(), t.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rows_ascend;

    #[test]
    fn maps_are_north_up_whatever_the_latitude_order() {
        assert!(rows_ascend(Some(&[-89.5, 0.0, 89.5])));
        assert!(!rows_ascend(Some(&[89.5, 0.0, -89.5])));
        assert!(rows_ascend(None) && rows_ascend(Some(&[10.0])));
    }
}
