//! The CF metadata of a netCDF or Zarr result (`tessera VERB in.nc out.nc`, `… out.zarr`):
//! the input's dimension names, its latitude/longitude coordinates where the result keeps
//! those axes, a time coordinate in the input's units and calendar where it keeps time (every
//! step, or each group's last day, as CDO dates a group), the variable's attributes with a
//! `cell_methods` entry for the reduction, and a `history` line prepended to the input's.
//! The input may be netCDF or a Zarr group (as `generate-sst` and xarray write them); what
//! it lacks (a .npy file has none of it) is left out or guessed (`time, lat, lon`).
//! [`write`] writes the result with it: a netCDF file, or a Zarr group laid out as xarray
//! writes a Dataset.

use std::path::{Path, PathBuf};

use tessera::calendar::{Day, cf_values};
use tessera::io::{NcCoordinate, NcMeta, open_any};
use tessera::{Array, ComputeOptions, Element, Reduction, RunReport};

/// How the result's axes relate to the input's (a (time, …) array joined along time).
pub enum Axes<'a> {
    /// Axis `axis` of the input reduced away; the days of the steps when time is kept.
    Reduced(usize, Option<&'a [Day]>),
    /// Time (axis 0) grouped: one step per group, dated by its last day.
    Grouped(&'a [Day], &'a [i64]),
    /// Every step kept (anomalies), on the days given.
    Kept(&'a [Day]),
    /// The last two axes reduced away (a field mean), every step kept.
    Field(&'a [Day]),
}

/// The metadata of result `shape` of `op` over the files (the first one's metadata); `grid`:
/// the latitudes and longitudes of a --lonlatbox region, in place of the file's.
pub fn meta(
    first: &Path,
    var: &str,
    axes: Axes<'_>,
    shape: &[usize],
    op: Option<Reduction>,
    grid: Option<(&[f64], &[f64])>,
) -> tessera::Result<NcMeta> {
    let nd = open_any::<f32>(first, var, None)
        .map(|x| x.ndim())
        .or_else(|_| open_any::<f64>(first, var, None).map(|x| x.ndim()))?;
    let in_dims: Vec<String> = match input_dims(first, var)? {
        Some(d) if d.len() == nd => d,
        _ => match nd {
            3 => vec!["time".into(), "lat".into(), "lon".into()],
            n => (0..n).map(|k| format!("dim_{k}")).collect(),
        },
    };
    let nd = in_dims.len();
    // The input axes the result keeps, in order, and which of them is time.
    let kept: Vec<usize> = match &axes {
        Axes::Reduced(a, _) => (0..nd).filter(|k| k != a).collect(),
        Axes::Grouped(..) | Axes::Kept(_) => (0..nd).collect(),
        Axes::Field(_) => (0..nd.saturating_sub(2)).collect(),
    };
    let mut dims: Vec<String> = kept.iter().map(|&k| in_dims[k].clone()).collect();
    dims.truncate(shape.len());
    let mut m = NcMeta { dims: dims.clone(), ..NcMeta::default() };
    // Time, in the input's units and calendar.
    let time_days: Option<Vec<Day>> = match &axes {
        Axes::Reduced(a, days) => days.filter(|_| *a != 0).map(<[Day]>::to_vec),
        Axes::Grouped(days, labels) => {
            let mut last: Vec<(i64, Day)> = Vec::new();
            for (d, l) in days.iter().zip(labels.iter()).filter(|(_, l)| **l >= 0) {
                match last.iter_mut().find(|(g, _)| g == l) {
                    Some(e) => e.1 = *d,
                    None => last.push((*l, *d)),
                }
            }
            last.sort_by_key(|e| e.0);
            Some(last.into_iter().map(|e| e.1).collect())
        }
        Axes::Kept(days) | Axes::Field(days) => Some(days.to_vec()),
    };
    if let (Some(days), Some(k)) = (time_days, dims.iter().position(|d| d == &in_dims[0]))
        && shape.get(k) == Some(&days.len())
        && !days.is_empty()
    {
        {
            let (units, calendar) = input_time_units(first)?
                .unwrap_or_else(|| (format!("days since {}", days[0]), Some(days[0].calendar.to_string())));
            let values = cf_values(&days, &units)?;
            let mut attrs = vec![("standard_name".into(), "time".into()), ("units".into(), units)];
            if let Some(c) = calendar {
                attrs.push(("calendar".into(), c));
            }
            m.coords.push((dims[k].clone(), values, attrs));
        }
    }
    // Latitude and longitude (or whatever the other kept axes are), copied where they exist.
    for (k, name) in dims.iter().enumerate() {
        if name == &in_dims[0] || m.coords.iter().any(|c| &c.0 == name) {
            continue;
        }
        // A --lonlatbox's latitudes and longitudes replace the file's (the last two axes).
        let boxed = grid.and_then(|(lat, lon)| match in_dims.iter().position(|d| d == name) {
            Some(i) if i + 2 == nd => Some(lat.to_vec()),
            Some(i) if i + 1 == nd => Some(lon.to_vec()),
            _ => None,
        });
        if let Some((name, values, attrs)) = coordinate(first, name)? {
            let values = boxed.unwrap_or(values);
            if values.len() == shape[k] {
                m.coords.push((name, values, attrs));
            }
        }
    }
    m.attrs = input_attributes(first, var, false)?;
    // Attributes naming other variables of the input that the result does not carry (its
    // cell areas, ancillary data): CF asks that a named variable be in the file.
    m.attrs.retain(|(k, _)| !matches!(k.as_str(), "cell_measures" | "ancillary_variables"));
    if let Some(op) = op {
        let reduced: Vec<&str> = match &axes {
            Axes::Reduced(a, _) => vec![in_dims[*a].as_str()],
            Axes::Grouped(..) => vec![in_dims[0].as_str()],
            Axes::Field(_) => in_dims[nd.saturating_sub(2)..].iter().map(String::as_str).collect(),
            Axes::Kept(_) => Vec::new(),
        };
        if !reduced.is_empty() {
            let method = cell_method(op);
            let entry = format!("{}: {method}", reduced.join(": "));
            match m.attrs.iter_mut().find(|(k, _)| k == "cell_methods") {
                Some((_, v)) => *v = format!("{v} {entry}"),
                None => m.attrs.push(("cell_methods".into(), entry)),
            }
        }
    }
    let earlier =
        input_attributes(first, var, true)?.into_iter().find(|(k, _)| k == "history").map(|(_, v)| v);
    let args: Vec<String> = std::iter::once("tessera".to_string()).chain(std::env::args().skip(1)).collect();
    let line = format!("{}: {}", now_utc(), args.join(" "));
    let history = match earlier {
        Some(h) if !h.is_empty() => format!("{line}\n{h}"),
        _ => line,
    };
    m.global = vec![("Conventions".into(), "CF-1.8".into()), ("history".into(), history)];
    Ok(m)
}

/// CF's name of a reduction in `cell_methods` (`mean`, `standard_deviation`, …).
fn cell_method(op: Reduction) -> String {
    let name = op.to_string();
    let base = name.strip_prefix("nan").unwrap_or(&name);
    match base {
        "std" => "standard_deviation",
        "var" => "variance",
        "min" => "minimum",
        "max" => "maximum",
        other => other,
    }
    .to_string()
}

/// Write result `x` as variable `var` of `out` with its metadata `m`: a netCDF file for
/// `.nc`, otherwise a Zarr v3 group (`tessera::io::zarr::to_zarr_dataset`: `var`, its
/// coordinates, `dimension_names` and attributes, as xarray reads them).
pub fn write<T: Element>(
    x: &Array<T>,
    out: &Path,
    var: &str,
    m: &NcMeta,
    opts: &ComputeOptions,
) -> tessera::Result<RunReport> {
    if is_netcdf(out) {
        #[cfg(feature = "netcdf")]
        return tessera::io::netcdf::to_netcdf_with(x, out, var, m, opts);
        #[cfg(not(feature = "netcdf"))]
        return Err(no_netcdf(out));
    }
    tessera::io::zarr::to_zarr_dataset(x, out, var, m, opts)
}

/// Whether `path` names a netCDF file (by its extension).
fn is_netcdf(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "nc" || e == "nc4")
}

/// The error for a netCDF file in a build without libnetcdf.
#[cfg(not(feature = "netcdf"))]
fn no_netcdf(path: &Path) -> tessera::Error {
    tessera::Error::format(path, "netCDF files need tessera built with the `netcdf` feature")
}

/// The array of variable `var` of a Zarr input: the group's array of that name, or the input
/// itself when it is a bare array.
fn zarr_array(path: &Path, var: &str) -> PathBuf {
    let inner = path.join(var);
    if inner.join("zarr.json").exists() { inner } else { path.to_path_buf() }
}

/// The names of the dimensions of `var` in the input (`None`: it names none, as .npy files).
fn input_dims(path: &Path, var: &str) -> tessera::Result<Option<Vec<String>>> {
    if is_netcdf(path) {
        #[cfg(feature = "netcdf")]
        return tessera::io::netcdf::dimension_names(path, var).map(Some);
        #[cfg(not(feature = "netcdf"))]
        return Err(no_netcdf(path));
    }
    if path.extension().is_some_and(|e| e == "npy") {
        return Ok(None);
    }
    tessera::io::zarr::dimension_names(zarr_array(path, var))
}

/// The string attributes of `var` in the input, less the reserved ones (`_FillValue`, …);
/// `global`: the file's or group's instead (none for a bare Zarr array or a .npy file).
fn input_attributes(path: &Path, var: &str, global: bool) -> tessera::Result<Vec<(String, String)>> {
    let all: Vec<(String, String)> = if is_netcdf(path) {
        #[cfg(feature = "netcdf")]
        {
            tessera::io::netcdf::string_attributes(path, (!global).then_some(var))?
        }
        #[cfg(not(feature = "netcdf"))]
        return Err(no_netcdf(path));
    } else if path.extension().is_some_and(|e| e == "npy") {
        Vec::new()
    } else {
        let array = zarr_array(path, var);
        let attrs = match (global, array == path) {
            (false, _) => tessera::io::zarr::attributes(&array)?,
            (true, false) => tessera::io::zarr::group_attributes(path)?,
            (true, true) => Default::default(),
        };
        attrs.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string()))).collect()
    };
    Ok(all.into_iter().filter(|(k, _)| !k.starts_with('_')).collect())
}

