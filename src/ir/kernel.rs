//! Kernel descriptors: what one task computes, independent of where it runs.
//!
//! The planner lowers graph nodes to these; a backend executes them. Each descriptor names its
//! op and carries only per-block parameters; heavy shared parts (expressions, reduction
//! kernels, user closures) are behind `Arc`s so a million tasks do not copy them.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::core::block::{HostArray, Value};
use crate::core::dtype::DType;
use crate::core::error::Result;
use crate::core::source::BlockSource;
use crate::ir::counting::CountKernel;
use crate::ir::expr::Expr;
use crate::ir::group::{GroupKernel, GroupStep};
use crate::ir::heatwave::HeatwaveKernel;
use crate::ir::order::OrderKernel;
use crate::ir::reduce::ReduceOp;
use crate::ir::window::WindowKernel;

/// What a task computes.
#[derive(Clone)]
pub enum Kernel {
    /// Read leaves (task inputs or source regions), evaluate a fused elementwise expression
    /// over them, and optionally reduce the result to a partial.
    Fused(FusedKernel),
    /// Combine reduction partials, in input order.
    ReduceCombine(ReduceOp),
    /// Turn one partial into the result block of `out_shape`.
    ReduceFinalize {
        /// The reduction.
        op: ReduceOp,
        /// Shape of the result block (keepdims applied or not).
        out_shape: Vec<usize>,
    },
    /// A strided view of one input block.
    Slice(SliceKernel),
    /// A block built from pieces of several input blocks (rechunk, concatenate).
    Assemble(AssembleKernel),
    /// A user closure over the input blocks.
    MapBlocks(MapBlocksKernel),
    /// One step of a blocked scan (cumsum, cumprod).
    Scan(ScanKernel),
    /// A block gathered from strided (and repeated) pieces of input blocks and constants:
    /// ghost cells with boundary conditions.
    Gather(Arc<GatherKernel>),
    /// Gather a block with its halo, run a user closure on it, trim the halo: one task per
    /// block of `map_overlap`.
    MapOverlap(Arc<MapOverlapKernel>),
    /// Elements picked along an axis from several input blocks (integer-list indexing).
    Take(Arc<TakeKernel>),
    /// A block's axes rearranged without copying (see `Op::Relayout`).
    Relayout(Arc<RelayoutKernel>),
    /// One step of a blocked linear-algebra algorithm (see [`TileKernel`]).
    Tile(Arc<TileKernel>),
    /// One step of a groupby-reduce block (see [`GroupKernel`]).
    Group(GroupKernel),
    /// One step of a sort, argsort, quantile or top-k (see [`OrderKernel`]).
    Order(Arc<OrderKernel>),
    /// The elements of input 0 at the `true` positions of input 1 (a 1-d bool mask block)
    /// along `axis` (boolean-mask indexing).
    Compress {
        /// The masked axis.
        axis: usize,
        /// Element type.
        dtype: DType,
    },
    /// Single elements picked from several input blocks into a 1-d block (point indexing,
    /// `vindex`).
    Points(Arc<PointsKernel>),
    /// Input 0's elements, in C order, as a block of `shape` (a reshape within one block).
    Reshape {
        /// Shape of the output block.
        shape: Vec<usize>,
    },
    /// A delayed value (input 0) turned into an array block.
    FromDelayed(Arc<FromDelayedKernel>),
    /// A user's function of the input values (a delayed task).
    Closure(Arc<ValueFn>),
    /// A rolling statistic of a block extended by its halos (see [`WindowKernel`]).
    Window(Arc<WindowKernel>),
    /// One step of a counting or searching op (see [`CountKernel`]).
    Count(Arc<CountKernel>),
    /// One step of a marine-heatwave climatology or event scan (see [`HeatwaveKernel`]).
    Heatwave(Arc<HeatwaveKernel>),
}

