//! Order statistics along an axis, exact for any chunking: `sort`, stable `argsort`,
//! `quantile`/`percentile`/`median` (NumPy's 13 methods) and their NaN-skipping forms, and
//! `topk`/`argtopk`.
//!
//! **How an axis that spans several blocks is handled.** Sorts and quantiles need every
//! element of a line (the values along the axis at one position of the other axes). When a
//! line fits one task ([`LineLimits::line_bytes`], by default [`MAX_LINE_BYTES`]) the
//! array is rechunked so that each block holds whole lines and as few of them as keep a
//! block near [`LINE_BLOCK_BYTES`]: the other axes' chunks are cut, never merged, so the
//! memory per task is bounded by the block size and not by the array (xarray instead asks
//! for the core dimension in one chunk and leaves the rest to the user). Each block's lines
//! are then sorted or partially selected (O(n) per order statistic, as NumPy's
//! `partition`); a sort is rechunked back to the input's chunks. Cost: one pass of data
//! movement (the rechunk) and one of selection.
//!
//! **Lines too long for one task** are never gathered: the input keeps its blocks along the
//! axis (the other axes are cut so a block holds few lines) and every task holds one block
//! plus counts (`order_long`).
//!
//! - *Quantiles by radix selection.* Each value has an order-preserving 64-bit key (NaN
//!   last). Pass 1 counts, per block and line, the top `radix` bits of the keys (NaN counted
//!   apart); the counts are added by a tree; a decision task finds `n` (without NaN for
//!   `nanquantile`; a NaN makes `quantile` NaN), the ranks each `q` needs
//!   ([`QuantileMethod::position`]: one or two) and the digit (bucket) holding each rank.
//!   Every later pass takes the previous decision as an input task: it counts the next digit
//!   of the keys in those buckets only or, once a bucket holds at most `gather` keys, sends
//!   them and the decision picks the rank exactly. After `⌈64 / radix⌉` passes every key is
//!   decided; the quantiles are interpolated from the keys by the whole-line path's `lerp`,
//!   so both paths agree bit for bit. `radix` (4 to 16 bits) and `gather` come from
//!   [`LineLimits::select_bytes`] (16 MiB): a task holds lines × ranks × `2^radix` counts
//!   (or `gather` keys); a block is cut to at most `select_bytes / (ranks · 4 KiB)` lines so
//!   the digit stays ≥ 8 bits. Cost: two reads of the data when the buckets after one pass
//!   are small (a 16-bit digit leaves about `n / 65536` keys of spread data per bucket), at
//!   most `⌈64 / radix⌉` (4 for one line of f64; more with narrower digits when a block holds
//!   many lines or the keys crowd into few buckets); the plan holds every pass, and later
//!   ones return at once when all ranks are picked.
//! - *Sorts on exact splitters (a sample sort).* The same selection, over composites (the
//!   key, then the position along the axis: distinct, and ordered as the stable sort orders
//!   the values), picks the `p − 1` splitters at ranks `⌊b·n / p⌋` of each line, `p` the
//!   number of blocks along the axis. Each block deals its values into the `p` runs the
//!   splitters bound (per line in position order); run `b` gathers its pieces from every
//!   block, in block order, and sorts them by the stable radix sort: exactly the ranks
//!   `[r_b, r_{b+1})` of the line's stable order, so ties (even all values equal) are cut by
//!   position and no run exceeds `⌈n / p⌉` values. The runs are rechunked to the input's
//!   chunks. Cost: the selection (its composites have `64 + ⌈log₂ n⌉` bits: up to `⌈(64 +
//!   log₂ n) / radix⌉` passes, usually two), a read to deal, one shuffle (every block's
//!   pieces to every run) and the rechunk; a task holds a block and its pieces, or a run
//!   (as long as the input's blocks along the axis on average: an input with one block
//!   along the axis is sorted in one task, which already held the line).
//!
//! Each pass reads the input's blocks again, so the scheduler keeps them (or spills them)
//! until the last pass.
//!
//! A top-k needs no whole line: each block's top k per line, then a tree of merges (in axis
//! order, `split_every` states at a time) — memory per task is k per line per merged state.

use std::sync::Arc;

use crate::array::Array;
use crate::array::norm_axis;
use crate::array::order_long::line_chunks;
pub use crate::array::order_long::{LineLimits, SELECT_BYTES};
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{DType, Element, Number};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
use crate::ir::kernel::Kernel;
use crate::ir::order::{OrderKernel, OrderStep, QuantileMethod};
use crate::ir::task::TaskId;

