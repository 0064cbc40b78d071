//! Where blocks come from and go to: the [`BlockSource`] trait.
//!
//! A source produces any rectangular region of an array on request, so the planner can ask
//! for exactly the blocks (or the parts of blocks) an output needs. In-memory arrays and the
//! generated arrays (zeros, arange, random, …) are sources, and so are files: [`npy`],
//! [`raw`] binary, Zarr and netCDF. A [`BlockSink`] receives computed blocks and writes them
//! where they belong ([`Array::store`]), so a result larger than memory can be written.
//! [`open_many`] joins many files along an axis (the "one file per year" case).

pub mod npy;
pub mod raw;
pub mod synthetic;
pub mod zarr;

use std::fmt::Debug;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::array::Array;
use crate::array::chunks::unravel;
use crate::block::{HostArray, Value};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::scheduler::{ComputeOptions, OutputSink, RunReport};

/// A lazily read array: produces any region on request.
pub trait BlockSource: Send + Sync + Debug {
    /// A short name for graphs and profiles (`"from_array"`, `"ones"`, …).
    fn name(&self) -> &str;
    /// Element type of the values it produces.
    fn dtype(&self) -> DType;
    /// Shape of the whole array.
    fn shape(&self) -> &[usize];
    /// The elements in `region` (one range per axis, within the shape), as a block of shape
    /// `region.map(len)`.
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray>;
    /// Whether reading is free (a view of memory), so reading the same region in several
    /// tasks costs nothing and the planner may inline the read everywhere it is used.
    fn is_cheap(&self) -> bool {
        false
    }
}

/// A destination for computed blocks.
pub trait BlockSink: Send + Sync {
    /// Write `block`, the part of the array at `region` (called from worker threads, once per
    /// block, in any order).
    fn write(&self, region: &[Range<usize>], block: &HostArray) -> Result<()>;
    /// Called once after every block was written.
    fn finish(&self) -> Result<()> {
        Ok(())
    }
}

struct StoreSink<'a> {
    chunks: &'a crate::array::chunks::Chunks,
    sink: &'a dyn BlockSink,
}

impl OutputSink for StoreSink<'_> {
    fn put(&self, _output: usize, block: usize, value: &Value) -> Result<()> {
        let region = self.chunks.block_region(&unravel(block, &self.chunks.numblocks()));
        self.sink.write(&region, value.array()?)
    }
}

impl<T: Element> Array<T> {
    /// Compute the array and hand each block to `sink` as soon as it exists; the block is
    /// dropped right after, so the array never has to fit in memory.
    pub fn store(&self, sink: &dyn BlockSink, opts: &ComputeOptions) -> Result<RunReport> {
        let graph = self.plan();
        let s = StoreSink { chunks: &self.node().chunks, sink };
        let report = crate::scheduler::execute_into(&graph, &crate::backend::cpu::CpuBackend, opts, &s)?;
        sink.finish()?;
        Ok(report)
    }

    /// Compute the array into a .npy file, block by block.
    pub fn to_npy(&self, path: impl AsRef<Path>, opts: &ComputeOptions) -> Result<RunReport> {
        let w = npy::NpyWriter::create(path, T::DTYPE, self.shape())?;
        self.store(&w, opts)
    }
}

#[cfg(unix)]
pub(crate) fn write_at(f: &File, buf: &[u8], pos: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, pos)
}

#[cfg(not(unix))]
pub(crate) fn write_at(f: &File, buf: &[u8], pos: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = f.try_clone()?;
    f.seek(SeekFrom::Start(pos))?;
    f.write_all(buf)
}

/// The files a pattern names, sorted: a glob (`data/sst.*.npy`) or one path. An error if
/// nothing matches.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
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