/// One step of a blocked linear-algebra algorithm on 2-D blocks of `f32` or `f64`: the
/// tile kernels a backend implements (the CPU with faer; a GPU the same steps on its own).
#[derive(Clone, Debug, PartialEq)]
pub enum TileKernel {
    /// Inputs `[C,] A, B` → `C + alpha · op(A) · op(B)` (`C` only when `accumulate`); `op`
    /// transposes where `ta` / `tb` say.
    Gemm {
        /// Transpose `A`.
        ta: bool,
        /// Transpose `B`.
        tb: bool,
        /// Scale of the product.
        alpha: f64,
        /// Add to a first input `C`.
        accumulate: bool,
    },
    /// Inputs `[C,] A` → `C + alpha · A · Aᵀ` (`C` only when `accumulate`): a symmetric
    /// rank-k update, computing the lower triangle (half a gemm's work) and mirroring it.
    Syrk {
        /// Scale of the product.
        alpha: f64,
        /// Add to a first input `C`.
        accumulate: bool,
    },
    /// Input `[A]` → `Aᵀ` (a view, no copy).
    Transpose,
    /// Input `[A]` (symmetric; its lower triangle is read) → its lower Cholesky factor.
    /// `tile` (the diagonal tile's index) and `offset` (its first row in the whole matrix)
    /// name a failing pivot.
    Potrf {
        /// Index of the diagonal tile.
        tile: usize,
        /// First row of the tile in the whole matrix.
        offset: usize,
    },
    /// Inputs `[T, B]`, `T` triangular → `X` with `op(T) X = B`, or `X op(T) = B` when
    /// `right`.
    Trsm {
        /// Solve from the right.
        right: bool,
        /// `T` is lower (else upper) triangular.
        lower: bool,
        /// Use `Tᵀ`.
        trans: bool,
        /// `T` has a unit diagonal (not read).
        unit: bool,
    },
    /// Inputs: the diagonal tiles of a triangular matrix, in order → an empty block, or
    /// [`crate::Error::Singular`] naming the first row whose diagonal element is zero or
    /// not finite. `offsets[i]` is tile `i`'s first row.
    CheckPivots {
        /// First row of each diagonal tile.
        offsets: Vec<usize>,
    },
    /// Inputs: the tiles of one column of blocks from the diagonal down, stacked → a
    /// [`Factors`] state `[L, U, perm]`: LU with partial pivoting over the whole panel
    /// (`stacked[perm] = L U`, `L` unit lower trapezoidal, `U` square upper, `perm` i64).
    PanelLu,
    /// Inputs `[perm, T_1, …, T_n]`: the tiles stacked, their rows permuted (`out[r] =
    /// stacked[perm[r]]`), rows `(first, count)` of the result. `perm` is an i64 array or a
    /// [`Factors`] state of [`TileKernel::PanelLu`].
    PermuteRows {
        /// `(first row, row count)` of the permuted stack.
        rows: (usize, usize),
    },
    /// Inputs `[perm, panel factors]`: the whole matrix's row permutation after the panel
    /// at row `offset` pivoted its rows.
    ComposePerm {
        /// First row of the panel.
        offset: usize,
    },
    /// Inputs `[A_1, …, A_n]` stacked by rows → a [`Factors`] state `[Q, R]`: the thin QR
    /// (`Q` has orthonormal columns, `R` is upper triangular/trapezoidal).
    Qr,
    /// Input `[A]` → a [`Factors`] state `[U, s, Vᵀ]`: the thin SVD, `s` 1-d, descending.
    Svd,
    /// Inputs: the upper blocks of the Gram matrix of one or two column panels, row by row
    /// (`[G_pp]` or `[G_pp, G_pq, G_qq]`) → a [`Factors`] state: first a one-element array,
    /// the largest `|g_ij| / (scale · max(‖x_i‖, ‖x_j‖))`, `i ≠ j`; then, when that is above
    /// `tol`, the blocks of the rotation `W` (`G`'s eigenvectors by descending eigenvalue),
    /// split as `G` is (`[W]` or `[W_pp, W_pq, W_qp, W_qq]`); nothing more when the panels
    /// are orthogonal enough. One step of one-sided block Jacobi,
    /// [`crate::linalg::svd_jacobi`].
    JacobiRotation {
        /// The matrix's Frobenius norm.
        scale: f64,
        /// Below this, no rotation.
        tol: f64,
    },
    /// Inputs `[B_p, B_q, rotation]` (or `[B_p, rotation]` for one panel): a row block of two
    /// panels and a [`TileKernel::JacobiRotation`] state → that row block of the first
    /// (`B_p W_pp + B_q W_qp`) or `second` (`B_p W_pq + B_q W_qq`) rotated panel; the input
    /// block itself, uncopied, when there was no rotation.
    JacobiApply {
        /// The second panel's block.
        second: bool,
    },
    /// Input a [`Factors`] state → factor `factor`, rows `rows` of it (all when `None`).
    Pick {
        /// Which factor.
        factor: usize,
        /// `(first row, row count)`.
        rows: Option<(usize, usize)>,
    },
    /// No input → a zero block.
    Zeros {
        /// Its shape.
        shape: Vec<usize>,
        /// Its element type.
        dtype: DType,
    },
}

