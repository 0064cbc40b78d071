//! Zarr v3 groups laid out as xarray writes a Dataset: a data variable, its 1-d coordinates,
//! `dimension_names` on every array and CF attributes ([`to_zarr_dataset`]); and reading such
//! a group back as its one data variable (`array_path`, used by `open_zarr`).

use std::path::{Path, PathBuf};

use crate::array::Array;
use crate::compute::RunReport;
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::io::NcMeta;
use crate::io::zarr::{ZarrMeta, create_group, write_coordinate};
use crate::runtime::ComputeOptions;

type Attributes = serde_json::Map<String, serde_json::Value>;

/// Compute `x` into variable `var` of a new Zarr v3 group at `path`, block by block, with
/// the CF metadata `meta`, as xarray lays out a Dataset: the array `var` over `meta.dims`
/// (its `dimension_names`) with `meta.attrs` as its attributes, one 1-d f64 array per
/// coordinate (named for its dimension, with its attributes: `units`, `calendar`, …) and
/// `meta.global` as the group's attributes (`history`, `Conventions`).
/// `xarray.open_zarr(path)` decodes it (time by its units and calendar);
/// [`crate::io::zarr::open_zarr`] opens `var`. The group appears whole or not at all (an
/// existing Zarr store at `path` is replaced only when every array is written).
///
/// ```
/// use tessera::prelude::*;
/// use tessera::io::{NcMeta, zarr};
/// let dir = std::env::temp_dir().join(format!("tessera-doc-dataset-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let x = tessera::arange::<f64>(0.0, 6.0, 1.0, [6])?.reshape(&[2, 3])?;
/// let meta = NcMeta {
///     dims: vec!["lat".into(), "lon".into()],
///     coords: vec![("lat".into(), vec![-45.0, 45.0], vec![("units".into(), "degrees_north".into())])],
///     attrs: vec![("units".into(), "K".into())],
///     global: vec![("Conventions".into(), "CF-1.8".into())],
/// };
/// zarr::to_zarr_dataset(&x, dir.join("t.zarr"), "t", &meta, &ComputeOptions::default())?;
/// assert_eq!(zarr::dimension_names(dir.join("t.zarr/t"))?, Some(vec!["lat".into(), "lon".into()]));
/// assert_eq!(zarr::open_zarr::<f64>(dir.join("t.zarr"), None)?.shape(), &[2, 3]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_zarr_dataset<T: Element>(
    x: &Array<T>,
    path: impl AsRef<Path>,
    var: &str,
    meta: &NcMeta,
    opts: &ComputeOptions,
) -> Result<RunReport> {
    let path = path.as_ref();
    meta.check(x.shape())?;
    let names: Vec<&str> = std::iter::once(var).chain(meta.coords.iter().map(|c| c.0.as_str())).collect();
    for (k, &name) in names.iter().enumerate() {
        if !is_node_name(name) {
            return Err(Error::invalid(format!(
                "cannot write '{}': '{name}' is not a name a Zarr array can have (empty, '.', '..', \
                 a '/' or a leading '__')",
                path.display()
            )));
        }
        if names[..k].contains(&name) {
            return Err(Error::invalid(format!(
                "cannot write '{}': two arrays named '{name}' (the variable and a coordinate, or two \
                 coordinates)",
                path.display()
            )));
        }
    }
    crate::io::check_output(x, path)?;
    let group = create_group(path, strings(&meta.global))?;
    for (dim, values, attrs) in &meta.coords {
        let m = ZarrMeta {
            dimension_names: Some(vec![dim.clone()]),
            attributes: strings(attrs),
            ..Default::default()
        };
        write_coordinate(group.path().join(dim), values.clone(), &m)?;
    }
    let m = ZarrMeta {
        dimension_names: Some(meta.dims.clone()),
        attributes: strings(&meta.attrs),
        ..Default::default()
    };
    let (x, w) = group.writer_for(x, var, &m)?;
    let report = x.store(&w, opts)?;
    group.commit()?;
    Ok(report)
}

/// String attributes as a Zarr attribute map.
fn strings(attrs: &[(String, String)]) -> Attributes {
    attrs.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect()
}

/// Whether `name` can name an array of a group on any filesystem: one path component, not a
/// name Zarr v3 reserves (a leading `__`).
fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with("__")
}

/// The attributes of the Zarr v3 group at `path` (`history`, `Conventions`, …).
pub fn group_attributes(path: impl AsRef<Path>) -> Result<Attributes> {
    let path = path.as_ref();
    match node(path)? {
        Some(n) if n.get("node_type").and_then(|t| t.as_str()) == Some("group") => {
            Ok(n.get("attributes").and_then(|a| a.as_object()).cloned().unwrap_or_default())
        }
        Some(_) => Err(Error::format(path, "is a Zarr array, not a group")),
        None => Err(Error::io(path, "is not a Zarr v3 group (no zarr.json)")),
    }
}

/// The `zarr.json` of the node at `path` as JSON; `None` when it has none. Text that is not a
/// JSON object is an error naming the file.
fn node(path: &Path) -> Result<Option<Attributes>> {
    let meta = path.join("zarr.json");
    let text = match std::fs::read_to_string(&meta) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&meta, e)),
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(m)) => Ok(Some(m)),
        _ => Err(Error::format(&meta, "is not a JSON object")),
    }
}

/// The array `path` stands for: itself, or, for a group, the one data variable it holds.
pub(crate) fn array_path(path: &Path) -> Result<PathBuf> {
    match node(path) {
        Ok(Some(n)) if n.get("node_type").and_then(|t| t.as_str()) == Some("group") => data_variable(path),
        // Anything else is opened as an array, which says what is wrong with it.
        _ => Ok(path.to_path_buf()),
    }
}

