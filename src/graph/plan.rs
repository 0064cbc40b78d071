//! The planner: from output nodes to a [`TaskGraph`].
//!
//! It walks the DAG from the requested output blocks only (culling is free: a block nobody
//! asks for never becomes a task), inlines elementwise nodes and source reads into the task of
//! their single consumer (fusion: a chain `exp(x) + 1` feeding a reduction is one task per
//! block), and lowers every other node block by block. Several outputs planned together
//! share the tasks of their common subgraphs. Tasks are created inputs-first, so the task list
//! is in topological order.

use std::collections::HashMap;
use std::sync::Arc;

use crate::core::chunks::{linear_index, unravel};
use crate::graph::node::{Node, Op};
use crate::ir::expr::Expr;
use crate::ir::kernel::{
    BlockInfo, FromDelayedKernel, FusedKernel, Kernel, Leaf, MapBlocksKernel, PointsKernel, SliceKernel,
};
use crate::ir::task::{PlanStats, Task, TaskGraph, TaskId};
use crate::runtime::ComputeOptions;

/// Plan the given output nodes (all their blocks) into one task graph, for the default
/// [`ComputeOptions`] (their memory budget bounds the rechunk planner).
pub fn plan(outputs: &[Arc<Node>]) -> TaskGraph {
    plan_for(outputs, &ComputeOptions::global())
}

/// Plan the given output nodes for a run with `opts`: a rechunk task's working set is kept
/// within the budget's share of one worker ([`rechunk_limit`]).
pub fn plan_for(outputs: &[Arc<Node>], opts: &ComputeOptions) -> TaskGraph {
    let limit = rechunk_limit(opts);
    let p = Planner::new(outputs, limit);
    // Lowering recurses along the DAG's depth; deep graphs (long delayed chains) get a thread
    // with a stack to match (reserved, not committed, until used).
    if p.stats.nodes > DEEP_GRAPH_NODES {
        let stack = (p.stats.nodes * 4096).clamp(64 << 20, 8 << 30);
        let r = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(stack)
                .spawn_scoped(s, move || p.lower(outputs))
                .map(|h| h.join())
        });
        if let Ok(Ok(g)) = r {
            return g;
        }
        return Planner::new(outputs, limit).lower(outputs);
    }
    p.lower(outputs)
}

/// The most bytes one rechunk task may hold: the memory budget shared between the workers
/// and one more share for the results waiting between stages.
pub fn rechunk_limit(opts: &ComputeOptions) -> usize {
    opts.budget_bytes() / (opts.worker_count() + 1)
}

/// Bytes of block `block` of `node` (0 when `block` is not an index of its grid).
pub(super) fn block_bytes(node: &Node, block: &[usize]) -> usize {
    let grid = node.chunks.numblocks();
    if block.len() != grid.len() || block.iter().zip(&grid).any(|(b, n)| b >= n) {
        return 0;
    }
    node.chunks.block_shape(block).iter().product::<usize>() * node.dtype.size()
}

/// Drop the tasks no output needs (a tiled op emits all of its tasks, even for outputs
/// nobody asked for) and renumber the rest, keeping their order.
fn cull(tasks: Vec<Task>, outs: Vec<Vec<TaskId>>) -> (Vec<Task>, Vec<Vec<TaskId>>) {
    let mut keep = vec![false; tasks.len()];
    let mut stack: Vec<TaskId> = outs.iter().flatten().copied().collect();
    while let Some(t) = stack.pop() {
        if !std::mem::replace(&mut keep[t], true) {
            stack.extend(&tasks[t].inputs);
        }
    }
    if keep.iter().all(|&k| k) {
        return (tasks, outs);
    }
    let mut new_id = vec![usize::MAX; tasks.len()];
    let mut kept = Vec::with_capacity(tasks.len());
    for (i, mut t) in tasks.into_iter().enumerate() {
        if keep[i] {
            t.inputs.iter_mut().for_each(|j| *j = new_id[*j]);
            new_id[i] = kept.len();
            kept.push(t);
        }
    }
    let outs = outs.into_iter().map(|ids| ids.into_iter().map(|t| new_id[t]).collect()).collect();
    (kept, outs)
}

