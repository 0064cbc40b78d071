//! The rechunk planner: how a computed array is cut into new blocks within a memory bound.
//!
//! A rechunk task assembles one new block from pieces of every old block it overlaps, so it
//! holds all of them at once: its working set is the new block plus the old blocks it
//! covers. When that fits the per-task share of the memory budget the rechunk is direct
//! (one assembly per new block). When it does not (the pathological case is (20000, 100)
//! column blocks to (100, 20000) row blocks: every row block covers every column block), the
//! rechunk goes through intermediate chunkings, as the rechunker algorithm does: for 2, 3, …
//! stages the block sizes are interpolated geometrically between the old and the new ones
//! per axis, and the first plan whose every stage fits is taken (failing that, the one with
//! the smallest working set); intermediate block sizes are multiples of the smaller of the
//! two sizes on each axis. Each stage's results are ordinary task results, so the
//! scheduler keeps them within the budget and spills the ones needed last.
//!
//! (A rechunk of a source or of an elementwise chain over sources never gets here: it is
//! pushed into the reads when the node is built, see `array::elementwise::rechunk_node`.)

use std::ops::Range;
use std::sync::Arc;

use crate::core::chunks::{Chunks, split_axis, unravel};
use crate::graph::node::{Node, Op};
use crate::graph::plan::Planner;
use crate::ir::kernel::{AssembleKernel, Kernel};
use crate::ir::task::TaskId;

/// Most stages a rechunk is split into.
const MAX_STAGES: usize = 8;

/// A bound on the working set (bytes) of one task of a direct rechunk from `from` to `to`:
/// the most bytes of old blocks one new block covers (a product grid's worst cover is the
/// product of the per-axis worst cases) plus the largest new block.
pub fn working_set(from: &Chunks, to: &Chunks, itemsize: usize) -> usize {
    let mut cover = itemsize;
    let mut block = itemsize;
    for ax in 0..to.ndim() {
        let (fo, to_off) = (from.offsets(ax), to.offsets(ax));
        let mut worst = 0;
        let mut first = 0;
        for b in 0..to_off.len() - 1 {
            let (s, e) = (to_off[b], to_off[b + 1]);
            while first + 1 < fo.len() - 1 && fo[first + 1] <= s {
                first += 1;
            }
            let mut last = first;
            while last + 1 < fo.len() - 1 && fo[last + 1] < e {
                last += 1;
            }
            worst = worst.max(fo[last + 1] - fo[first]);
        }
        cover *= worst;
        block *= to.axis(ax).iter().copied().max().unwrap_or(0);
    }
    cover + block
}

/// A bound on the working set of one task of a rechunk from `from` through `stages` to
/// `to`: the largest [`working_set`] of its steps.
pub fn staged_working_set(from: &Chunks, stages: &[Chunks], to: &Chunks, itemsize: usize) -> usize {
    let mut prev = from;
    let mut worst = 0;
    for c in stages.iter().chain([to]) {
        worst = worst.max(working_set(prev, c, itemsize));
        prev = c;
    }
    worst
}

/// The intermediate chunkings (none: direct) of a rechunk from `from` to `to` whose every
/// stage's working set is at most `limit` bytes, with the fewest stages; if no plan of up to
/// `MAX_STAGES` (8) stages fits, the plan with the smallest working set.
/// (`tests::column_blocks_to_row_blocks_go_through_stages` shows one.)
pub fn rechunk_stages(from: &Chunks, to: &Chunks, itemsize: usize, limit: usize) -> Vec<Chunks> {
    let shape = to.shape();
    let direct = working_set(from, to, itemsize);
    if shape.contains(&0) || direct <= limit {
        return Vec::new();
    }
    let (a, b) = (from.max_block_shape(), to.max_block_shape());
    let mut best: Option<(usize, Vec<Chunks>)> = None;
    for n in 2..=MAX_STAGES {
        let mut stages: Vec<Chunks> = Vec::with_capacity(n - 1);
        for k in 1..n {
            let t = k as f64 / n as f64;
            let axes = (0..shape.len())
                .map(|ax| {
                    let (x, y) = (a[ax].max(1), b[ax].max(1));
                    let c = ((x as f64).ln() * (1.0 - t) + (y as f64).ln() * t).exp();
                    // A multiple of the smaller block size, so those blocks never straddle
                    // two intermediate blocks (which would double what a task reads).
                    let m = x.min(y);
                    let c = ((c / m as f64).round() as usize).max(1) * m;
                    split_axis(shape[ax], c.clamp(1, shape[ax]))
                })
                .collect();
            let c = Chunks::from_axes(axes);
            if stages.last() != Some(&c) && &c != from && &c != to {
                stages.push(c);
            }
        }
        let worst = staged_working_set(from, &stages, to, itemsize);
        if worst <= limit {
            return stages;
        }
        if best.as_ref().is_none_or(|(w, _)| worst < *w) {
            best = Some((worst, stages));
        }
    }
    match best {
        Some((w, stages)) if w < direct => stages,
        _ => Vec::new(),
    }
}

