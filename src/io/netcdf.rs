//! netCDF variables (through the `netcdf` crate and the system's libnetcdf; cargo feature
//! `netcdf`): read lazily region by region, written block by block.
//!
//! Reading follows the CF conventions for packed data, as xarray does: a variable stored
//! as integers with `scale_factor` and/or `add_offset` (NOAA's OISST: `short sst` with
//! `scale_factor = 0.01`) is unpacked to f32 (f64 when the scale is a double), and
//! `_FillValue` / `missing_value` become NaN. The C library is not thread-safe: a chunked
//! variable's storage chunks are located once through it and then read and decompressed
//! outside it, on every worker ([`crate::io::netcdf_chunks`]); other variables are read
//! through it, one read at a time, with the decode outside the lock.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ndarray::{ArcArray, IxDyn};
use netcdf::AttributeValue;
use netcdf::types::NcVariableType;

use crate::array::Array;
use crate::array::creation::source_array;
use crate::core::block::HostArray;
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::io::BlockSource;
pub use crate::io::cf::{NcCoordinate, NcMeta};
pub use crate::io::netcdf_write::{NetcdfWriter, to_netcdf, to_netcdf_with};
use crate::with_dtype;

/// How a variable's stored values become ours.
#[derive(Debug, Clone, Copy)]
struct Decode {
    stored: Stored,
    scale: f64,
    offset: f64,
    fill: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stored {
    I16,
    I32,
    I64,
    F32,
    F64,
}

impl Stored {
    /// Bytes per stored element.
    fn size(self) -> usize {
        match self {
            Stored::I16 => 2,
            Stored::I32 | Stored::F32 => 4,
            Stored::I64 | Stored::F64 => 8,
        }
    }
}

fn attr_f64(v: &netcdf::Variable<'_>, name: &str) -> Option<f64> {
    // Ask only for attributes that exist: HDF5 prints a diagnostic for a missing one.
    if !v.attributes().any(|a| a.name() == name) {
        return None;
    }
    let a = v.attribute_value(name)?.ok()?;
    match a {
        AttributeValue::Double(x) => Some(x),
        AttributeValue::Doubles(x) => x.first().copied(),
        other => f64::try_from(other).ok(),
    }
}

/// The element type a variable is read as, and how.
fn describe(path: &Path, v: &netcdf::Variable<'_>) -> Result<(DType, Decode)> {
    use netcdf::types::{FloatType, IntType};
    let stored = match v.vartype() {
        NcVariableType::Int(IntType::I16) => Stored::I16,
        NcVariableType::Int(IntType::I32) => Stored::I32,
        NcVariableType::Int(IntType::I64) => Stored::I64,
        NcVariableType::Float(FloatType::F32) => Stored::F32,
        NcVariableType::Float(FloatType::F64) => Stored::F64,
        t => {
            return Err(Error::format(
                path,
                format!("variable '{}' has type {t:?}, which tessera does not read", v.name()),
            ));
        }
    };
    let scale = attr_f64(v, "scale_factor");
    let offset = attr_f64(v, "add_offset");
    let fill = attr_f64(v, "_FillValue").or_else(|| attr_f64(v, "missing_value"));
    let packed = scale.is_some() || offset.is_some();
    let double_scale =
        scale.is_some() && matches!(v.attribute_value("scale_factor"), Some(Ok(AttributeValue::Double(_))));
    let dtype = match stored {
        _ if packed && double_scale => DType::F64,
        _ if packed => DType::F32,
        Stored::I16 | Stored::I32 => DType::I32,
        Stored::I64 => DType::I64,
        Stored::F32 => DType::F32,
        Stored::F64 => DType::F64,
    };
    Ok((dtype, Decode { stored, scale: scale.unwrap_or(1.0), offset: offset.unwrap_or(0.0), fill }))
}

struct NcSource {
    path: PathBuf,
    var: String,
    file: Mutex<netcdf::File>,
    shape: Vec<usize>,
    dtype: DType,
    decode: Decode,
    /// Where the storage chunks are, when they can be read without libnetcdf.
    #[cfg(unix)]
    chunks: Option<crate::io::netcdf_chunks::ChunkIndex>,
}

impl std::fmt::Debug for NcSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "netcdf({}:{})", self.path.display(), self.var)
    }
}

