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

use ndarray::{ArcArray, ArrayViewD, Axis, IxDyn};

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

/// Per group and kept element: count, then sum (or mean), M2 or the extremum.
struct GroupState {
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
            match a {
                HostArray::F32(x) => Ok(spec.partial_of::<f32>(g, start, x.view())),
                HostArray::F64(x) => Ok(spec.partial_of::<f64>(g, start, x.view())),
                _ => Err(Error::invalid("groupby: expected a float block")),
            }
        })
    }

    fn partial_of<T: Float>(&self, g: usize, start: usize, x: ArrayViewD<'_, T>) -> Value {
        let (lo, hi) = (self.chunk_start[g], self.chunk_start[g + 1]);
        let ng = hi - lo;
        let rest: usize = x.len() / x.shape()[self.axis].max(1);
        let kind = self.op.kind();
        let skip = self.op.skips_nan();
        let init = match kind {
            Kind::Min => f64::INFINITY,
            Kind::Max => f64::NEG_INFINITY,
            _ => 0.0,
        };
        let mut s = GroupState { count: vec![0.0; ng * rest], a: vec![init; ng * rest], m2: Vec::new() };
        let group_of = |i: usize| -> Option<usize> {
            let l = self.labels[start + i];
            if l < 0 {
                return None;
            }
            self.groups[lo..hi].binary_search(&l).ok()
        };
        for (i, row) in x.axis_iter(Axis(self.axis)).enumerate() {
            let Some(k) = group_of(i) else { continue };
            let (cnt, acc) = (&mut s.count[k * rest..(k + 1) * rest], &mut s.a[k * rest..(k + 1) * rest]);
            for ((c, a), &v) in cnt.iter_mut().zip(acc.iter_mut()).zip(row.iter()) {
                let v = v.to_f64();
                if skip && v.is_nan() {
                    continue;
                }
                *c += 1.0;
                match kind {
                    Kind::Sum | Kind::Moments => *a += v,
                    Kind::Min => *a = if v.is_nan() || a.is_nan() { f64::NAN } else { a.min(v) },
                    Kind::Max => *a = if v.is_nan() || a.is_nan() { f64::NAN } else { a.max(v) },
                }
            }
        }
        if kind == Kind::Moments {
            // Second pass: squared deviations from the block's own group means.
            for (a, &c) in s.a.iter_mut().zip(&s.count) {
                if c > 0.0 {
                    *a /= c;
                }
            }
            s.m2 = vec![0.0; ng * rest];
            for (i, row) in x.axis_iter(Axis(self.axis)).enumerate() {
                let Some(k) = group_of(i) else { continue };
                let (mean, m2) = (&s.a[k * rest..(k + 1) * rest], &mut s.m2[k * rest..(k + 1) * rest]);
                for ((m2, &m), &v) in m2.iter_mut().zip(mean).zip(row.iter()) {
                    let v = v.to_f64();
                    if skip && v.is_nan() {
                        continue;
                    }
                    *m2 += (v - m) * (v - m);
                }
            }
        }
        let nbytes = (s.count.len() + s.a.len() + s.m2.len()) * 8;
        Value::state(s, nbytes)
    }

    /// Combine partials in input order.
    pub(crate) fn combine(self: &Arc<Self>) -> Arc<ValueFn> {
        let kind = self.op.kind();
        Arc::new(move |inputs: &[Value]| {
            let first = inputs.first().ok_or_else(|| Error::invalid("groupby: nothing to combine"))?;
            let f = first.get_state::<GroupState>()?;
            let mut out = GroupState { count: f.count.clone(), a: f.a.clone(), m2: f.m2.clone() };
            for v in &inputs[1..] {
                let p = v.get_state::<GroupState>()?;
                for i in 0..out.count.len() {
                    let (na, nb) = (out.count[i], p.count[i]);
                    match kind {
                        Kind::Sum => out.a[i] += p.a[i],
                        Kind::Min => out.a[i] = nan_min(out.a[i], p.a[i]),
                        Kind::Max => out.a[i] = -nan_min(-out.a[i], -p.a[i]),
                        Kind::Moments => {
                            if nb > 0.0 {
                                let n = na + nb;
                                let d = p.a[i] - out.a[i];
                                out.a[i] += d * nb / n;
                                out.m2[i] += p.m2[i] + d * d * na * nb / n;
                            }
                        }
                    }
                    out.count[i] = na + nb;
                }
            }
            let nbytes = (out.count.len() + out.a.len() + out.m2.len()) * 8;
            Ok(Value::state(out, nbytes))
        })
    }

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
            let s = v.get_state::<GroupState>()?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let (c, a) = (s.count[i], s.a[i]);
                let r = match spec.op {
                    GroupOp::Sum | GroupOp::NanSum => a,
                    GroupOp::Count => c,
                    GroupOp::Mean | GroupOp::NanMean => a / c,
                    GroupOp::Min | GroupOp::Max | GroupOp::NanMin | GroupOp::NanMax => {
                        if c == 0.0 {
                            f64::NAN
                        } else {
                            a
                        }
                    }
                    GroupOp::Var(d) | GroupOp::NanVar(d) => s.m2[i] / (c - d),
                    GroupOp::Std(d) | GroupOp::NanStd(d) => (s.m2[i] / (c - d)).sqrt(),
                };
                let r = if matches!(
                    spec.op,
                    GroupOp::Var(_) | GroupOp::NanVar(_) | GroupOp::Std(_) | GroupOp::NanStd(_)
                ) && c - spec_ddof(spec.op) <= 0.0
                {
                    f64::NAN
                } else {
                    r
                };
                out.push(T::cast_from(r));
            }
            // The state is laid out (group, kept elements in C order); the block has the
            // group axis at `axis`.
            let ax = spec.axis;
            let ng = shape[ax];
            let mut front = vec![ng];
            front.extend(shape.iter().enumerate().filter(|&(k, _)| k != ax).map(|(_, &d)| d));
            let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&front), out)
                .map_err(|e| Error::invalid(e.to_string()))?;
            let mut perm: Vec<usize> = (1..shape.len()).collect();
            perm.insert(ax, 0);
            let a = a.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned().into_shared();
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
