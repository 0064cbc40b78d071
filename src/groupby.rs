//! Groupby-reduce along one axis by integer labels (the flox algorithm): a daily
//! climatology is `x.groupby_reduce(0, &day_of_year, Reduction::nan(ReduceKind::Mean))` (or
//! `"nanmean".parse()?`).
//!
//! One pass over the data, no sort or shuffle. Output group `k` is the reduction over every
//! position of the axis whose label is `groups[k]`. The output's groups are cut into chunks
//! ("cohorts"): each output block depends only on the input blocks that hold one of its
//! labels, so a day-of-year climatology of years of daily data reads each input block once
//! per output chunk it feeds, and no task ever holds more than one output block's partial
//! sums. Per output block: a partial task per input block of its cohort (sums, counts,
//! squared deviations or extrema per group, accumulated in f64), a tree of combines
//! (Chan's formula for variances) in a fixed order, and a finalize. Negative labels are
//! skipped (the "no group" label).

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
/// block, a partial per input block of its cohort, a combine tree in a fixed order and a
/// finalize.
struct GroupLowering {
    spec: Arc<GroupSpec>,
    /// The output's chunks (groups along the grouped axis).
    chunks: Chunks,
}

impl TiledOp for GroupLowering {
    fn name(&self) -> &str {
        "groupby"
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let (spec, ax) = (&self.spec, self.spec.axis);
        let grid = self.chunks.numblocks();
        let task = |step| Kernel::Group(GroupKernel { spec: spec.clone(), step });
        let mut blocks = Vec::with_capacity(self.chunks.nblocks());
        for lin in 0..self.chunks.nblocks() {
            let idx = unravel(lin, &grid);
            let shape = self.chunks.block_shape(&idx);
            let bytes = shape.iter().product::<usize>() * spec.dtype.size();
            let mut level = Vec::with_capacity(spec.cohort(idx[ax]).len());
            for &k in spec.cohort(idx[ax]) {
                let mut in_idx = idx.clone();
                in_idx[ax] = k;
                let start = b.chunks(0).block_region(&in_idx)[ax].start;
                let dep = b.input(0, &in_idx);
                let step = GroupStep::Partial { chunk: idx[ax], start };
                level.push(b.push_kernel(task(step), vec![dep], &idx, bytes));
            }
            let rest: usize = shape.iter().enumerate().filter(|&(a, _)| a != ax).map(|(_, &d)| d).product();
            let top = b.tree(level, spec.split_every, || task(GroupStep::Combine { rest }), &idx, bytes);
            blocks.push(b.push_kernel(task(GroupStep::Finalize { shape }), top, &idx, bytes));
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
    /// Partials combined per task (`None`: 16).
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