/// Graphs with more nodes than this are lowered on a thread with a large stack.
const DEEP_GRAPH_NODES: usize = 2000;

impl Planner {
    fn lower(mut self, outputs: &[Arc<Node>]) -> TaskGraph {
        let p = &mut self;
        let mut outs = Vec::with_capacity(outputs.len());
        let mut visit = Vec::with_capacity(outputs.len());
        for node in outputs {
            visit.push(match &node.op {
                Op::Tiled(spec) => spec.op.visit_order(spec.output, &node.chunks).unwrap_or_default(),
                _ => Vec::new(),
            });
            let grid = node.chunks.numblocks();
            let n = node.chunks.nblocks();
            let mut ids = Vec::with_capacity(n);
            for lin in 0..n {
                ids.push(p.task_for(node, &unravel(lin, &grid)));
            }
            outs.push(ids);
        }
        let (tasks, outs) = cull(std::mem::take(&mut p.tasks), outs);
        p.stats.tasks = tasks.len();
        TaskGraph { tasks, outputs: outs, visit, stats: p.stats.clone() }
    }
}

pub(crate) struct Planner {
    pub(super) tasks: Vec<Task>,
    pub(super) memo: HashMap<(u64, usize), TaskId>,
    /// Scan intermediates: (node, block, 0 = local scan | 1 = carry into the block).
    pub(super) aux: HashMap<(u64, usize, u8), TaskId>,
    /// Number of (consumer, input slot) edges into each node, plus one per output use.
    pub(super) uses: HashMap<u64, usize>,
    pub(super) fused: std::collections::HashSet<u64>,
    /// The composed expression of each fused node.
    pub(super) exprs: HashMap<u64, Arc<Expr>>,
    pub(super) stats: PlanStats,
    /// The output block tasks of each tiled op lowered so far, by group.
    pub(super) tiled: HashMap<u64, Vec<Vec<TaskId>>>,
    /// For each rechunk node lowered so far, the node it assembles from (its input, or an
    /// intermediate stage the rechunk planner put in; the stages are kept alive here).
    pub(super) staged: HashMap<u64, Arc<Node>>,
    /// The most bytes one rechunk task may hold.
    pub(super) rechunk_limit: usize,
}

impl Planner {
    fn new(outputs: &[Arc<Node>], rechunk_limit: usize) -> Self {
        let mut uses: HashMap<u64, usize> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<&Arc<Node>> = outputs.iter().collect();
        let mut stats = PlanStats::default();
        for o in outputs {
            *uses.entry(o.id).or_default() += 1;
        }
        while let Some(n) = stack.pop() {
            if !seen.insert(n.id) {
                continue;
            }
            stats.nodes += 1;
            stats.blocks += n.chunks.nblocks();
            for i in &n.inputs {
                *uses.entry(i.id).or_default() += 1;
                stack.push(i);
            }
        }
        Planner {
            tasks: Vec::new(),
            memo: HashMap::new(),
            aux: HashMap::new(),
            exprs: HashMap::new(),
            uses,
            fused: Default::default(),
            stats,
            tiled: HashMap::new(),
            staged: HashMap::new(),
            rechunk_limit,
        }
    }

    /// Push a task with a given name and size estimate (tiled ops).
    pub(super) fn push_sized(
        &mut self,
        kernel: Kernel,
        inputs: Vec<TaskId>,
        name: Arc<str>,
        block: &[usize],
        out_bytes: usize,
    ) -> TaskId {
        self.tasks.push(Task {
            kernel,
            inputs,
            node: name,
            block: block.to_vec(),
            out_bytes,
            scratch_bytes: 0,
        });
        self.tasks.len() - 1
    }

