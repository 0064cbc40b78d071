//! Ops that lower themselves: nodes whose tasks form a graph of their own over the blocks
//! (blocked linear algebra: a Cholesky's potrf/trsm/gemm steps, a TSQR's tree of small QRs;
//! a groupby's partials per cohort, combine trees and finalizes). The one graph-level seam
//! for a collection that emits its own tasks.
//!
//! Such an op is not lowered one output block at a time by the planner: its tasks depend on
//! each other in an order only the algorithm knows. A [`TiledOp`] lowers itself whole, once
//! per plan, through a [`TileBuilder`]; an op with several results (Q and R of a QR) is
//! several nodes sharing one op and one `group` id, so planning Q and R together emits the
//! tasks once. Tasks the requested outputs do not need are culled after lowering.

use std::sync::Arc;

use crate::core::chunks::Chunks;
use crate::graph::node::Node;
use crate::graph::plan::Planner;
use crate::ir::kernel::{Kernel, TileKernel};
use crate::ir::task::TaskId;

/// An algorithm over blocks that emits its own tasks (see the module documentation).
pub trait TiledOp: Send + Sync {
    /// A short name for task labels (`"cholesky"`).
    fn name(&self) -> &str;
    /// Emit the tasks; return, for each of the op's outputs, its block tasks in C order of
    /// that output's block grid.
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>>;
    /// The order in which the scheduler's priorities should visit the blocks of output
    /// `output` (of `chunks`), when it is requested: a permutation of `0..chunks.nblocks()`,
    /// or `None` for C order. An op whose neighbouring blocks along some axis share inputs
    /// puts that axis innermost, so a shared input is consumed by both before it can wait.
    fn visit_order(&self, output: usize, chunks: &Chunks) -> Option<Vec<usize>> {
        let _ = (output, chunks);
        None
    }
}

/// Which output of which tiled op a node is.
#[derive(Clone)]
pub struct TiledSpec {
    /// The algorithm, shared by the nodes of its outputs.
    pub op: Arc<dyn TiledOp>,
    /// Identifies the op within a plan (one lowering per group).
    pub group: u64,
    /// Which of the op's outputs this node is.
    pub output: usize,
}

/// What a [`TiledOp`] lowers through: its inputs' block tasks, and new tasks.
pub struct TileBuilder<'a> {
    pub(super) planner: &'a mut Planner,
    pub(super) inputs: &'a [Arc<Node>],
    pub(super) name: Arc<str>,
}

impl TileBuilder<'_> {
    /// The chunks of input `k`.
    pub fn chunks(&self, k: usize) -> &Chunks {
        &self.inputs[k].chunks
    }

    /// The element type of input `k`.
    pub fn dtype(&self, k: usize) -> crate::core::dtype::DType {
        self.inputs[k].dtype
    }

    /// The task of block `idx` of input `k`.
    pub fn input(&mut self, k: usize, idx: &[usize]) -> TaskId {
        let node = self.inputs[k].clone();
        self.planner.task_for(&node, idx)
    }

    /// A new task running `kernel` on `deps`; `block` labels it, `out_bytes` estimates its
    /// result.
    pub fn push(
        &mut self,
        kernel: TileKernel,
        deps: Vec<TaskId>,
        block: &[usize],
        out_bytes: usize,
    ) -> TaskId {
        self.push_kernel(Kernel::Tile(Arc::new(kernel)), deps, block, out_bytes)
    }

    /// A new task running any kernel on `deps`; `block` labels it, `out_bytes` estimates its
    /// result.
    pub fn push_kernel(
        &mut self,
        kernel: Kernel,
        deps: Vec<TaskId>,
        block: &[usize],
        out_bytes: usize,
    ) -> TaskId {
        self.planner.push_sized(kernel, deps, self.name.clone(), block, out_bytes)
    }

    /// Declare that task `t` allocates about `bytes` while it runs besides its result
    /// (copies, strips of accumulators), for the scheduler's memory accounting.
    pub fn set_scratch(&mut self, t: TaskId, bytes: usize) {
        self.planner.tasks[t].scratch_bytes = bytes;
    }

    /// Combine `level` in groups of `every` (in order, each by a new `combine()` task) until
    /// one task is left; returns it (as a one-element list; empty if `level` was).
    pub fn tree(
        &mut self,
        level: Vec<TaskId>,
        every: usize,
        combine: impl Fn() -> Kernel,
        block: &[usize],
        out_bytes: usize,
    ) -> Vec<TaskId> {
        self.planner.tree(level, every, combine, self.name.clone(), block, out_bytes)
    }
}

/// New group ids (process-wide, like node ids).
pub fn next_group() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