/// Blocks of whole lines are cut to about this many bytes (64 MiB).
pub const LINE_BLOCK_BYTES: usize = 64 << 20;

/// The longest line (values along the sorted axis) a sort or quantile holds in one task:
/// 512 MiB.
pub const MAX_LINE_BYTES: usize = 512 << 20;

/// How [`Array::quantile_with`] computes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QuantileOptions {
    /// NumPy's `method=` (default `linear`).
    pub method: QuantileMethod,
    /// Keep the reduced axis with length 1.
    pub keepdims: bool,
    /// When a line is too long to gather, and what selecting by counting holds instead.
    pub limits: LineLimits,
}

impl QuantileOptions {
    /// With this method.
    pub fn method(mut self, m: QuantileMethod) -> Self {
        self.method = m;
        self
    }
    /// Keep the reduced axis with length 1.
    pub fn keepdims(mut self, k: bool) -> Self {
        self.keepdims = k;
        self
    }
    /// With these line limits.
    pub fn limits(mut self, l: LineLimits) -> Self {
        self.limits = l;
        self
    }
}

/// How [`Array::sort_with`] and [`Array::argsort_with`] sort.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SortOptions {
    /// When a line is too long to gather, and what selecting its splitters holds instead.
    pub limits: LineLimits,
}

/// How [`Array::topk_with`] chooses and merges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopkOptions {
    /// The largest (best first: descending), else the smallest (ascending).
    pub largest: bool,
    /// Per-block states merged by one task (at least 2).
    pub split_every: usize,
}

impl Default for TopkOptions {
    fn default() -> Self {
        TopkOptions { largest: true, split_every: 8 }
    }
}

/// One order kernel per block of an input whose blocks hold whole lines.
struct PerBlock {
    kernel: Arc<OrderKernel>,
    /// The output's chunks.
    chunks: Chunks,
}

impl PerBlock {
    /// The output's first axis runs over quantiles and it lacks the input's `axis` (whose
    /// one block is block 0); else the output has the input's block grid.
    fn quantile(&self) -> bool {
        matches!(self.kernel.step, OrderStep::Quantile { .. })
    }
}

impl TiledOp for PerBlock {
    fn name(&self) -> &str {
        self.kernel.name()
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let grid = self.chunks.numblocks();
        let mut out = Vec::with_capacity(self.chunks.nblocks());
        let size = |dtype: DType, shape: &[usize]| shape.iter().product::<usize>() * dtype.size();
        for lin in 0..self.chunks.nblocks() {
            let idx = unravel(lin, &grid);
            let in_idx = if self.quantile() {
                let mut v = idx[1..].to_vec();
                v.insert(self.kernel.axis, 0);
                v
            } else {
                idx.clone()
            };
            let in_bytes = size(b.dtype(0), &b.chunks(0).block_shape(&in_idx));
            let dep = b.input(0, &in_idx);
            let out_dtype = match (&self.kernel.step, b.dtype(0)) {
                (OrderStep::Argsort, _) => DType::I64,
                (OrderStep::Quantile { .. }, DType::F32) => DType::F32,
                (OrderStep::Quantile { .. }, _) => DType::F64,
                (_, d) => d,
            };
            let bytes = size(out_dtype, &self.chunks.block_shape(&idx));
            let t = b.push_kernel(Kernel::Order(self.kernel.clone()), vec![dep], &idx, bytes);
            // A sort's lines copied with the axis last and its result before it is laid back
            // (an argsort's indices); a quantile's strip of lines is at most the block.
            b.set_scratch(t, in_bytes + if self.quantile() { 0 } else { bytes });
            out.push(t);
        }
        vec![out]
    }
}

/// A top-k: per block a state, merged along the axis by a tree, then picked.
struct Topk {
    k: usize,
    axis: usize,
    dtype: DType,
    largest: bool,
    arg: bool,
    split_every: usize,
    chunks: Chunks,
}