    pub(super) fn push(
        &mut self,
        kernel: Kernel,
        inputs: Vec<TaskId>,
        node: &Node,
        block: &[usize],
    ) -> TaskId {
        let out_bytes = block_bytes(node, block);
        let reads = match &kernel {
            Kernel::Fused(k) => k.leaves.iter().any(|l| matches!(l, Leaf::Source { .. })),
            _ => false,
        };
        let scratch_bytes = if reads { out_bytes } else { 0 };
        self.tasks.push(Task {
            kernel,
            inputs,
            node: node.name.clone(),
            block: block.to_vec(),
            out_bytes,
            scratch_bytes,
        });
        self.tasks.len() - 1
    }

    /// Whether `input` can be computed inside the tasks of its consumer, whose shape is
    /// `consumer_shape`: the input is an elementwise node or a source, it is not broadcast
    /// (same shape, so same blocks), and it has no other consumer (or reading it is free).
    /// The decision is per node, so one composed expression serves every block.
    pub(super) fn inlinable(&self, input: &Node, consumer_shape: &[usize]) -> bool {
        if input.shape.as_slice() != consumer_shape {
            return false;
        }
        let single_use = self.uses.get(&input.id).copied().unwrap_or(0) <= 1;
        match &input.op {
            Op::Elementwise(_) => single_use,
            Op::Source(s) => s.is_cheap() || single_use,
            _ => false,
        }
    }

