//! The planner's lowering of the nodes that become more than one task per block: tree
//! reductions, groupby cohorts, scans and halos (see [`super::plan`]; rechunks:
//! [`super::rechunk`]).

use std::sync::Arc;

use crate::core::chunks::{linear_index, unravel};
use crate::graph::halo::{self, Boundary};
use crate::graph::node::{Node, Op, ReduceSpec};
use crate::graph::plan::{Planner, block_bytes};
use crate::ir::expr::Expr;
use crate::ir::kernel::{
    BlockFn, BlockInfo, FusedKernel, GatherKernel, Kernel, Leaf, MapOverlapKernel, PartialStep, ScanKernel,
    ScanOp, ScanStep,
};
use crate::ir::task::TaskId;

/// The most bytes of partials one combine task of a reduction tree takes (at least two
/// partials whatever their size): `split_every` is lowered to fit.
const COMBINE_INPUT_BYTES: usize = 64 << 20;

impl Planner {
    pub(super) fn reduce_block(&mut self, node: &Arc<Node>, spec: &ReduceSpec, idx: &[usize]) -> TaskId {
        let input = &node.inputs[0];
        let in_grid = input.chunks.numblocks();
        // Output block index → input block index on the kept axes.
        let mut base = vec![0usize; input.shape.len()];
        let mut o = 0;
        for (ax, b) in base.iter_mut().enumerate() {
            if spec.axes.contains(&ax) {
                if spec.keepdims {
                    o += 1;
                }
            } else {
                *b = idx[o];
                o += 1;
            }
        }
        let red_grid: Vec<usize> = spec.axes.iter().map(|&a| in_grid[a]).collect();
        let n_parts: usize = red_grid.iter().product();
        let global_shape: Arc<[usize]> = input.shape.clone().into();
        let mut level: Vec<TaskId> = Vec::with_capacity(n_parts);
        let mut identity: Option<Arc<Expr>> = None;
        for lin in 0..n_parts {
            let r = unravel(lin, &red_grid);
            let mut in_idx = base.clone();
            for (k, &a) in spec.axes.iter().enumerate() {
                in_idx[a] = r[k];
            }
            let offset: Vec<usize> = input.chunks.block_region(&in_idx).iter().map(|r| r.start).collect();
            let step = PartialStep {
                op: spec.op,
                axes: spec.axes.clone(),
                offset,
                global_shape: global_shape.clone(),
            };
            let in_shape = input.chunks.block_shape(&in_idx);
            let in_bytes = in_shape.iter().product::<usize>() * input.dtype.size();
            let reduced: usize = spec.axes.iter().map(|&a| in_shape[a]).product();
            if let Op::MapOverlap { depth, boundary, func } = &input.op
                && self.uses.get(&input.id).copied().unwrap_or(0) <= 1
            {
                // The stencil and the partial in one task: the block is reduced while hot.
                let t = self.map_overlap_block(input, depth, boundary, func, &in_idx, Some(step));
                self.tasks[t].out_bytes =
                    in_bytes / input.dtype.size().max(1) / reduced.max(1) * spec.op.state_bytes();
                self.tasks[t].scratch_bytes = in_bytes;
                level.push(t);
                continue;
            }
            let mut leaves = Vec::new();
            let mut deps = Vec::new();
            let expr = if self.inlinable(input, &input.shape) {
                self.fused.insert(input.id);
                self.stats.fused_nodes = self.fused.len();
                self.fuse(input, &in_idx, &mut leaves, &mut deps)
            } else {
                let t = self.task_for(input, &in_idx);
                leaves.push(Leaf::Input(0));
                deps.push(t);
                identity.get_or_insert_with(|| Arc::new(Expr::input(input.dtype))).clone()
            };
            let reads = leaves.iter().any(|l| matches!(l, Leaf::Source { .. }));
            let k = FusedKernel { leaves, expr, out_shape: in_shape, reduce: Some(step) };
            let t = self.push(Kernel::Fused(k), deps, node, &in_idx);
            // A partial holds a state per kept element; reading the block is the scratch.
            self.tasks[t].out_bytes =
                in_bytes / input.dtype.size().max(1) / reduced.max(1) * spec.op.state_bytes();
            self.tasks[t].scratch_bytes = if reads { in_bytes } else { 0 };
            level.push(t);
        }
        let combine = || Kernel::ReduceCombine(spec.op);
        // Large partials (whole maps kept) are combined fewer at a time.
        let largest = level.iter().map(|&t| self.tasks[t].out_bytes).max().unwrap_or(0);
        let every = spec.split_every.min((COMBINE_INPUT_BYTES / largest.max(1)).max(2));
        // A combine's result is a partial as large as its inputs.
        let top =
            self.tree(level, every, combine, node.name.clone(), idx, largest.max(block_bytes(node, idx)));
        let k = Kernel::ReduceFinalize { op: spec.op, out_shape: node.chunks.block_shape(idx) };
        self.push(k, top, node, idx)
    }

