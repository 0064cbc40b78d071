//! How order statistics cut an array into blocks of lines ([`line_chunks`]), and quantiles
//! and sorts of lines too long for one task: radix selection by counting, and a sample sort
//! on its exact splitters. The algorithm and its cost are in the documentation
//! of the `order` module; the kernels in `backend::cpu::select` and `select_sort`.

use std::sync::Arc;

use crate::array::Array;
use crate::array::order::{MAX_LINE_BYTES, tiled};
use crate::core::chunks::{Chunks, linear_index, unravel};
use crate::core::dtype::{DType, Element, Number};
use crate::core::error::{Error, Result};
use crate::graph::tiled::{TileBuilder, TiledOp};
use crate::ir::kernel::Kernel;
use crate::ir::order::{OrderKernel, OrderStep};
use crate::ir::select::{SelectPlan, SelectStep, SelectTarget};
use crate::ir::task::TaskId;

/// The counts or gathered values one selection task holds, about (16 MiB): a histogram of
/// `2^radix` 8-byte counts, or up to `gather` 16-byte composites, per line and wanted rank.
pub const SELECT_BYTES: usize = 16 << 20;

/// When an order statistic stops holding whole lines in one task, and what its counting
/// tasks may hold instead.
///
/// ```
/// use tessera::{LineLimits, QuantileOptions};
/// let x = tessera::from_array(ndarray::arr1(&[4.0, 1.0, 3.0, 2.0, 5.0]).into_dyn(), [2])?;
/// // Any line longer than 8 bytes is selected by counting, blocks never merged.
/// let by_counting = QuantileOptions::default().limits(LineLimits { line_bytes: 8, ..Default::default() });
/// assert_eq!(x.quantile_with(&[0.5], 0, &by_counting)?.to_vec()?, vec![3.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineLimits {
    /// A line (the values along the axis at one position of the others) of more bytes is
    /// not gathered into one task: quantiles select by counting over its blocks, sorts sort
    /// samples between exact splitters. Default [`MAX_LINE_BYTES`].
    pub line_bytes: usize,
    /// About the bytes of counts (or gathered values) one selection task holds
    /// ([`SELECT_BYTES`]): it sets the digit counted per pass and how small a bucket is
    /// gathered, and caps the lines per block.
    pub select_bytes: usize,
}

impl Default for LineLimits {
    fn default() -> Self {
        LineLimits { line_bytes: MAX_LINE_BYTES, select_bytes: SELECT_BYTES }
    }
}

impl LineLimits {
    /// A line of `n` values of `elem` bytes is too long for one task.
    pub(super) fn too_long(&self, n: usize, elem: usize) -> bool {
        n.max(1).saturating_mul(elem) > self.line_bytes
    }
}

/// Bytes of one histogram bin (a count) and of one gathered composite.
const COUNT_BYTES: usize = 8;
const COMPOSITE_BYTES: usize = 16;

/// The smallest and largest digit counted per pass.
const MIN_RADIX: u32 = 4;
const MAX_RADIX: u32 = 16;

/// The chunks the selection runs on (the axis's blocks kept, the other axes cut so a block
/// has few enough lines) and its plan: the widest digit whose histograms for every line and
/// rank of a block fit `select_bytes`, gathering buckets that fit it as composites; and the
/// bytes a counting task holds.
fn plan_for(
    chunks: &Chunks,
    axis: usize,
    target: SelectTarget,
    slots: usize,
    index_bits: u32,
    limits: &LineLimits,
) -> Result<(Chunks, SelectPlan, usize)> {
    let slots = slots.max(1);
    let per_block = (limits.select_bytes / (slots * (1 << 8) * COMPOSITE_BYTES)).max(1);
    let cut = cut_across(chunks, axis, chunks.axis(axis).to_vec(), per_block)?;
    let lines: usize =
        cut.max_block_shape().iter().enumerate().filter(|&(a, _)| a != axis).map(|(_, &d)| d).product();
    let entries = limits.select_bytes / (COMPOSITE_BYTES * lines.max(1) * slots);
    let radix = if entries < 2 { MIN_RADIX } else { entries.ilog2().clamp(MIN_RADIX, MAX_RADIX) };
    let task_bytes = lines * slots * ((COUNT_BYTES << radix).max(entries * COMPOSITE_BYTES)) + 64;
    Ok((cut, SelectPlan { target, radix, gather: entries as u64, index_bits }, task_bytes))
}

