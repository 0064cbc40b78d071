//! Writing netCDF-4 files (cargo feature `netcdf`): a variable block by block, staged and
//! renamed into place, with the CF metadata a climate user expects (dimension names,
//! coordinates, attributes, `history`).

use std::fs::{File, OpenOptions};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::array::Array;
use crate::compute::RunReport;
use crate::core::block::HostArray;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::io::BlockSink;
use crate::io::cf::NcMeta;
use crate::io::netcdf::netcdf_numeric;
use crate::io::staged::{Kind, Staged};
use crate::map_host;
use crate::runtime::ComputeOptions;

/// Writes one variable of a new netCDF-4 file block by block. Float variables get
/// `_FillValue = NaN`.
///
/// The variable is contiguous (netCDF-4's default without compression): once its
/// metadata is defined, the first block closes the file in libnetcdf, HDF5 says where the
/// variable's bytes are, and every block is then written into its place with `pwrite`,
/// from whichever worker computed it (libnetcdf is not thread-safe; this way writing is
/// not serialised). Where HDF5 cannot say, blocks go through libnetcdf one at a time.
/// Coordinates and attributes must be added before the first block.
///
/// The file is written under a temporary name beside `path` and renamed into place by
/// `finish` (see [`crate::io::staged`]): a run that fails leaves `path` as it was.
pub struct NetcdfWriter {
    path: PathBuf,
    /// Where the file is written until `finish`.
    tmp: PathBuf,
    var: String,
    dtype: DType,
    shape: Vec<usize>,
    /// The file while libnetcdf holds it.
    state: Mutex<State>,
    /// Set once blocks are written in place.
    direct: OnceLock<Direct>,
    staged: Mutex<Option<Staged>>,
}

/// Who holds the file being written.
enum State {
    /// libnetcdf, defining metadata and (`tried`: when the variable's bytes could not be
    /// placed) writing blocks.
    Library { file: netcdf::FileMut, tried: bool },
    /// Nobody: blocks are written in place (see [`Direct`]), or `finish` closed it.
    Closed,
}