/// The results of a factorisation task, picked apart by [`TileKernel::Pick`].
#[derive(Debug, Clone)]
pub struct Factors(pub Vec<HostArray>);

/// A function from task inputs to a task output: the kernel of delayed tasks.
pub type ValueFn = dyn Fn(&[Value]) -> Result<Value> + Send + Sync;

impl TileKernel {
    /// The input this tile kernel overwrites with its result (see [`Kernel::in_place_input`]).
    pub fn in_place_input(&self) -> Option<usize> {
        match self {
            TileKernel::Gemm { accumulate: true, .. } | TileKernel::Syrk { accumulate: true, .. } => Some(0),
            TileKernel::Potrf { .. } => Some(0),
            TileKernel::Trsm { .. } => Some(1),
            _ => None,
        }
    }
}

impl Kernel {
    /// The input this kernel overwrites with its result, if it has one: the running sum of an
    /// accumulating gemm or syrk, the tile potrf factors, the right-hand side trsm solves.
    /// When the task is that input's last consumer, the scheduler hands it over
    /// ([`crate::backend::Backend::execute_owned`]) and the kernel reuses its buffer instead
    /// of copying it.
    pub fn in_place_input(&self) -> Option<usize> {
        match self {
            Kernel::Tile(t) => t.in_place_input(),
            _ => None,
        }
    }

    /// A short name for labels and profiles.
    pub fn name(&self) -> &'static str {
        match self {
            Kernel::Fused(f) => match (&f.reduce, f.expr.n_ops()) {
                (Some(_), 0) => "reduce-partial",
                (Some(_), _) => "fused-reduce-partial",
                (None, 0) => "read",
                (None, _) => "fused",
            },
            Kernel::ReduceCombine(_) => "reduce-combine",
            Kernel::ReduceFinalize { .. } => "reduce-finalize",
            Kernel::Slice(_) => "slice",
            Kernel::Assemble(_) => "assemble",
            Kernel::MapBlocks(_) => "map_blocks",
            Kernel::Closure(_) => "call",
            Kernel::Compress { .. } => "compress",
            Kernel::Points(_) => "points",
            Kernel::Reshape { .. } => "reshape",
            Kernel::FromDelayed(_) => "from_delayed",
            Kernel::Group(g) => match g.step {
                GroupStep::Combine { .. } => "groupby-combine",
                GroupStep::Finalize { .. } => "groupby-finalize",
            },
            Kernel::Tile(t) => match **t {
                TileKernel::Gemm { .. } => "gemm",
                TileKernel::Syrk { .. } => "syrk",
                TileKernel::Transpose => "transpose",
                TileKernel::Potrf { .. } => "potrf",
                TileKernel::Trsm { .. } => "trsm",
                TileKernel::PanelLu => "panel-lu",
                TileKernel::CheckPivots { .. } => "check-pivots",
                TileKernel::PermuteRows { .. } => "permute-rows",
                TileKernel::ComposePerm { .. } => "compose-perm",
                TileKernel::Qr => "qr",
                TileKernel::Svd => "svd",
                TileKernel::JacobiRotation { .. } => "jacobi-rotation",
                TileKernel::JacobiApply { .. } => "jacobi-apply",
                TileKernel::Pick { .. } => "pick",
                TileKernel::Zeros { .. } => "zeros",
            },
            Kernel::Order(o) => o.name(),
            Kernel::Gather(_) => "gather",
            Kernel::Relayout(_) => "relayout",
            Kernel::Take(_) => "take",
            Kernel::MapOverlap(_) => "map_overlap",
            Kernel::Window(_) => "rolling",
            Kernel::Count(c) => c.name(),
            Kernel::Heatwave(h) => h.name(),
            Kernel::Scan(s) => match s.step {
                ScanStep::Local => "scan-local",
                ScanStep::Carry => "scan-carry",
                ScanStep::Apply => "scan-apply",
            },
        }
    }
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A leaf of a fused kernel.
#[derive(Clone, Debug)]
pub enum Leaf {
    /// The task input at this position.
    Input(usize),
    /// A region read straight from a source inside the task.
    Source {
        /// The source.
        source: Arc<dyn BlockSource>,
        /// The region, one range per source axis.
        region: Vec<Range<usize>>,
    },
}