impl TiledOp for Topk {
    fn name(&self) -> &str {
        if self.arg { "argtopk" } else { "topk" }
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let (ax, k, largest) = (self.axis, self.k, self.largest);
        let kernel = |step| Kernel::Order(Arc::new(OrderKernel { axis: ax, dtype: self.dtype, step }));
        let grid = self.chunks.numblocks();
        let along = b.chunks(0).axis(ax).to_vec();
        let mut out = Vec::with_capacity(self.chunks.nblocks());
        for lin in 0..self.chunks.nblocks() {
            let idx = unravel(lin, &grid);
            let shape = self.chunks.block_shape(&idx);
            let lines: usize = shape.iter().enumerate().filter(|&(a, _)| a != ax).map(|(_, &d)| d).product();
            let state_bytes = lines * k * (self.dtype.size() + 8) + 64;
            let mut start = 0;
            let mut level = Vec::with_capacity(along.len());
            for (j, &len) in along.iter().enumerate() {
                let mut in_idx = idx.clone();
                in_idx[ax] = j;
                let dep = b.input(0, &in_idx);
                let part = OrderStep::TopkPart { k, largest, start };
                let t = b.push_kernel(kernel(part), vec![dep], &in_idx, state_bytes);
                b.set_scratch(t, lines * len * (self.dtype.size() + 8));
                level.push(t);
                start += len;
            }
            let root = b.tree(
                level,
                self.split_every,
                || kernel(OrderStep::TopkMerge { k, largest }),
                &idx,
                state_bytes,
            );
            let out_dtype = if self.arg { DType::I64 } else { self.dtype };
            let bytes = shape.iter().product::<usize>() * out_dtype.size();
            out.push(b.push_kernel(kernel(OrderStep::TopkPick { arg: self.arg }), root, &idx, bytes));
        }
        vec![out]
    }
}

pub(super) fn tiled<U: Element>(
    name: &str,
    op: Arc<dyn TiledOp>,
    chunks: Chunks,
    input: &Arc<Node>,
) -> Array<U> {
    let spec = TiledSpec { op, group: next_group(), output: 0 };
    Array::from_node(Node::new(name, U::DTYPE, chunks, Op::Tiled(spec), vec![input.clone()]))
}

impl<T: Element> Array<T> {
    /// The array with blocks of whole lines along `axis` (see the module documentation).
    fn in_lines(&self, axis: usize, max_line: usize) -> Result<Array<T>> {
        let c = line_chunks(self.chunks(), axis, T::DTYPE.size(), LINE_BLOCK_BYTES, max_line)?;
        if &c == self.chunks() { Ok(self.clone()) } else { self.rechunk(c) }
    }

    fn per_block<U: Element>(
        &self,
        name: &str,
        axis: usize,
        step: OrderStep,
        limits: &LineLimits,
    ) -> Result<Array<U>> {
        if self.size() > 0 && limits.too_long(self.shape()[axis], T::DTYPE.size()) {
            return self.sort_by_splitters(axis, matches!(step, OrderStep::Argsort), limits);
        }
        let lines = self.in_lines(axis, limits.line_bytes.max(MAX_LINE_BYTES))?;
        let kernel = Arc::new(OrderKernel { axis, dtype: T::DTYPE, step });
        let op = PerBlock { kernel, chunks: lines.chunks().clone() };
        let out = tiled::<U>(name, Arc::new(op), lines.chunks().clone(), lines.node());
        if out.chunks() == self.chunks() { Ok(out) } else { out.rechunk(self.chunks().clone()) }
    }

    /// The values sorted ascending along `axis` (NaN last, as `numpy.sort`); the result has
    /// the input's chunks.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[3.0, f64::NAN, 1.0, 2.0]).into_dyn(), [2])?;
    /// let s = x.sort(0)?.to_vec()?;
    /// assert_eq!(&s[..3], &[1.0, 2.0, 3.0]);
    /// assert!(s[3].is_nan());
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn sort(&self, axis: isize) -> Result<Array<T>> {
        self.sort_with(axis, &SortOptions::default())
    }

    /// [`Array::sort`] with options: where a line stops being sorted in one task.
    pub fn sort_with(&self, axis: isize, opts: &SortOptions) -> Result<Array<T>> {
        let ax = norm_axis("sort", axis, self.ndim())?;
        self.per_block("sort", ax, OrderStep::Sort, &opts.limits)
    }

