//! Zarr v3 arrays on the filesystem (through the `zarrs` crate): read lazily region by
//! region, written block by block.
//!
//! Codecs read: bytes, transpose, gzip, zstd, crc32c and sharding (zarr-python's v3
//! defaults are bytes + zstd); blosc is not built in. Element types: bool, int32, int64,
//! float32, float64.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ndarray::{ArcArray, IxDyn};
use zarrs::array::codec::ZstdCodec;
use zarrs::array::{ArrayBuilder, ArrayMetadataOptions, CodecOptions, DataType, FillValue, data_type};
use zarrs::filesystem::FilesystemStore;

use crate::array::Array;
use crate::array::creation::source_array;
use crate::compute::RunReport;
use crate::core::block::HostArray;
use crate::core::chunks::{ChunkSpec, Chunks};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::io::BlockSink;
use crate::io::staged::{Kind, Staged};
use crate::io::zarr_dataset::array_path;
pub use crate::io::zarr_dataset::{group_attributes, to_zarr_dataset};
use crate::runtime::ComputeOptions;
use crate::{map_host, with_dtype};

type ZArray = zarrs::array::Array<FilesystemStore>;

fn zarr_dtype(d: DType) -> DataType {
    match d {
        DType::Bool => data_type::bool(),
        DType::I8 => data_type::int8(),
        DType::I16 => data_type::int16(),
        DType::I32 => data_type::int32(),
        DType::I64 => data_type::int64(),
        DType::U8 => data_type::uint8(),
        DType::U16 => data_type::uint16(),
        DType::U32 => data_type::uint32(),
        DType::U64 => data_type::uint64(),
        DType::F32 => data_type::float32(),
        DType::F64 => data_type::float64(),
    }
}

fn our_dtype(d: &DataType) -> Option<DType> {
    DType::ALL.into_iter().find(|&t| &zarr_dtype(t) == d)
}

fn fill(d: DType) -> FillValue {
    match d {
        DType::Bool => FillValue::from(false),
        DType::I8 => FillValue::from(0i8),
        DType::I16 => FillValue::from(0i16),
        DType::I32 => FillValue::from(0i32),
        DType::I64 => FillValue::from(0i64),
        DType::U8 => FillValue::from(0u8),
        DType::U16 => FillValue::from(0u16),
        DType::U32 => FillValue::from(0u32),
        DType::U64 => FillValue::from(0u64),
        DType::F32 => FillValue::from(f32::NAN),
        DType::F64 => FillValue::from(f64::NAN),
    }
}

/// One codec thread per call: the scheduler's workers are the parallelism.
fn codec_options() -> CodecOptions {
    CodecOptions::default().with_concurrent_target(1)
}

fn open_array(path: &Path) -> Result<ZArray> {
    if !path.join("zarr.json").exists() {
        let what = if path.join(".zarray").exists() {
            "is a Zarr format 2 array (.zarray), which tessera does not read; convert it to Zarr v3"
        } else if path.exists() {
            "is not a Zarr v3 array (no zarr.json)"
        } else {
            "no such file or directory"
        };
        return Err(Error::io(path, what));
    }
    let store = FilesystemStore::new(path).map_err(|e| Error::io(path, e))?;
    ZArray::open(Arc::new(store), "/")
        .map_err(|e| Error::format(path, format!("not a readable Zarr array: {e}")))
}

#[derive(Debug)]
struct ZarrSource {
    path: PathBuf,
    array: ZArray,
    shape: Vec<usize>,
    dtype: DType,
}

