//! The CPU's groupby-reduce steps (see `crate::ir::group`). A combine or a finalize folds
//! its inputs (input blocks and earlier combines' states), in input order, into f64
//! accumulators a strip of kept elements at a time: sums and counts, extrema, or each
//! block's own (count, mean, M2) merged by Chan's formula. A combine keeps the state; a
//! finalize turns each strip into output values at once, so it never holds more than the
//! output block and a strip of accumulators besides its inputs.

use ndarray::{ArcArray, IxDyn};

use crate::backend::cpu::reduce::chan_merge;
use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Float};
use crate::core::error::{Error, Result};
use crate::ir::group::{GroupFold, GroupKernel, GroupSpec, GroupStep};
use crate::ir::reduce::ReduceKind;

/// Run one groupby step on its inputs.
pub(crate) fn execute(k: &GroupKernel, inputs: &[Value]) -> Result<Value> {
    let spec = &k.spec;
    match &k.step {
        GroupStep::Combine { chunk, rest, starts } => {
            let parts = parts(spec, *chunk, starts, inputs)?;
            let s = combine(spec, *chunk, *rest, &parts);
            let nbytes = (s.rows.len() + s.count.len() + s.a.len() + s.m2.len()) * 8;
            Ok(Value::state(s, nbytes))
        }
        GroupStep::Finalize { chunk, shape, starts } => {
            let parts = parts(spec, *chunk, starts, inputs)?;
            match spec.dtype {
                DType::F32 => finalize::<f32>(spec, shape, &parts),
                _ => finalize::<f64>(spec, shape, &parts),
            }
        }
    }
}

/// Per group present and kept element: count, then sum (or mean), M2 or the extremum.
/// Row `r` of each vector (`rest` elements) belongs to group `rows[r]` of the output chunk
/// (an index into its groups), so a state holds only the groups its inputs had.
struct GroupState {
    rows: Vec<usize>,
    count: Vec<f64>,
    a: Vec<f64>,
    m2: Vec<f64>,
}

/// One input of a fold.
enum Part<'a> {
    /// An input block, grouped axis first in C order, and the group (within the output
    /// chunk) of each of its positions; `None` for positions of no group of the chunk.
    Block { data: HostArray, groups: Vec<Option<usize>> },
    /// An earlier combine's state.
    State(&'a GroupState),
}

impl Part<'_> {
    /// The groups (within the chunk) this input holds.
    fn groups(&self) -> Vec<usize> {
        match self {
            Part::State(s) => s.rows.clone(),
            Part::Block { groups, .. } => groups.iter().flatten().copied().collect(),
        }
    }
}

/// The inputs as parts: blocks (`starts[i]` is where block `i` starts on the axis) or states.
fn parts<'a>(
    spec: &GroupSpec,
    chunk: usize,
    starts: &[Option<usize>],
    inputs: &'a [Value],
) -> Result<Vec<Part<'a>>> {
    if starts.len() != inputs.len() {
        return Err(Error::internal("groupby: inputs and their starts differ in number"));
    }
    let (lo, hi) = (spec.chunk_start[chunk], spec.chunk_start[chunk + 1]);
    inputs
        .iter()
        .zip(starts)
        .map(|(v, s)| match s {
            None => v.get_state::<GroupState>().map(Part::State),
            Some(start) => {
                let a = v.array()?;
                if !matches!(a, HostArray::F32(_) | HostArray::F64(_)) {
                    return Err(Error::invalid(format!(
                        "groupby: expected a float block, found {}",
                        a.dtype()
                    )));
                }
                let n_pos = a.shape().get(spec.axis).copied().unwrap_or(0);
                let groups = (0..n_pos)
                    .map(|i| match spec.labels.get(start + i) {
                        Some(&l) if l >= 0 => spec.groups[lo..hi].binary_search(&l).ok(),
                        _ => None,
                    })
                    .collect();
                Ok(Part::Block { data: axis_first(a, spec.axis), groups })
            }
        })
        .collect()
}

/// The block with axis `ax` first, in C order (the block itself when it already is).
fn axis_first(a: &HostArray, ax: usize) -> HostArray {
    crate::map_host!(a, x => {
        let mut perm: Vec<usize> = (0..x.ndim()).filter(|&k| k != ax).collect();
        perm.insert(0, ax);
        let t = x.clone().permuted_axes(IxDyn(&perm));
        let t = if t.is_standard_layout() { t } else { t.as_standard_layout().into_owned().into_shared() };
        HostArray::new(t)
    })
}