    /// The indices that sort each line along `axis`, stably (equal values keep their order,
    /// NaN last: `numpy.argsort(kind="stable")`).
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[2, 1, 2, 0]).into_dyn(), [3])?;
    /// assert_eq!(x.argsort(0)?.to_vec()?, vec![3, 1, 0, 2]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn argsort(&self, axis: isize) -> Result<Array<i64>> {
        self.argsort_with(axis, &SortOptions::default())
    }

    /// [`Array::argsort`] with options: where a line stops being sorted in one task.
    pub fn argsort_with(&self, axis: isize, opts: &SortOptions) -> Result<Array<i64>> {
        let ax = norm_axis("argsort", axis, self.ndim())?;
        self.per_block("argsort", ax, OrderStep::Argsort, &opts.limits)
    }

    fn topk_any<U: Element>(&self, k: usize, axis: isize, opts: &TopkOptions, arg: bool) -> Result<Array<U>> {
        let name = if arg { "argtopk" } else { "topk" };
        let ax = norm_axis(name, axis, self.ndim())?;
        let n = self.shape()[ax];
        if k > n {
            return Err(Error::invalid(format!(
                "{name}: k = {k} is more than the {n} values along axis {ax}"
            )));
        }
        let mut axes: Vec<Vec<usize>> = (0..self.ndim()).map(|a| self.chunks().axis(a).to_vec()).collect();
        axes[ax] = vec![k];
        let chunks = Chunks::new(axes)?;
        let op = Topk {
            k,
            axis: ax,
            dtype: T::DTYPE,
            largest: opts.largest,
            arg,
            split_every: opts.split_every.max(2),
            chunks: chunks.clone(),
        };
        Ok(tiled::<U>(name, Arc::new(op), chunks, self.node()))
    }

    /// The `k` largest values along `axis`, largest first (the axis becomes `k` long). Equal
    /// values come in index order and NaN after every number, so this is
    /// `take_along_axis(x, argsort(-x, kind="stable")[:k])` in NumPy; dask's `topk`. No task
    /// holds more than `k` values per line of a block and its merged states.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[5, 1, 9, 5, 7]).into_dyn(), [2])?;
    /// assert_eq!(x.topk(3, 0)?.to_vec()?, vec![9, 7, 5]);
    /// assert_eq!(x.argtopk(3, 0)?.to_vec()?, vec![2, 4, 0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn topk(&self, k: usize, axis: isize) -> Result<Array<T>> {
        self.topk_any(k, axis, &TopkOptions::default(), false)
    }

    /// [`Array::topk`] with options: the smallest instead (`largest: false`: smallest
    /// first, equal values in index order, NaN last), the merge tree's fan-in.
    pub fn topk_with(&self, k: usize, axis: isize, opts: &TopkOptions) -> Result<Array<T>> {
        self.topk_any(k, axis, opts, false)
    }

    /// The indices along `axis` of [`Array::topk`]'s values.
    pub fn argtopk(&self, k: usize, axis: isize) -> Result<Array<i64>> {
        self.topk_any(k, axis, &TopkOptions::default(), true)
    }

    /// The indices along `axis` of [`Array::topk_with`]'s values.
    pub fn argtopk_with(&self, k: usize, axis: isize, opts: &TopkOptions) -> Result<Array<i64>> {
        self.topk_any(k, axis, opts, true)
    }
}

