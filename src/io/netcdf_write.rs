//! Writing netCDF-4 files (cargo feature `netcdf`): a variable block by block, staged and
//! renamed into place, with the CF metadata a climate user expects (dimension names,
//! coordinates, attributes, `history`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::array::Array;
use crate::compute::RunReport;
use crate::core::block::HostArray;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::io::BlockSink;
use crate::io::cf::NcMeta;
use crate::io::staged::{Kind, Staged};
use crate::map_host;
use crate::runtime::ComputeOptions;

/// Writes one variable of a new netCDF-4 file block by block (serialised: libnetcdf is not
/// thread-safe). Float variables get `_FillValue = NaN`.
///
/// The file is written under a temporary name beside `path` and renamed into place by
/// `finish` (see [`crate::io::staged`]): a run that fails leaves `path` as it was.
pub struct NetcdfWriter {
    path: PathBuf,
    var: String,
    /// The open file until `finish` closes it.
    file: Mutex<Option<netcdf::FileMut>>,
    staged: Mutex<Option<Staged>>,
}

impl NetcdfWriter {
    /// Stage a file at `path` (an existing file is replaced when the writer finishes) with
    /// variable `var` of `dtype` over dimensions `dims` (name and length each).
    pub fn create(path: impl AsRef<Path>, var: &str, dtype: DType, dims: &[(&str, usize)]) -> Result<Self> {
        crate::io::netcdf::quiet_hdf5();
        let path = path.as_ref();
        let err = |e: netcdf::Error| Error::io(path, format!("cannot write netCDF: {e}"));
        let staged = Staged::new(path, Kind::File)?;
        let mut f = netcdf::create(staged.path()).map_err(err)?;
        for (name, len) in dims {
            f.add_dimension(name, *len).map_err(err)?;
        }
        let names: Vec<&str> = dims.iter().map(|d| d.0).collect();
        {
            let mut v = match dtype {
                DType::F32 => f.add_variable::<f32>(var, &names),
                DType::F64 => f.add_variable::<f64>(var, &names),
                DType::I32 => f.add_variable::<i32>(var, &names),
                DType::I64 => f.add_variable::<i64>(var, &names),
                DType::Bool => return Err(Error::invalid("netCDF has no bool type; store as i32")),
            }
            .map_err(err)?;
            match dtype {
                DType::F32 => {
                    v.put_attribute("_FillValue", f32::NAN).map_err(err)?;
                }
                DType::F64 => {
                    v.put_attribute("_FillValue", f64::NAN).map_err(err)?;
                }
                _ => {}
            }
        }
        Ok(NetcdfWriter {
            path: path.to_path_buf(),
            var: var.to_string(),
            file: Mutex::new(Some(f)),
            staged: Mutex::new(Some(staged)),
        })
    }

    /// The open file (an error once `finish` closed it).
    fn open(&self) -> Result<std::sync::MutexGuard<'_, Option<netcdf::FileMut>>> {
        let f = self.file.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?;
        if f.is_none() {
            return Err(Error::io(&self.path, "the writer has finished; nothing more can be written"));
        }
        Ok(f)
    }

    /// Add the coordinate variable of dimension `dim` (a double variable of the same name
    /// over that dimension) with these values and string attributes (`units`, `calendar`, …).
    pub fn add_coordinate(&self, dim: &str, values: &[f64], attrs: &[(&str, &str)]) -> Result<()> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing coordinate '{dim}': {e}"));
        let mut guard = self.open()?;
        let f = guard.as_mut().expect("open");
        let mut v = f.add_variable::<f64>(dim, &[dim]).map_err(err)?;
        for (k, val) in attrs {
            v.put_attribute(k, *val).map_err(err)?;
        }
        v.put_values(values, ..).map_err(err)
    }

    /// Set a string attribute of the file (`history`, `Conventions`, …).
    pub fn add_global_attribute(&self, name: &str, value: &str) -> Result<()> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing attribute '{name}': {e}"));
        let mut guard = self.open()?;
        let f = guard.as_mut().expect("open");
        f.add_attribute(name, value).map(|_| ()).map_err(err)
    }

    /// Set a string attribute (`units`, `long_name`, …) of the variable being written.
    pub fn add_attribute(&self, name: &str, value: &str) -> Result<()> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing attribute '{name}': {e}"));
        let mut guard = self.open()?;
        let f = guard.as_mut().expect("open");
        let mut v = f.variable_mut(&self.var).ok_or_else(|| Error::io(&self.path, "variable vanished"))?;
        v.put_attribute(name, value).map(|_| ()).map_err(err)
    }
}