/// Accumulator rows: row `r`'s strip is `r * stride + c0..` for `len` elements.
struct Acc<'a> {
    count: &'a mut [f64],
    a: &'a mut [f64],
    m2: &'a mut [f64],
    stride: usize,
    c0: usize,
    len: usize,
}

impl Acc<'_> {
    fn at(&self, r: usize) -> std::ops::Range<usize> {
        let o = r * self.stride + self.c0;
        o..o + self.len
    }
}

/// A block's own moments over one strip, before they are merged (rows: the chunk's groups).
struct Scratch {
    count: Vec<f64>,
    a: Vec<f64>,
    m2: Vec<f64>,
}

/// Fold every part's kept elements `j0..j0 + acc.len` (of `rest` per position or state
/// row) into `acc`, in input order; `slot[k]` is the accumulator row of group `k`.
fn fold(
    spec: &GroupSpec,
    parts: &[Part],
    slot: &[Option<usize>],
    acc: &mut Acc,
    j0: usize,
    rest: usize,
    scratch: &mut Scratch,
) {
    for p in parts {
        match p {
            Part::State(s) => {
                for (q, &k) in s.rows.iter().enumerate() {
                    let Some(r) = slot[k] else { continue };
                    merge_row(spec.fold, acc, r, s, q * rest + j0);
                }
            }
            Part::Block { data, groups } => match data {
                HostArray::F32(x) => {
                    fold_block(spec, acc, slot, groups, x.as_slice().expect("C order"), j0, rest, scratch)
                }
                HostArray::F64(x) => {
                    fold_block(spec, acc, slot, groups, x.as_slice().expect("C order"), j0, rest, scratch)
                }
                // `parts` accepts only float blocks.
                _ => {}
            },
        }
    }
}

/// Fold one block's strip: position `i`'s values are `flat[i * rest + j0..][..acc.len]`.
#[allow(clippy::too_many_arguments)]
fn fold_block<T: Float>(
    spec: &GroupSpec,
    acc: &mut Acc,
    slot: &[Option<usize>],
    groups: &[Option<usize>],
    flat: &[T],
    j0: usize,
    rest: usize,
    scratch: &mut Scratch,
) {
    let skip = skips_nan(spec);
    let len = acc.len;
    let row = |i: usize| &flat[i * rest + j0..i * rest + j0 + len];
    if spec.fold != GroupFold::Moments {
        for (i, k) in groups.iter().enumerate() {
            let Some(r) = k.and_then(|k| slot[k]) else { continue };
            let at = acc.at(r);
            accumulate(spec.fold, skip, &mut acc.count[at.clone()], &mut acc.a[at], row(i));
        }
        return;
    }
    // Variances: the block's own (count, mean, M2) per group, then Chan's merge into the
    // accumulator, so a block's deviations are taken from its own means.
    let mut present: Vec<usize> = groups.iter().flatten().copied().collect();
    present.sort_unstable();
    present.dedup();
    let s = scratch;
    let span = |k: usize| k * len..(k + 1) * len;
    for &k in &present {
        s.count[span(k)].fill(0.0);
        s.a[span(k)].fill(0.0);
        s.m2[span(k)].fill(0.0);
    }
    for (i, k) in groups.iter().enumerate() {
        let Some(k) = *k else { continue };
        accumulate(GroupFold::Moments, skip, &mut s.count[span(k)], &mut s.a[span(k)], row(i));
    }
    for &k in &present {
        for (a, &c) in s.a[span(k)].iter_mut().zip(&s.count[span(k)]) {
            if c > 0.0 {
                *a /= c;
            }
        }
    }
    for (i, k) in groups.iter().enumerate() {
        let Some(k) = *k else { continue };
        for ((m2, &m), &v) in s.m2[span(k)].iter_mut().zip(&s.a[span(k)]).zip(row(i)) {
            let v = v.to_f64();
            if skip && v.is_nan() {
                continue;
            }
            *m2 += (v - m) * (v - m);
        }
    }
    for &k in &present {
        let Some(r) = slot[k] else { continue };
        let at = acc.at(r);
        for (j, o) in at.enumerate() {
            let mut st = (acc.count[o], acc.a[o], acc.m2[o]);
            let q = k * len + j;
            chan_merge(&mut st, (s.count[q], s.a[q], s.m2[q]));
            (acc.count[o], acc.a[o], acc.m2[o]) = st;
        }
    }
}

