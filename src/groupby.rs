//! Groupby-reduce along one axis by integer labels (the flox algorithm): a daily
//! climatology is `x.groupby_reduce(0, &day_of_year, Reduction::nan(ReduceKind::Mean))` (or
//! `"nanmean".parse()?`).
//!
//! One pass over the data, no sort or shuffle. Output group `k` is the reduction over every
//! position of the axis whose label is `groups[k]`. The output's groups are cut into chunks
//! ("cohorts"): each output block depends only on the input blocks that hold one of its
//! labels, so a day-of-year climatology of years of daily data reads each input block once
//! per output chunk it feeds, and no task ever holds more than one output block's
//! accumulators. Per output block: a finalize that folds its cohort's input blocks in input
//! order (sums and counts, extrema, or each block's own count, mean and M2 merged by Chan's
//! formula, all in f64) a strip of kept elements at a time; past `split_every` blocks, a
//! tree of combines in a fixed order folds them into states first. Blocks are folded where
//! they are consumed (no per-block partial task), so what waits between tasks is the block
//! itself, which the scheduler can spill, and the finalize holds only its output block and
//! a strip of accumulators besides its inputs. Negative labels are skipped (the "no group"
//! label).

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::Chunks;
use crate::core::chunks::unravel;
use crate::core::dtype::{Element, Float};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
use crate::ir::group::{GroupFold, GroupKernel, GroupSpec, GroupStep};
use crate::ir::kernel::Kernel;
use crate::ir::reduce::Reduction;
use crate::ir::task::TaskId;

/// A groupby's tasks, emitted through the graph's lowering seam ([`TiledOp`]): per output
/// block, its cohort's input blocks folded by a tree of combines in a fixed order (only when
/// more than `split_every` of them) and a finalize.
struct GroupLowering {
    spec: Arc<GroupSpec>,
    /// The output's chunks (groups along the grouped axis).
    chunks: Chunks,
}

impl TiledOp for GroupLowering {
    fn name(&self) -> &str {
        "groupby"
    }

    /// The groups innermost when output chunks of groups share input blocks (their cohorts
    /// overlap: months from 30-day blocks): a shared block then waits only while the next
    /// chunk of the same region runs, not while every other region's chunk does (measured:
    /// a month climatology under a 64 MiB budget spilled 467 MB in C order, nothing now).
    /// Otherwise C order, which writes the output in order.
    fn visit_order(&self, _output: usize, chunks: &Chunks) -> Option<Vec<usize>> {
        let ax = self.spec.axis;
        let mut fed = std::collections::HashSet::new();
        let shared = self.spec.cohorts.iter().flatten().any(|&b| !fed.insert(b));
        if !shared {
            return None;
        }
        let grid = chunks.numblocks();
        let mut order: Vec<usize> = (0..chunks.nblocks()).collect();
        order.sort_by_key(|&lin| {
            let idx = unravel(lin, &grid);
            let mut key: Vec<usize> =
                idx.iter().enumerate().filter(|&(a, _)| a != ax).map(|(_, &i)| i).collect();
            key.push(idx[ax]);
            key
        });
        Some(order)
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let (spec, ax) = (&self.spec, self.spec.axis);
        let grid = self.chunks.numblocks();
        let every = spec.split_every;
        let task = |step| Kernel::Group(GroupKernel { spec: spec.clone(), step });
        let mut blocks = Vec::with_capacity(self.chunks.nblocks());
        for lin in 0..self.chunks.nblocks() {
            let idx = unravel(lin, &grid);
            let chunk = idx[ax];
            let shape = self.chunks.block_shape(&idx);
            let ng = shape[ax];
            let rest: usize = shape.iter().enumerate().filter(|&(a, _)| a != ax).map(|(_, &d)| d).product();
            let state_bytes = spec.state_bytes(ng, rest);
            // (task, its start on the axis if it is an input block, its bytes if so)
            let mut level: Vec<(TaskId, Option<usize>, usize)> = Vec::with_capacity(spec.cohort(chunk).len());
            for &k in spec.cohort(chunk) {
                let mut in_idx = idx.clone();
                in_idx[ax] = k;
                let start = b.chunks(0).block_region(&in_idx)[ax].start;
                let bytes = b.chunks(0).block_shape(&in_idx).iter().product::<usize>() * spec.dtype.size();
                level.push((b.input(0, &in_idx), Some(start), bytes));
            }
            // Folding reads the blocks in place when the grouped axis is the first;
            // otherwise each is first copied with that axis first.
            let scratch = |parts: &[(TaskId, Option<usize>, usize)]| {
                let copies: usize = if ax == 0 { 0 } else { parts.iter().map(|p| p.2).sum() };
                copies + spec.strip_bytes(ng, rest)
            };
            while level.len() > every {
                let mut next = Vec::with_capacity(level.len().div_ceil(every));
                for group in level.chunks(every) {
                    if group.len() == 1 {
                        next.push(group[0]);
                        continue;
                    }
                    let deps = group.iter().map(|p| p.0).collect();
                    let starts = group.iter().map(|p| p.1).collect();
                    let t = b.push_kernel(
                        task(GroupStep::Combine { chunk, rest, starts }),
                        deps,
                        &idx,
                        state_bytes,
                    );
                    b.set_scratch(t, scratch(group));
                    next.push((t, None, state_bytes));
                }
                level = next;
            }
            let bytes = shape.iter().product::<usize>() * spec.dtype.size();
            let deps = level.iter().map(|p| p.0).collect();
            let starts = level.iter().map(|p| p.1).collect();
            let t = b.push_kernel(task(GroupStep::Finalize { chunk, shape, starts }), deps, &idx, bytes);
            b.set_scratch(t, scratch(&level));
            blocks.push(t);
        }
        vec![blocks]
    }
}