impl crate::io::BlockSource for ZarrSource {
    fn name(&self) -> &str {
        "zarr"
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let sub: Vec<Range<u64>> = region.iter().map(|r| r.start as u64..r.end as u64).collect();
        let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        with_dtype!(self.dtype, T => {
            let v: Vec<T> = self
                .array
                .retrieve_array_subset_opt(&sub.as_slice(), &codec_options())
                .map_err(|e| Error::format(&self.path, format!("reading {region:?}: {e}")))?;
            let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&shape), v).map_err(|e| Error::invalid(e.to_string()))?;
            Ok(HostArray::new(a))
        })
    }
    fn file(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

/// The shape, element type and chunk shape of the Zarr v3 array at `path`.
/// A group stands for its one data variable (see [`open_zarr`]).
pub fn info(path: impl AsRef<Path>) -> Result<(Vec<usize>, DType, Vec<usize>)> {
    let path = &array_path(path.as_ref())?;
    let a = open_array(path)?;
    let dtype = our_dtype(a.data_type())
        .ok_or_else(|| Error::format(path, format!("unsupported Zarr data type {}", a.data_type())))?;
    let shape: Vec<usize> = a.shape().iter().map(|&d| d as usize).collect();
    let zeros = vec![0u64; shape.len()];
    let chunk: Vec<usize> = match a.chunk_shape(&zeros) {
        Ok(c) => c.iter().map(|d| d.get() as usize).collect(),
        Err(_) => shape.clone(),
    };
    Ok((shape, dtype, chunk))
}

/// A lazy array over the Zarr v3 array at `path` (the directory holding its `zarr.json`).
/// `chunks: None` uses the file's own chunks, so each task decodes whole Zarr chunks;
/// `ChunkSpec::Auto` / `AutoBytes` give blocks of whole Zarr chunks near the target.
///
/// `path` may also be a Zarr group holding one data variable (an array that is not a
/// coordinate), such as a result of the `tessera` command line: that array is opened, as
/// `xarray.open_dataarray` opens a file's only variable. A group of several is an error
/// naming them; open one as `group/NAME`.
///
/// ```
/// use tessera::prelude::*;
/// let dir = std::env::temp_dir().join("tessera-doc.zarr");
/// let x = tessera::arange::<f64>(0.0, 10.0, 1.0, [4])?;
/// tessera::io::zarr::to_zarr(&x, &dir, &ComputeOptions::default())?;
/// let y = tessera::io::zarr::open_zarr::<f64>(&dir, None)?;
/// assert_eq!(y.sum(Axes::All)?.item()?, 45.0);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn open_zarr<T: Element>(path: impl AsRef<Path>, chunks: Option<ChunkSpec>) -> Result<Array<T>> {
    let path = &array_path(path.as_ref())?;
    let (shape, dtype, chunk) = info(path)?;
    if dtype != T::DTYPE {
        return Err(Error::format(
            path,
            format!("holds {dtype} elements, but it was opened as {}", T::DTYPE),
        ));
    }
    let array = open_array(path)?;
    let spec = match chunks {
        // Automatic blocks are whole Zarr chunks too (each decoded by one task).
        Some(spec) => crate::io::aligned_to_storage(spec, &shape, dtype, &chunk)?,
        None => ChunkSpec::Uniform(chunk.iter().map(|&c| c.max(1)).collect()),
    };
    let src = ZarrSource { path: path.to_path_buf(), array, shape, dtype };
    source_array(Arc::new(src), spec)
}

/// What a written array carries besides its data: compression, dimension names and
/// attributes. xarray reads a Zarr v3 array's `dimension_names` as its dimensions and CF
/// attributes (`units`, `calendar`, `long_name`) as they are in netCDF.
///
/// ```
/// let meta = tessera::io::zarr::ZarrMeta::default()
///     .zstd(1)
///     .dims(&["time", "lat", "lon"])
///     .attr("units", "degC");
/// assert_eq!(meta.dimension_names.as_ref().unwrap().len(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ZarrMeta {
    /// Compress each chunk with zstd at this level (`None`: uncompressed).
    pub zstd_level: Option<i32>,
    /// One name per axis (`None`: unnamed).
    pub dimension_names: Option<Vec<String>>,
    /// User attributes, stored in the array's `zarr.json`.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

impl ZarrMeta {
    /// Compress with zstd at `level`.
    pub fn zstd(mut self, level: i32) -> Self {
        self.zstd_level = Some(level);
        self
    }
    /// Name the axes.
    pub fn dims(mut self, names: &[&str]) -> Self {
        self.dimension_names = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }
    /// Add an attribute.
    pub fn attr(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.attributes.insert(key.to_string(), value.into());
        self
    }
}

/// A Zarr v3 group being written: arrays go into subdirectories of [`ZarrGroup::path`] (a
/// temporary directory beside the target), and [`ZarrGroup::commit`] renames the whole group
/// into place; dropped without a commit, it leaves nothing.
///
/// ```
/// use tessera::io::zarr::{ZarrMeta, create_group, write_coordinate};
/// let dir = std::env::temp_dir().join(format!("tessera-doc-group-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let g = create_group(dir.join("g.zarr"), Default::default())?;
/// write_coordinate(g.path().join("lat"), vec![-1.0f64, 0.0, 1.0], &ZarrMeta::default())?;
/// g.commit()?;
/// assert!(dir.join("g.zarr/lat/zarr.json").exists());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ZarrGroup {
    staged: Staged,
    target: PathBuf,
}

impl ZarrGroup {
    /// Where the group's arrays are written until the commit.
    pub fn path(&self) -> &Path {
        self.staged.path()
    }
    /// Rename the finished group into place (replacing a Zarr store there).
    pub fn commit(self) -> Result<()> {
        self.staged.commit()
    }
    /// A writer of array `name` of the group for `x`, and `x` in regular chunks matching it
    /// (as [`zarr_writer_for`]); written straight into the staged group, its errors name the
    /// target (`out.zarr/NAME`).
    pub(crate) fn writer_for<T: Element>(
        &self,
        x: &Array<T>,
        name: &str,
        meta: &ZarrMeta,
    ) -> Result<(Array<T>, ZarrWriter)> {
        check_dimension_names(meta, x.shape())?;
        let (x, chunk) = regular(x)?;
        let dir = self.path().join(name);
        std::fs::create_dir(&dir).map_err(|e| Error::io(self.target.join(name), e))?;
        let w = ZarrWriter::build(&dir, &self.target.join(name), T::DTYPE, x.shape(), &chunk, meta, None)?;
        Ok((x, w))
    }
}