/// Fused elementwise evaluation, optionally followed by a reduction's per-block step.
#[derive(Clone, Debug)]
pub struct FusedKernel {
    /// Leaves, in the order of the expression's inputs. Each broadcasts to `out_shape`
    /// (NumPy rules: aligned on the right, length-1 axes stretch).
    pub leaves: Vec<Leaf>,
    /// The expression over the leaves.
    pub expr: Arc<Expr>,
    /// Shape of the evaluated block.
    pub out_shape: Vec<usize>,
    /// A reduction applied to the evaluated block.
    pub reduce: Option<PartialStep>,
}

/// A reduction's per-block step, fused after an elementwise evaluation.
#[derive(Clone, Debug)]
pub struct PartialStep {
    /// The reduction.
    pub op: ReduceOp,
    /// Axes reduced (sorted).
    pub axes: Arc<[usize]>,
    /// Global offset of the block in the array (for arg-reductions' indices).
    pub offset: Vec<usize>,
    /// Shape of the whole reduced array (for arg-reductions' flat indices).
    pub global_shape: Arc<[usize]>,
}

/// A strided view of one block: per axis `(start, step, len)`; then `drop` axes are removed
/// (each has `len == 1`).
#[derive(Clone, Debug)]
pub struct SliceKernel {
    /// Per input axis: first index, step (non-zero, may be negative), number of elements.
    pub axes: Vec<(usize, isize, usize)>,
    /// Input axes to remove after slicing (integer indexing).
    pub drop: Vec<usize>,
}

/// A block made of pieces of input blocks.
#[derive(Clone, Debug)]
pub struct AssembleKernel {
    /// Element type.
    pub dtype: DType,
    /// Shape of the assembled block.
    pub out_shape: Vec<usize>,
    /// The pieces copied into the block.
    pub pieces: Vec<Piece>,
}

/// A piece of an assembled block: `(input position, region in that input, region in the
/// output)`.
pub type Piece = (usize, Vec<Range<usize>>, Vec<Range<usize>>);

/// Integer-list indexing of one output block along `axis`.
#[derive(Clone, Debug)]
pub struct TakeKernel {
    /// The axis.
    pub axis: usize,
    /// Element type.
    pub dtype: DType,
    /// Shape of the output block.
    pub out_shape: Vec<usize>,
    /// For each position along the axis: `(input position, index in that input block)`.
    pub picks: Vec<(usize, usize)>,
}

/// Drop length-1 axes, permute the rest, insert length-1 axes.
#[derive(Clone, Debug)]
pub struct RelayoutKernel {
    /// Input axes removed (each of length 1).
    pub drop: Vec<usize>,
    /// Permutation of the remaining axes.
    pub perm: Vec<usize>,
    /// Output positions of new length-1 axes.
    pub insert: Vec<usize>,
}

/// One axis of a gathered piece: `len` elements from local index `start` with `step`
/// (`1`, `-1` for mirrored halos, `0` to repeat one element).
pub type AxisRun = (usize, isize, usize);