impl NcSource {
    /// The stored values of `region`, as f64 (exact for every stored type but i64, which
    /// is read directly).
    fn stored(&self, region: &[Range<usize>]) -> Result<Vec<f64>> {
        quiet_hdf5();
        let f = self.file.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?;
        let v = f
            .variable(&self.var)
            .ok_or_else(|| Error::format(&self.path, format!("no variable '{}'", self.var)))?;
        let ext: Vec<Range<usize>> = region.to_vec();
        let err =
            |e: netcdf::Error| Error::format(&self.path, format!("reading {}{region:?}: {e}", self.var));
        Ok(match self.decode.stored {
            Stored::I16 => v.get_values::<i16, _>(ext).map_err(err)?.into_iter().map(f64::from).collect(),
            Stored::I32 => v.get_values::<i32, _>(ext).map_err(err)?.into_iter().map(f64::from).collect(),
            Stored::I64 => v.get_values::<i64, _>(ext).map_err(err)?.into_iter().map(|x| x as f64).collect(),
            Stored::F32 => v.get_values::<f32, _>(ext).map_err(err)?.into_iter().map(f64::from).collect(),
            Stored::F64 => v.get_values::<f64, _>(ext).map_err(err)?,
        })
    }
}

#[cfg(unix)]
impl NcSource {
    /// `region` read straight from the storage chunks; `None` when it cannot be (no chunk
    /// index, or a chunk never written).
    fn read_chunks(&self, region: &[Range<usize>], shape: &[usize]) -> Result<Option<HostArray>> {
        let Some(ix) = &self.chunks else { return Ok(None) };
        let d = self.decode;
        let a = match d.stored {
            Stored::I16 => ix.read::<i16>(region)?.map(|v| unpack(v, d, self.dtype, shape)),
            Stored::I32 => ix.read::<i32>(region)?.map(|v| unpack(v, d, self.dtype, shape)),
            Stored::I64 => ix.read::<i64>(region)?.map(|v| unpack(v, d, self.dtype, shape)),
            Stored::F32 => ix.read::<f32>(region)?.map(|v| unpack(v, d, self.dtype, shape)),
            Stored::F64 => ix.read::<f64>(region)?.map(|v| unpack(v, d, self.dtype, shape)),
        };
        a.transpose()
    }
}

/// A type netCDF stores and the element type it reads as when not packed.
#[cfg(unix)]
trait StoredElement: bytemuck::Pod + 'static {
    type Wide: Element;
    fn widen(self) -> Self::Wide;
}

#[cfg(unix)]
macro_rules! stored_element {
    ($($s:ty => $w:ty),*) => {$(
        impl StoredElement for $s {
            type Wide = $w;
            fn widen(self) -> $w {
                self.into()
            }
        }
    )*};
}
#[cfg(unix)]
stored_element!(i16 => i32, i32 => i32, i64 => i64, f32 => f32, f64 => f64);

/// Stored values as the variable's element type, as the libnetcdf path makes them: unpacked
/// (`x * scale + offset`) with the fill value as NaN, or converted as they are when there
/// is nothing to unpack (and always for i64, read as is).
#[cfg(unix)]
fn unpack<S: StoredElement>(v: Vec<S>, d: Decode, dtype: DType, shape: &[usize]) -> Result<HostArray> {
    let plain = d.scale == 1.0 && d.offset == 0.0 && d.fill.is_none_or(f64::is_nan);
    with_dtype!(dtype, T => {
        let any: Box<dyn std::any::Any> = Box::new(v);
        let vals: Vec<T> = match any.downcast::<Vec<T>>() {
            // Stored as read: the buffer itself.
            Ok(same) if plain || T::DTYPE == DType::I64 => *same,
            Ok(same) => same.iter().map(|x| unpack_one(x.to_f64(), d)).collect(),
            Err(any) => {
                let v = any.downcast::<Vec<S>>().expect("the stored values");
                if plain || T::DTYPE == DType::I64 {
                    v.iter().map(|x| T::cast_from(x.widen())).collect()
                } else {
                    v.iter().map(|x| unpack_one(x.widen().to_f64(), d)).collect()
                }
            }
        };
        let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(shape), vals).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(HostArray::new(a))
    })
}

/// One stored value unpacked: the fill value is NaN, others `x * scale + offset`.
fn unpack_one<T: Element>(x: f64, d: Decode) -> T {
    if d.fill == Some(x) { T::cast_from(f64::NAN) } else { T::cast_from(x * d.scale + d.offset) }
}

