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
    /// The variable's type in the file.
    file: DType,
    /// The type its bytes hold: `file`, or its unsigned twin when the variable says
    /// `_Unsigned = "true"` (CF's convention for unsigned bytes and shorts in netCDF-3).
    stored: DType,
    scale: f64,
    offset: f64,
    fill: Option<f64>,
}

/// Run `$body` with `$T` bound to the Rust type of a numeric `$dtype` (netCDF's types: every
/// dtype but bool, which callers refuse first; it panics here).
macro_rules! netcdf_numeric {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::I8 => {
                type $T = i8;
                $body
            }
            DType::I16 => {
                type $T = i16;
                $body
            }
            DType::I32 => {
                type $T = i32;
                $body
            }
            DType::I64 => {
                type $T = i64;
                $body
            }
            DType::U8 => {
                type $T = u8;
                $body
            }
            DType::U16 => {
                type $T = u16;
                $body
            }
            DType::U32 => {
                type $T = u32;
                $body
            }
            DType::U64 => {
                type $T = u64;
                $body
            }
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            DType::Bool => unreachable!("bool is refused before netCDF is called"),
        }
    };
}
pub(crate) use netcdf_numeric;

/// The unsigned integer type of the same width as a signed one (others unchanged).
fn unsigned_twin(d: DType) -> DType {
    match d {
        DType::I8 => DType::U8,
        DType::I16 => DType::U16,
        DType::I32 => DType::U32,
        DType::I64 => DType::U64,
        other => other,
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
    let file = match v.vartype() {
        NcVariableType::Int(IntType::I8) => DType::I8,
        NcVariableType::Int(IntType::I16) => DType::I16,
        NcVariableType::Int(IntType::I32) => DType::I32,
        NcVariableType::Int(IntType::I64) => DType::I64,
        NcVariableType::Int(IntType::U8) => DType::U8,
        NcVariableType::Int(IntType::U16) => DType::U16,
        NcVariableType::Int(IntType::U32) => DType::U32,
        NcVariableType::Int(IntType::U64) => DType::U64,
        NcVariableType::Float(FloatType::F32) => DType::F32,
        NcVariableType::Float(FloatType::F64) => DType::F64,
        t => {
            return Err(Error::format(
                path,
                format!("variable '{}' has type {t:?}, which tessera does not read", v.name()),
            ));
        }
    };
    let unsigned = v.attributes().any(|a| a.name() == "_Unsigned")
        && matches!(v.attribute_value("_Unsigned"), Some(Ok(AttributeValue::Str(s))) if s.eq_ignore_ascii_case("true"));
    let stored = if unsigned { unsigned_twin(file) } else { file };
    let scale = attr_f64(v, "scale_factor");
    let offset = attr_f64(v, "add_offset");
    let fill = attr_f64(v, "_FillValue").or_else(|| attr_f64(v, "missing_value"));
    let packed = scale.is_some() || offset.is_some();
    let double_scale =
        scale.is_some() && matches!(v.attribute_value("scale_factor"), Some(Ok(AttributeValue::Double(_))));
    let dtype = match stored {
        _ if packed && double_scale => DType::F64,
        _ if packed => DType::F32,
        other => other,
    };
    Ok((dtype, Decode { file, stored, scale: scale.unwrap_or(1.0), offset: offset.unwrap_or(0.0), fill }))
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
    /// The stored values of `region` through libnetcdf, read as the file's type and
    /// reinterpreted as `S` (the stored type: unsigned for `_Unsigned` variables).
    fn library_read<S: Element>(&self, region: &[Range<usize>]) -> Result<Vec<S>> {
        quiet_hdf5();
        let f = self.file.lock().map_err(|_| Error::internal("netCDF file lock poisoned"))?;
        let v = f
            .variable(&self.var)
            .ok_or_else(|| Error::format(&self.path, format!("no variable '{}'", self.var)))?;
        let ext: Vec<Range<usize>> = region.to_vec();
        let err =
            |e: netcdf::Error| Error::format(&self.path, format!("reading {}{region:?}: {e}", self.var));
        netcdf_numeric!(self.decode.file, F => {
            let raw = v.get_values::<F, _>(ext).map_err(err)?;
            // The same type (the usual case) is the buffer itself; a signed type read for
            // an `_Unsigned` variable wraps to its unsigned twin, bit for bit.
            let any: Box<dyn std::any::Any> = Box::new(raw);
            Ok(match any.downcast::<Vec<S>>() {
                Ok(same) => *same,
                Err(any) => any.downcast::<Vec<F>>().expect("the values read").into_iter().map(S::cast_from).collect(),
            })
        })
    }

    /// `region` read straight from the storage chunks; `None` when it cannot be (no chunk
    /// index, or a chunk never written).
    #[cfg(unix)]
    fn chunk_read<S: bytemuck::Pod>(&self, region: &[Range<usize>]) -> Result<Option<Vec<S>>> {
        match &self.chunks {
            Some(ix) => ix.read::<S>(region),
            None => Ok(None),
        }
    }
    #[cfg(not(unix))]
    fn chunk_read<S>(&self, _region: &[Range<usize>]) -> Result<Option<Vec<S>>> {
        Ok(None)
    }
}

/// Stored values as the variable's element type: integers and unpacked floats as they are
/// (the buffer itself when the types agree); packed variables unpacked (`x * scale +
/// offset`) and floats' fill value as NaN.
fn decode<S: Element>(v: Vec<S>, d: Decode, dtype: DType, shape: &[usize]) -> Result<HostArray> {
    let plain = d.scale == 1.0 && d.offset == 0.0 && d.fill.is_none_or(f64::is_nan);
    with_dtype!(dtype, T => {
        let vals: Vec<T> = if plain || !dtype.is_float() {
            let any: Box<dyn std::any::Any> = Box::new(v);
            match any.downcast::<Vec<T>>() {
                Ok(same) => *same,
                Err(any) => any.downcast::<Vec<S>>().expect("the stored values").into_iter().map(T::cast_from).collect(),
            }
        } else {
            v.iter().map(|x| unpack_one(x.to_f64(), d)).collect()
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
        netcdf_numeric!(d.stored, S => {
            let raw = match self.chunk_read::<S>(region)? {
                Some(v) => v,
                None => self.library_read::<S>(region)?,
            };
            decode(raw, d, self.dtype, &shape)
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
