//! The CPU's groupby-reduce steps (see `crate::ir::group`): per-block partials (sums,
//! counts and extrema folded straight from the block into the combine's f64 accumulator;
//! variances as per-block (count, mean, M2) states), combines in input order (Chan's formula
//! for variances) and the finalize that lays the groups out along the grouped axis.

use ndarray::{ArcArray, IxDyn};

use crate::backend::cpu::reduce::chan_merge;
use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Float};
use crate::core::error::{Error, Result};
use crate::ir::group::{GroupFold, GroupKernel, GroupSpec, GroupStep};
use crate::ir::reduce::ReduceKind;

/// Run one groupby step on its inputs.
pub(crate) fn execute(k: &GroupKernel, inputs: &[Value]) -> Result<Value> {
    match &k.step {
        GroupStep::Partial { chunk, start } => partial(&k.spec, *chunk, *start, inputs),
        GroupStep::Combine { rest } => {
            let out = combine_parts(k.spec.fold, skips_nan(&k.spec), *rest, inputs)?;
            let nbytes = (out.count.len() + out.a.len() + out.m2.len()) * 8;
            Ok(Value::state(out, nbytes))
        }
        GroupStep::Finalize { shape } => match k.spec.dtype {
            DType::F32 => finalize::<f32>(&k.spec, shape, inputs),
            _ => finalize::<f64>(&k.spec, shape, inputs),
        },
    }
}

/// Per group present and kept element: count, then sum (or mean), M2 or the extremum.
/// Row `r` of each vector (`rest` elements) belongs to group `rows[r]` of the output chunk,
/// so a partial holds only the groups its block has.
struct GroupState {
    rows: Vec<usize>,
    count: Vec<f64>,
    a: Vec<f64>,
    m2: Vec<f64>,
}

/// The partial of output chunk `g` from one input block starting at `start` on the axis.
fn partial(spec: &GroupSpec, g: usize, start: usize, inputs: &[Value]) -> Result<Value> {
    let a = inputs.first().ok_or_else(|| Error::internal("groupby: missing input"))?.array()?;
    // Sums, counts and extrema fold straight from the block into the combine's
    // accumulator: no per-block state four times the block's size. Variances need
    // the block's own (count, mean, M2) to merge by Chan's formula.
    let d = spec.deferred(g, start, a);
    if spec.fold != GroupFold::Moments {
        let nbytes = d.data.nbytes();
        return Ok(Value::state(d, nbytes));
    }
    match &d.data {
        HostArray::F32(x) => Ok(spec.moments(&d, x.as_slice().expect("standard layout"))),
        HostArray::F64(x) => Ok(spec.moments(&d, x.as_slice().expect("standard layout"))),
        _ => Err(Error::invalid("groupby: expected a float block")),
    }
}

impl GroupSpec {
    /// The groups of output chunk `g` present in a block starting at `start` (sorted, local
    /// to the chunk), and each position's index into that list.
    fn local_rows(&self, g: usize, start: usize, n_pos: usize) -> (Vec<usize>, Vec<Option<usize>>) {
        let (lo, hi) = (self.chunk_start[g], self.chunk_start[g + 1]);
        let local: Vec<Option<usize>> = (0..n_pos)
            .map(|i| {
                let l = self.labels[start + i];
                if l < 0 { None } else { self.groups[lo..hi].binary_search(&l).ok() }
            })
            .collect();
        let mut rows: Vec<usize> = local.iter().flatten().copied().collect();
        rows.sort_unstable();
        rows.dedup();
        let row_of = local.iter().map(|k| k.map(|k| rows.binary_search(&k).expect("present"))).collect();
        (rows, row_of)
    }

    /// A partial that is the block itself (grouped axis first, contiguous) and its rows.
    fn deferred(&self, g: usize, start: usize, a: &HostArray) -> Deferred {
        let n_pos = a.shape().get(self.axis).copied().unwrap_or(0);
        let (rows, row_of) = self.local_rows(g, start, n_pos);
        let ax = self.axis;
        let data = crate::map_host!(a, x => {
            let mut perm: Vec<usize> = (0..x.ndim()).filter(|&k| k != ax).collect();
            perm.insert(0, ax);
            let t = x.clone().permuted_axes(IxDyn(&perm));
            let t = if t.is_standard_layout() { t } else { t.as_standard_layout().into_owned().into_shared() };
            HostArray::new(t)
        });
        Deferred { rows, row_of, data }
    }