/// Start a Zarr v3 group at `path` with these attributes (an existing Zarr store there is
/// replaced on [`ZarrGroup::commit`]; a directory of other files is refused).
pub fn create_group(
    path: impl AsRef<Path>,
    attributes: serde_json::Map<String, serde_json::Value>,
) -> Result<ZarrGroup> {
    let path = path.as_ref();
    let staged = Staged::new(path, Kind::Dir)?;
    let store = FilesystemStore::new(staged.path()).map_err(|e| Error::io(path, e))?;
    let group = zarrs::group::GroupBuilder::new()
        .attributes(attributes)
        .build(Arc::new(store), "/")
        .map_err(|e| Error::format(path, e.to_string()))?;
    group.store_metadata().map_err(|e| Error::io(path, e))?;
    Ok(ZarrGroup { staged, target: path.to_path_buf() })
}

/// Write a small 1-d array whole (a coordinate such as `time`, `lat` or `lon`) at `path`,
/// as one chunk, with its own name as its dimension.
pub fn write_coordinate<T: Element>(path: impl AsRef<Path>, values: Vec<T>, meta: &ZarrMeta) -> Result<()> {
    let n = values.len();
    let w = ZarrWriter::create_with(&path, T::DTYPE, &[n], &[n.max(1)], meta)?;
    let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&[n]), values)
        .map_err(|e| Error::invalid(e.to_string()))?;
    w.write(std::slice::from_ref(&(0..n)), &HostArray::new(a))?;
    w.finish()
}

/// Writes a Zarr v3 array whose chunks are the blocks of the array being stored, into a
/// temporary directory beside the target that `finish` renames into place.
pub struct ZarrWriter {
    path: PathBuf,
    array: ZArray,
    staged: Mutex<Option<Staged>>,
}

impl ZarrWriter {
    /// Stage the array at `path` (a directory; an existing Zarr store there is replaced when
    /// the writer finishes, a directory of other files refused) with
    /// `chunk` as its chunk shape; `zstd_level: Some(l)` compresses each chunk with zstd.
    pub fn create(
        path: impl AsRef<Path>,
        dtype: DType,
        shape: &[usize],
        chunk: &[usize],
        zstd_level: Option<i32>,
    ) -> Result<Self> {
        Self::create_with(path, dtype, shape, chunk, &ZarrMeta { zstd_level, ..Default::default() })
    }

    /// [`ZarrWriter::create`] with dimension names and attributes.
    pub fn create_with(
        path: impl AsRef<Path>,
        dtype: DType,
        shape: &[usize],
        chunk: &[usize],
        meta: &ZarrMeta,
    ) -> Result<Self> {
        let path = path.as_ref();
        check_dimension_names(meta, shape)?;
        let staged = Staged::new(path, Kind::Dir)?;
        let dir = staged.path().to_path_buf();
        Self::build(&dir, path, dtype, shape, chunk, meta, Some(staged))
    }

    /// The writer of an array in directory `dir`, its errors naming `path`; `staged`, the
    /// temporary `dir` is, renamed into place by `finish` (`None`: inside a staged group).
    fn build(
        dir: &Path,
        path: &Path,
        dtype: DType,
        shape: &[usize],
        chunk: &[usize],
        meta: &ZarrMeta,
        staged: Option<Staged>,
    ) -> Result<Self> {
        let store = FilesystemStore::new(dir).map_err(|e| Error::io(path, e))?;
        let shape64: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let chunk64: Vec<u64> = chunk.iter().map(|&d| d.max(1) as u64).collect();
        let mut b = ArrayBuilder::new(shape64, chunk64, zarr_dtype(dtype), fill(dtype));
        if let Some(l) = meta.zstd_level {
            b.bytes_to_bytes_codecs(vec![Arc::new(ZstdCodec::new(l, false))]);
        }
        b.dimension_names(meta.dimension_names.clone());
        b.attributes(meta.attributes.clone());
        let array = b.build(Arc::new(store), "/").map_err(|e| Error::format(path, e.to_string()))?;
        // Without zarrs's own `_zarrs` attribute (an object): xarray carries attributes over
        // to netCDF, where an object is an error ("Invalid value for attr '_zarrs'").
        let no_zarrs = ArrayMetadataOptions::default().with_include_zarrs_metadata(false);
        array.store_metadata_opt(&no_zarrs).map_err(|e| Error::io(path, e))?;
        Ok(ZarrWriter { path: path.to_path_buf(), array, staged: Mutex::new(staged) })
    }
}

