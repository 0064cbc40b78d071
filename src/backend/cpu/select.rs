//! Radix selection over the blocks of lines too long for one task (`ir::select`): per pass
//! and block a count of the next digit of the composites (key, then position) in each
//! bucket that still holds a wanted rank, or the bucket's composites once it is small; the
//! counts added by a tree; a decision that narrows every wanted rank to one digit (or picks
//! it). The quantiles are then read off the picked keys with the whole-line path's `lerp`,
//! so the two paths agree bit for bit.

use ndarray::{ArrayD, IxDyn};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::order::{OrderKernel, lerp};
use crate::ir::select::{SelectPlan, SelectStep, SelectTarget, split_ranks};
use crate::with_dtype;

use super::radix;

/// Run one selection or sample-sort task.
pub(crate) fn execute(
    k: &OrderKernel,
    plan: &SelectPlan,
    step: &SelectStep,
    inputs: &[Value],
) -> Result<Value> {
    let input = |i: usize| inputs.get(i).ok_or_else(|| Error::internal("select kernel: an input missing"));
    let state = |i: usize| inputs.get(i).map(|v| v.get_state::<SelectState>()).transpose();
    match step {
        SelectStep::Count { start } => {
            let a = input(0)?.array()?;
            let c = with_dtype!(k.dtype, T => count::<T>(a, k.axis, plan, state(1)?, *start)?);
            let bytes = c.nbytes();
            Ok(Value::state(c, bytes))
        }
        SelectStep::Merge => {
            let parts: Vec<&SelectCounts> =
                inputs.iter().map(|v| v.get_state::<SelectCounts>()).collect::<Result<_>>()?;
            let c = merge(&parts)?;
            let bytes = c.nbytes();
            Ok(Value::state(c, bytes))
        }
        SelectStep::Decide => {
            let counts = input(0)?.get_state::<SelectCounts>()?;
            let s = decide(plan, counts, state(1)?)?;
            let bytes = s.nbytes();
            Ok(Value::state(s, bytes))
        }
        SelectStep::Quantiles => {
            let s = input(0)?.get_state::<SelectState>()?;
            Ok(Value::Array(with_dtype!(k.dtype, T => quantiles::<T>(plan, s)?)))
        }
        SelectStep::Partition { .. } | SelectStep::SortPart { .. } => {
            super::select_sort::execute(k, plan, step, inputs)
        }
    }
}

/// The composites sharing their top `bits` bits (the state's `bits`) with `prefix`.
#[derive(Debug, Clone)]
struct Bucket {
    /// The decided top bits.
    prefix: u128,
    /// Small enough to gather: the next pass sends its composites, not counts.
    gather: bool,
}

/// One line's selection so far.
#[derive(Debug, Clone, Default)]
struct LineSelect {
    /// Values selected among (NaN excluded for quantiles).
    n: u64,
    /// The wanted ranks, ascending, distinct.
    ranks: Vec<u64>,
    /// Per rank: its composite once known.
    found: Vec<Option<u128>>,
    /// Per rank: its bucket (index into `buckets`) and its rank within it (unfound ranks).
    within: Vec<(usize, u64)>,
    /// Buckets holding unfound ranks, by increasing prefix.
    buckets: Vec<Bucket>,
}

/// The selection's state after a pass, for the lines of one block of lines.
#[derive(Debug, Clone)]
pub(crate) struct SelectState {
    /// Top bits of the composites decided for every bucket.
    bits: u32,
    /// The lines' grid (a block's shape without the axis).
    grid: Vec<usize>,
    lines: Vec<LineSelect>,
}

impl SelectState {
    fn nbytes(&self) -> usize {
        self.lines.iter().map(|l| 64 + l.ranks.len() * 48 + l.buckets.len() * 32).sum::<usize>() + 64
    }

    /// The composite at rank `r` of line `l` (it was wanted).
    pub(super) fn found(&self, l: usize, r: u64) -> Result<u128> {
        let line = &self.lines[l];
        line.ranks
            .binary_search(&r)
            .ok()
            .and_then(|i| line.found[i])
            .ok_or_else(|| Error::internal(format!("select: rank {r} of line {l} was not selected")))
    }

    /// How many values line `l` selects among.
    pub(super) fn line_len(&self, l: usize) -> u64 {
        self.lines.get(l).map_or(0, |x| x.n)
    }