/// The chunks of `chunks` with `axis` whole and the other axes' chunks cut (never merged)
/// until a block of `elem`-byte values is at most `target` bytes or every other chunk is 1.
/// A line longer than `max_line` bytes is refused.
pub(crate) fn line_chunks(
    chunks: &Chunks,
    axis: usize,
    elem: usize,
    target: usize,
    max_line: usize,
) -> Result<Chunks> {
    let shape = chunks.shape();
    let n = shape[axis];
    let line = n.max(1) * elem;
    if line > max_line {
        return Err(Error::invalid(format!(
            "a line of {n} values along axis {axis} ({line} bytes) is longer than the {max_line} bytes \
             one task may hold for this order statistic; rechunk or reduce it first"
        )));
    }
    cut_across(chunks, axis, vec![n], (target / line).max(1))
}

/// The chunks of `chunks` with `along` as the chunks of `axis` and the other axes' chunks
/// cut (never merged), the longest first, until a block holds at most `per_block` lines or
/// every other chunk is 1.
fn cut_across(chunks: &Chunks, axis: usize, along: Vec<usize>, per_block: usize) -> Result<Chunks> {
    let shape = chunks.shape();
    // The longest block length allowed along each other axis, halved on the longest until a
    // block of lines fits.
    let mut cap: Vec<usize> = (0..shape.len())
        .map(|a| if a == axis { 1 } else { chunks.axis(a).iter().copied().max().unwrap_or(1).max(1) })
        .collect();
    loop {
        let cross: usize = cap.iter().enumerate().filter(|&(a, _)| a != axis).map(|(_, &c)| c).product();
        if cross <= per_block {
            break;
        }
        let Some((a, _)) =
            cap.iter().enumerate().filter(|&(a, &c)| a != axis && c > 1).max_by_key(|&(_, &c)| c)
        else {
            break;
        };
        cap[a] = cap[a].div_ceil(2);
    }
    let mut along = Some(along);
    let axes = (0..shape.len())
        .map(|a| {
            if a == axis {
                return along.take().unwrap_or_default();
            }
            let mut v = Vec::new();
            for &c in chunks.axis(a) {
                let pieces = c.div_ceil(cap[a]).max(1);
                // `pieces` near-equal lengths summing to c.
                for p in 0..pieces {
                    v.push(c * (p + 1) / pieces - c * p / pieces);
                }
            }
            v
        })
        .collect();
    Chunks::new(axes)
}

/// What a selection ends in.
enum Finish {
    /// The quantiles of each line.
    Quantiles,
    /// Runs of each line's stable order, sorted: values, or positions (`arg`); `runs` their
    /// lengths, the output's chunks along the axis.
    Sort { arg: bool, runs: Vec<usize> },
}

/// Per block of lines (the input's blocks along the axis), `passes` of count, merge tree
/// and decision, then the finish.
struct Selection {
    plan: Arc<SelectPlan>,
    axis: usize,
    dtype: DType,
    finish: Finish,
    /// The output's chunks.
    chunks: Chunks,
    /// Bytes of one counting task's result (histograms or gathered composites).
    count_bytes: usize,
}

impl Selection {
    fn kernel(&self, step: SelectStep) -> Kernel {
        let step = OrderStep::Select { plan: self.plan.clone(), step };
        Kernel::Order(Arc::new(OrderKernel { axis: self.axis, dtype: self.dtype, step }))
    }
}

impl TiledOp for Selection {
    fn name(&self) -> &str {
        match self.finish {
            Finish::Quantiles => "quantile-select",
            Finish::Sort { arg: false, .. } => "sample-sort",
            Finish::Sort { arg: true, .. } => "sample-argsort",
        }
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let ax = self.axis;
        let input = b.chunks(0).clone();
        let starts = input.offsets(ax).to_vec();
        let along = input.axis(ax).to_vec();
        let elem = self.dtype.size();
        let mut strips = input.numblocks();
        strips[ax] = 1;
        let out_grid = self.chunks.numblocks();
        let mut out = vec![0; self.chunks.nblocks()];
        let nstrips: usize = strips.iter().product();
        for s in 0..nstrips {
            let strip = unravel(s, &strips);
            let shape = input.block_shape(&strip);
            let lines: usize = shape.iter().enumerate().filter(|&(a, _)| a != ax).map(|(_, &d)| d).product();
            let counts_bytes = self.count_bytes;
            let state_bytes = lines * 256 + 64;
            let mut state: Option<TaskId> = None;
            for _ in 0..self.plan.passes() {
                let mut level = Vec::with_capacity(along.len());
                for (j, &start) in starts.iter().enumerate().take(along.len()) {
                    let mut idx = strip.clone();
                    idx[ax] = j;
                    let mut deps = vec![b.input(0, &idx)];
                    deps.extend(state);
                    level.push(b.push_kernel(
                        self.kernel(SelectStep::Count { start }),
                        deps,
                        &idx,
                        counts_bytes,
                    ));
                }
                let mut deps = b.tree(level, 16, || self.kernel(SelectStep::Merge), &strip, counts_bytes);
                deps.extend(state);
                state = Some(b.push_kernel(self.kernel(SelectStep::Decide), deps, &strip, state_bytes));
            }
            let state: Vec<TaskId> = state.into_iter().collect();
            match &self.finish {
                Finish::Quantiles => {
                    let mut idx = vec![0];
                    idx.extend(strip.iter().enumerate().filter(|&(a, _)| a != ax).map(|(_, &i)| i));
                    let bytes = self.chunks.block_shape(&idx).iter().product::<usize>() * 8;
                    let t = b.push_kernel(self.kernel(SelectStep::Quantiles), state, &idx, bytes);
                    out[linear_index(&idx, &out_grid)] = t;
                }
                Finish::Sort { arg, runs } => {
                    let mut parts = Vec::with_capacity(along.len());
                    for (j, (&start, &len)) in starts.iter().zip(&along).enumerate() {
                        let mut idx = strip.clone();
                        idx[ax] = j;
                        let mut deps = vec![b.input(0, &idx)];
                        deps.extend(state.iter().copied());
                        let bytes = lines * len * (elem + 8) + 64;
                        parts.push(b.push_kernel(
                            self.kernel(SelectStep::Partition { start }),
                            deps,
                            &idx,
                            bytes,
                        ));
                    }
                    let out_elem = if *arg { 8 } else { elem };
                    for (r, &len) in runs.iter().enumerate() {
                        let mut idx = strip.clone();
                        idx[ax] = r;
                        let step = SelectStep::SortPart { part: r, len, arg: *arg };
                        let t = b.push_kernel(self.kernel(step), parts.clone(), &idx, lines * len * out_elem);
                        b.set_scratch(t, lines * len * (elem + 16));
                        out[linear_index(&idx, &out_grid)] = t;
                    }
                }
            }
        }
        vec![out]
    }
}