impl Planner {
    /// The node a rechunk node assembles its blocks from: its input, or the last of the
    /// intermediate rechunk nodes the planner put in between (made once per node).
    fn rechunk_source(&mut self, node: &Arc<Node>) -> Arc<Node> {
        if let Some(n) = self.staged.get(&node.id) {
            return n.clone();
        }
        let input = node.inputs[0].clone();
        let stages = rechunk_stages(&input.chunks, &node.chunks, node.dtype.size(), self.rechunk_limit);
        let mut prev = input;
        for c in stages {
            let stage = Node::new("rechunk-stage", node.dtype, c, Op::Rechunk, vec![prev.clone()]);
            self.staged.insert(stage.id, prev);
            self.stats.rechunk_stages += 1;
            prev = stage;
        }
        self.staged.insert(node.id, prev.clone());
        prev
    }

    pub(super) fn rechunk_block(&mut self, node: &Arc<Node>, idx: &[usize]) -> TaskId {
        let input = self.rechunk_source(node);
        let region = node.chunks.block_region(idx);
        // Per axis: the input blocks overlapping the region, with the overlap.
        let mut per_axis: Vec<Vec<(usize, Range<usize>)>> = Vec::with_capacity(region.len());
        for (ax, r) in region.iter().enumerate() {
            let offs = input.chunks.offsets(ax);
            let mut v = Vec::new();
            if r.is_empty() {
                // An empty block (an empty axis, or a block of length 0 among others): an empty
                // piece of the input block where the region starts.
                let b = offs.partition_point(|&o| o <= r.start).saturating_sub(1).min(offs.len() - 2);
                v.push((b, r.start..r.start));
            }
            for b in 0..offs.len() - 1 {
                let (s, e) = (offs[b].max(r.start), offs[b + 1].min(r.end));
                if s < e {
                    v.push((b, s..e));
                }
            }
            per_axis.push(v);
        }
        let counts: Vec<usize> = per_axis.iter().map(|v| v.len()).collect();
        let total: usize = counts.iter().product();
        let mut deps = Vec::with_capacity(total);
        let mut pieces = Vec::with_capacity(total);
        for lin in 0..total {
            let c = unravel(lin, &counts);
            let in_idx: Vec<usize> = c.iter().enumerate().map(|(ax, &k)| per_axis[ax][k].0).collect();
            let in_region = input.chunks.block_region(&in_idx);
            let mut src = Vec::with_capacity(c.len());
            let mut dst = Vec::with_capacity(c.len());
            for (ax, &k) in c.iter().enumerate() {
                let g = &per_axis[ax][k].1;
                src.push(g.start - in_region[ax].start..g.end - in_region[ax].start);
                dst.push(g.start - region[ax].start..g.end - region[ax].start);
            }
            let t = self.task_for(&input, &in_idx);
            pieces.push((deps.len(), src, dst));
            deps.push(t);
        }
        let k = AssembleKernel { dtype: node.dtype, out_shape: node.chunks.block_shape(idx), pieces };
        self.push(Kernel::Assemble(k), deps, node, idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_working_set_is_the_worst_block_and_its_cover() {
        let from = Chunks::new(vec![vec![3, 3, 4], vec![5]]).unwrap();
        let to = Chunks::new(vec![vec![2, 2, 6], vec![5]]).unwrap();
        // Block 1 (rows 2..4) covers rows 0..6; block 2 (rows 4..10) covers 3..10: 7 rows.
        assert_eq!(working_set(&from, &to, 1), 7 * 5 + 6 * 5);
        // Splitting only: each new block reads one old block.
        let split = Chunks::new(vec![vec![1; 10], vec![5]]).unwrap();
        assert_eq!(working_set(&from, &split, 2), 2 * (4 * 5 + 5));
    }

    #[test]
    fn a_rechunk_that_fits_is_direct_and_one_that_does_not_is_staged() {
        let cols = Chunks::uniform(&[1000, 1000], &[1000, 10]).unwrap();
        let rows = Chunks::uniform(&[1000, 1000], &[10, 1000]).unwrap();
        assert!(rechunk_stages(&cols, &rows, 8, 9_000_000).is_empty());
        let limit = 2_000_000;
        let stages = rechunk_stages(&cols, &rows, 8, limit);
        assert_eq!(stages.len(), 1, "{stages:?}");
        assert!(working_set(&cols, &stages[0], 8) <= limit);
        assert!(working_set(&stages[0], &rows, 8) <= limit);
        // A bound nothing can meet still gives the smallest working set found.
        let tight = rechunk_stages(&cols, &rows, 8, 1000);
        assert!(staged_working_set(&cols, &tight, &rows, 8) < working_set(&cols, &rows, 8));
    }

    #[test]
    fn column_blocks_to_row_blocks_go_through_stages() {
        let cols = Chunks::uniform(&[20000, 20000], &[20000, 100]).unwrap();
        let rows = Chunks::uniform(&[20000, 20000], &[100, 20000]).unwrap();
        assert!(working_set(&cols, &rows, 8) > 3_000_000_000);
        let stages = rechunk_stages(&cols, &rows, 8, 300_000_000);
        assert!(!stages.is_empty());
        assert!(staged_working_set(&cols, &stages, &rows, 8) <= 300_000_000);
    }
}
