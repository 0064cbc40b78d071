//! Order-statistic kernels: sort, stable argsort and quantiles of whole lines of a block, and
//! the top-k steps (per block, merged, picked).
//!
//! A block's lines along the axis are gathered so that each is contiguous: quantiles take
//! them 64 at a time into a cache-sized strip (eight rows per pass), sorts copy the block
//! with the axis last by cache tiles. Sorts are a stable radix sort of order-preserving
//! integer keys (`radix`); quantiles select on the same keys (`select_nth_unstable`: O(n)
//! per order statistic, as NumPy's `partition`). NaN orders after every number, whatever
//! its sign, as in NumPy; −0.0 equals 0.0.

use std::cmp::Ordering;

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::order::{OrderKernel, OrderStep, lerp};
use crate::with_dtype;

/// Run one order-statistic task.
pub(crate) fn execute(k: &OrderKernel, inputs: &[Value]) -> Result<Value> {
    let first = || inputs.first().ok_or_else(|| Error::internal("order kernel: no input"));
    match &k.step {
        OrderStep::Sort => {
            let a = first()?.array()?;
            Ok(Value::Array(with_dtype!(k.dtype, T => sort::<T>(a, k.axis)?)))
        }
        OrderStep::Argsort => {
            let a = first()?.array()?;
            Ok(Value::Array(with_dtype!(k.dtype, T => argsort::<T>(a, k.axis)?)))
        }
        OrderStep::Quantile { q, method, skip_nan } => {
            let a = first()?.array()?;
            let f = |n: usize, q: f64| method.position(n, q);
            Ok(Value::Array(with_dtype!(k.dtype, T => quantile::<T>(a, k.axis, q, &f, *skip_nan)?)))
        }
        OrderStep::GroupQuantile { members, q, method, skip_nan } => {
            let a = first()?.array()?;
            let f = |n: usize, q: f64| method.position(n, q);
            Ok(Value::Array(
                with_dtype!(k.dtype, T => group_quantile::<T>(a, k.axis, members, *q, &f, *skip_nan)?),
            ))
        }
        OrderStep::TopkPart { k: n, largest, start } => {
            let a = first()?.array()?;
            let s = with_dtype!(k.dtype, T => topk_part::<T>(a, k.axis, *n, *largest, *start)?);
            let bytes = s.nbytes();
            Ok(Value::state(s, bytes))
        }
        OrderStep::TopkMerge { k: n, largest } => {
            let parts: Vec<&TopkState> =
                inputs.iter().map(|v| v.get_state::<TopkState>()).collect::<Result<_>>()?;
            let s = with_dtype!(k.dtype, T => topk_merge::<T>(&parts, *n, *largest)?);
            let bytes = s.nbytes();
            Ok(Value::state(s, bytes))
        }
        OrderStep::TopkPick { arg } => {
            let s = first()?.get_state::<TopkState>()?;
            Ok(Value::Array(topk_pick(s, k.axis, *arg)?))
        }
        OrderStep::Histogram { edges, uniform } => {
            let x = first()?.array()?;
            let w = inputs.get(1).map(|v| v.array()).transpose()?;
            Ok(Value::Array(
                with_dtype!(k.dtype, T => super::counting::histogram::<T>(x, w, edges, *uniform)?),
            ))
        }
        OrderStep::HistogramFinish { edges, density, integer } => {
            Ok(Value::Array(super::counting::finish(first()?.array()?, edges, *density, *integer)?))
        }
        OrderStep::Select { plan, step } => super::select::execute(k, plan, step, inputs),
    }
}

/// Copy the row-major `rows × cols` matrix `src` into `dst` transposed (`cols × rows`), tile
/// by tile so that both sides stay in cache (a line along a leading axis is strided by the
/// whole cross-section: copied element by element it costs a cache miss per value).
fn transpose_into<T: Copy>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..r1 {
                let row = &src[r * cols + c0..r * cols + c1];
                for (c, &v) in (c0..c1).zip(row) {
                    dst[c * rows + r] = v;
                }
            }
        }
    }
}

/// `(elements before the axis, its length, elements after it)` of `shape`.
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// A block's elements in C order (a copy only when it is not contiguous), the shape of its
/// lines' grid (the block's shape without `axis`) and `(outer, n, inner)` of [`around`].
pub(super) type Layout<'a, T> = (ndarray::CowArray<'a, T, IxDyn>, Vec<usize>, (usize, usize, usize));