    /// The task computing block `idx` of `node`.
    pub(super) fn task_for(&mut self, node: &Arc<Node>, idx: &[usize]) -> TaskId {
        let lin = linear_index(idx, &node.chunks.numblocks());
        if let Some(&t) = self.memo.get(&(node.id, lin)) {
            return t;
        }
        let t = match &node.op {
            Op::Source(_) | Op::Elementwise(_) => {
                let mut leaves = Vec::new();
                let mut deps = Vec::new();
                let expr = self.fuse(node, idx, &mut leaves, &mut deps);
                let shape = node.chunks.block_shape(idx);
                let k = FusedKernel { leaves, expr, out_shape: shape, reduce: None };
                self.push(Kernel::Fused(k), deps, node, idx)
            }
            Op::Reduce(spec) => self.reduce_block(node, spec, idx),
            Op::Slice(spec) => {
                let input = &node.inputs[0];
                let mut in_idx = Vec::with_capacity(spec.axes.len());
                let mut axes = Vec::with_capacity(spec.axes.len());
                let mut out_axis = 0;
                for (ax, blocks) in spec.axes.iter().enumerate() {
                    let j = if spec.drop.contains(&ax) {
                        0
                    } else {
                        out_axis += 1;
                        idx[out_axis - 1]
                    };
                    let (b, start, step, len) = blocks[j];
                    in_idx.push(b);
                    axes.push((start, step, len));
                }
                let dep = self.task_for(input, &in_idx);
                let k = SliceKernel { axes, drop: spec.drop.clone() };
                self.push(Kernel::Slice(k), vec![dep], node, idx)
            }
            Op::Rechunk => self.rechunk_block(node, idx),
            Op::Tiled(spec) => {
                if !self.tiled.contains_key(&spec.group) {
                    let mut b = crate::graph::tiled::TileBuilder {
                        planner: self,
                        inputs: &node.inputs,
                        name: spec.op.name().into(),
                    };
                    let outs = spec.op.lower(&mut b);
                    self.tiled.insert(spec.group, outs);
                }
                self.tiled[&spec.group][spec.output][lin]
            }
            Op::MapBlocks(func) => {
                let deps: Vec<TaskId> = node.inputs.clone().iter().map(|i| self.task_for(i, idx)).collect();
                let k = MapBlocksKernel {
                    func: func.clone(),
                    info: BlockInfo { index: idx.to_vec(), region: node.chunks.block_region(idx) },
                    dtype: node.dtype,
                    out_shape: node.chunks.block_shape(idx),
                };
                self.push(Kernel::MapBlocks(k), deps, node, idx)
            }
            Op::Scan { op, axis } => self.scan_block(node, *op, *axis, idx),
            Op::Overlap { depth, boundary } => self.overlap_block(node, depth, boundary, idx),
            Op::Pad { width, boundary } => {
                let input = &node.inputs[0];
                let grid = input.chunks.numblocks();
                let ext: Vec<(usize, usize)> = (0..idx.len())
                    .map(|a| crate::graph::halo::pad_extent(idx[a], grid[a], width[a]))
                    .collect();
                let (k, blocks) =
                    crate::graph::halo::gather_extended(&input.chunks, node.dtype, idx, &ext, boundary);
                let deps = blocks.iter().map(|b| self.task_for(input, b)).collect();
                self.push(Kernel::Gather(Arc::new(k)), deps, node, idx)
            }
            Op::Take { axis, picks } => {
                let input = &node.inputs[0];
                let mut deps = Deps::default();
                let mut sel = Vec::with_capacity(picks[idx[*axis]].len());
                for &(b, local) in &picks[idx[*axis]] {
                    let mut in_idx = idx.to_vec();
                    in_idx[*axis] = b;
                    sel.push((deps.position(self, input, &in_idx), local));
                }
                let deps = deps.tasks;
                let k = crate::ir::kernel::TakeKernel {
                    axis: *axis,
                    dtype: node.dtype,
                    out_shape: node.chunks.block_shape(idx),
                    picks: sel,
                };
                self.push(Kernel::Take(Arc::new(k)), deps, node, idx)
            }
            Op::Compress { axis, blocks } => {
                let mut in_idx = idx.to_vec();
                in_idx[*axis] = blocks[idx[*axis]];
                let x = self.task_for(&node.inputs[0], &in_idx);
                let m = self.task_for(&node.inputs[1], &in_idx[*axis..=*axis]);
                self.push(Kernel::Compress { axis: *axis, dtype: node.dtype }, vec![x, m], node, idx)
            }
            Op::Points { picks } => {
                let input = &node.inputs[0];
                let mut deps = Deps::default();
                let mut sel: Vec<(usize, usize)> = Vec::with_capacity(picks[idx[0]].len());
                for (b, local) in &picks[idx[0]] {
                    sel.push((deps.position(self, input, b), *local));
                }
                let deps = deps.tasks;
                let k = PointsKernel { dtype: node.dtype, picks: sel };
                self.push(Kernel::Points(Arc::new(k)), deps, node, idx)
            }
            Op::MapOverlap { depth, boundary, func } => {
                self.map_overlap_block(node, depth, boundary, func, idx, None)
            }
            Op::Relayout { drop, perm, insert } => {
                let input = &node.inputs[0];
                // Output block index → input block index: skip inserted axes, undo the
                // permutation, put 0 at dropped axes.
                let kept: Vec<usize> =
                    (0..idx.len()).filter(|d| !insert.contains(d)).map(|d| idx[d]).collect();
                let mut remaining = vec![0; perm.len()];
                for (d, &p) in perm.iter().enumerate() {
                    remaining[p] = kept[d];
                }
                let mut in_idx = Vec::with_capacity(input.shape.len());
                let mut r = remaining.into_iter();
                for a in 0..input.shape.len() {
                    in_idx.push(if drop.contains(&a) { 0 } else { r.next().unwrap_or(0) });
                }
                let dep = self.task_for(input, &in_idx);
                let k = crate::ir::kernel::RelayoutKernel {
                    drop: drop.clone(),
                    perm: perm.clone(),
                    insert: insert.clone(),
                };
                self.push(Kernel::Relayout(Arc::new(k)), vec![dep], node, idx)
            }
            Op::ReshapeBlocks => {
                let input = &node.inputs[0];
                let lin = linear_index(idx, &node.chunks.numblocks());
                let in_idx = unravel(lin, &input.chunks.numblocks());
                let dep = self.task_for(input, &in_idx);
                self.push(Kernel::Reshape { shape: node.chunks.block_shape(idx) }, vec![dep], node, idx)
            }
            Op::Concat { axis } => {
                // Block j along the axis is block j' of input k: no task of its own.
                let mut j = idx[*axis];
                let mut pick = None;
                for input in &node.inputs {
                    let nb = input.chunks.numblocks()[*axis];
                    if j < nb {
                        pick = Some(input.clone());
                        break;
                    }
                    j -= nb;
                }
                let input = pick.unwrap_or_else(|| node.inputs[node.inputs.len() - 1].clone());
                let mut in_idx = idx.to_vec();
                in_idx[*axis] = j;
                self.task_for(&input, &in_idx)
            }
            Op::Delayed { func, input_blocks } => {
                let mut deps = Vec::with_capacity(node.inputs.len());
                for (input, b) in node.inputs.iter().zip(input_blocks) {
                    deps.push(self.task_for(input, b));
                }
                self.push(Kernel::Closure(func.clone()), deps, node, idx)
            }
            Op::FromDelayed(conv) => {
                let lin = linear_index(idx, &node.chunks.numblocks());
                let dep = self.task_for(&node.inputs[lin], &[]);
                let k = FromDelayedKernel { convert: conv.clone(), shape: node.chunks.block_shape(idx) };
                self.push(Kernel::FromDelayed(Arc::new(k)), vec![dep], node, idx)
            }
        };
        self.memo.insert((node.id, lin), t);
        t
    }