impl BlockSink for NetcdfWriter {
    fn write(&self, region: &[Range<usize>], block: &HostArray) -> Result<()> {
        crate::io::netcdf::quiet_hdf5();
        let mut guard = self.open()?;
        let f = guard.as_mut().expect("open");
        let mut v = f.variable_mut(&self.var).ok_or_else(|| Error::io(&self.path, "variable vanished"))?;
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing {region:?}: {e}"));
        map_host!(block, a => {
            let c = a.as_standard_layout();
            let s = c.as_slice().expect("standard layout");
            put(&mut v, s, region.to_vec()).map_err(err)
        })
    }
    fn finish(&self) -> Result<()> {
        let file = self.file.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?.take();
        if let Some(f) = file {
            f.close().map_err(|e| Error::io(&self.path, format!("closing the netCDF file: {e}")))?;
        }
        let staged = self.staged.lock().map_err(|_| Error::internal("netCDF writer lock poisoned"))?.take();
        staged.map_or(Ok(()), Staged::commit)
    }
    fn target(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

/// `put_values` for the element types netCDF has (bool never reaches here).
fn put<T: Element>(v: &mut netcdf::VariableMut<'_>, s: &[T], ext: Vec<Range<usize>>) -> netcdf::Result<()> {
    match T::DTYPE {
        DType::F32 => v.put_values(&s.iter().map(|x| x.to_f64() as f32).collect::<Vec<_>>(), ext),
        DType::F64 => v.put_values(&s.iter().map(|x| x.to_f64()).collect::<Vec<_>>(), ext),
        DType::I32 => v.put_values(&s.iter().map(|x| x.to_i64() as i32).collect::<Vec<_>>(), ext),
        DType::I64 => v.put_values(&s.iter().map(|x| x.to_i64()).collect::<Vec<_>>(), ext),
        DType::Bool => Err("netCDF has no bool type".into()),
    }
}

/// [`to_netcdf`] with dimension names, coordinates and attributes (see [`NcMeta`]); a
/// coordinate whose length is not its dimension's is an error.
pub fn to_netcdf_with<T: Element>(
    x: &Array<T>,
    path: impl AsRef<Path>,
    var: &str,
    meta: &NcMeta,
    opts: &ComputeOptions,
) -> Result<RunReport> {
    meta.check(x.shape())?;
    let spec: Vec<(&str, usize)> =
        meta.dims.iter().map(String::as_str).zip(x.shape().iter().copied()).collect();
    crate::io::check_output(x, path.as_ref())?;
    let w = NetcdfWriter::create(path, var, T::DTYPE, &spec)?;
    for (dim, values, attrs) in &meta.coords {
        let a: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        w.add_coordinate(dim, values, &a)?;
    }
    for (k, v) in &meta.attrs {
        w.add_attribute(k, v)?;
    }
    for (k, v) in &meta.global {
        w.add_global_attribute(k, v)?;
    }
    x.store(&w, opts)
}

/// Compute `x` into variable `var` of a new netCDF-4 file, block by block; dimensions are
/// named `dims` (or `dim_0`, `dim_1`, … when `None`).
pub fn to_netcdf<T: Element>(
    x: &Array<T>,
    path: impl AsRef<Path>,
    var: &str,
    dims: Option<&[&str]>,
    opts: &ComputeOptions,
) -> Result<RunReport> {
    let auto: Vec<String> = (0..x.ndim()).map(|k| format!("dim_{k}")).collect();
    let names: Vec<&str> = match dims {
        Some(d) if d.len() == x.ndim() => d.to_vec(),
        Some(d) => {
            return Err(Error::invalid(format!("{} dimension names for a {}-d array", d.len(), x.ndim())));
        }
        None => auto.iter().map(String::as_str).collect(),
    };
    let spec: Vec<(&str, usize)> = names.iter().copied().zip(x.shape().iter().copied()).collect();
    crate::io::check_output(x, path.as_ref())?;
    let w = NetcdfWriter::create(path, var, T::DTYPE, &spec)?;
    x.store(&w, opts)
}
