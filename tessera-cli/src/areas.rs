//! `fldmean`'s weights, chosen as CDO chooses them: the grid's cell areas when the file
//! carries them, else cos(latitude).
//!
//! CDO (through CDI) takes a netCDF variable's cell areas from its CF `cell_measures`
//! attribute (`"area: areacello"`) when the variable it names is in the same file, and
//! guesses none by name: a `cell_area` or `areacella` variable that no `cell_measures`
//! names is data like any other, here too. Without areas CDO computes them from the grid's
//! cell bounds; on a regular, evenly spaced latitude-longitude grid those are proportional to
//! cos(latitude), the weights used here then. Areas that a CMIP file lists in its global
//! `external_variables` (kept in another file) are not looked for: a one-line note on
//! stderr says cos(latitude) is used instead. A missing area (`_FillValue`, NaN) leaves its
//! cell out, as CDO leaves out a cell whose weight is missing; a negative or infinite one is
//! an error. Only netCDF inputs carry areas; Zarr and .npy ones are weighted by cos(latitude).

use std::path::Path;

use ndarray::{Array2, Axis};
use tessera::Float;
use tessera::prelude::*;

/// The NaN-aware area-weighted mean over the last two axes of `x`, the data of variable
/// `var` whose first file is `file`: weighted by the cell areas `file` holds for `var` (see
/// the module), restricted to the rows and columns `keep` when `--lonlatbox` chose some;
/// else by cos(latitude) of the latitudes `lat` gives.
pub fn field_mean<T: Float>(
    x: &Array<T>,
    file: &Path,
    var: &str,
    keep: Option<(&[usize], &[usize])>,
    lat: impl FnOnce() -> tessera::Result<Vec<f64>>,
) -> tessera::Result<Array<f64>> {
    match cell_areas::<T>(file, var)? {
        Some(areas) => {
            let areas = match keep {
                Some((rows, cols)) => areas.select(Axis(0), rows).select(Axis(1), cols),
                None => areas,
            };
            tessera::stats::field_mean_weighted(x, areas.view())
        }
        None => tessera::stats::field_mean(x, &lat()?),
    }
}

/// The cell areas (lat × lon) that the netCDF file `file` names for its variable `var`, or
/// `None` when it names none that it holds.
#[cfg(feature = "netcdf")]
fn cell_areas<T: Float>(file: &Path, var: &str) -> tessera::Result<Option<Array2<f64>>> {
    use ndarray::Dimension;
    use tessera::io::netcdf::{string_attributes, variable_names};
    use tessera::io::{dtype_of, open_any};
    if !file.extension().is_some_and(|e| e == "nc" || e == "nc4") {
        return Ok(None);
    }
    let attrs = string_attributes(file, Some(var))?;
    let Some(name) = attrs.iter().find(|(k, _)| k == "cell_measures").and_then(|(_, v)| area_name(v)) else {
        return Ok(None);
    };
    if !variable_names(file)?.contains(&name) {
        let external = string_attributes(file, None)?
            .iter()
            .any(|(k, v)| k == "external_variables" && v.split_whitespace().any(|n| n == name));
        let whence = if external { "in another file (external_variables)" } else { "not in the file" };
        eprintln!(
            "note: {}: the cell areas '{name}' of '{var}' are {whence}; fldmean weights by cos(latitude) \
             instead",
            file.display()
        );
        return Ok(None);
    }
    let what = || format!("the cell areas '{name}' of '{var}'");
    let areas = match dtype_of(file, &name)? {
        DType::Bool => return Err(tessera::Error::format(file, format!("{} hold bool values", what()))),
        // Any number type, as f64.
        d => tessera::with_dtype!(d, T => open_any::<T>(file, &name, None)?.astype::<f64>()),
    }
    .compute()?;
    let shape = open_any::<T>(file, var, None)?.shape().to_vec();
    let grid = &shape[shape.len().saturating_sub(2)..];
    if areas.shape() != grid {
        return Err(tessera::Error::format(
            file,
            format!(
                "{} have shape {:?}; fldmean needs one per cell of the grid, {grid:?}",
                what(),
                areas.shape()
            ),
        ));
    }
    if let Some((at, a)) = areas.indexed_iter().find(|(_, a)| **a < 0.0 || a.is_infinite()) {
        return Err(tessera::Error::format(
            file,
            format!("{} hold {a} at {:?}; an area is finite and not negative", what(), at.slice()),
        ));
    }
    let areas = areas.into_dimensionality().map_err(|e| tessera::Error::internal(e.to_string()))?;
    Ok(Some(areas))
}

/// Without netCDF no file carries cell areas (`T`: the signature of the netCDF build's).
#[cfg(not(feature = "netcdf"))]
#[allow(clippy::extra_unused_type_parameters)]
fn cell_areas<T: Float>(_file: &Path, _var: &str) -> tessera::Result<Option<Array2<f64>>> {
    Ok(None)
}

/// The variable a CF `cell_measures` attribute names for the area (`"area: areacello
/// volume: volcello"` → `areacello`).
#[cfg_attr(not(feature = "netcdf"), allow(dead_code))]
fn area_name(cell_measures: &str) -> Option<String> {
    let spaced = cell_measures.replace(':', ": ");
    let mut words = spaced.split_whitespace();
    while let Some(w) = words.next() {
        if w == "area:" {
            return words.next().filter(|n| !n.ends_with(':')).map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::area_name;

    #[test]
    fn cell_measures_name_the_area_variable() {
        assert_eq!(area_name("area: areacello").as_deref(), Some("areacello"));
        assert_eq!(area_name("volume: volcello area: cell_area").as_deref(), Some("cell_area"));
        assert_eq!(area_name("area:areacella").as_deref(), Some("areacella"));
        assert_eq!(area_name("volume: volcello"), None);
        assert_eq!(area_name("area:"), None);
        assert_eq!(area_name("area: volume: volcello"), None);
    }
}
