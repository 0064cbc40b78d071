//! Datasets spread over files: globs, many files joined along an axis, the format chosen by
//! the path, and the dates of daily files.

use std::path::{Path, PathBuf};

use crate::array::Array;
use crate::calendar::{Day, days_from, days_from_cf, year_in_name};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::io::{npy, zarr};

/// The files a pattern names: a glob (`data/sst.*.npy`, its matches sorted), one path, or
/// `@list.txt`, a text file of paths or globs, one per line, in the order listed (blank lines
/// and lines starting with `#` skipped; relative paths taken from the list's directory). An
/// error names the pattern, or the list and line, that matches nothing.
///
/// ```no_run
/// // years.txt: "sst.1982.nc\nsst.1983.nc\n# 1984 is missing\nsst.1985.nc"
/// let files = tessera::io::expand("@data/years.txt")?;
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    if let Some(list) = pattern.strip_prefix('@') {
        return expand_list(Path::new(list));
    }
    if !pattern.contains(['*', '?', '[']) {
        let p = PathBuf::from(pattern);
        if !p.exists() {
            return Err(Error::io(&p, "no such file or directory"));
        }
        return Ok(vec![p]);
    }
    let paths =
        glob::glob(pattern).map_err(|e| Error::invalid(format!("bad glob pattern '{pattern}': {e}")))?;
    let mut out: Vec<PathBuf> = paths.filter_map(|p| p.ok()).collect();
    out.sort();
    if out.is_empty() {
        return Err(Error::io(pattern, "no file matches this pattern"));
    }
    Ok(out)
}

/// The files a list file names (see [`expand`]).
fn expand_list(list: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(list).map_err(|e| Error::io(list, e))?;
    let base = list.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        if entry.starts_with('@') {
            return Err(Error::format(
                list,
                format!("line {}: a list may not name another list ('{entry}')", n + 1),
            ));
        }
        let path = base.join(entry);
        let found = path
            .to_str()
            .ok_or_else(|| Error::format(list, format!("line {}: '{entry}' is not valid UTF-8", n + 1)))
            .and_then(expand)
            .map_err(|e| Error::format(list, format!("line {}: {e}", n + 1)))?;
        out.extend(found);
    }
    if out.is_empty() {
        return Err(Error::format(list, "lists no files"));
    }
    Ok(out)
}

/// Open each file with `open` and join them along `axis`, checking that every file has the
/// same shape on the other axes (a mismatch names the file). Each file keeps its own blocks.
///
/// ```no_run
/// use tessera::io::{expand, open_many, npy::open_npy};
/// let files = expand("sst/sst.*.npy")?;
/// let sst = open_many(&files, 0, |p| open_npy::<f32>(p, [30, 720, 1440]))?;
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn open_many<T: Element>(
    paths: &[PathBuf],
    axis: usize,
    open: impl Fn(&Path) -> Result<Array<T>>,
) -> Result<Array<T>> {
    if paths.is_empty() {
        return Err(Error::invalid("open_many: no files"));
    }
    let arrays = paths.iter().map(|p| open(p)).collect::<Result<Vec<_>>>()?;
    let first = arrays[0].shape().to_vec();
    if axis >= first.len() {
        return Err(Error::InvalidAxis { op: "open_many".into(), axis: axis as isize, ndim: first.len() });
    }
    for (p, a) in paths.iter().zip(&arrays) {
        let s = a.shape();
        let same = s.len() == first.len() && (0..s.len()).all(|k| k == axis || s[k] == first[k]);
        if !same {
            return Err(Error::format(
                p,
                format!(
                    "has shape {s:?}, but {} has {first:?} (they may differ only on axis {axis})",
                    paths[0].display()
                ),
            ));
        }
    }
    let refs: Vec<&Array<T>> = arrays.iter().collect();
    crate::array::concatenate(&refs, axis as isize)
}

/// The element type of the array at `path`: a .npy file, a Zarr v3 array, or a Zarr group
/// holding an array named `var`.
pub fn dtype_of(path: &Path, var: &str) -> Result<DType> {
    match resolve(path, var)? {
        Resolved::Npy(p) => Ok(npy::read_header(p)?.dtype),
        Resolved::Zarr(p) => Ok(zarr::info(p)?.1),
        #[cfg(feature = "netcdf")]
        Resolved::Netcdf(p) => crate::io::netcdf::dtype_of(&p, var),
    }
}

/// Open the array at `path` (see [`dtype_of`]) lazily, in `chunks` (`None`: the file's own
/// chunks for Zarr, automatic for .npy).
pub fn open_any<T: Element>(path: &Path, var: &str, chunks: Option<crate::ChunkSpec>) -> Result<Array<T>> {
    match resolve(path, var)? {
        Resolved::Npy(p) => npy::open_npy(p, chunks.unwrap_or(crate::ChunkSpec::Auto)),
        Resolved::Zarr(p) => zarr::open_zarr(p, chunks),
        #[cfg(feature = "netcdf")]
        Resolved::Netcdf(p) => {
            crate::io::netcdf::open_netcdf(p, var, chunks.unwrap_or(crate::ChunkSpec::Auto))
        }
    }
}

enum Resolved {
    Npy(PathBuf),
    Zarr(PathBuf),
    #[cfg(feature = "netcdf")]
    Netcdf(PathBuf),
}