    /// The (count, mean, M2) state of a deferred block whose elements are `flat`.
    fn moments<T: Float>(&self, d: &Deferred, flat: &[T]) -> Value {
        let skip = skips_nan(self);
        let n_pos = d.row_of.len();
        let rest = flat.len().checked_div(n_pos).unwrap_or(0);
        let nr = d.rows.len();
        let row = |i: usize| &flat[i * rest..(i + 1) * rest];
        let mut s = GroupState {
            rows: d.rows.clone(),
            count: vec![0.0; nr * rest],
            a: vec![0.0; nr * rest],
            m2: Vec::new(),
        };
        for (i, k) in d.row_of.iter().enumerate() {
            let Some(k) = *k else { continue };
            let (cnt, acc) = (&mut s.count[k * rest..(k + 1) * rest], &mut s.a[k * rest..(k + 1) * rest]);
            accumulate(GroupFold::Moments, skip, cnt, acc, row(i));
        }
        // Second pass: squared deviations from the block's own group means.
        for (a, &c) in s.a.iter_mut().zip(&s.count) {
            if c > 0.0 {
                *a /= c;
            }
        }
        s.m2 = vec![0.0; nr * rest];
        for (i, k) in d.row_of.iter().enumerate() {
            let Some(k) = *k else { continue };
            let (mean, m2) = (&s.a[k * rest..(k + 1) * rest], &mut s.m2[k * rest..(k + 1) * rest]);
            for ((m2, &m), &v) in m2.iter_mut().zip(mean).zip(row(i)) {
                let v = v.to_f64();
                if skip && v.is_nan() {
                    continue;
                }
                *m2 += (v - m) * (v - m);
            }
        }
        let nbytes = (s.count.len() + s.a.len() + s.m2.len()) * 8;
        Value::state(s, nbytes)
    }
}

/// A partial not yet folded: the block (grouped axis first, C order), the groups present
/// and each position's row.
struct Deferred {
    rows: Vec<usize>,
    row_of: Vec<Option<usize>>,
    data: HostArray,
}