/// A block gathered from pieces of input blocks, the rest filled with a constant.
#[derive(Clone, Debug)]
pub struct GatherKernel {
    /// Element type.
    pub dtype: DType,
    /// Shape of the gathered block.
    pub out_shape: Vec<usize>,
    /// Value of the elements no piece covers.
    pub fill: crate::core::dtype::Scalar,
    /// Whether the pieces cover every element (then `fill` is never used).
    pub covered: bool,
    /// `(input position, per-axis run in that input, region in the output)`.
    pub pieces: Vec<(usize, Vec<AxisRun>, Vec<Range<usize>>)>,
}

/// `map_overlap` of one block: gather, call, trim.
#[derive(Clone)]
pub struct MapOverlapKernel {
    /// How to gather the block with its halo (`None`: the task's one input already is the
    /// extended block, read directly from an in-memory source).
    pub gather: Option<GatherKernel>,
    /// The user's function of the extended block.
    pub func: Arc<BlockFn>,
    /// Where the (untrimmed) block sits.
    pub info: BlockInfo,
    /// Per axis, elements trimmed from the start and the end of the function's result.
    pub trim: Vec<(usize, usize)>,
    /// Result dtype.
    pub dtype: DType,
    /// A reduction's partial step applied to the trimmed block in the same task (the
    /// map_overlap's only consumer is that reduction): the task's result is the partial.
    pub reduce: Option<PartialStep>,
}

impl fmt::Debug for MapOverlapKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "map_overlap{:?}", self.info.index)
    }
}

/// Where a block sits, given to user closures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The block index in the output's block grid.
    pub index: Vec<usize>,
    /// The block's global element ranges in the output.
    pub region: Vec<Range<usize>>,
}

/// Point indexing of one output block: element `p` is element `picks[p].1` (a flat C-order
/// index) of input `picks[p].0`.
#[derive(Clone, Debug)]
pub struct PointsKernel {
    /// Element type.
    pub dtype: DType,
    /// `(input position, flat index in that input block)` per output element.
    pub picks: Vec<(usize, usize)>,
}

/// Converts a delayed value into an array block of the given shape.
pub type ConvertFn = dyn Fn(&Value, &[usize]) -> Result<Value> + Send + Sync;

/// A delayed value turned into an array block of `shape` by `convert` (made where the
/// delayed value's type is known).
#[derive(Clone)]
pub struct FromDelayedKernel {
    /// The conversion.
    pub convert: Arc<ConvertFn>,
    /// Shape of the block.
    pub shape: Vec<usize>,
}

impl fmt::Debug for FromDelayedKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "from_delayed{:?}", self.shape)
    }
}

/// A user function over blocks.
pub type BlockFn = dyn Fn(&[HostArray], &BlockInfo) -> Result<HostArray> + Send + Sync;

/// A user closure applied to one block of each input.
#[derive(Clone)]
pub struct MapBlocksKernel {
    /// The closure.
    pub func: Arc<BlockFn>,
    /// Where the output block sits.
    pub info: BlockInfo,
    /// Declared output dtype.
    pub dtype: DType,
    /// Declared output block shape.
    pub out_shape: Vec<usize>,
}

impl fmt::Debug for MapBlocksKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "map_blocks{:?}", self.info.index)
    }
}

/// Which scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanOp {
    /// Cumulative sum.
    Sum,
    /// Cumulative product.
    Prod,
}

/// Which step of a blocked scan a task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanStep {
    /// Scan inside the block: input 0 is the block.
    Local,
    /// Carry into the next block: inputs are the previous carry (if any) and the previous
    /// block's local scan.
    Carry,
    /// Local scan combined with the carry: inputs are the local scan and the carry.
    Apply,
}

/// One step of a blocked scan along `axis`.
#[derive(Clone, Debug)]
pub struct ScanKernel {
    /// The scan.
    pub op: ScanOp,
    /// The step.
    pub step: ScanStep,
    /// The scanned axis.
    pub axis: usize,
    /// Result dtype (the input is cast to it first).
    pub dtype: DType,
}
