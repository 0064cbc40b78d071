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
pub mod zarr;

use std::fs::File;
use std::path::Path;

use crate::array::Array;
use crate::compute::{OutputSink, RunReport};
use crate::core::block::Value;
use crate::core::chunks::unravel;
use crate::core::dtype::Element;
use crate::core::error::Result;
use crate::runtime::ComputeOptions;

pub use crate::core::source::{BlockSink, BlockSource};

struct StoreSink<'a> {
    targets: Vec<(&'a crate::core::chunks::Chunks, &'a dyn BlockSink)>,
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
    let nodes: Vec<_> = items.iter().map(|(a, _)| crate::array::node_of(*a).clone()).collect();
    let targets = items.iter().map(|(a, s)| (&crate::array::node_of(*a).chunks, *s)).collect();
    let report = crate::compute::run_into(&nodes, opts, &StoreSink { targets })?;
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