impl<T: Number> Array<T> {
    /// Quantiles `q` along `axis` of lines too long for one task, by radix selection over the
    /// blocks along the axis: `[q.len()] +` the other axes (cut into blocks of few lines).
    pub(super) fn quantile_by_counting(
        &self,
        name: &str,
        q: &[f64],
        axis: usize,
        method: crate::ir::order::QuantileMethod,
        skip_nan: bool,
        limits: &LineLimits,
    ) -> Result<Array<T::Mean>> {
        let n = self.shape()[axis];
        let target = SelectTarget::Quantiles { q: q.into(), method, skip_nan };
        let slots = (2 * q.len()).min(n);
        let (cut, plan, count_bytes) = plan_for(self.chunks(), axis, target, slots, 0, limits)?;
        let x = if &cut == self.chunks() { self.clone() } else { self.rechunk(cut.clone())? };
        let mut axes = vec![vec![q.len()]];
        axes.extend((0..self.ndim()).filter(|&a| a != axis).map(|a| cut.axis(a).to_vec()));
        let chunks = Chunks::new(axes)?;
        let finish = Finish::Quantiles;
        let op = Selection { plan: Arc::new(plan), axis, dtype: T::DTYPE, finish, chunks, count_bytes };
        let chunks = op.chunks.clone();
        Ok(tiled::<T::Mean>(name, Arc::new(op), chunks, x.node()))
    }
}

impl<T: Element> Array<T> {
    /// The sort (`arg`: the stable argsort) along `axis` of lines too long for one task: a
    /// sample sort on exact splitters, in the input's chunks.
    pub(super) fn sort_by_splitters<U: Element>(
        &self,
        axis: usize,
        arg: bool,
        limits: &LineLimits,
    ) -> Result<Array<U>> {
        let n = self.shape()[axis];
        let nb = self.chunks().axis(axis).len();
        let parts = nb.min(n).max(1);
        let index_bits = usize::BITS - n.saturating_sub(1).leading_zeros();
        let target = SelectTarget::Splitters { parts };
        let (cut, plan, count_bytes) = plan_for(self.chunks(), axis, target, parts - 1, index_bits, limits)?;
        let x = if &cut == self.chunks() { self.clone() } else { self.rechunk(cut.clone())? };
        let mut runs = crate::ir::select::split_ranks(n, parts);
        runs.insert(0, 0);
        runs.push(n);
        let runs: Vec<usize> = runs.windows(2).map(|w| w[1] - w[0]).collect();
        let mut axes: Vec<Vec<usize>> = cut.axes().to_vec();
        axes[axis] = runs.clone();
        let chunks = Chunks::new(axes)?;
        let finish = Finish::Sort { arg, runs };
        let op = Selection {
            plan: Arc::new(plan),
            axis,
            dtype: T::DTYPE,
            finish,
            chunks: chunks.clone(),
            count_bytes,
        };
        let name = if arg { "argsort" } else { "sort" };
        let out = tiled::<U>(name, Arc::new(op), chunks, x.node());
        if out.chunks() == self.chunks() { Ok(out) } else { out.rechunk(self.chunks().clone()) }
    }
}