impl<T: Number> Array<T> {
    fn quantile_any(
        &self,
        q: &[f64],
        axis: isize,
        opts: &QuantileOptions,
        skip_nan: bool,
    ) -> Result<Array<T::Mean>> {
        let name = if skip_nan { "nanquantile" } else { "quantile" };
        let ax = norm_axis(name, axis, self.ndim())?;
        if let Some(bad) = q.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::invalid(format!("{name}: quantiles must lie in [0, 1], got {bad}")));
        }
        let out = if opts.limits.too_long(self.shape()[ax], T::DTYPE.size()) {
            self.quantile_by_counting(name, q, ax, opts.method, skip_nan, &opts.limits)?
        } else {
            self.quantile_in_lines(name, q, ax, opts, skip_nan)?
        };
        if opts.keepdims { out.expand_dims(ax as isize + 1) } else { Ok(out) }
    }

    fn quantile_in_lines(
        &self,
        name: &str,
        q: &[f64],
        ax: usize,
        opts: &QuantileOptions,
        skip_nan: bool,
    ) -> Result<Array<T::Mean>> {
        let lines = self.in_lines(ax, opts.limits.line_bytes.max(MAX_LINE_BYTES))?;
        let kernel = Arc::new(OrderKernel {
            axis: ax,
            dtype: T::DTYPE,
            step: OrderStep::Quantile { q: q.into(), method: opts.method, skip_nan },
        });
        let mut axes = vec![vec![q.len()]];
        axes.extend((0..self.ndim()).filter(|&a| a != ax).map(|a| lines.chunks().axis(a).to_vec()));
        let chunks = Chunks::new(axes)?;
        let op = PerBlock { kernel, chunks: chunks.clone() };
        Ok(tiled::<T::Mean>(name, Arc::new(op), chunks, lines.node()))
    }

    /// Quantiles `q` (each in `[0, 1]`) along `axis`, as `numpy.quantile(x, q, axis,
    /// method=…, keepdims=…)`: the result's first axis runs over `q`, then the input's axes
    /// without `axis` (kept with length 1 under `keepdims`). A line holding NaN gives NaN;
    /// an empty line gives NaN. Computed in `f64`, returned as `f32` for `f32` input and
    /// `f64` otherwise (NumPy returns integers for the discrete methods on integer input).
    /// Where NumPy's interpolation turns an infinite order statistic into NaN (`inf − inf`:
    /// `quantile([1, inf], 1)`), this returns the order statistic.
    ///
    /// ```
    /// use tessera::{QuantileMethod, QuantileOptions};
    /// let x = tessera::from_array(ndarray::arr1(&[1.0, 3.0, 2.0, 4.0]).into_dyn(), [3])?;
    /// let q = x.quantile_with(&[0.5, 1.0], 0, &QuantileOptions::default())?;
    /// assert_eq!(q.to_vec()?, vec![2.5, 4.0]);
    /// let lower = QuantileOptions::default().method(QuantileMethod::Lower);
    /// assert_eq!(x.quantile_with(&[0.5], 0, &lower)?.to_vec()?, vec![2.0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn quantile_with(&self, q: &[f64], axis: isize, opts: &QuantileOptions) -> Result<Array<T::Mean>> {
        self.quantile_any(q, axis, opts, false)
    }

    /// [`Array::quantile_with`] skipping NaN, as `numpy.nanquantile`: an all-NaN line gives
    /// NaN.
    pub fn nanquantile_with(&self, q: &[f64], axis: isize, opts: &QuantileOptions) -> Result<Array<T::Mean>> {
        self.quantile_any(q, axis, opts, true)
    }

    fn one_quantile(&self, q: f64, axis: isize, skip_nan: bool) -> Result<Array<T::Mean>> {
        self.quantile_any(&[q], axis, &QuantileOptions::default(), skip_nan)?.squeeze(Some(&[0]))
    }

    /// Quantile `q` along `axis` (linear interpolation, NumPy's default), the axis removed.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr2(&[[1.0, 5.0], [3.0, f64::NAN]]).into_dyn(), [1, 2])?;
    /// assert_eq!(x.quantile(0.5, 0)?.to_vec()?[0], 2.0);
    /// assert!(x.median(0)?.to_vec()?[1].is_nan());
    /// assert_eq!(x.nanmedian(0)?.to_vec()?, vec![2.0, 5.0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn quantile(&self, q: f64, axis: isize) -> Result<Array<T::Mean>> {
        self.one_quantile(q, axis, false)
    }

    /// Quantile `q` along `axis` skipping NaN (`numpy.nanquantile`).
    pub fn nanquantile(&self, q: f64, axis: isize) -> Result<Array<T::Mean>> {
        self.one_quantile(q, axis, true)
    }

    /// Percentile `p` (in `[0, 100]`) along `axis`: `quantile(p / 100)`.
    pub fn percentile(&self, p: f64, axis: isize) -> Result<Array<T::Mean>> {
        self.one_quantile(p / 100.0, axis, false)
    }

    /// Percentile `p` along `axis` skipping NaN (`numpy.nanpercentile`).
    pub fn nanpercentile(&self, p: f64, axis: isize) -> Result<Array<T::Mean>> {
        self.one_quantile(p / 100.0, axis, true)
    }

    /// The median along `axis` (`numpy.median`).
    pub fn median(&self, axis: isize) -> Result<Array<T::Mean>> {
        self.one_quantile(0.5, axis, false)
    }

    /// The median along `axis` skipping NaN (`numpy.nanmedian`).
    pub fn nanmedian(&self, axis: isize) -> Result<Array<T::Mean>> {
        self.one_quantile(0.5, axis, true)
    }
}

/// The positions each group pools, ascending, per group.
pub(crate) type Members = Arc<[Arc<[u32]>]>;