    /// The expression computing block `idx` of an elementwise or source node, with its leaves
    /// appended to `leaves` and the tasks they read to `deps`. The composed expression depends
    /// only on the node (inlining is decided per node), so it is built once and shared.
    pub(super) fn fuse(
        &mut self,
        node: &Arc<Node>,
        idx: &[usize],
        leaves: &mut Vec<Leaf>,
        deps: &mut Vec<TaskId>,
    ) -> Arc<Expr> {
        let cached = self.exprs.get(&node.id).cloned();
        let mut inners = Vec::new();
        match &node.op {
            Op::Source(src) => {
                leaves.push(Leaf::Source { source: src.clone(), region: node.chunks.block_region(idx) });
                if cached.is_none() {
                    self.exprs.insert(node.id, Arc::new(Expr::input(node.dtype)));
                }
            }
            Op::Elementwise(expr) => {
                for input in &node.inputs {
                    let in_idx = broadcast_index(input, &node.shape, idx);
                    if self.inlinable(input, &node.shape) {
                        self.fused.insert(input.id);
                        self.stats.fused_nodes = self.fused.len();
                        let e = self.fuse(input, &in_idx, leaves, deps);
                        inners.push(e);
                    } else {
                        let t = self.task_for(input, &in_idx);
                        leaves.push(Leaf::Input(deps.len()));
                        deps.push(t);
                        inners.push(Arc::new(Expr::input(input.dtype)));
                    }
                }
                if cached.is_none() {
                    let inners: Vec<Expr> = inners.iter().map(|e| (**e).clone()).collect();
                    self.exprs.insert(node.id, Arc::new(expr.compose(&inners)));
                }
            }
            _ => {
                let t = self.task_for(node, idx);
                leaves.push(Leaf::Input(deps.len()));
                deps.push(t);
                return Arc::new(Expr::input(node.dtype));
            }
        }
        self.exprs[&node.id].clone()
    }
}

/// The input tasks of a kernel that reads blocks of one input in any order, each once.
#[derive(Default)]
struct Deps {
    tasks: Vec<TaskId>,
    position: HashMap<Vec<usize>, usize>,
}

impl Deps {
    /// The input position of block `block` of `input`, adding its task on first use.
    fn position(&mut self, planner: &mut Planner, input: &Arc<Node>, block: &[usize]) -> usize {
        if let Some(&p) = self.position.get(block) {
            return p;
        }
        self.tasks.push(planner.task_for(input, block));
        self.position.insert(block.to_vec(), self.tasks.len() - 1);
        self.tasks.len() - 1
    }
}

/// The block index of `input` that broadcasts to block `idx` of an output of `out_shape`.
pub(crate) fn broadcast_index(input: &Node, out_shape: &[usize], idx: &[usize]) -> Vec<usize> {
    let off = out_shape.len() - input.shape.len();
    input
        .shape
        .iter()
        .enumerate()
        .map(|(d, &n)| if n == 1 && out_shape[d + off] != 1 { 0 } else { idx[d + off] })
        .collect()
}