/// An error unless `meta` names each axis of `shape` once (or none).
fn check_dimension_names(meta: &ZarrMeta, shape: &[usize]) -> Result<()> {
    match &meta.dimension_names {
        Some(names) if names.len() != shape.len() => Err(Error::invalid(format!(
            "{} dimension names {names:?} for a {}-d array",
            names.len(),
            shape.len()
        ))),
        _ => Ok(()),
    }
}

impl BlockSink for ZarrWriter {
    fn write(&self, region: &[Range<usize>], block: &HostArray) -> Result<()> {
        let sub: Vec<Range<u64>> = region.iter().map(|r| r.start as u64..r.end as u64).collect();
        map_host!(block, a => {
            let c = a.as_standard_layout();
            let v = c.as_slice().expect("standard layout");
            self.array
                .store_array_subset_opt(&sub.as_slice(), v, &codec_options())
                .map_err(|e| Error::io(&self.path, format!("writing {region:?}: {e}")))
        })
    }
    fn finish(&self) -> Result<()> {
        let staged = self.staged.lock().map_err(|_| Error::internal("zarr writer lock poisoned"))?.take();
        staged.map_or(Ok(()), Staged::commit)
    }
    fn target(&self) -> Option<&Path> {
        Some(&self.path)
    }
}

/// Compute `x` into a Zarr v3 array at `path`, block by block, uncompressed. Irregular
/// chunks are first made regular (Zarr chunks are), so two blocks never share a Zarr chunk.
pub fn to_zarr<T: Element>(x: &Array<T>, path: impl AsRef<Path>, opts: &ComputeOptions) -> Result<RunReport> {
    to_zarr_with(x, path, None, opts)
}

/// [`to_zarr`] with chunks compressed by zstd at `zstd_level` (`None`: uncompressed).
pub fn to_zarr_with<T: Element>(
    x: &Array<T>,
    path: impl AsRef<Path>,
    zstd_level: Option<i32>,
    opts: &ComputeOptions,
) -> Result<RunReport> {
    crate::io::check_output(x, path.as_ref())?;
    let (x, w) = zarr_writer_for(x, path, &ZarrMeta { zstd_level, ..Default::default() })?;
    x.store(&w, opts)
}

/// A writer for `x` at `path`, and `x` in regular chunks matching the writer's (for
/// [`crate::io::store_many`], to write several results in one pass).
pub fn zarr_writer_for<T: Element>(
    x: &Array<T>,
    path: impl AsRef<Path>,
    meta: &ZarrMeta,
) -> Result<(Array<T>, ZarrWriter)> {
    let (x, chunk) = regular(x)?;
    let w = ZarrWriter::create_with(path, T::DTYPE, x.shape(), &chunk, meta)?;
    Ok((x, w))
}

/// `x` in regular chunks of its first block's shape (Zarr chunks are regular), and that shape.
fn regular<T: Element>(x: &Array<T>) -> Result<(Array<T>, Vec<usize>)> {
    let c = &x.node().chunks;
    let chunk: Vec<usize> = (0..x.ndim()).map(|a| c.axis(a)[0]).collect();
    let regular = Chunks::uniform(x.shape(), &chunk.iter().map(|&d| d.max(1)).collect::<Vec<_>>())?;
    let x = if &regular == c { x.clone() } else { x.rechunk(ChunkSpec::Explicit(regular))? };
    Ok((x, chunk))
}

/// The user attributes of the Zarr v3 array at `path` (`units`, `calendar`, …); of its data
/// variable for a group (see [`open_zarr`]; [`group_attributes`] gives the group's own).
pub fn attributes(path: impl AsRef<Path>) -> Result<serde_json::Map<String, serde_json::Value>> {
    Ok(open_array(&array_path(path.as_ref())?)?.attributes().clone())
}

/// The names of the dimensions of the Zarr v3 array at `path` (its `dimension_names`, which
/// xarray reads); `None` when it has none or leaves one unnamed.
pub fn dimension_names(path: impl AsRef<Path>) -> Result<Option<Vec<String>>> {
    let a = open_array(&array_path(path.as_ref())?)?;
    Ok(a.dimension_names().as_ref().and_then(|names| names.iter().cloned().collect()))
}

/// The whole Zarr v3 array at `path` as `f64` values, in C order (for coordinates).
pub fn read_f64(path: impl AsRef<Path>) -> Result<Vec<f64>> {
    let path = path.as_ref();
    let (_, dtype, _) = info(path)?;
    with_dtype!(dtype, T => {
        let a = open_zarr::<T>(path, None)?.compute()?;
        Ok(a.iter().map(|v| v.to_f64()).collect())
    })
}
