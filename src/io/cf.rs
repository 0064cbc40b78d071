//! The CF metadata of a result, whatever the format it is written in: [`NcMeta`] describes
//! it once, and both writers take it (`tessera::io::netcdf::to_netcdf_with` with the
//! `netcdf` feature, [`crate::io::zarr::to_zarr_dataset`] always). It is plain data, so a
//! build without libnetcdf can still write a Zarr result with CF metadata.

use crate::core::error::{Error, Result};

/// What a written result carries besides its variable's values, as CF asks: the
/// dimensions' names, coordinate variables, the variable's attributes (`units`,
/// `long_name`, …) and the file's or group's (`history`, `Conventions`).
///
/// ```
/// let meta = tessera::io::NcMeta {
///     dims: vec!["lat".into(), "lon".into()],
///     coords: vec![("lat".into(), vec![-45.0, 45.0], vec![("units".into(), "degrees_north".into())])],
///     attrs: vec![("units".into(), "degC".into())],
///     global: vec![("Conventions".into(), "CF-1.8".into())],
/// };
/// assert!(meta.check(&[2, 4]).is_ok());
/// assert!(meta.check(&[3, 4]).is_err()); // 2 latitudes for 3 rows
/// ```
#[derive(Debug, Clone, Default)]
pub struct NcMeta {
    /// One name per axis of the variable.
    pub dims: Vec<String>,
    /// Coordinate variables.
    pub coords: Vec<NcCoordinate>,
    /// String attributes of the variable.
    pub attrs: Vec<(String, String)>,
    /// String attributes of the file (the group, in Zarr).
    pub global: Vec<(String, String)>,
}

/// A coordinate variable: its dimension's name, values (f64), string attributes.
pub type NcCoordinate = (String, Vec<f64>, Vec<(String, String)>);

impl NcMeta {
    /// An error unless the metadata fits a variable of `shape`: one dimension name per
    /// axis, and each coordinate a dimension's, as long as it.
    pub fn check(&self, shape: &[usize]) -> Result<()> {
        if self.dims.len() != shape.len() {
            return Err(Error::invalid(format!(
                "{} dimension names for a {}-d array",
                self.dims.len(),
                shape.len()
            )));
        }
        for (dim, values, _) in &self.coords {
            let len = self.dims.iter().position(|d| d == dim).map(|k| shape[k]);
            if len != Some(values.len()) {
                return Err(Error::invalid(format!(
                    "coordinate '{dim}' has {} values for a dimension of {len:?}",
                    values.len()
                )));
            }
        }
        Ok(())
    }
}