pub(super) fn layout<T: Element>(a: &HostArray, axis: usize) -> Result<Layout<'_, T>> {
    let v = T::unhost(a).ok_or_else(|| Error::internal("order kernel: block of another type"))?;
    if axis >= v.ndim() {
        return Err(Error::internal("order kernel: axis outside the block"));
    }
    let grid: Vec<usize> = (0..v.ndim()).filter(|&d| d != axis).map(|d| v.shape()[d]).collect();
    let dims = around(v.shape(), axis);
    Ok((v.as_standard_layout(), grid, dims))
}

/// The block's elements with `axis` moved last, in C order: `(lines × n values, the shape
/// of the lines' grid, n)`.
fn lines_last<T: Element>(a: &HostArray, axis: usize) -> Result<(Vec<T>, Vec<usize>, usize)> {
    let (std, grid, (outer, n, inner)) = layout::<T>(a, axis)?;
    let src = std.as_slice().ok_or_else(|| Error::internal("order kernel: block not contiguous"))?;
    if inner == 1 {
        return Ok((src.to_vec(), grid, n));
    }
    let mut data = vec![T::default(); src.len()];
    let slab = n * inner;
    for o in 0..outer {
        transpose_into(&src[o * slab..(o + 1) * slab], n, inner, &mut data[o * slab..(o + 1) * slab]);
    }
    Ok((data, grid, n))
}

/// Lines gathered per strip for [`for_each_line`]: this many lines at a time, so the strip
/// (lines × the axis) stays in cache while each line is selected.
const STRIP: usize = 64;

/// Call `f(l, line)` for every line of the block along `axis`, in order (`l` in C order over
/// the block's shape without the axis), each line a contiguous copy. Lines along a leading
/// axis are gathered `STRIP` at a time (each row contributes a contiguous run), so no copy
/// of the whole block is made. Returns the lines' grid and the axis length.
fn for_each_line<T: Element>(
    a: &HostArray,
    axis: usize,
    mut f: impl FnMut(usize, &[T]),
) -> Result<(Vec<usize>, usize)> {
    let (std, grid, (outer, n, inner)) = layout::<T>(a, axis)?;
    let src = std.as_slice().ok_or_else(|| Error::internal("order kernel: block not contiguous"))?;
    let mut strip: Vec<T> = vec![T::default(); n * STRIP.min(inner.max(1))];
    for o in 0..outer {
        let slab = &src[o * n * inner..(o + 1) * n * inner];
        for c0 in (0..inner).step_by(STRIP) {
            let width = STRIP.min(inner - c0);
            // Eight rows at a time: each line receives a run of eight neighbours per pass.
            for r0 in (0..n).step_by(8) {
                let r1 = (r0 + 8).min(n);
                for j in 0..width {
                    let to = &mut strip[j * n + r0..j * n + r1];
                    for (k, t) in to.iter_mut().enumerate() {
                        *t = slab[(r0 + k) * inner + c0 + j];
                    }
                }
            }
            for j in 0..width {
                f(o * inner + c0 + j, &strip[j * n..(j + 1) * n]);
            }
        }
    }
    Ok((grid, n))
}

/// Lines (axis last, C order over `grid`) back into a block with the axis at `axis`.
pub(super) fn lines_back<U: Element>(
    data: Vec<U>,
    grid: &[usize],
    n: usize,
    axis: usize,
) -> Result<HostArray> {
    let mut shape = grid.to_vec();
    shape.insert(axis, n);
    let (outer, _, inner) = around(&shape, axis);
    let data = if inner == 1 || n == 0 {
        data
    } else {
        let mut out = vec![U::default(); data.len()];
        let slab = n * inner;
        for o in 0..outer {
            transpose_into(&data[o * slab..(o + 1) * slab], inner, n, &mut out[o * slab..(o + 1) * slab]);
        }
        out
    };
    let arr = ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| Error::internal(e.to_string()))?;
    Ok(HostArray::new(arr.into_shared()))
}

fn for_lines<T, F: FnMut(&mut [T])>(data: &mut [T], n: usize, f: F) {
    if n > 0 {
        data.chunks_exact_mut(n).for_each(f);
    }
}

fn sort<T: Element>(a: &HostArray, axis: usize) -> Result<HostArray> {
    let (mut data, grid, n) = lines_last::<T>(a, axis)?;
    let (mut pairs, mut spare, mut copy) = (Vec::new(), Vec::new(), Vec::with_capacity(n));
    for_lines(&mut data, n, |line| {
        super::radix::sorted_positions(line, &mut pairs, &mut spare);
        copy.clear();
        copy.extend_from_slice(line);
        for (d, &(_, i)) in line.iter_mut().zip(pairs.iter()) {
            *d = copy[i as usize];
        }
    });
    lines_back(data, &grid, n, axis)
}

