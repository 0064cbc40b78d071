//! Groupby-reduce along one axis by integer labels (the flox algorithm): a daily
//! climatology is `x.groupby_reduce(0, &day_of_year, GroupOp::NanMean)`.
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

use ndarray::{ArcArray, IxDyn};

use crate::array::Array;
use crate::array::chunks::Chunks;
use crate::backend::kernel::ValueFn;
use crate::block::{HostArray, Value};
use crate::dtype::{DType, Element, Float};
use crate::error::{Error, Result};
use crate::graph::node::{Node, Op};

/// The reduction applied to each group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GroupOp {
    /// Sum (NaN propagates).
    Sum,
    /// Sum of the non-NaN values.
    NanSum,
    /// Mean (NaN propagates).
    Mean,
    /// Mean of the non-NaN values (NaN where a group has none).
    NanMean,
    /// Smallest value (NaN propagates).
    Min,
    /// Largest value (NaN propagates).
    Max,
    /// Smallest non-NaN value.
    NanMin,
    /// Largest non-NaN value.
    NanMax,
    /// Number of non-NaN values.
    Count,
    /// Variance with `ddof` (NaN propagates).
    Var(f64),
    /// Variance of the non-NaN values with `ddof`.
    NanVar(f64),
    /// Standard deviation with `ddof`.
    Std(f64),
    /// Standard deviation of the non-NaN values with `ddof`.
    NanStd(f64),
}