/// The groups of `labels` (the distinct non-negative ones, ascending) and the positions each
/// pools: those up to `window` either side of each of its occurrences, within the axis,
/// ascending and each once.
pub(crate) fn pooled_members(labels: &[i64], window: usize) -> (Vec<i64>, Members) {
    let n = labels.len();
    let mut groups: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
    for (t, l) in labels.iter().enumerate() {
        if let Ok(g) = groups.binary_search(l) {
            let lo = t.saturating_sub(window);
            let hi = (t + window).min(n.saturating_sub(1));
            members[g].extend((lo..=hi).map(|p| p as u32));
        }
    }
    for m in &mut members {
        m.sort_unstable();
        m.dedup();
    }
    (groups, members.into_iter().map(Arc::from).collect())
}

/// How [`Array::groupby_quantile`] pools and chooses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupQuantileOptions {
    /// Each occurrence of a group's label pools the values up to `window` positions either
    /// side of it (an 11-day window is `window: 5`; positions beyond the axis are dropped).
    pub window: usize,
    /// NumPy's `method=` (default `linear`).
    pub method: QuantileMethod,
    /// Skip NaN (as `nanquantile`); else a group holding NaN gives NaN.
    pub skip_nan: bool,
}

impl<T: crate::core::dtype::Float> Array<T> {
    /// Quantile `q` per group of positions along `axis` sharing a label (`labels[i]` for
    /// position `i`; negative labels belong to no group), each occurrence of a label pooling
    /// the positions `window` either side of it: the percentile thresholds of a daily
    /// climatology (Hobday et al. 2016's marine heatwave threshold is
    /// `groupby_quantile(0, &day_of_year, 0.9, {window: 5, skip_nan: true})`). The groups
    /// are the distinct non-negative labels, ascending; the axis of the result has one entry
    /// per group. Exact for any chunking: the array is cut into blocks of whole lines along
    /// the axis, as [`Array::quantile_with`] does.
    ///
    /// ```
    /// use tessera::GroupQuantileOptions;
    /// let x = tessera::from_array(ndarray::arr1(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).into_dyn(), [4])?;
    /// let labels = [0, 1, 2, 0, 1, 2];
    /// let plain = x.groupby_quantile(0, &labels, 0.5, &GroupQuantileOptions::default())?;
    /// assert_eq!(plain.array.to_vec()?, vec![2.5, 3.5, 4.5]);
    /// let pooled = GroupQuantileOptions { window: 1, ..Default::default() };
    /// // Group 0 pools positions 0, 1 and 2, 3, 4: the median of 1, 2, 3, 4, 5.
    /// assert_eq!(x.groupby_quantile(0, &labels, 0.5, &pooled)?.array.to_vec()?[0], 3.0);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn groupby_quantile(
        &self,
        axis: isize,
        labels: &[i64],
        q: f64,
        opts: &GroupQuantileOptions,
    ) -> Result<crate::groupby::Grouped<T>> {
        let ax = norm_axis("groupby_quantile", axis, self.ndim())?;
        let n = self.shape()[ax];
        if labels.len() != n {
            return Err(Error::ShapeMismatch {
                op: "groupby_quantile labels".into(),
                left: self.shape().to_vec(),
                right: vec![labels.len()],
            });
        }
        if !(0.0..=1.0).contains(&q) {
            return Err(Error::invalid(format!(
                "groupby_quantile: the quantile must lie in [0, 1], got {q}"
            )));
        }
        if n > u32::MAX as usize {
            return Err(Error::invalid(format!("groupby_quantile: an axis of {n} positions is too long")));
        }
        let (groups, members) = pooled_members(labels, opts.window);
        let lines = self.in_lines(ax, MAX_LINE_BYTES)?;
        let step = OrderStep::GroupQuantile { members, q, method: opts.method, skip_nan: opts.skip_nan };
        let kernel = Arc::new(OrderKernel { axis: ax, dtype: T::DTYPE, step });
        let mut axes: Vec<Vec<usize>> = (0..self.ndim()).map(|a| lines.chunks().axis(a).to_vec()).collect();
        axes[ax] = vec![groups.len()];
        let chunks = Chunks::new(axes)?;
        let op = PerBlock { kernel, chunks: chunks.clone() };
        let array = tiled::<T>("groupby_quantile", Arc::new(op), chunks, lines.node());
        Ok(crate::groupby::Grouped { array, groups })
    }
}
