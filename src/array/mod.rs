//! [`Array<T>`]: a lazy, chunked n-dimensional array.
//!
//! An array is a handle on a node of the expression DAG plus its element type. Every method
//! that transforms arrays adds one node and returns at once; nothing runs until
//! [`Array::compute`] (or [`crate::compute_many`]). The impl blocks are split by concern:
//! creation, elementwise math, reductions, slicing, block-level ops and computing.

mod compute;
mod counting;
pub mod creation;
pub(crate) mod elementwise;
pub(crate) mod index;
mod indexing;
mod map_blocks;
mod moments;
pub(crate) mod order;
pub(crate) mod order_long;
mod promoted;
mod reduce;
mod search;
mod shape;
mod shape_multi;
mod slice;
mod window;

use std::marker::PhantomData;
use std::sync::Arc;

use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::graph::node::Node;

pub(crate) use compute::node_of;
pub use compute::{AnyArray, NodeKey, compute_many, compute_many_report, plan_many};
pub use counting::{BinLength, Bins, HistogramDdOptions, HistogramOptions, histogram2d, histogramdd};
pub use elementwise::{IntoOperand, Operand, where_};
pub use indexing::Idx;
pub use moments::Spacing;
pub use order::{
    GroupQuantileOptions, LINE_BLOCK_BYTES, LineLimits, MAX_LINE_BYTES, QuantileOptions, SELECT_BYTES,
    SortOptions, TopkOptions,
};
pub use promoted::{concatenate_promoted, stack_promoted, where_promoted};
pub(crate) use reduce::norm_axes;
pub use reduce::{Axes, ReduceOptions};
pub use search::{Side, Unique, searchsorted};
pub use shape::{Nested, block, block_nested, concatenate, stack};
pub use slice::SliceArg;
pub use window::{Coarsen, CoarsenBoundary, Rolling};

/// A lazy chunked n-dimensional array of `T`.
///
/// ```
/// use tessera::prelude::*;
/// let x = tessera::ones::<f64>(&[1000, 1000], [250, 250]).unwrap();
/// let y = (&x * 2.0 + 1.0).sum(Axes::All).unwrap();
/// assert_eq!(y.item().unwrap(), 3.0e6);
/// ```
#[must_use = "arrays are lazy: call compute() to get values"]
pub struct Array<T: Element> {
    node: Arc<Node>,
    _t: PhantomData<fn() -> T>,
}

impl<T: Element> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array { node: self.node.clone(), _t: PhantomData }
    }
}

impl<T: Element> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Array<{}>(shape={:?}, blocks={:?}, op={})",
            T::DTYPE,
            self.shape(),
            self.numblocks(),
            self.node.name
        )
    }
}

impl<T: Element> Array<T> {
    /// Wrap a node whose dtype is `T`.
    pub(crate) fn from_node(node: Arc<Node>) -> Self {
        debug_assert_eq!(node.dtype, T::DTYPE, "node dtype must match the array type");
        Array { node, _t: PhantomData }
    }
    /// The graph node behind this array (for inspection and advanced use).
    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }
    /// The element type tag.
    pub fn dtype(&self) -> DType {
        T::DTYPE
    }
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.node.shape
    }
    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.node.shape.len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.node.shape.iter().product()
    }
    /// Bytes the whole array would occupy.
    pub fn nbytes(&self) -> usize {
        self.size() * T::DTYPE.size()
    }
    /// The chunks (block lengths per axis).
    pub fn chunks(&self) -> &Chunks {
        &self.node.chunks
    }
    /// Number of blocks along each axis.
    pub fn numblocks(&self) -> Vec<usize> {
        self.node.chunks.numblocks()
    }
    /// Total number of blocks.
    pub fn nblocks(&self) -> usize {
        self.node.chunks.nblocks()
    }
    /// Shape of the block at `idx`, or an error if `idx` is outside the block grid.
    pub fn block_shape(&self, idx: &[usize]) -> Result<Vec<usize>> {
        let grid = self.numblocks();
        if idx.len() != grid.len() || idx.iter().zip(&grid).any(|(i, n)| i >= n) {
            return Err(Error::invalid(format!("block index {idx:?} outside the block grid {grid:?}")));
        }
        Ok(self.node.chunks.block_shape(idx))
    }
    /// Shapes of all blocks, in C order of the block grid.
    pub fn block_shapes(&self) -> Vec<Vec<usize>> {
        let grid = self.numblocks();
        (0..self.nblocks())
            .map(|l| self.node.chunks.block_shape(&crate::core::chunks::unravel(l, &grid)))
            .collect()
    }
}

/// Normalise a possibly negative axis against `ndim`.
pub(crate) fn norm_axis(op: &str, axis: isize, ndim: usize) -> Result<usize> {
    let a = if axis < 0 { axis + ndim as isize } else { axis };
    if a < 0 || a >= ndim as isize {
        return Err(Error::InvalidAxis { op: op.into(), axis, ndim });
    }
    Ok(a as usize)
}