impl GroupOp {
    fn skips_nan(self) -> bool {
        matches!(
            self,
            GroupOp::NanSum
                | GroupOp::NanMean
                | GroupOp::NanMin
                | GroupOp::NanMax
                | GroupOp::Count
                | GroupOp::NanVar(_)
                | GroupOp::NanStd(_)
        )
    }
    fn kind(self) -> Kind {
        match self {
            GroupOp::Min | GroupOp::NanMin => Kind::Min,
            GroupOp::Max | GroupOp::NanMax => Kind::Max,
            GroupOp::Var(_) | GroupOp::NanVar(_) | GroupOp::Std(_) | GroupOp::NanStd(_) => Kind::Moments,
            _ => Kind::Sum,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sum,
    Moments,
    Min,
    Max,
}

impl Kind {
    /// The accumulator's starting value.
    fn init(self) -> f64 {
        match self {
            Kind::Min => f64::INFINITY,
            Kind::Max => f64::NEG_INFINITY,
            Kind::Sum | Kind::Moments => 0.0,
        }
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

/// A groupby-reduce node's parameters, shared by its tasks.
pub struct GroupSpec {
    pub(crate) axis: usize,
    dtype: DType,
    op: GroupOp,
    labels: Arc<[i64]>,
    /// Output chunk `g` holds the groups `groups[chunk_start[g]..chunk_start[g + 1]]`.
    groups: Arc<[i64]>,
    chunk_start: Vec<usize>,
    /// Per output chunk: the input blocks along the axis holding one of its labels.
    cohorts: Vec<Vec<usize>>,
    pub(crate) split_every: usize,
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

impl GroupSpec {
    /// The input blocks along the axis that feed output chunk `g`.
    pub(crate) fn cohort(&self, g: usize) -> &[usize] {
        &self.cohorts[g]
    }

    /// The partial of output chunk `g` from one input block starting at `start` on the axis.
    pub(crate) fn partial(self: &Arc<Self>, g: usize, start: usize) -> Arc<ValueFn> {
        let spec = self.clone();
        Arc::new(move |inputs: &[Value]| {
            let a = inputs.first().ok_or_else(|| Error::invalid("groupby: missing input"))?.array()?;
            // Sums, counts and extrema fold straight from the block into the combine's
            // accumulator: no per-block state four times the block's size. Variances need
            // the block's own (count, mean, M2) to merge by Chan's formula.
            let d = spec.deferred(g, start, a);
            if spec.op.kind() != Kind::Moments {
                let nbytes = d.data.nbytes();
                return Ok(Value::state(d, nbytes));
            }
            match &d.data {
                HostArray::F32(x) => Ok(spec.moments(&d, x.as_slice().expect("standard layout"))),
                HostArray::F64(x) => Ok(spec.moments(&d, x.as_slice().expect("standard layout"))),
                _ => Err(Error::invalid("groupby: expected a float block")),
            }
        })
    }

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
        let skip = self.op.skips_nan();
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
            accumulate(Kind::Moments, skip, cnt, acc, row(i));
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

    /// Combine partials in input order.
    pub(crate) fn combine(self: &Arc<Self>, rest: usize) -> Arc<ValueFn> {
        let (kind, skip) = (self.op.kind(), self.op.skips_nan());
        Arc::new(move |inputs: &[Value]| {
            let out = combine_parts(kind, skip, rest, inputs)?;
            let nbytes = (out.count.len() + out.a.len() + out.m2.len()) * 8;
            Ok(Value::state(out, nbytes))
        })
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
fn combine_parts(kind: Kind, skip: bool, rest: usize, inputs: &[Value]) -> Result<GroupState> {
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
    let m2 = if kind == Kind::Moments { vec![0.0; n] } else { Vec::new() };
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
fn accumulate<T: Float>(kind: Kind, skip: bool, cnt: &mut [f64], acc: &mut [f64], row: &[T]) {
    match (kind, skip) {
        (Kind::Sum | Kind::Moments, true) => {
            // Branch-free, so it vectorises: NaN adds nothing and counts nothing.
            for ((c, a), &v) in cnt.iter_mut().zip(acc.iter_mut()).zip(row) {
                let v = v.to_f64();
                let ok = !v.is_nan();
                *c += f64::from(u8::from(ok));
                *a += if ok { v } else { 0.0 };
            }
        }
        (Kind::Sum | Kind::Moments, false) => {
            for ((c, a), &v) in cnt.iter_mut().zip(acc.iter_mut()).zip(row) {
                *c += 1.0;
                *a += v.to_f64();
            }
        }
        (Kind::Min | Kind::Max, _) => {
            let min = kind == Kind::Min;
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
fn combine_row(kind: Kind, out: &mut GroupState, o: usize, p: &GroupState, q: usize, rest: usize) {
    let (oc, pc) = (&mut out.count[o..o + rest], &p.count[q..q + rest]);
    let (oa, pa) = (&mut out.a[o..o + rest], &p.a[q..q + rest]);
    match kind {
        Kind::Sum => {
            for (x, y) in oa.iter_mut().zip(pa) {
                *x += y;
            }
        }
        Kind::Min => {
            for (x, &y) in oa.iter_mut().zip(pa) {
                *x = nan_min(*x, y);
            }
        }
        Kind::Max => {
            for (x, &y) in oa.iter_mut().zip(pa) {
                *x = -nan_min(-*x, -y);
            }
        }
        Kind::Moments => {
            let (om, pm) = (&mut out.m2[o..o + rest], &p.m2[q..q + rest]);
            for j in 0..rest {
                let (na, nb) = (oc[j], pc[j]);
                if nb > 0.0 {
                    let n = na + nb;
                    let d = pa[j] - oa[j];
                    oa[j] += d * nb / n;
                    om[j] += pm[j] + d * d * na * nb / n;
                }
            }
        }
    }
    for (x, y) in oc.iter_mut().zip(pc) {
        *x += y;
    }
}

impl GroupSpec {
    /// The output block of `shape` from the combined partial (or from nothing, for an empty
    /// block).
    pub(crate) fn finalize(self: &Arc<Self>, shape: Vec<usize>) -> Arc<ValueFn> {
        match self.dtype {
            DType::F32 => self.finalize_as::<f32>(shape),
            _ => self.finalize_as::<f64>(shape),
        }
    }

    fn finalize_as<T: Float>(self: &Arc<Self>, shape: Vec<usize>) -> Arc<ValueFn> {
        let spec = self.clone();
        Arc::new(move |inputs: &[Value]| {
            let n: usize = shape.iter().product();
            let Some(v) = inputs.first() else {
                let a = ArcArray::<T, IxDyn>::from_elem(IxDyn(&shape), T::zero());
                return Ok(Value::Array(HostArray::new(a)));
            };
            let ng = shape[spec.axis];
            let rest = n.checked_div(ng).unwrap_or(0);
            let dense;
            let s = match v.get_state::<GroupState>() {
                Ok(s) => s,
                Err(_) => {
                    dense =
                        combine_parts(spec.op.kind(), spec.op.skips_nan(), rest, std::slice::from_ref(v))?;
                    &dense
                }
            };
            let mut out = Vec::with_capacity(n);
            let ddof = spec_ddof(spec.op);
            for k in 0..ng {
                // Every group of a chunk is in its cohort, so its row exists; be safe anyway.
                let Ok(r) = s.rows.binary_search(&k) else {
                    out.extend(std::iter::repeat_n(T::cast_from(f64::NAN), rest));
                    continue;
                };
                let (c, a) = (&s.count[r * rest..(r + 1) * rest], &s.a[r * rest..(r + 1) * rest]);
                match spec.op {
                    GroupOp::Sum | GroupOp::NanSum => out.extend(a.iter().map(|&a| T::cast_from(a))),
                    GroupOp::Count => out.extend(c.iter().map(|&c| T::cast_from(c))),
                    GroupOp::Mean | GroupOp::NanMean => {
                        out.extend(a.iter().zip(c).map(|(&a, &c)| T::cast_from(a / c)));
                    }
                    GroupOp::Min | GroupOp::Max | GroupOp::NanMin | GroupOp::NanMax => {
                        out.extend(
                            a.iter().zip(c).map(|(&a, &c)| T::cast_from(if c == 0.0 { f64::NAN } else { a })),
                        );
                    }
                    GroupOp::Var(_) | GroupOp::NanVar(_) | GroupOp::Std(_) | GroupOp::NanStd(_) => {
                        let std = matches!(spec.op, GroupOp::Std(_) | GroupOp::NanStd(_));
                        let m2 = &s.m2[r * rest..(r + 1) * rest];
                        out.extend(m2.iter().zip(c).map(|(&m2, &c)| {
                            let v = if c - ddof <= 0.0 { f64::NAN } else { m2 / (c - ddof) };
                            T::cast_from(if std { v.sqrt() } else { v })
                        }));
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
        })
    }
}

fn spec_ddof(op: GroupOp) -> f64 {
    match op {
        GroupOp::Var(d) | GroupOp::NanVar(d) | GroupOp::Std(d) | GroupOp::NanStd(d) => d,
        _ => 0.0,
    }
}

/// min that propagates NaN.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
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
    /// label of position `i`; negative labels belong to no group).
    ///
    /// ```
    /// use tessera::groupby::GroupOp;
    /// let x = tessera::arange::<f64>(0.0, 6.0, 1.0, [4])?;
    /// let g = x.groupby_reduce(0, &[1, 0, 1, 0, 1, -1], GroupOp::Mean)?;
    /// assert_eq!(g.groups, vec![0, 1]);
    /// assert_eq!(g.array.compute_vec()?, vec![2.0, 2.0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn groupby_reduce(&self, axis: isize, labels: &[i64], op: GroupOp) -> Result<Grouped<T>> {
        self.groupby_reduce_with(axis, labels, op, &GroupOptions::default())
    }

    /// [`Array::groupby_reduce`] with options.
    pub fn groupby_reduce_with(
        &self,
        axis: isize,
        labels: &[i64],
        op: GroupOp,
        opts: &GroupOptions,
    ) -> Result<Grouped<T>> {
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
            labels: labels.into(),
            groups: groups.clone().into(),
            chunk_start,
            cohorts,
            split_every: opts.split_every.unwrap_or(16).max(2),
        };
        let node = Node::new(
            "groupby",
            T::DTYPE,
            Chunks::new(axes)?,
            Op::GroupReduce(Arc::new(spec)),
            vec![self.node().clone()],
        );
        Ok(Grouped { array: Array::from_node(node), groups })
    }

    /// `x − reduce(x)[group of each position]`: anomalies from a groupby-reduce (a daily
    /// climatology's anomalies are `x.groupby_anomalies(0, &day_of_year, GroupOp::NanMean)`).
    /// Positions with a negative label get NaN.
    pub fn groupby_anomalies(&self, axis: isize, labels: &[i64], op: GroupOp) -> Result<Array<T>> {
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