/// How a groupby is cut into tasks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupOptions {
    /// Groups per output block along the axis (`None`: as many as the input block with the
    /// most distinct labels holds, so a block's groups come from few input blocks).
    pub groups_per_chunk: Option<usize>,
    /// Input blocks (or states) folded per task (`None`: 16): more make a tree of combines.
    pub split_every: Option<usize>,
}

/// The result of a groupby-reduce: the reduced array and the label of each of its groups.
#[derive(Debug, Clone)]
pub struct Grouped<T: Element> {
    /// The reduction per group; the grouped axis has one entry per group.
    pub array: Array<T>,
    /// The group labels, ascending (the distinct non-negative labels).
    pub groups: Vec<i64>,
}

impl<T: Float> Array<T> {
    /// Reduce each group of positions along `axis` that share a label (`labels[i]` is the
    /// label of position `i`; negative labels belong to no group). `op` is any [`Reduction`]
    /// of sum, mean, var/std, min, max (each with or without NaN skipping) or count (of the
    /// non-NaN values); the result has `T` even for counts, and groups of no non-NaN value
    /// get NaN from the NaN-skipping mean, min, max, var and std.
    ///
    /// ```
    /// use tessera::{ReduceKind, Reduction};
    /// let x = tessera::arange::<f64>(0.0, 6.0, 1.0, [4])?;
    /// let g = x.groupby_reduce(0, &[1, 0, 1, 0, 1, -1], ReduceKind::Mean)?;
    /// assert_eq!(g.groups, vec![0, 1]);
    /// assert_eq!(g.array.to_vec()?, vec![2.0, 2.0]);
    /// let n = x.groupby_reduce(0, &[1, 0, 1, 0, 1, -1], "count".parse::<Reduction>()?)?;
    /// assert_eq!(n.array.to_vec()?, vec![2.0, 3.0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn groupby_reduce(
        &self,
        axis: isize,
        labels: &[i64],
        op: impl Into<Reduction>,
    ) -> Result<Grouped<T>> {
        self.groupby_reduce_with(axis, labels, op, &GroupOptions::default())
    }

    /// [`Array::groupby_reduce`] with options.
    pub fn groupby_reduce_with(
        &self,
        axis: isize,
        labels: &[i64],
        op: impl Into<Reduction>,
        opts: &GroupOptions,
    ) -> Result<Grouped<T>> {
        let op = op.into();
        let Some(fold) = GroupFold::of(op.kind) else {
            return Err(Error::invalid(format!(
                "groupby_reduce computes sum, mean, var, std, min, max (and their nan forms) and count, not {op}"
            )));
        };
        let ax = crate::array::norm_axis("groupby_reduce", axis, self.ndim())?;
        let len = self.shape()[ax];
        if labels.len() != len {
            return Err(Error::ShapeMismatch {
                op: "groupby_reduce labels".into(),
                left: self.shape().to_vec(),
                right: vec![labels.len()],
            });
        }
        let mut groups: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
        groups.sort_unstable();
        groups.dedup();
        let in_chunks = self.node().chunks.axis(ax).to_vec();
        // Distinct groups per input block, for the default output chunking.
        let mut starts = vec![0usize];
        for c in &in_chunks {
            starts.push(starts.last().copied().unwrap_or(0) + c);
        }
        let per_block = |b: usize| {
            let mut v: Vec<i64> =
                labels[starts[b]..starts[b + 1]].iter().copied().filter(|&l| l >= 0).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let widest = (0..in_chunks.len()).map(|b| per_block(b).len()).max().unwrap_or(0);
        let per_chunk = opts.groups_per_chunk.unwrap_or(widest).max(1);
        let mut chunk_start: Vec<usize> = (0..groups.len()).step_by(per_chunk).collect();
        chunk_start.push(groups.len());
        if groups.is_empty() {
            chunk_start = vec![0, 0];
        }
        let n_out = chunk_start.len() - 1;
        let mut cohorts = vec![Vec::new(); n_out];
        for b in 0..in_chunks.len() {
            let mut last = usize::MAX;
            for l in per_block(b) {
                let k = groups.binary_search(&l).expect("label is a group");
                let g = chunk_start.partition_point(|&s| s <= k) - 1;
                if g != last {
                    cohorts[g].push(b);
                    last = g;
                }
            }
        }
        for c in &mut cohorts {
            c.dedup();
        }
        let mut axes: Vec<Vec<usize>> =
            (0..self.ndim()).map(|a| self.node().chunks.axis(a).to_vec()).collect();
        axes[ax] = chunk_start.windows(2).map(|w| w[1] - w[0]).collect();
        let spec = GroupSpec {
            axis: ax,
            dtype: T::DTYPE,
            op,
            fold,
            labels: labels.into(),
            groups: groups.clone().into(),
            chunk_start,
            cohorts,
            split_every: opts.split_every.unwrap_or(16).max(2),
        };
        let chunks = Chunks::new(axes)?;
        let lowering = GroupLowering { spec: Arc::new(spec), chunks: chunks.clone() };
        let tiled = TiledSpec { op: Arc::new(lowering), group: next_group(), output: 0 };
        let node = Node::new("groupby", T::DTYPE, chunks, Op::Tiled(tiled), vec![self.node().clone()]);
        Ok(Grouped { array: Array::from_node(node), groups })
    }

    /// `x − reduce(x)[group of each position]`: anomalies from a groupby-reduce (a daily
    /// climatology's anomalies are `x.groupby_anomalies(0, &day_of_year, Reduction::nan(ReduceKind::Mean))`).
    /// Positions with a negative label get NaN.
    pub fn groupby_anomalies(
        &self,
        axis: isize,
        labels: &[i64],
        op: impl Into<Reduction>,
    ) -> Result<Array<T>> {
        let ax = crate::array::norm_axis("groupby_anomalies", axis, self.ndim())?;
        let g = self.groupby_reduce(axis, labels, op)?;
        // Position → index of its group; unlabelled positions read a NaN row appended last.
        let mut shape = g.array.shape().to_vec();
        shape[ax] = 1;
        let nan = crate::array::creation::full::<T>(&shape, T::cast_from(f64::NAN), crate::ChunkSpec::Auto)?;
        let table = crate::array::concatenate(&[&g.array, &nan], ax as isize)?;
        let idx: Vec<isize> =
            labels.iter().map(|l| g.groups.binary_search(l).unwrap_or(g.groups.len()) as isize).collect();
        let back = table.take(&idx, ax as isize)?;
        self.try_sub(&back)
    }
}
