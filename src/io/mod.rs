//! Where blocks come from and go to: the [`BlockSource`] trait.
//!
//! A source produces any rectangular region of an array on request, so the planner can ask
//! for exactly the blocks (or the parts of blocks) an output needs. In-memory arrays and the
//! generated arrays (zeros, arange, random, …) are sources; file formats (.npy, Zarr, netCDF)
//! join them with the out-of-core issue, and sinks (`BlockSink`) with it.

pub mod synthetic;

use std::fmt::Debug;
use std::ops::Range;

use crate::block::HostArray;
use crate::dtype::DType;
use crate::error::Result;

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