/// The one data variable of the group at `path`: its arrays less the coordinates (a 1-d
/// array named for its dimension, or one that another array names in its `coordinates` or
/// `bounds` attribute, as CF and xarray count them).
fn data_variable(path: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
    let mut arrays: Vec<(String, Attributes)> = Vec::new();
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
        // Hidden entries are temporaries (a staged output), never variables.
        if name.starts_with('.') {
            continue;
        }
        if let Ok(Some(n)) = node(&e.path())
            && n.get("node_type").and_then(|t| t.as_str()) == Some("array")
        {
            arrays.push((name, n));
        }
    }
    arrays.sort_by(|a, b| a.0.cmp(&b.0));
    let mut coords: Vec<String> = Vec::new();
    for (name, n) in &arrays {
        let dims = n.get("dimension_names").and_then(|d| d.as_array());
        if dims.is_some_and(|d| d.len() == 1 && d[0].as_str() == Some(name)) {
            coords.push(name.clone());
        }
        let attrs = n.get("attributes").and_then(|a| a.as_object());
        for key in ["coordinates", "bounds"] {
            if let Some(list) = attrs.and_then(|a| a.get(key)).and_then(|v| v.as_str()) {
                coords.extend(list.split_whitespace().map(str::to_string));
            }
        }
    }
    let vars: Vec<&str> =
        arrays.iter().map(|a| a.0.as_str()).filter(|n| !coords.iter().any(|c| c == n)).collect();
    match vars.as_slice() {
        [one] => Ok(path.join(one)),
        [] => Err(Error::format(
            path,
            "is a Zarr group with no data variable (only coordinates, or no arrays); open one of its \
             arrays as GROUP/NAME",
        )),
        many => Err(Error::format(
            path,
            format!(
                "is a Zarr group of {} variables ({}); open one of them as GROUP/NAME",
                many.len(),
                many.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tessera-zarr-dataset-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn meta() -> NcMeta {
        let lat = ("lat".to_string(), vec![-45.0, 45.0], vec![("units".into(), "degrees_north".into())]);
        NcMeta { dims: vec!["lat".into(), "lon".into()], coords: vec![lat], ..Default::default() }
    }

    #[test]
    fn node_names_are_one_path_component() {
        assert!(is_node_name("sst") && is_node_name("time_bnds") && is_node_name("a.b"));
        for bad in ["", ".", "..", "a/b", "../x", "__x", "a\\b"] {
            assert!(!is_node_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_group_stands_for_its_one_data_variable() {
        let d = dir("one");
        let x = crate::ones::<f32>(&[2, 3], [2, 3]).unwrap();
        let opts = ComputeOptions::default();
        // A variable and its coordinates, and time_bnds, a coordinate by `bounds`.
        let g = create_group(d.join("g.zarr"), Default::default()).unwrap();
        let t = ZarrMeta::default().dims(&["time"]).attr("bounds", "time_bnds");
        write_coordinate(g.path().join("time"), vec![0.5f64], &t).unwrap();
        let b = ZarrMeta::default().dims(&["time", "nv"]);
        let (bx, w) = crate::io::zarr::zarr_writer_for(
            &crate::zeros::<f64>(&[1, 2], [1, 2]).unwrap(),
            g.path().join("time_bnds"),
            &b,
        )
        .unwrap();
        bx.store(&w, &opts).unwrap();
        let (vx, w) = crate::io::zarr::zarr_writer_for(
            &x,
            g.path().join("v"),
            &ZarrMeta::default().dims(&["lat", "lon"]),
        )
        .unwrap();
        vx.store(&w, &opts).unwrap();
        g.commit().unwrap();
        assert_eq!(array_path(&d.join("g.zarr")).unwrap(), d.join("g.zarr/v"));
        assert_eq!(array_path(&d.join("g.zarr/time")).unwrap(), d.join("g.zarr/time"));
        // Two variables: an error naming both; coordinates alone: an error too.
        to_zarr_dataset(&x, d.join("two.zarr"), "a", &meta(), &opts).unwrap();
        let (cx, w) =
            crate::io::zarr::zarr_writer_for(&x, d.join("two.zarr/b"), &ZarrMeta::default()).unwrap();
        cx.store(&w, &opts).unwrap();
        let e = array_path(&d.join("two.zarr")).unwrap_err().to_string();
        assert!(e.contains("'a', 'b'") && e.contains("two.zarr"), "{e}");
        std::fs::remove_dir_all(d.join("two.zarr/a")).unwrap();
        std::fs::remove_dir_all(d.join("two.zarr/b")).unwrap();
        let e = array_path(&d.join("two.zarr")).unwrap_err().to_string();
        assert!(e.contains("no data variable"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_names_and_shapes_are_refused_before_anything_is_written() {
        let d = dir("bad");
        let x = crate::ones::<f32>(&[2, 3], [2, 3]).unwrap();
        let opts = ComputeOptions::default();
        let out = d.join("o.zarr");
        for (var, says) in [("lat", "two arrays named 'lat'"), ("../x", "not a name"), ("", "not a name")] {
            let e = to_zarr_dataset(&x, &out, var, &meta(), &opts).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains("o.zarr"), "{var:?}: {e}");
        }
        let y = crate::ones::<f32>(&[3, 3], [3, 3]).unwrap();
        let e = to_zarr_dataset(&y, &out, "v", &meta(), &opts).unwrap_err().to_string();
        assert!(e.contains("coordinate 'lat' has 2 values"), "{e}");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "nothing written");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