/// The variable's bytes in the closed file: C order from `offset`, little-endian.
struct Direct {
    file: File,
    offset: u64,
    /// One writer at a time: the file system locks the file for each write anyway, and a
    /// second writer would spin on that lock instead of sleeping.
    lock: Mutex<()>,
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
            if dtype == DType::Bool {
                return Err(Error::invalid("netCDF has no bool type; store as i8 or i32"));
            }
            let mut v = netcdf_numeric!(dtype, T => f.add_variable::<T>(var, &names)).map_err(err)?;
            // Every element is written: HDF5 need not fill the variable first (which would
            // write the whole file twice). `_FillValue` is set after, for readers.
            // SAFETY: nothing reads the variable before every block has been written.
            unsafe { v.set_nofill() }.map_err(err)?;
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
            tmp: staged.path().to_path_buf(),
            var: var.to_string(),
            dtype,
            shape: dims.iter().map(|d| d.1).collect(),
            state: Mutex::new(State::Library { file: f, tried: false }),
            direct: OnceLock::new(),
            staged: Mutex::new(Some(staged)),
        })
    }

    /// Call `f` on the file while libnetcdf holds it (an error once blocks are written in
    /// place or the writer has finished).
    fn with_file<R>(&self, f: impl FnOnce(&mut netcdf::FileMut) -> Result<R>) -> Result<R> {
        let mut state = self.state.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?;
        match &mut *state {
            State::Library { file, .. } => f(file),
            State::Closed => Err(Error::io(
                &self.path,
                "metadata must be added before the first block is written (or the writer has finished)",
            )),
        }
    }

    /// Add the coordinate variable of dimension `dim` (a double variable of the same name
    /// over that dimension) with these values and string attributes (`units`, `calendar`, …).
    pub fn add_coordinate(&self, dim: &str, values: &[f64], attrs: &[(&str, &str)]) -> Result<()> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing coordinate '{dim}': {e}"));
        self.with_file(|f| {
            let mut v = f.add_variable::<f64>(dim, &[dim]).map_err(err)?;
            for (k, val) in attrs {
                v.put_attribute(k, *val).map_err(err)?;
            }
            v.put_values(values, ..).map_err(err)
        })
    }

    /// Set a string attribute of the file (`history`, `Conventions`, …).
    pub fn add_global_attribute(&self, name: &str, value: &str) -> Result<()> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing attribute '{name}': {e}"));
        self.with_file(|f| f.add_attribute(name, value).map(|_| ()).map_err(err))
    }

    /// Set a string attribute (`units`, `long_name`, …) of the variable being written.
    pub fn add_attribute(&self, name: &str, value: &str) -> Result<()> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing attribute '{name}': {e}"));
        self.with_file(|f| {
            let mut v =
                f.variable_mut(&self.var).ok_or_else(|| Error::io(&self.path, "variable vanished"))?;
            v.put_attribute(name, value).map(|_| ()).map_err(err)
        })
    }

    /// At the first block: have HDF5 allocate the variable (by writing its last element),
    /// close the file in libnetcdf and find where the variable's bytes are. `None` (and
    /// the file reopened in libnetcdf) when HDF5 cannot say.
    fn place(&self, mut file: netcdf::FileMut) -> Result<(Option<Direct>, Option<netcdf::FileMut>)> {
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing netCDF: {e}"));
        if self.shape.contains(&0) || cfg!(target_endian = "big") {
            return Ok((None, Some(file)));
        }
        {
            let mut v =
                file.variable_mut(&self.var).ok_or_else(|| Error::io(&self.path, "variable vanished"))?;
            let last: Vec<usize> = self.shape.iter().map(|&n| n - 1).collect();
            netcdf_numeric!(self.dtype, T => v.put_value(T::zero(), last.as_slice())).map_err(err)?;
        }
        file.close().map_err(err)?;
        let at = crate::io::hdf5_layout::contiguous(&self.tmp, &self.var, &self.shape, self.dtype.size());
        match at {
            Some(c) if !c.big_endian => {
                let f =
                    OpenOptions::new().write(true).open(&self.tmp).map_err(|e| Error::io(&self.path, e))?;
                Ok((Some(Direct { file: f, offset: c.addr, lock: Mutex::new(()) }), None))
            }
            _ => Ok((None, Some(netcdf::append(&self.tmp).map_err(err)?))),
        }
    }

    /// Write `block` into `region` through libnetcdf.
    fn write_library(
        &self,
        file: &mut netcdf::FileMut,
        region: &[Range<usize>],
        block: &HostArray,
    ) -> Result<()> {
        let mut v = file.variable_mut(&self.var).ok_or_else(|| Error::io(&self.path, "variable vanished"))?;
        let err = |e: netcdf::Error| Error::io(&self.path, format!("writing {region:?}: {e}"));
        map_host!(block, a => {
            let c = a.as_standard_layout();
            let s = c.as_slice().expect("standard layout");
            put(&mut v, s, region.to_vec()).map_err(err)
        })
    }

    /// Write `block` into `region` in place.
    fn write_direct(&self, d: &Direct, region: &[Range<usize>], block: &HostArray) -> Result<()> {
        let _one = d.lock.lock().map_err(|_| Error::internal("netCDF writer lock poisoned"))?;
        crate::io::raw::write_block(&d.file, &self.path, d.offset, self.dtype, &self.shape, region, block)
    }
}

impl BlockSink for NetcdfWriter {
    fn write(&self, region: &[Range<usize>], block: &HostArray) -> Result<()> {
        if let Some(d) = self.direct.get() {
            return self.write_direct(d, region, block);
        }
        crate::io::netcdf::quiet_hdf5();
        let mut state = self.state.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?;
        if let Some(d) = self.direct.get() {
            drop(state);
            return self.write_direct(d, region, block);
        }
        match std::mem::replace(&mut *state, State::Closed) {
            State::Closed => {
                Err(Error::io(&self.path, "the writer has finished; nothing more can be written"))
            }
            State::Library { mut file, tried: true } => {
                let r = self.write_library(&mut file, region, block);
                *state = State::Library { file, tried: true };
                r
            }
            State::Library { file, tried: false } => match self.place(file)? {
                (Some(d), _) => {
                    let d = self.direct.get_or_init(|| d);
                    drop(state);
                    self.write_direct(d, region, block)
                }
                (None, Some(mut file)) => {
                    let r = self.write_library(&mut file, region, block);
                    *state = State::Library { file, tried: true };
                    r
                }
                (None, None) => Err(Error::internal("netCDF writer lost its file")),
            },
        }
    }
    fn finish(&self) -> Result<()> {
        let state = std::mem::replace(
            &mut *self.state.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?,
            State::Closed,
        );
        if let State::Library { file, .. } = state {
            file.close().map_err(|e| Error::io(&self.path, format!("closing the netCDF file: {e}")))?;
        }
        if let Some(d) = self.direct.get() {
            d.file.sync_all().map_err(|e| Error::io(&self.path, e))?;
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
    if T::DTYPE == DType::Bool {
        return Err("netCDF has no bool type".into());
    }
    netcdf_numeric!(T::DTYPE, U => v.put_values(&s.iter().map(|&x| U::cast_from(x)).collect::<Vec<U>>(), ext))
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
