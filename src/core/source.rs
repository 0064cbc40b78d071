//! Where blocks come from and go to: the [`BlockSource`] and [`BlockSink`] traits.
//!
//! A source produces any rectangular region of an array on request, so the planner can ask
//! for exactly the blocks (or the parts of blocks) an output needs; a sink receives computed
//! blocks in any order and writes them where they belong. In-memory arrays, generated arrays
//! and files (npy, raw, Zarr, netCDF: `crate::io`) implement them.

use std::fmt::Debug;
use std::ops::Range;
use std::path::Path;

use crate::core::block::{HostArray, Value};
use crate::core::dtype::DType;
use crate::core::error::Result;

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
        read_take_in_runs(self, region, axis, indices)
    }
    /// The file or directory it reads (none for memory and generated arrays), so that no
    /// output is written over an input.
    fn file(&self) -> Option<&Path> {
        None
    }
}

/// A destination for computed blocks.
pub trait BlockSink: Send + Sync {
    /// Write `block`, the part of the array at `region` (called from worker threads, once per
    /// block, in any order).
    fn write(&self, region: &[Range<usize>], block: &HostArray) -> Result<()>;
    /// Called once after every block was written: make the output whole and visible (a file
    /// sink renames its temporary into place). A sink dropped without `finish` leaves nothing.
    fn finish(&self) -> Result<()> {
        Ok(())
    }
    /// The file or directory the sink writes (to refuse outputs that are also inputs).
    fn target(&self) -> Option<&Path> {
        None
    }
}

/// Indices closer than this are read as one run (the slabs between are read and dropped)
/// when a take is pushed into a source.
const RUN_GAP: usize = 4;

/// [`BlockSource::read_take`] by runs: the distinct indices in runs (neighbours closer
/// than [`RUN_GAP`] read together), one read per run, the slabs copied into place.
pub(crate) fn read_take_in_runs<S: BlockSource + ?Sized>(
    src: &S,
    region: &[Range<usize>],
    axis: usize,
    want: &[usize],
) -> Result<HostArray> {
    let mut sorted = want.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut runs: Vec<Range<usize>> = Vec::new();
    for &j in &sorted {
        match runs.last_mut() {
            Some(r) if j <= r.end + RUN_GAP => r.end = j + 1,
            _ => runs.push(j..j + 1),
        }
    }
    let mut pieces = Vec::with_capacity(runs.len());
    for run in &runs {
        let mut r = region.to_vec();
        r[axis] = run.clone();
        pieces.push(Value::Array(src.read(&r)?));
    }
    let picks: Vec<(usize, usize)> = want
        .iter()
        .map(|&j| {
            let k = runs.partition_point(|r| r.end <= j);
            (k, j - runs[k].start)
        })
        .collect();
    let mut out_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    out_shape[axis] = want.len();
    crate::core::host::take(axis, src.dtype(), &out_shape, &picks, &pieces)
}