fn resolve(path: &Path, var: &str) -> Result<Resolved> {
    if path.extension().is_some_and(|e| e == "npy") {
        return Ok(Resolved::Npy(path.to_path_buf()));
    }
    if path.extension().is_some_and(|e| e == "nc" || e == "nc4") {
        #[cfg(feature = "netcdf")]
        return Ok(Resolved::Netcdf(path.to_path_buf()));
        #[cfg(not(feature = "netcdf"))]
        return Err(Error::format(path, "netCDF files need tessera built with the `netcdf` feature"));
    }
    let inner = path.join(var);
    if inner.join("zarr.json").exists() {
        return Ok(Resolved::Zarr(inner));
    }
    let v2 = |p: &Path| p.join(".zarray").exists() || p.join(".zgroup").exists();
    if v2(path) || v2(&inner) {
        return Err(Error::format(
            path,
            "is Zarr format 2 (.zarray/.zgroup), which tessera does not read; convert it to Zarr v3 \
             (for example xarray: ds.to_zarr(path, zarr_format=3))",
        ));
    }
    let meta = path.join("zarr.json");
    if meta.exists() {
        let text = std::fs::read_to_string(&meta).map_err(|e| Error::io(&meta, e))?;
        if text.contains("\"group\"") {
            return Err(Error::format(path, format!("this Zarr group has no array named '{var}'")));
        }
        return Ok(Resolved::Zarr(path.to_path_buf()));
    }
    if !path.exists() {
        return Err(Error::io(path, "no such file or directory"));
    }
    Err(Error::format(path, "neither a .npy file nor a Zarr v3 array or group"))
}

/// The days of a file's `time` coordinate, if it has one with CF units: the `time` array of
/// a Zarr group (as xarray writes it) or the `time` variable of a netCDF file.
pub fn time_days(path: &Path) -> Result<Option<Vec<Day>>> {
    let wrap = |e: Error| Error::format(path, format!("time coordinate: {e}"));
    if path.extension().is_some_and(|e| e == "nc" || e == "nc4") {
        #[cfg(feature = "netcdf")]
        if let Some((v, units, cal)) = crate::io::netcdf::time_coordinate(path)? {
            return days_from_cf(&v, &units, cal.as_deref()).map(Some).map_err(wrap);
        }
        return Ok(None);
    }
    let t = path.join("time");
    if !t.join("zarr.json").exists() {
        return Ok(None);
    }
    let attrs = zarr::attributes(&t)?;
    let Some(units) = attrs.get("units").and_then(|v| v.as_str()) else { return Ok(None) };
    let cal = attrs.get("calendar").and_then(|v| v.as_str());
    // CF cell bounds (`bounds: "time_bnds"`, an array beside `time`): the cell's middle dates it.
    let bounds = match attrs.get("bounds").and_then(|v| v.as_str()) {
        Some(b) if path.join(b).join("zarr.json").exists() => Some(zarr::read_f64(path.join(b))?),
        _ => None,
    };
    let values = crate::calendar::cell_middles(zarr::read_f64(&t)?, bounds.as_deref());
    days_from_cf(&values, units, cal).map(Some).map_err(wrap)
}

/// Whether `d` is a day on which the standard and proleptic Gregorian calendars agree (files
/// in either may then be joined).
fn gregorian_after_reform(d: Day) -> bool {
    use crate::calendar::Calendar;
    matches!(d.calendar, Calendar::Standard | Calendar::ProlepticGregorian) && d.year > 1582
}

/// Open daily files (in date order) joined along `axis`, and the date of each position
/// along it: consecutive days from `start` when given; otherwise each file's own `time`
/// coordinate (see [`time_days`]) or, without one, consecutive days from 1 January of the
/// year in its name (the file then holds whole years).
pub fn open_daily<T: Element>(
    files: &[PathBuf],
    var: &str,
    axis: usize,
    start: Option<Day>,
    chunks: Option<crate::ChunkSpec>,
) -> Result<(Array<T>, Vec<Day>)> {
    let x = open_many(files, axis, |p| open_any::<T>(p, var, chunks.clone()))?;
    let n = x.shape()[axis];
    if let Some(s) = start {
        return Ok((x, days_from(s, n)));
    }
    let mut days: Vec<Day> = Vec::with_capacity(n);
    for f in files {
        let len = open_any::<T>(f, var, None)?.shape()[axis];
        let own = match time_days(f)? {
            Some(d) if d.len() == len => d,
            Some(d) => {
                return Err(Error::format(
                    f,
                    format!(
                        "its time coordinate has {} values, but '{var}' has {len} along axis {axis}",
                        d.len()
                    ),
                ));
            }
            None => {
                let year = year_in_name(f).ok_or_else(|| {
                    Error::format(f, "cannot tell the dates of this file: it has no time coordinate and no year in its name (sst.1982.zarr); give a start date")
                })?;
                days_from(Day::new(year, 0), len)
            }
        };
        if let (Some(&last), Some(&first)) = (days.last(), own.first())
            && first.calendar != last.calendar
            && !(gregorian_after_reform(first) && gregorian_after_reform(last))
        {
            return Err(Error::format(
                f,
                format!(
                    "its time is in the {} calendar, the previous files' in the {}: their days of year and months differ",
                    first.calendar, last.calendar
                ),
            ));
        }
        if let (Some(&last), Some(&first)) = (days.last(), own.first())
            && first <= last
        {
            let d = |d: Day| format!("{} day {}", d.year, d.doy + 1);
            return Err(Error::format(
                f,
                format!(
                    "starts on {}, not after the previous file's last day ({}); are the files in date order?",
                    d(first),
                    d(last)
                ),
            ));
        }
        days.extend(own);
    }
    Ok((x, days))
}