    /// Combine `level` in groups of `every` (in order, each by a new `combine()` task named
    /// `name`, at `block`, of about `out_bytes`) until one task is left; returns it (as a
    /// one-element list; empty if `level` was).
    pub(super) fn tree(
        &mut self,
        mut level: Vec<TaskId>,
        every: usize,
        combine: impl Fn() -> Kernel,
        name: Arc<str>,
        block: &[usize],
        out_bytes: usize,
    ) -> Vec<TaskId> {
        let every = every.max(2);
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len().div_ceil(every));
            for group in level.chunks(every) {
                if group.len() == 1 {
                    next.push(group[0]);
                } else {
                    next.push(self.push_sized(combine(), group.to_vec(), name.clone(), block, out_bytes));
                }
            }
            level = next;
        }
        level
    }

    /// The task of block `idx` of a blocked scan: the block's local scan combined with the
    /// carry from all earlier blocks along `axis`. Carries form a chain, built iteratively and
    /// memoised, so every block's carry is one task whichever outputs ask for it.
    pub(super) fn scan_block(&mut self, node: &Arc<Node>, op: ScanOp, axis: usize, idx: &[usize]) -> TaskId {
        let j = idx[axis];
        let grid = node.chunks.numblocks();
        let key = |k: usize, tag: u8| {
            let mut bi = idx.to_vec();
            bi[axis] = k;
            (node.id, linear_index(&bi, &grid), tag)
        };
        let mk = |step| Kernel::Scan(ScanKernel { op, step, axis, dtype: node.dtype });
        let mut k = j;
        while k > 0 && !self.aux.contains_key(&key(k, 1)) {
            k -= 1;
        }
        let mut carry = if k == 0 { None } else { Some(self.aux[&key(k, 1)]) };
        for m in k..j {
            let local = self.scan_local(node, op, axis, idx, m);
            let mut inputs: Vec<TaskId> = carry.into_iter().collect();
            inputs.push(local);
            let mut bi = idx.to_vec();
            bi[axis] = m;
            let c = self.push(mk(ScanStep::Carry), inputs, node, &bi);
            self.aux.insert(key(m + 1, 1), c);
            carry = Some(c);
        }
        let local = self.scan_local(node, op, axis, idx, j);
        match carry {
            None => local,
            Some(c) => self.push(mk(ScanStep::Apply), vec![local, c], node, idx),
        }
    }

    /// The local scan of block `m` along `axis` (other axes from `idx`), memoised.
    pub(super) fn scan_local(
        &mut self,
        node: &Arc<Node>,
        op: ScanOp,
        axis: usize,
        idx: &[usize],
        m: usize,
    ) -> TaskId {
        let mut bi = idx.to_vec();
        bi[axis] = m;
        let key = (node.id, linear_index(&bi, &node.chunks.numblocks()), 0u8);
        if let Some(&t) = self.aux.get(&key) {
            return t;
        }
        let x = self.task_for(&node.inputs[0], &bi);
        let k = Kernel::Scan(ScanKernel { op, step: ScanStep::Local, axis, dtype: node.dtype });
        let t = self.push(k, vec![x], node, &bi);
        self.aux.insert(key, t);
        t
    }

    /// Block `idx` of `overlap(depth, boundary)` of `node`'s input.
    pub(super) fn overlap_block(
        &mut self,
        node: &Arc<Node>,
        depth: &[usize],
        boundary: &[Boundary],
        idx: &[usize],
    ) -> TaskId {
        match self.extended_block(&node.inputs[0], depth, boundary, idx) {
            (Some(k), deps) => self.push(Kernel::Gather(Arc::new(k)), deps, node, idx),
            (None, deps) => deps[0],
        }
    }

    /// Block `idx` of `map_overlap`: the extended block (gathered, or read directly), the
    /// function, the trim, in one task; with `reduce`, also the partial of the reduction
    /// that is the map_overlap's only consumer (the task's result is then the partial).
    pub(super) fn map_overlap_block(
        &mut self,
        node: &Arc<Node>,
        depth: &[usize],
        boundary: &[Boundary],
        func: &Arc<BlockFn>,
        idx: &[usize],
        reduce: Option<PartialStep>,
    ) -> TaskId {
        let input = &node.inputs[0];
        let trim = (0..idx.len())
            .map(|a| halo::halo(input.chunks.offsets(a), idx[a], depth[a], boundary[a]))
            .collect();
        let (gather, deps) = self.extended_block(input, depth, boundary, idx);
        let k = MapOverlapKernel {
            gather,
            func: func.clone(),
            info: BlockInfo { index: idx.to_vec(), region: node.chunks.block_region(idx) },
            trim,
            dtype: node.dtype,
            reduce,
        };
        self.push(Kernel::MapOverlap(Arc::new(k)), deps, node, idx)
    }

    /// Block `idx` of `input` extended by its halo: the gather kernel and the input blocks
    /// it reads, or (no kernel) the one task that reads the extended block directly.
    fn extended_block(
        &mut self,
        input: &Arc<Node>,
        depth: &[usize],
        boundary: &[Boundary],
        idx: &[usize],
    ) -> (Option<GatherKernel>, Vec<TaskId>) {
        if let Some(t) = self.extended_read(input, depth, boundary, idx) {
            return (None, vec![t]);
        }
        let (g, blocks) = halo::gather_block(&input.chunks, input.dtype, idx, depth, boundary);
        (Some(g), blocks.iter().map(|b| self.task_for(input, b)).collect())
    }

    /// A task reading block `idx` of `input` with its halo straight from `input`'s source,
    /// when the source is in memory (the read is a view: nothing is copied) and the halo lies
    /// inside the array (no boundary values to make).
    fn extended_read(
        &mut self,
        input: &Arc<Node>,
        depth: &[usize],
        boundary: &[Boundary],
        idx: &[usize],
    ) -> Option<TaskId> {
        let Op::Source(src) = &input.op else { return None };
        if !src.is_cheap() {
            return None;
        }
        let mut region = Vec::with_capacity(idx.len());
        for (a, &i) in idx.iter().enumerate() {
            let offs = input.chunks.offsets(a);
            let (l, r) = halo::halo(offs, i, depth[a], boundary[a]);
            let (s, e) = (offs[i].checked_sub(l)?, offs[i + 1] + r);
            if e > input.shape[a] {
                return None;
            }
            region.push(s..e);
        }
        let out_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        let leaves = vec![Leaf::Source { source: src.clone(), region }];
        let expr = Arc::new(Expr::input(input.dtype));
        let k = FusedKernel { leaves, expr, out_shape, reduce: None };
        let t = self.push(Kernel::Fused(k), vec![], input, idx);
        self.tasks[t].out_bytes = 0; // a view of memory the source holds
        Some(t)
    }
}
