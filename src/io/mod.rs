//! Where blocks come from and go to: the [`BlockSource`] trait.
//!
//! A source produces any rectangular region of an array on request, so the planner can ask
//! for exactly the blocks (or the parts of blocks) an output needs. In-memory arrays and the
//! generated arrays (zeros, arange, random, …) are sources, and so are files: [`npy`],
//! [`raw`] binary, Zarr and netCDF. A [`BlockSink`] receives computed blocks and writes them
//! where they belong ([`Array::store`]), so a result larger than memory can be written.
//! [`open_many`] joins many files along an axis (the "one file per year" case).

pub mod dataset;
#[cfg(feature = "netcdf")]
pub mod netcdf;
pub mod npy;
pub mod raw;
pub mod synthetic;
pub mod zarr;

use std::fmt::Debug;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use crate::array::Array;
use crate::array::chunks::unravel;
use crate::block::{HostArray, Value};
use crate::dtype::{DType, Element};
use crate::error::Result;
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
    /// The elements of `region`, except that along `axis` they are the slabs at `indices`
    /// (global, in range, any order, repeats allowed) instead of `region[axis]`. The default
    /// reads runs of neighbouring indices with [`BlockSource::read`] and copies the slabs
    /// into place; a source that can make single slabs cheaply overrides it.
    fn read_take(&self, region: &[Range<usize>], axis: usize, indices: &[usize]) -> Result<HostArray> {
        crate::array::index::read_take_in_runs(self, region, axis, indices)
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
    targets: Vec<(&'a crate::array::chunks::Chunks, &'a dyn BlockSink)>,
}

impl OutputSink for StoreSink<'_> {
    fn put(&self, output: usize, block: usize, value: &Value) -> Result<()> {
        let (chunks, sink) = self.targets[output];
        let region = chunks.block_region(&unravel(block, &chunks.numblocks()));
        sink.write(&region, value.array()?)
    }
}

/// Compute several arrays in one graph, each into its sink: what they share (the reads of
/// the same files) runs once. A climatology and a mean map of the same data read it once.
pub fn store_many(
    items: &[(&dyn crate::array::AnyArray, &dyn BlockSink)],
    opts: &ComputeOptions,
) -> Result<RunReport> {
    let nodes: Vec<_> = items.iter().map(|(a, _)| a.any_node().clone()).collect();
    let graph = crate::graph::plan::plan_for(&nodes, opts);
    let targets = items.iter().map(|(a, s)| (&a.any_node().chunks, *s)).collect();
    let report = crate::scheduler::execute_into(
        &graph,
        &crate::backend::cpu::CpuBackend,
        opts,
        &StoreSink { targets },
    )?;
    for (_, s) in items {
        s.finish()?;
    }
    Ok(report)
}

impl<T: Element> Array<T> {
    /// Compute the array and hand each block to `sink` as soon as it exists; the block is
    /// dropped right after, so the array never has to fit in memory.
    pub fn store(&self, sink: &dyn BlockSink, opts: &ComputeOptions) -> Result<RunReport> {
        store_many(&[(self, sink)], opts)
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

pub use dataset::{dtype_of, expand, open_any, open_daily, open_many, time_days};