fn argsort<T: Element>(a: &HostArray, axis: usize) -> Result<HostArray> {
    let (data, grid, n) = lines_last::<T>(a, axis)?;
    if n > u32::MAX as usize {
        return Err(Error::invalid(format!("argsort: a line of {n} values is too long")));
    }
    let mut out: Vec<i64> = Vec::with_capacity(data.len());
    let (mut pairs, mut spare) = (Vec::new(), Vec::new());
    if n > 0 {
        for line in data.chunks_exact(n) {
            super::radix::sorted_positions(line, &mut pairs, &mut spare);
            out.extend(pairs.iter().map(|&(_, i)| i as i64));
        }
    }
    lines_back(out, &grid, n, axis)
}

/// Put the order statistics `ranks` (ascending, distinct, each `< line.len()`) of `line` in
/// their sorted places, by successive selections on what lies right of the previous one.
/// The selections run on the values' order-preserving integer keys (`radix::key`), which
/// compare faster than floats with NaN rules.
fn select_ranks(line: &mut [u64], ranks: &[usize]) {
    let mut start = 0;
    for &r in ranks {
        if r < start {
            continue;
        }
        line[start..].select_nth_unstable(r - start);
        start = r + 1;
    }
}

type Position<'a> = dyn Fn(usize, f64) -> (usize, usize, f64) + 'a;

/// Scratch for the quantiles of one line at a time, reused from line to line.
#[derive(Default)]
struct LineQuantiles {
    keys: Vec<u64>,
    ranks: Vec<usize>,
    at: Vec<(usize, usize, f64)>,
}

impl LineQuantiles {
    /// Quantiles `q` of `line`, handed to `emit(j, value)` for each `q[j]`: NaN skipped
    /// (`skip_nan`), else a line holding NaN has none; nothing is emitted without a value
    /// (the caller's NaN stays).
    fn run<T: Element>(
        &mut self,
        line: &[T],
        q: &[f64],
        position: &Position<'_>,
        skip_nan: bool,
        mut emit: impl FnMut(usize, f64),
    ) {
        let keys = &mut self.keys;
        keys.clear();
        if skip_nan {
            keys.extend(line.iter().filter(|v| !v.is_nan()).map(|&v| super::radix::key(v)));
        } else if !line.iter().any(|v| v.is_nan()) {
            keys.extend(line.iter().map(|&v| super::radix::key(v)));
        }
        let valid = keys.len();
        if valid == 0 {
            return;
        }
        self.ranks.clear();
        self.at.clear();
        for &qj in q {
            let (lo, hi, g) = position(valid, qj);
            self.at.push((lo, hi, g));
            self.ranks.push(lo);
            if g != 0.0 {
                self.ranks.push(hi);
            }
        }
        self.ranks.sort_unstable();
        self.ranks.dedup();
        select_ranks(keys, &self.ranks);
        let value = |i: usize| super::radix::value::<T>(keys[i]);
        for (j, &(lo, hi, g)) in self.at.iter().enumerate() {
            emit(j, lerp(value(lo), value(hi), g));
        }
    }
}

fn quantile<T: Element>(
    a: &HostArray,
    axis: usize,
    q: &[f64],
    position: &Position<'_>,
    skip_nan: bool,
) -> Result<HostArray> {
    let lines: usize = a.shape().iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &l)| l).product();
    let nq = q.len();
    // Output [nq] + grid: quantile j of line l at j * lines + l.
    let mut out = vec![f64::NAN; nq * lines];
    let mut scratch = LineQuantiles::default();
    let (grid, _) = for_each_line::<T>(a, axis, |l, line| {
        scratch.run(line, q, position, skip_nan, |j, v| out[j * lines + l] = v);
    })?;
    let mut shape = vec![nq];
    shape.extend_from_slice(&grid);
    let typed: Vec<T::Mean> = out.into_iter().map(<T::Mean as Element>::cast_from).collect();
    let arr = ArrayD::from_shape_vec(IxDyn(&shape), typed).map_err(|e| Error::internal(e.to_string()))?;
    Ok(HostArray::new(arr.into_shared()))
}

fn group_quantile<T: Element>(
    a: &HostArray,
    axis: usize,
    members: &[std::sync::Arc<[u32]>],
    q: f64,
    position: &Position<'_>,
    skip_nan: bool,
) -> Result<HostArray> {
    let n = a.shape()[axis];
    let lines: usize = a.shape().iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &l)| l).product();
    let ng = members.len();
    if members.iter().flat_map(|m| m.iter()).any(|&p| p as usize >= n) {
        return Err(Error::internal("groupby quantile: a member outside the axis"));
    }
    let mut out: Vec<T::Mean> = vec![<T::Mean as Element>::cast_from(f64::NAN); lines * ng];
    let (mut pool, mut scratch) = (Vec::<T>::new(), LineQuantiles::default());
    let (grid, _) = for_each_line::<T>(a, axis, |l, line| {
        for (g, m) in members.iter().enumerate() {
            pool.clear();
            pool.extend(m.iter().map(|&p| line[p as usize]));
            let slot = &mut out[l * ng + g];
            scratch.run(&pool, &[q], position, skip_nan, |_, v| *slot = <T::Mean as Element>::cast_from(v));
        }
    })?;
    lines_back(out, &grid, ng, axis)
}