    /// Lines it holds.
    pub(super) fn nlines(&self) -> usize {
        self.lines.len()
    }
}

/// One pass's counts (or gathered composites) per line and bucket.
pub(crate) struct SelectCounts {
    grid: Vec<usize>,
    /// Per line, NaN seen (quantiles only; NaN is a value of a sort).
    nan: Vec<u64>,
    /// Per line, per bucket of the state: counts of the next digit (empty when gathered).
    counts: Vec<Vec<Vec<u64>>>,
    /// Per line, per bucket: the gathered composites (empty when counted).
    cands: Vec<Vec<Vec<u128>>>,
}

impl SelectCounts {
    fn nbytes(&self) -> usize {
        let c: usize = self.counts.iter().flatten().map(|v| v.len() * 8).sum();
        let g: usize = self.cands.iter().flatten().map(|v| v.len() * 16).sum();
        c + g + self.nan.len() * 8 + 64
    }
}

/// A value's composite: its key, then `index_bits` bits of its position (none: the key).
#[inline]
pub(super) fn composite<T: Element>(v: T, pos: usize, index_bits: u32) -> u128 {
    let key = radix::key(v) as u128;
    if index_bits == 0 { key } else { (key << index_bits) | pos as u128 }
}

/// The bucket of `bs` (by increasing prefix) whose prefix is `top`.
#[inline]
fn bucket_of(bs: &[Bucket], top: u128) -> Option<usize> {
    if bs.len() <= 4 {
        bs.iter().position(|b| b.prefix == top)
    } else {
        bs.binary_search_by(|b| b.prefix.cmp(&top)).ok()
    }
}

/// Where a value goes in one pass.
struct Digit {
    /// NaN is counted apart (quantiles), not a value.
    skip_nan: bool,
    index_bits: u32,
    /// A composite shifted right by this is its bucket's prefix.
    top_shift: u32,
    /// A composite shifted right by this and masked is its digit.
    digit_shift: u32,
    mask: usize,
    /// The first pass: one bucket, holding everything.
    first: bool,
}

impl Digit {
    /// Count `v` (at `pos` along the axis) in its bucket among `bs`, or gather it.
    #[inline]
    fn add<T: Element>(
        &self,
        v: T,
        pos: usize,
        bs: &[Bucket],
        counts: &mut [Vec<u64>],
        cands: &mut [Vec<u128>],
        nan: &mut u64,
    ) {
        if self.skip_nan && v.is_nan() {
            *nan += 1;
            return;
        }
        if self.index_bits == 0 {
            // Keys alone (quantiles): 64-bit shifts, much cheaper than 128-bit ones.
            let k = radix::key(v);
            let b = if self.first {
                0
            } else {
                match bucket_of(bs, (k >> self.top_shift) as u128) {
                    Some(b) => b,
                    None => return,
                }
            };
            if bs[b].gather {
                cands[b].push(k as u128);
            } else {
                counts[b][((k >> self.digit_shift) as usize) & self.mask] += 1;
            }
            return;
        }
        let c = composite(v, pos, self.index_bits);
        let b = if self.first {
            0
        } else {
            match bucket_of(bs, c >> self.top_shift) {
                Some(b) => b,
                None => return,
            }
        };
        if bs[b].gather {
            cands[b].push(c);
        } else {
            counts[b][((c >> self.digit_shift) as usize) & self.mask] += 1;
        }
    }
}