/// The groups present in any part, ascending.
fn union_of_groups(parts: &[Part]) -> Vec<usize> {
    let mut rows: Vec<usize> = parts.iter().flat_map(Part::groups).collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Scratch for a block's own moments over strips of `width` for `ng` groups (empty unless
/// the fold needs it).
fn scratch_for(spec: &GroupSpec, ng: usize, width: usize) -> Scratch {
    let n = if spec.fold == GroupFold::Moments { ng * width } else { 0 };
    Scratch { count: vec![0.0; n], a: vec![0.0; n], m2: vec![0.0; n] }
}

/// Fold the parts into one state of the groups they hold.
fn combine(spec: &GroupSpec, chunk: usize, rest: usize, parts: &[Part]) -> GroupState {
    let ng = spec.chunk_start[chunk + 1] - spec.chunk_start[chunk];
    let rows = union_of_groups(parts);
    let mut slot = vec![None; ng];
    for (r, &k) in rows.iter().enumerate() {
        slot[k] = Some(r);
    }
    let n = rows.len() * rest;
    let m2 = if spec.fold == GroupFold::Moments { vec![0.0; n] } else { Vec::new() };
    let mut s = GroupState { rows, count: vec![0.0; n], a: vec![spec.fold.init(); n], m2 };
    let width = GroupSpec::strip_width(ng).min(rest);
    let mut scratch = scratch_for(spec, ng, width);
    let mut j0 = 0;
    while j0 < rest {
        let len = width.min(rest - j0);
        let mut acc = Acc { count: &mut s.count, a: &mut s.a, m2: &mut s.m2, stride: rest, c0: j0, len };
        fold(spec, parts, &slot, &mut acc, j0, rest, &mut scratch);
        j0 += len;
    }
    s
}

/// Add one position's values to its group's counts and accumulators.
fn accumulate<T: Float>(kind: GroupFold, skip: bool, cnt: &mut [f64], acc: &mut [f64], row: &[T]) {
    match (kind, skip) {
        (GroupFold::Sum | GroupFold::Moments, true) => {
            // Branch-free, so it vectorises: NaN adds nothing and counts nothing.
            for ((c, a), &v) in cnt.iter_mut().zip(acc.iter_mut()).zip(row) {
                let v = v.to_f64();
                let ok = !v.is_nan();
                *c += f64::from(u8::from(ok));
                *a += if ok { v } else { 0.0 };
            }
        }
        (GroupFold::Sum | GroupFold::Moments, false) => {
            for ((c, a), &v) in cnt.iter_mut().zip(acc.iter_mut()).zip(row) {
                *c += 1.0;
                *a += v.to_f64();
            }
        }
        (GroupFold::Min | GroupFold::Max, _) => {
            let min = kind == GroupFold::Min;
            for ((c, a), &v) in cnt.iter_mut().zip(acc.iter_mut()).zip(row) {
                let v = v.to_f64();
                if skip && v.is_nan() {
                    continue;
                }
                *c += 1.0;
                *a = if v.is_nan() || a.is_nan() {
                    f64::NAN
                } else if min {
                    a.min(v)
                } else {
                    a.max(v)
                };
            }
        }
    }
}

/// Fold `acc.len` elements of state `p` from `q` into accumulator row `r`.
fn merge_row(kind: GroupFold, acc: &mut Acc, r: usize, p: &GroupState, q: usize) {
    let at = acc.at(r);
    let len = acc.len;
    let (oc, pc) = (&mut acc.count[at.clone()], &p.count[q..q + len]);
    let (oa, pa) = (&mut acc.a[at.clone()], &p.a[q..q + len]);
    match kind {
        GroupFold::Sum => {
            for (x, y) in oa.iter_mut().zip(pa) {
                *x += y;
            }
        }
        GroupFold::Min => {
            for (x, &y) in oa.iter_mut().zip(pa) {
                *x = nan_min(*x, y);
            }
        }
        GroupFold::Max => {
            for (x, &y) in oa.iter_mut().zip(pa) {
                *x = -nan_min(-*x, -y);
            }
        }
        GroupFold::Moments => {
            // (count, mean, M2) merged by the reducers' Chan merge, counts included.
            let (om, pm) = (&mut acc.m2[at], &p.m2[q..q + len]);
            for j in 0..len {
                let mut s = (oc[j], oa[j], om[j]);
                chan_merge(&mut s, (pc[j], pa[j], pm[j]));
                (oc[j], oa[j], om[j]) = s;
            }
            return;
        }
    }
    for (x, y) in oc.iter_mut().zip(pc) {
        *x += y;
    }
}

/// The output block of `shape` from the parts (an empty block from none), folded and
/// finished one strip of kept elements at a time.
fn finalize<T: Float>(spec: &GroupSpec, shape: &[usize], parts: &[Part]) -> Result<Value> {
    let n: usize = shape.iter().product();
    if parts.is_empty() {
        let a = ArcArray::<T, IxDyn>::from_elem(IxDyn(shape), T::zero());
        return Ok(Value::Array(HostArray::new(a)));
    }
    let ax = spec.axis;
    let ng = shape[ax];
    let rest = n.checked_div(ng).unwrap_or(0);
    // Every group of a chunk is in its cohort, so it is present; a group that is not
    // gets NaN.
    let mut slot = vec![None; ng];
    for k in union_of_groups(parts) {
        slot[k] = Some(k);
    }
    let width = GroupSpec::strip_width(ng).min(rest);
    let m = ng * width;
    let (mut count, mut a) = (vec![0.0; m], vec![0.0; m]);
    let mut m2 = if spec.fold == GroupFold::Moments { vec![0.0; m] } else { Vec::new() };
    let mut scratch = scratch_for(spec, ng, width);
    let mut out = vec![T::zero(); n];
    let mut j0 = 0;
    while j0 < rest {
        let len = width.min(rest - j0);
        count[..ng * len].fill(0.0);
        a[..ng * len].fill(spec.fold.init());
        if !m2.is_empty() {
            m2[..ng * len].fill(0.0);
        }
        let mut acc = Acc { count: &mut count, a: &mut a, m2: &mut m2, stride: len, c0: 0, len };
        fold(spec, parts, &slot, &mut acc, j0, rest, &mut scratch);
        for k in 0..ng {
            let dst = &mut out[k * rest + j0..k * rest + j0 + len];
            if slot[k].is_none() {
                dst.fill(T::cast_from(f64::NAN));
                continue;
            }
            let (c, s) = (&count[k * len..(k + 1) * len], &a[k * len..(k + 1) * len]);
            finish(spec, dst, c, s, m2.get(k * len..(k + 1) * len).unwrap_or(&[]));
        }
        j0 += len;
    }
    // The values are laid out (group, kept elements in C order); the block has the group
    // axis at `axis`.
    let mut front = vec![ng];
    front.extend(shape.iter().enumerate().filter(|&(k, _)| k != ax).map(|(_, &d)| d));
    let arr = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&front), out)
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut perm: Vec<usize> = (1..shape.len()).collect();
    perm.insert(ax, 0);
    let arr = if ax == 0 {
        arr
    } else {
        arr.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned().into_shared()
    };
    Ok(Value::Array(HostArray::new(arr)))
}