/// The top `k` of each line of a block, or of several merged: per line (C order over the
/// block's shape without the axis) `k` values, best first, with their indices along the
/// whole axis.
pub(crate) struct TopkState {
    /// `[lines, k]` values.
    values: HostArray,
    /// `lines × k` indices along the axis.
    index: Vec<i64>,
    /// The shape of the lines' grid (the block's shape without the axis).
    grid: Vec<usize>,
    /// Entries per line.
    k: usize,
}

impl TopkState {
    fn nbytes(&self) -> usize {
        self.values.nbytes() + self.index.len() * 8 + 64
    }
}

/// Best first: for the largest, higher values first; for the smallest, lower first; NaN
/// after every number; equal values by index. A total order, so selections are exact.
fn better<T: Element>(largest: bool) -> impl Fn(&(T, i64), &(T, i64)) -> Ordering {
    move |a, b| {
        let by_value = match (a.0.is_nan(), b.0.is_nan()) {
            (false, false) => {
                let o = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
                if largest { o.reverse() } else { o }
            }
            (x, y) => x.cmp(&y),
        };
        by_value.then(a.1.cmp(&b.1))
    }
}

fn keep_best<T: Element>(cand: &mut Vec<(T, i64)>, k: usize, largest: bool) {
    let cmp = better::<T>(largest);
    if cand.len() > k {
        if k > 0 {
            cand.select_nth_unstable_by(k - 1, &cmp);
        }
        cand.truncate(k);
    }
    cand.sort_unstable_by(&cmp);
}

fn topk_state<T: Element>(best: Vec<Vec<(T, i64)>>, grid: Vec<usize>, k: usize) -> Result<TopkState> {
    let lines = best.len();
    let mut values = Vec::with_capacity(lines * k);
    let mut index = Vec::with_capacity(lines * k);
    for line in best {
        for (v, i) in line {
            values.push(v);
            index.push(i);
        }
    }
    let arr =
        ArrayD::from_shape_vec(IxDyn(&[lines, k]), values).map_err(|e| Error::internal(e.to_string()))?;
    Ok(TopkState { values: HostArray::new(arr.into_shared()), index, grid, k })
}

fn topk_part<T: Element>(
    a: &HostArray,
    axis: usize,
    k: usize,
    largest: bool,
    start: usize,
) -> Result<TopkState> {
    let mut best = Vec::new();
    let (grid, n) = for_each_line::<T>(a, axis, |_, line| {
        let mut cand: Vec<(T, i64)> =
            line.iter().enumerate().map(|(i, &v)| (v, (start + i) as i64)).collect();
        keep_best(&mut cand, k, largest);
        best.push(cand);
    })?;
    topk_state(best, grid, k.min(n))
}

fn topk_merge<T: Element>(parts: &[&TopkState], k: usize, largest: bool) -> Result<TopkState> {
    let first = parts.first().ok_or_else(|| Error::internal("topk merge: no input"))?;
    let lines: usize = first.grid.iter().product();
    let total: usize = parts.iter().map(|p| p.k).sum();
    let keep = k.min(total);
    let views: Vec<ArrayViewD<'_, T>> = parts
        .iter()
        .map(|p| {
            T::unhost(&p.values)
                .map(|a| a.view())
                .ok_or_else(|| Error::internal("topk merge: state of another type"))
        })
        .collect::<Result<_>>()?;
    let mut best = Vec::with_capacity(lines);
    for l in 0..lines {
        let mut cand = Vec::with_capacity(total);
        for (p, v) in parts.iter().zip(&views) {
            let row = v.index_axis(Axis(0), l);
            cand.extend(row.iter().copied().zip(p.index[l * p.k..(l + 1) * p.k].iter().copied()));
        }
        keep_best(&mut cand, keep, largest);
        best.push(cand);
    }
    topk_state(best, first.grid.clone(), keep)
}

fn topk_pick(s: &TopkState, axis: usize, arg: bool) -> Result<HostArray> {
    if arg {
        return lines_back(s.index.clone(), &s.grid, s.k, axis);
    }
    crate::map_host!(&s.values, v => {
        let data: Vec<_> = v.iter().copied().collect();
        lines_back(data, &s.grid, s.k, axis)
    })
}