/// Fold partials (dense states or deferred blocks, in input order) into one dense state.
fn combine_parts(kind: GroupFold, skip: bool, rest: usize, inputs: &[Value]) -> Result<GroupState> {
    enum P<'a> {
        Dense(&'a GroupState),
        Block(&'a Deferred),
    }
    let parts = inputs
        .iter()
        .map(|v| match v.get_state::<GroupState>() {
            Ok(d) => Ok(P::Dense(d)),
            Err(_) => v.get_state::<Deferred>().map(P::Block),
        })
        .collect::<Result<Vec<_>>>()?;
    // The union of the groups present, then every partial added row by row.
    let mut rows: Vec<usize> = parts
        .iter()
        .flat_map(|p| match p {
            P::Dense(d) => d.rows.iter(),
            P::Block(b) => b.rows.iter(),
        })
        .copied()
        .collect();
    rows.sort_unstable();
    rows.dedup();
    let init = kind.init();
    let n = rows.len() * rest;
    let m2 = if kind == GroupFold::Moments { vec![0.0; n] } else { Vec::new() };
    let mut out = GroupState { rows: rows.clone(), count: vec![0.0; n], a: vec![init; n], m2 };
    for p in &parts {
        match p {
            P::Dense(d) => {
                for (pr, &k) in d.rows.iter().enumerate() {
                    let r = rows.binary_search(&k).expect("in the union");
                    combine_row(kind, &mut out, r * rest, d, pr * rest, rest);
                }
            }
            P::Block(b) => {
                for (i, r) in b.row_of.iter().enumerate() {
                    let Some(r) = *r else { continue };
                    let o = rows.binary_search(&b.rows[r]).expect("in the union") * rest;
                    let (cnt, acc) = (&mut out.count[o..o + rest], &mut out.a[o..o + rest]);
                    match &b.data {
                        HostArray::F32(x) => {
                            let flat = x.as_slice().expect("standard layout");
                            accumulate(kind, skip, cnt, acc, &flat[i * rest..(i + 1) * rest]);
                        }
                        HostArray::F64(x) => {
                            let flat = x.as_slice().expect("standard layout");
                            accumulate(kind, skip, cnt, acc, &flat[i * rest..(i + 1) * rest]);
                        }
                        _ => return Err(Error::invalid("groupby: expected a float block")),
                    }
                }
            }
        }
    }
    Ok(out)
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

/// Fold row `q..q + rest` of partial `p` into row `o..o + rest` of `out`.
fn combine_row(kind: GroupFold, out: &mut GroupState, o: usize, p: &GroupState, q: usize, rest: usize) {
    let (oc, pc) = (&mut out.count[o..o + rest], &p.count[q..q + rest]);
    let (oa, pa) = (&mut out.a[o..o + rest], &p.a[q..q + rest]);
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
            let (om, pm) = (&mut out.m2[o..o + rest], &p.m2[q..q + rest]);
            for j in 0..rest {
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

/// The output block of `shape` from the combined partial (or from nothing, for an empty
/// block).
fn finalize<T: Float>(spec: &GroupSpec, shape: &[usize], inputs: &[Value]) -> Result<Value> {
    let n: usize = shape.iter().product();
    let Some(v) = inputs.first() else {
        let a = ArcArray::<T, IxDyn>::from_elem(IxDyn(shape), T::zero());
        return Ok(Value::Array(HostArray::new(a)));
    };
    let ng = shape[spec.axis];
    let rest = n.checked_div(ng).unwrap_or(0);
    let dense;
    let s = match v.get_state::<GroupState>() {
        Ok(s) => s,
        Err(_) => {
            dense = combine_parts(spec.fold, skips_nan(spec), rest, std::slice::from_ref(v))?;
            &dense
        }
    };
    let mut out = Vec::with_capacity(n);
    for k in 0..ng {
        // Every group of a chunk is in its cohort, so its row exists; be safe anyway.
        let Ok(r) = s.rows.binary_search(&k) else {
            out.extend(std::iter::repeat_n(T::cast_from(f64::NAN), rest));
            continue;
        };
        let (c, a) = (&s.count[r * rest..(r + 1) * rest], &s.a[r * rest..(r + 1) * rest]);
        match spec.op.kind {
            ReduceKind::Sum => out.extend(a.iter().map(|&a| T::cast_from(a))),
            ReduceKind::Count => out.extend(c.iter().map(|&c| T::cast_from(c))),
            ReduceKind::Mean => {
                out.extend(a.iter().zip(c).map(|(&a, &c)| T::cast_from(a / c)));
            }
            ReduceKind::Var { ddof, std } => {
                let m2 = &s.m2[r * rest..(r + 1) * rest];
                out.extend(m2.iter().zip(c).map(|(&m2, &c)| {
                    let v = if c - ddof <= 0.0 { f64::NAN } else { m2 / (c - ddof) };
                    T::cast_from(if std { v.sqrt() } else { v })
                }));
            }
            // Min and max (the groupby node admits no other kind).
            _ => {
                out.extend(a.iter().zip(c).map(|(&a, &c)| T::cast_from(if c == 0.0 { f64::NAN } else { a })));
            }
        }
    }
    // The state is laid out (group, kept elements in C order); the block has the
    // group axis at `axis`.
    let ax = spec.axis;
    let mut front = vec![ng];
    front.extend(shape.iter().enumerate().filter(|&(k, _)| k != ax).map(|(_, &d)| d));
    let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&front), out)
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut perm: Vec<usize> = (1..shape.len()).collect();
    perm.insert(ax, 0);
    let a = if ax == 0 {
        a
    } else {
        a.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned().into_shared()
    };
    Ok(Value::Array(HostArray::new(a)))
}

/// Whether a group's NaN values are skipped (`count` counts the non-NaN ones).
fn skips_nan(spec: &GroupSpec) -> bool {
    spec.op.skip_nan || spec.op.kind == ReduceKind::Count
}

/// min that propagates NaN.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}