fn count<T: Element>(
    a: &HostArray,
    axis: usize,
    plan: &SelectPlan,
    state: Option<&SelectState>,
    start: usize,
) -> Result<SelectCounts> {
    let (std, grid, (outer, n, inner)) = super::order::layout::<T>(a, axis)?;
    let src = std.as_slice().ok_or_else(|| Error::internal("select: block not contiguous"))?;
    let lines = outer * inner;
    let total = plan.total_bits();
    let bits = state.map_or(0, |s| s.bits);
    if bits >= total {
        return Err(Error::internal("select: a pass after every bit was decided"));
    }
    let width = plan.radix.min(total - bits);
    let first = [Bucket { prefix: 0, gather: false }];
    let buckets = |l: usize| -> &[Bucket] {
        match state {
            None => &first,
            Some(s) => &s.lines[l].buckets,
        }
    };
    if let Some(s) = state
        && s.lines.len() != lines
    {
        return Err(Error::internal("select: the state's lines differ from the block's"));
    }
    let mut counts: Vec<Vec<Vec<u64>>> = (0..lines)
        .map(|l| buckets(l).iter().map(|b| if b.gather { Vec::new() } else { vec![0; 1 << width] }).collect())
        .collect();
    let mut cands: Vec<Vec<Vec<u128>>> = (0..lines).map(|l| vec![Vec::new(); buckets(l).len()]).collect();
    let mut nan = vec![0u64; lines];
    let digit = Digit {
        skip_nan: matches!(plan.target, SelectTarget::Quantiles { .. }),
        index_bits: plan.index_bits,
        top_shift: total - bits,
        digit_shift: total - bits - width,
        mask: (1usize << width) - 1,
        first: bits == 0,
    };
    if inner == 1 {
        // Each line contiguous: its buckets and counts looked up once.
        for (l, line) in src.chunks_exact(n.max(1)).enumerate().take(lines) {
            let (bs, cl, gl) = (buckets(l), &mut counts[l], &mut cands[l]);
            if bs.is_empty() {
                continue;
            }
            for (t, &v) in line.iter().enumerate() {
                digit.add(v, start + t, bs, cl, gl, &mut nan[l]);
            }
        }
    } else if (0..lines).any(|l| !buckets(l).is_empty()) {
        for o in 0..outer {
            for t in 0..n {
                let row = &src[(o * n + t) * inner..(o * n + t + 1) * inner];
                for (i, &v) in row.iter().enumerate() {
                    let l = o * inner + i;
                    digit.add(v, start + t, buckets(l), &mut counts[l], &mut cands[l], &mut nan[l]);
                }
            }
        }
    }
    Ok(SelectCounts { grid, nan, counts, cands })
}

fn merge(parts: &[&SelectCounts]) -> Result<SelectCounts> {
    let first = parts.first().ok_or_else(|| Error::internal("select merge: no input"))?;
    let mut out = SelectCounts {
        grid: first.grid.clone(),
        nan: first.nan.clone(),
        counts: first.counts.clone(),
        cands: first.cands.clone(),
    };
    for p in &parts[1..] {
        if p.counts.len() != out.counts.len() {
            return Err(Error::internal("select merge: parts of different lines"));
        }
        for (a, b) in out.nan.iter_mut().zip(&p.nan) {
            *a += b;
        }
        for (la, lb) in out.counts.iter_mut().zip(&p.counts) {
            for (a, b) in la.iter_mut().zip(lb) {
                if a.len() != b.len() {
                    return Err(Error::internal("select merge: counts of different digits"));
                }
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            }
        }
        for (la, lb) in out.cands.iter_mut().zip(&p.cands) {
            for (a, b) in la.iter_mut().zip(lb) {
                a.extend_from_slice(b);
            }
        }
    }
    Ok(out)
}

/// The ranks `target` wants of a line of `n` values (`nan`: it holds NaN), ascending and
/// distinct.
fn wanted(target: &SelectTarget, n: u64, nan: bool) -> Vec<u64> {
    let mut r: Vec<u64> = match target {
        SelectTarget::Quantiles { q, method, skip_nan } => {
            if n == 0 || (nan && !skip_nan) {
                return Vec::new();
            }
            let mut r = Vec::with_capacity(2 * q.len());
            for &qj in q.iter() {
                let (lo, hi, g) = method.position(n as usize, qj);
                r.push(lo as u64);
                if g != 0.0 {
                    r.push(hi as u64);
                }
            }
            r
        }
        SelectTarget::Splitters { parts } => {
            split_ranks(n as usize, *parts).into_iter().map(|x| x as u64).collect()
        }
    };
    r.sort_unstable();
    r.dedup();
    r
}