/// The input's time `units` and `calendar`: its netCDF `time` variable or Zarr `time` array.
fn input_time_units(path: &Path) -> tessera::Result<Option<(String, Option<String>)>> {
    if is_netcdf(path) {
        #[cfg(feature = "netcdf")]
        return Ok(tessera::io::netcdf::time_coordinate(path)?.map(|(_, u, c)| (u, c)));
        #[cfg(not(feature = "netcdf"))]
        return Err(no_netcdf(path));
    }
    let t = path.join("time");
    if !t.join("zarr.json").exists() {
        return Ok(None);
    }
    let a = tessera::io::zarr::attributes(&t)?;
    let s = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(s("units").map(|u| (u, s("calendar"))))
}

/// A 1-d coordinate `name` of the input, as f64, with its string attributes.
fn coordinate(path: &Path, name: &str) -> tessera::Result<Option<NcCoordinate>> {
    // Of a Zarr input, only an array of that name in its group (a bare array has none).
    if !is_netcdf(path) && !path.join(name).join("zarr.json").exists() {
        return Ok(None);
    }
    let Some(values) = crate::reduce::coordinate_1d(path, name)? else { return Ok(None) };
    Ok(Some((name.to_string(), values, input_attributes(path, name, false)?)))
}

/// The time now, `YYYY-MM-DD hh:mm:ss` UTC (as CDO writes its history lines).
fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let day =
        Day::from_days_since_epoch((secs / 86400) as i64).map_or_else(|_| "?".into(), |d| d.to_string());
    let s = secs % 86400;
    format!("{day} {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
