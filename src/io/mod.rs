//! Where blocks come from and go to: the [`BlockSource`] trait.
//!
//! A source produces any rectangular region of an array on request, so the planner can ask
//! for exactly the blocks (or the parts of blocks) an output needs. In-memory arrays and the
//! generated arrays (zeros, arange, random, …) are sources, and so are files: [`npy`],
//! [`raw`] binary, Zarr and netCDF. A [`BlockSink`] receives computed blocks and writes them
//! where they belong ([`Array::store`]), so a result larger than memory can be written.
//! [`open_many`] joins many files along an axis (the "one file per year" case). [`NcMeta`]
//! is the CF metadata of a result (dimension names, coordinates, attributes), which the
//! netCDF writer and the Zarr group writer ([`zarr::to_zarr_dataset`]) both take.

mod cf;
pub mod dataset;
#[cfg(feature = "netcdf")]
mod hdf5_layout;
#[cfg(feature = "netcdf")]
pub mod netcdf;
#[cfg(all(feature = "netcdf", unix))]
mod netcdf_chunks;
#[cfg(feature = "netcdf")]
mod netcdf_write;
pub mod npy;
pub mod raw;
pub mod staged;
pub mod zarr;
mod zarr_dataset;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::array::Array;
use crate::compute::{OutputSink, RunReport};
use crate::core::block::Value;
use crate::core::chunks::unravel;
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::runtime::ComputeOptions;

pub use crate::core::source::{BlockSink, BlockSource};
pub use cf::{NcCoordinate, NcMeta};

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
    let inputs = input_files(&nodes);
    for (_, sink) in items {
        if let Some(t) = sink.target() {
            refuse_overwriting_inputs(&inputs, t)?;
        }
    }
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

    /// Compute the array into a .npy file, block by block. The file appears whole when the
    /// run succeeds; a failed run leaves `path` as it was. A path the array reads from is
    /// refused.
    pub fn to_npy(&self, path: impl AsRef<Path>, opts: &ComputeOptions) -> Result<RunReport> {
        check_output(self, path.as_ref())?;
        let w = npy::NpyWriter::create(path, T::DTYPE, self.shape())?;
        self.store(&w, opts)
    }
}

/// Refuse `target` as an output of `x` when `x` reads it (see [`store_many`]), before
/// anything is created.
/// `spec` for a file stored in chunks of `storage`: automatic blocks (`Auto`, `AutoBytes`)
/// become whole storage chunks near the target ([`Chunks::auto_aligned`]), so each stored
/// (compressed) chunk is decoded by one task; explicit blocks stay as asked.
///
/// [`Chunks::auto_aligned`]: crate::Chunks::auto_aligned
pub(crate) fn aligned_to_storage(
    spec: crate::ChunkSpec,
    shape: &[usize],
    dtype: crate::DType,
    storage: &[usize],
) -> Result<crate::ChunkSpec> {
    use crate::{ChunkSpec, Chunks};
    Ok(match spec {
        ChunkSpec::Auto => {
            ChunkSpec::Explicit(Chunks::auto_aligned(shape, dtype, DEFAULT_FILE_BLOCK_BYTES, storage)?)
        }
        ChunkSpec::AutoBytes(b) => ChunkSpec::Explicit(Chunks::auto_aligned(shape, dtype, b, storage)?),
        spec => spec,
    })
}

/// The target size of automatic blocks over a chunked file.
pub(crate) const DEFAULT_FILE_BLOCK_BYTES: usize = 16 << 20;

pub(crate) fn check_output(x: &dyn crate::array::AnyArray, target: &Path) -> Result<()> {
    let inputs = input_files(std::slice::from_ref(crate::array::node_of(x)));
    refuse_overwriting_inputs(&inputs, target)
}

/// The files and directories the graphs of `outputs` read.
fn input_files(outputs: &[Arc<Node>]) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<&Arc<Node>> = outputs.iter().collect();
    let mut files = Vec::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n.id) {
            continue;
        }
        if let Op::Source(src) = &n.op
            && let Some(f) = src.file()
        {
            files.push(f.to_path_buf());
        }
        stack.extend(n.inputs.iter());
    }
    files
}

/// An error when writing `target` would destroy one of `inputs`: the same path (through any
/// symlink), the same file under another name (a hard link), a directory holding an input (a
/// Zarr group around the input array), or a path inside an input's directory.
fn refuse_overwriting_inputs(inputs: &[PathBuf], target: &Path) -> Result<()> {
    let out = resolve(target);
    for input in inputs {
        let inp = resolve(input);
        let why = if out == inp || same_file(target, input) {
            "is that input"
        } else if inp.starts_with(&out) {
            "contains that input"
        } else if out.starts_with(&inp) {
            "lies inside that input"
        } else {
            continue;
        };
        return Err(Error::invalid(format!(
            "the output '{}' {why} ('{}'): writing it would destroy data the run reads; choose another output path",
            target.display(),
            input.display()
        )));
    }
    Ok(())
}

/// `p` made absolute with symlinks resolved; for a path that does not exist yet, its nearest
/// existing ancestor resolved and the rest appended.
fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut tail = Vec::new();
    let mut cur = abs.as_path();
    while let Some(parent) = cur.parent() {
        if let Some(name) = cur.file_name() {
            tail.push(name.to_os_string());
        }
        if let Ok(c) = parent.canonicalize() {
            let mut out = c;
            out.extend(tail.iter().rev());
            return out;
        }
        cur = parent;
    }
    abs
}

/// Whether two existing paths are the same file (device and inode).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}

pub use dataset::{dtype_of, expand, open_any, open_daily, open_many, time_days};