impl BlockSource for NcSource {
    fn file(&self) -> Option<&Path> {
        Some(&self.path)
    }
    fn name(&self) -> &str {
        "netcdf"
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        let d = self.decode;
        #[cfg(unix)]
        if let Some(a) = self.read_chunks(region, &shape)? {
            return Ok(a);
        }
        if self.dtype == DType::I64 {
            quiet_hdf5();
            let f = self.file.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?;
            let v = f.variable(&self.var).ok_or_else(|| Error::format(&self.path, "variable vanished"))?;
            let vals = v
                .get_values::<i64, _>(region.to_vec())
                .map_err(|e| Error::format(&self.path, format!("reading {}: {e}", self.var)))?;
            let a =
                ArcArray::from_shape_vec(IxDyn(&shape), vals).map_err(|e| Error::invalid(e.to_string()))?;
            return Ok(HostArray::new(a));
        }
        let raw = self.stored(region)?;
        with_dtype!(self.dtype, T => {
            let vals: Vec<T> = raw.into_iter().map(|x| unpack_one(x, d)).collect();
            let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&shape), vals).map_err(|e| Error::invalid(e.to_string()))?;
            Ok(HostArray::new(a))
        })
    }
}

/// libnetcdf turns HDF5's printing of error stacks off on the thread that first calls it;
/// an HDF5 built thread-safe (Debian's is) keeps that setting per thread, so on other
/// threads it prints the failures libnetcdf expects and handles (an attribute it looks for
/// and does not find) to stderr. Every thread that calls into libnetcdf turns it off first.
pub(crate) fn quiet_hdf5() {
    thread_local!(static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    QUIET.with(|q| {
        if !q.get() {
            let _lock = hdf5_metno_sys::LOCK.lock();
            // SAFETY: replaces this thread's (or the library's) default error printer with
            // none, under the library's lock.
            unsafe {
                hdf5_metno_sys::h5e::H5Eset_auto2(
                    hdf5_metno_sys::h5e::H5E_DEFAULT,
                    None,
                    std::ptr::null_mut(),
                );
            }
            q.set(true);
        }
    });
}

fn open_file(path: &Path) -> Result<netcdf::File> {
    quiet_hdf5();
    if !path.exists() {
        return Err(Error::io(path, "no such file or directory"));
    }
    netcdf::open(path).map_err(|e| Error::format(path, format!("not a readable netCDF file: {e}")))
}

/// The element type variable `var` of the netCDF file at `path` is read as.
pub fn dtype_of(path: &Path, var: &str) -> Result<DType> {
    let f = open_file(path)?;
    let v = f.variable(var).ok_or_else(|| no_var(path, &f, var))?;
    Ok(describe(path, &v)?.0)
}

fn no_var(path: &Path, f: &netcdf::File, var: &str) -> Error {
    let names: Vec<String> = f.variables().map(|v| v.name()).collect();
    Error::format(path, format!("no variable '{var}' (it has: {})", names.join(", ")))
}

/// A lazy array over variable `var` of the netCDF file at `path`.
///
/// `ChunkSpec::Auto` (or `AutoBytes`) gives blocks of whole storage chunks. A chunked
/// variable stored with deflate and/or shuffle (what netCDF-4 writes) is decompressed on
/// every worker; see the module docs.
pub fn open_netcdf<T: Element>(
    path: impl AsRef<Path>,
    var: &str,
    chunks: impl Into<ChunkSpec>,
) -> Result<Array<T>> {
    open_with(path.as_ref(), var, chunks.into(), true)
}

/// Whether variable `var` of the file at `path` is read storage chunk by storage chunk,
/// outside libnetcdf (for tests).
#[cfg(feature = "testing")]
pub(crate) fn reads_storage_chunks(path: &Path, var: &str) -> Result<bool> {
    let f = open_file(path)?;
    let v = f.variable(var).ok_or_else(|| no_var(path, &f, var))?;
    let shape: Vec<usize> = v.dimensions().iter().map(|d| d.len()).collect();
    let (_, decode) = describe(path, &v)?;
    drop(f);
    #[cfg(unix)]
    {
        Ok(crate::io::netcdf_chunks::ChunkIndex::open(path, var, &shape, decode.stored.size()).is_some())
    }
    #[cfg(not(unix))]
    Ok(false)
}

/// [`open_netcdf`]; `direct`: read storage chunks outside libnetcdf when the variable
/// allows (false: always through the library, as the tests' reference).
pub(crate) fn open_with<T: Element>(
    path: &Path,
    var: &str,
    chunks: ChunkSpec,
    direct: bool,
) -> Result<Array<T>> {
    let f = open_file(path)?;
    let (shape, dtype, decode, storage) = {
        let v = f.variable(var).ok_or_else(|| no_var(path, &f, var))?;
        let shape: Vec<usize> = v.dimensions().iter().map(|d| d.len()).collect();
        let (dtype, decode) = describe(path, &v)?;
        // A chunked (netCDF-4) variable's storage chunks; none for a contiguous one.
        let storage = v.chunking().ok().flatten();
        (shape, dtype, decode, storage)
    };
    // Automatic blocks are whole storage chunks, so each compressed chunk is decompressed
    // by one task, not once per block that cuts it.
    let chunks = match storage {
        Some(s) => crate::io::aligned_to_storage(chunks, &shape, dtype, &s)?,
        None => chunks,
    };
    if dtype != T::DTYPE {
        return Err(Error::format(
            path,
            format!("variable '{var}' reads as {dtype}, but it was opened as {}", T::DTYPE),
        ));
    }
    #[cfg(unix)]
    let index = direct
        .then(|| crate::io::netcdf_chunks::ChunkIndex::open(path, var, &shape, decode.stored.size()))
        .flatten();
    let src = NcSource {
        path: path.to_path_buf(),
        var: var.to_string(),
        file: Mutex::new(f),
        shape,
        dtype,
        decode,
        #[cfg(unix)]
        chunks: index,
    };
    source_array(Arc::new(src), chunks)
}

fn attr_str(v: &netcdf::Variable<'_>, name: &str) -> Option<String> {
    if !v.attributes().any(|a| a.name() == name) {
        return None;
    }
    match v.attribute_value(name)?.ok()? {
        AttributeValue::Str(s) => Some(s),
        _ => None,
    }
}

/// A time coordinate as stored: values, CF `units` and `calendar`.
pub type TimeCoordinate = (Vec<f64>, String, Option<String>);

/// The `time` coordinate of the netCDF file at `path`; `None` when the file has no `time`
/// variable with units.
pub fn time_coordinate(path: &Path) -> Result<Option<TimeCoordinate>> {
    let f = open_file(path)?;
    let Some(v) = f.variable("time") else { return Ok(None) };
    let Some(units) = attr_str(&v, "units") else { return Ok(None) };
    let values = v
        .get_values::<f64, _>(..)
        .map_err(|e| Error::format(path, format!("reading the time coordinate: {e}")))?;
    // CF cell bounds (`time:bounds = "time_bnds"`): the cell's middle dates it.
    let bounds = match attr_str(&v, "bounds").and_then(|b| f.variable(&b).map(|bv| (b, bv))) {
        Some((b, bv)) => Some(
            bv.get_values::<f64, _>(..)
                .map_err(|e| Error::format(path, format!("reading the time bounds '{b}': {e}")))?,
        ),
        None => None,
    };
    let values = crate::calendar::cell_middles(values, bounds.as_deref());
    Ok(Some((values, units, attr_str(&v, "calendar"))))
}

/// The string attributes of variable `var` of the netCDF file at `path` (`var` = `None`:
/// the file's global attributes), in the file's order.
pub fn string_attributes(path: &Path, var: Option<&str>) -> Result<Vec<(String, String)>> {
    let f = open_file(path)?;
    let strings = |attrs: Vec<netcdf::Attribute<'_>>| -> Vec<(String, String)> {
        attrs
            .into_iter()
            .filter_map(|a| match a.value() {
                Ok(AttributeValue::Str(s)) => Some((a.name().to_string(), s)),
                _ => None,
            })
            .collect()
    };
    Ok(match var {
        Some(v) => strings(f.variable(v).ok_or_else(|| no_var(path, &f, v))?.attributes().collect()),
        None => strings(f.attributes().collect()),
    })
}

/// The names of the dimensions of variable `var` of the netCDF file at `path`.
pub fn dimension_names(path: &Path, var: &str) -> Result<Vec<String>> {
    let f = open_file(path)?;
    let v = f.variable(var).ok_or_else(|| no_var(path, &f, var))?;
    Ok(v.dimensions().iter().map(|d| d.name()).collect())
}

/// The names of the variables of the netCDF file at `path`, in the file's order.
pub fn variable_names(path: &Path) -> Result<Vec<String>> {
    Ok(open_file(path)?.variables().map(|v| v.name()).collect())
}