/// The next state: every unfound rank's bucket narrowed to one digit of its counts, or the
/// rank picked from the bucket's gathered composites.
fn decide(plan: &SelectPlan, counts: &SelectCounts, prev: Option<&SelectState>) -> Result<SelectState> {
    let total = plan.total_bits();
    let bits = prev.map_or(0, |s| s.bits);
    let width = plan.radix.min(total - bits);
    let new_bits = bits + width;
    let nlines = counts.counts.len();
    if counts.cands.len() != nlines {
        return Err(Error::internal("select: counts and gathered values of different lines"));
    }
    let mut lines = Vec::with_capacity(nlines);
    for l in 0..nlines {
        let mut line = match prev {
            Some(s) => s.lines.get(l).cloned().ok_or_else(|| Error::internal("select: lines differ"))?,
            None => {
                let n: u64 = counts.counts[l].first().map_or(0, |h| h.iter().sum());
                let nan = counts.nan.get(l).is_some_and(|&c| c > 0);
                let ranks = wanted(&plan.target, n, nan);
                LineSelect {
                    n,
                    found: vec![None; ranks.len()],
                    within: ranks.iter().map(|&r| (0, r)).collect(),
                    buckets: if ranks.is_empty() {
                        Vec::new()
                    } else {
                        vec![Bucket { prefix: 0, gather: false }]
                    },
                    ranks,
                }
            }
        };
        let old = std::mem::take(&mut line.buckets);
        let mut gathered: Vec<Option<Vec<u128>>> = vec![None; old.len()];
        let mut buckets: Vec<Bucket> = Vec::new();
        for i in 0..line.ranks.len() {
            if line.found[i].is_some() {
                continue;
            }
            let (b, r) = line.within[i];
            let bucket = old.get(b).ok_or_else(|| Error::internal("select: a rank without a bucket"))?;
            let (hist, cands) = match (counts.counts[l].get(b), counts.cands[l].get(b)) {
                (Some(h), Some(c)) => (h, c),
                _ => return Err(Error::internal("select: counts without the bucket")),
            };
            if bucket.gather {
                let cands = gathered[b].get_or_insert_with(|| {
                    let mut c = cands.clone();
                    c.sort_unstable();
                    c
                });
                let c =
                    cands.get(r as usize).ok_or_else(|| Error::internal("select: a rank past its bucket"))?;
                line.found[i] = Some(*c);
                continue;
            }
            let (mut below, mut digit) = (0u64, None);
            for (d, &c) in hist.iter().enumerate() {
                if r < below + c {
                    digit = Some((d, c));
                    break;
                }
                below += c;
            }
            let (d, c) = digit.ok_or_else(|| Error::internal("select: a rank past its bucket's counts"))?;
            let prefix = (bucket.prefix << width) | d as u128;
            if new_bits >= total {
                line.found[i] = Some(prefix);
                continue;
            }
            if buckets.last().is_none_or(|x| x.prefix != prefix) {
                buckets.push(Bucket { prefix, gather: c <= plan.gather });
            }
            line.within[i] = (buckets.len() - 1, r - below);
        }
        line.buckets = buckets;
        lines.push(line);
    }
    Ok(SelectState { bits: new_bits.min(total), grid: counts.grid.clone(), lines })
}

/// The quantiles of every line from its picked keys: `[q.len()] +` the lines' grid.
fn quantiles<T: Element>(plan: &SelectPlan, s: &SelectState) -> Result<HostArray> {
    let SelectTarget::Quantiles { q, method, .. } = &plan.target else {
        return Err(Error::internal("select: quantiles of a selection of splitters"));
    };
    let nlines = s.lines.len();
    let mut out = vec![f64::NAN; q.len() * nlines];
    let key = |l: usize, r: usize| -> Result<f64> {
        Ok(radix::value::<T>((s.found(l, r as u64)? >> plan.index_bits) as u64))
    };
    for (l, line) in s.lines.iter().enumerate() {
        if line.ranks.is_empty() {
            continue;
        }
        for (j, &qj) in q.iter().enumerate() {
            let (lo, hi, g) = method.position(line.n as usize, qj);
            let a = key(l, lo)?;
            let b = if g != 0.0 { key(l, hi)? } else { a };
            out[j * nlines + l] = lerp(a, b, g);
        }
    }
    let mut shape = vec![q.len()];
    shape.extend_from_slice(&s.grid);
    let typed: Vec<T::Mean> = out.into_iter().map(<T::Mean as Element>::cast_from).collect();
    let arr = ArrayD::from_shape_vec(IxDyn(&shape), typed).map_err(|e| Error::internal(e.to_string()))?;
    Ok(HostArray::new(arr.into_shared()))
}