/// One group's output values from its counts, sums (means) or extrema, and M2.
fn finish<T: Float>(spec: &GroupSpec, dst: &mut [T], c: &[f64], a: &[f64], m2: &[f64]) {
    match spec.op.kind {
        ReduceKind::Sum => dst.iter_mut().zip(a).for_each(|(d, &a)| *d = T::cast_from(a)),
        ReduceKind::Count => dst.iter_mut().zip(c).for_each(|(d, &c)| *d = T::cast_from(c)),
        ReduceKind::Mean => {
            dst.iter_mut().zip(a.iter().zip(c)).for_each(|(d, (&a, &c))| *d = T::cast_from(a / c))
        }
        ReduceKind::Var { ddof, std } => dst.iter_mut().zip(m2.iter().zip(c)).for_each(|(d, (&m2, &c))| {
            let v = if c - ddof <= 0.0 { f64::NAN } else { m2 / (c - ddof) };
            *d = T::cast_from(if std { v.sqrt() } else { v });
        }),
        // Min and max (the groupby node admits no other kind).
        _ => dst
            .iter_mut()
            .zip(a.iter().zip(c))
            .for_each(|(d, (&a, &c))| *d = T::cast_from(if c == 0.0 { f64::NAN } else { a })),
    }
}

/// Whether a group's NaN values are skipped (`count` counts the non-NaN ones).
fn skips_nan(spec: &GroupSpec) -> bool {
    spec.op.skip_nan || spec.op.kind == ReduceKind::Count
}

/// min that propagates NaN.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}
