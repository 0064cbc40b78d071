//! [`Node`]: one operation in the expression DAG.
//!
//! A node records the op, its inputs and the metadata of its result (dtype, shape, chunks).
//! Building a node costs O(inputs + axes), never O(blocks): blocks only appear when the
//! planner lowers the nodes an output needs to tasks.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::chunks::Chunks;
use crate::core::dtype::DType;
use crate::core::source::BlockSource;
use crate::ir::expr::Expr;
use crate::ir::kernel::{BlockFn, ScanOp, ValueFn};
use crate::ir::reduce::ReduceOp;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One operation of the DAG and the metadata of its result.
pub struct Node {
    /// Unique id (process-wide).
    pub id: u64,
    /// A short name for graphs and error messages (`"add"`, `"sum"`, `"from_array"`).
    pub name: Arc<str>,
    /// Element type of the result.
    pub dtype: DType,
    /// Shape of the result.
    pub shape: Vec<usize>,
    /// Chunks of the result.
    pub chunks: Chunks,
    /// What the node computes.
    pub op: Op,
    /// The nodes it reads.
    pub inputs: Vec<Arc<Node>>,
}

impl Drop for Node {
    /// Drop long chains of nodes iteratively: a recursive drop of a 100,000-deep delayed
    /// chain would overflow the stack.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.inputs);
        while let Some(n) = stack.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(n) {
                stack.append(&mut inner.inputs);
            }
        }
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}({}, {:?})", self.name, self.id, self.dtype, self.shape)
    }
}

impl Node {
    /// A new node; the shape is taken from the chunks.
    pub fn new(
        name: impl Into<Arc<str>>,
        dtype: DType,
        chunks: Chunks,
        op: Op,
        inputs: Vec<Arc<Node>>,
    ) -> Arc<Node> {
        Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: name.into(),
            dtype,
            shape: chunks.shape(),
            chunks,
            op,
            inputs,
        })
    }
}

/// The operations a node can hold.
#[derive(Clone)]
pub enum Op {
    /// Blocks read from a source (memory, a generator, a file).
    Source(Arc<dyn BlockSource>),
    /// A fusable elementwise expression over the inputs, which broadcast to this node's shape
    /// (NumPy rules) and share its chunks on every axis they do not broadcast.
    Elementwise(Arc<Expr>),
    /// A tree reduction.
    Reduce(ReduceSpec),
    /// Strided selection; every output block comes from one input block.
    Slice(SliceSpec),
    /// The same values in this node's chunks.
    Rechunk,
    /// A user closure per block; inputs have this node's block grid.
    MapBlocks(Arc<BlockFn>),
    /// A delayed task: one value (no array) computed by a function of the values of input
    /// block `input_blocks[k]` of each input `k` (a delayed input has the single block `[]`).
    Delayed {
        /// The function.
        func: Arc<ValueFn>,
        /// The block of each input the function reads.
        input_blocks: Vec<Vec<usize>>,
    },
    /// Array blocks made by delayed tasks: block `i` (C order) is the value of input `i`,
    /// converted by the function, which gets the declared block shape and checks it.
    FromDelayed(Arc<ConvertFn>),
    /// Each block extended by halos of `depth` elements per axis taken from its neighbours
    /// (or the boundary condition beyond the array's edges).
    Overlap {
        /// Halo width per axis.
        depth: Vec<usize>,
        /// Boundary condition per axis.
        boundary: Vec<crate::graph::halo::Boundary>,
    },
    /// The array padded by `width[a] = (before, after)` elements per axis, filled by the
    /// boundary condition; only the first and last blocks of an axis grow.
    Pad {
        /// Widths per axis.
        width: Vec<(usize, usize)>,
        /// Boundary condition per axis.
        boundary: Vec<crate::graph::halo::Boundary>,
    },
    /// Elements picked along `axis` by index (repeats and any order allowed); output block
    /// `j` along the axis holds `picks[j]`, each `(input block, local index)`.
    Take {
        /// The axis.
        axis: usize,
        /// Per output block along the axis, the input element each position reads.
        picks: Vec<Vec<(usize, usize)>>,
    },
    /// The slabs along `axis` where a 1-d boolean mask (the second input, cut like the
    /// first along the axis) is true: output block `k` along the axis is the selection from
    /// input block `blocks[k]`.
    Compress {
        /// The axis.
        axis: usize,
        /// Per output block along the axis, the input (and mask) block it selects from.
        blocks: Vec<usize>,
    },
    /// Single elements picked anywhere (pointwise indexing): a 1-d result whose block `j`
    /// holds `picks[j]`, each `(input block, C-order index inside that block)`.
    Points {
        /// Per output block, the elements it picks.
        picks: Vec<Vec<(Vec<usize>, usize)>>,
    },
    /// `map_overlap`: per block, gather the halo, run `func`, trim; this node has the input's
    /// chunks.
    MapOverlap {
        /// Halo width per axis.
        depth: Vec<usize>,
        /// Boundary condition per axis.
        boundary: Vec<crate::graph::halo::Boundary>,
        /// The user's function of an extended block.
        func: Arc<BlockFn>,
    },
    /// Axes rearranged without moving data: input axes `drop` (each of length 1) removed,
    /// the rest permuted by `perm` (output axis `d` is remaining axis `perm[d]`), then
    /// length-1 axes inserted at the output positions `insert`.
    Relayout {
        /// Input axes removed.
        drop: Vec<usize>,
        /// Permutation of the remaining axes.
        perm: Vec<usize>,
        /// Output positions of new length-1 axes.
        insert: Vec<usize>,
    },
    /// Each block reshaped on its own (C order): block `i` of the result is block `i` of the
    /// input (same block grid), with this node's block shape.
    ReshapeBlocks,
    /// Inputs joined along an axis; a block of the result is a block of one input.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// One output of a tiled algorithm (blocked linear algebra), lowered whole.
    Tiled(crate::graph::tiled::TiledSpec),
    /// A cumulative scan along an axis.
    Scan {
        /// Sum or product.
        op: ScanOp,
        /// The scanned axis.
        axis: usize,
    },
}

impl Op {
    /// Whether the op is a blockwise elementwise expression.
    pub fn is_elementwise(&self) -> bool {
        matches!(self, Op::Elementwise(_))
    }
}

pub use crate::ir::kernel::ConvertFn;

/// Parameters of a tree reduction.
#[derive(Clone, Debug)]
pub struct ReduceSpec {
    /// The reduction.
    pub op: ReduceOp,
    /// Reduced input axes, sorted.
    pub axes: Arc<[usize]>,
    /// Whether reduced axes stay with length 1.
    pub keepdims: bool,
    /// Most partials combined by one task.
    pub split_every: usize,
}

/// One output block of a slice along one axis: `(input block, first local index, step, len)`.
pub type SliceBlock = (usize, usize, isize, usize);

/// Parameters of a slice.
#[derive(Clone, Debug)]
pub struct SliceSpec {
    /// Per input axis, the output blocks along it.
    pub axes: Vec<Vec<SliceBlock>>,
    /// Input axes removed (integer indices).
    pub drop: Vec<usize>,
}
