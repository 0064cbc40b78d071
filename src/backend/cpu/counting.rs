//! Counting kernels: a block's histogram (NumPy's bin rule), counts added, the result; the
//! [`CountKernel`] steps: a block's d-dimensional histogram, bincount, partials added, a
//! density (the searching steps are in [`super::search`]).

use ndarray::{Array1, ArrayD, ArrayViewD, Axis, IxDyn, Zip};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::counting::{CountKernel, CountStep};
use crate::with_dtype;

/// Run one counting or searching task.
pub(crate) fn execute(k: &CountKernel, inputs: &[Value]) -> Result<Value> {
    let first = || inputs.first().ok_or_else(|| Error::internal("count kernel: no input"))?.array();
    let arr = |a: HostArray| Ok(Value::Array(a));
    match &k.step {
        CountStep::HistogramDd { edges, weighted } => {
            let blocks: Vec<&HostArray> = inputs.iter().map(|v| v.array()).collect::<Result<_>>()?;
            let (xs, w) = if *weighted {
                let (w, xs) = blocks.split_last().ok_or_else(|| Error::internal("histogramdd: no input"))?;
                (xs, Some(*w))
            } else {
                (&blocks[..], None)
            };
            arr(with_dtype!(k.dtype, T => histogram_dd::<T>(xs, w, edges)?))
        }
        CountStep::Add => arr(add(inputs)?),
        CountStep::Density { edges } => arr(density(first()?, edges)?),
        CountStep::Bincount { length, weighted } => {
            let w = if *weighted {
                Some(inputs.get(1).ok_or_else(|| Error::internal("bincount: no weights"))?.array()?)
            } else {
                None
            };
            arr(bincount(first()?, w, *length)?)
        }
        _ => super::search::execute(k, inputs),
    }
}

/// Any block's values as `f64`.
fn as_f64(h: &HostArray) -> ArrayD<f64> {
    crate::map_host!(h, a => a.mapv(|v| v.to_f64()))
}

/// The bin of `v` among `edges` (`n + 1` increasing edges): `[e_i, e_{i+1})`, the last bin
/// closed; `None` outside `[e_0, e_n]` or for NaN. With `uniform` edges the bin is computed
/// as NumPy does (`(v − e_0) · n / (e_n − e_0)`, truncated, then moved by one where the
/// edges say so), else by binary search.
#[inline]
pub(crate) fn bin_of(v: f64, edges: &[f64], uniform: bool) -> Option<usize> {
    let n = edges.len().checked_sub(1)?;
    let (first, last) = (edges[0], edges[n]);
    if !(v >= first && v <= last) || n == 0 {
        return None;
    }
    if uniform && last > first {
        let norm = n as f64 / (last - first);
        let mut i = (((v - first) * norm) as usize).min(n);
        if i == n {
            i -= 1;
        }
        if v < edges[i] {
            i = i.saturating_sub(1);
        } else if i + 1 < n && v >= edges[i + 1] {
            i += 1;
        }
        return Some(i);
    }
    let i = edges.partition_point(|&e| e <= v);
    Some(i.saturating_sub(1).min(n - 1))
}

/// A block's counts (or sums of `weights`) per bin.
pub(crate) fn histogram<T: Element>(
    x: &HostArray,
    weights: Option<&HostArray>,
    edges: &[f64],
    uniform: bool,
) -> Result<HostArray> {
    let xv: ArrayViewD<'_, T> =
        T::unhost(x).ok_or_else(|| Error::internal("histogram: block of another type"))?.view();
    let mut counts = vec![0.0f64; edges.len().saturating_sub(1)];
    match weights {
        None => {
            // Integer counts, the bin rule inlined: one pass over the block's memory.
            let mut n = vec![0u64; counts.len()];
            let nb = counts.len();
            let (first, last) = (edges[0], edges[nb.min(edges.len() - 1)]);
            let norm = nb as f64 / (last - first);
            let fast = uniform && nb > 0 && last > first;
            let mut count = |v: T| {
                let v = v.to_f64();
                if fast {
                    // bin_of's equal-bin rule with the constants hoisted.
                    if v >= first && v <= last {
                        let mut i = (((v - first) * norm) as usize).min(nb - 1);
                        if v < edges[i] {
                            i = i.saturating_sub(1);
                        } else if i + 1 < nb && v >= edges[i + 1] {
                            i += 1;
                        }
                        n[i] += 1;
                    }
                } else if let Some(b) = bin_of(v, edges, uniform) {
                    n[b] += 1;
                }
            };
            match xv.as_slice_memory_order() {
                Some(s) => s.iter().for_each(|&v| count(v)),
                None => xv.iter().for_each(|&v| count(v)),
            }
            for (c, k) in counts.iter_mut().zip(n) {
                *c = k as f64;
            }
        }
        Some(w) => {
            let w = as_f64(w);
            if w.shape() != xv.shape() {
                return Err(Error::internal("histogram: weights block of another shape"));
            }
            Zip::from(&xv).and(&w).for_each(|&v, &wt| {
                if let Some(b) = bin_of(v.to_f64(), edges, uniform) {
                    counts[b] += wt;
                }
            });
        }
    }
    Ok(HostArray::new(Array1::from(counts).into_dyn().into_shared()))
}

/// Counts → `i64` counts, `f64` sums, or a density.
pub(crate) fn finish(counts: &HostArray, edges: &[f64], density: bool, integer: bool) -> Result<HostArray> {
    let c = as_f64(counts);
    if integer {
        let v: Vec<i64> = c.iter().map(|&x| x as i64).collect();
        let a = ndarray::ArrayD::from_shape_vec(IxDyn(&[v.len()]), v)
            .map_err(|e| Error::internal(e.to_string()))?;
        return Ok(HostArray::new(a.into_shared()));
    }
    if !density {
        return Ok(HostArray::new(c.into_shared()));
    }
    let total: f64 = c.iter().sum();
    let v: Vec<f64> = c.iter().zip(edges.windows(2)).map(|(&n, e)| n / total / (e[1] - e[0])).collect();
    Ok(HostArray::new(Array1::from(v).into_dyn().into_shared()))
}

/// A block's d-dimensional histogram: `xs` the coordinates (one block each, same shape),
/// bins found by binary search in each dimension's edges (NumPy's `histogramdd`).
fn histogram_dd<T: Element>(
    xs: &[&HostArray],
    weights: Option<&HostArray>,
    edges: &[Vec<f64>],
) -> Result<HostArray> {
    let shape: Vec<usize> = edges.iter().map(|e| e.len().saturating_sub(1)).collect();
    let n = xs.first().map_or(0, |x| x.shape().iter().product());
    // Flat bin of each sample, `usize::MAX` once any coordinate is outside.
    let mut flat = vec![0usize; n];
    let mut stride = 1usize;
    for (d, x) in xs.iter().enumerate().rev() {
        let xv = x.typed::<T>()?;
        if xv.len() != n {
            return Err(Error::internal("histogramdd: coordinate blocks of different sizes"));
        }
        for (f, v) in flat.iter_mut().zip(xv.iter()) {
            if *f != usize::MAX {
                *f = bin_of(v.to_f64(), &edges[d], false).map_or(usize::MAX, |b| *f + b * stride);
            }
        }
        stride *= shape[d];
    }
    let mut counts = vec![0.0f64; stride];
    match weights {
        None => flat.iter().filter(|&&f| f != usize::MAX).for_each(|&f| counts[f] += 1.0),
        Some(w) => {
            let w = as_f64(w);
            if w.len() != n {
                return Err(Error::internal("histogramdd: weights block of another size"));
            }
            flat.iter()
                .zip(w.iter())
                .filter(|(f, _)| **f != usize::MAX)
                .for_each(|(&f, &wt)| counts[f] += wt);
        }
    }
    let a = ArrayD::from_shape_vec(IxDyn(&shape), counts).map_err(|e| Error::internal(e.to_string()))?;
    Ok(HostArray::new(a.into_shared()))
}

/// Blocks of one shape added (`i64` or `f64`).
fn add(inputs: &[Value]) -> Result<HostArray> {
    fn sum<T: Element + std::ops::AddAssign>(inputs: &[Value]) -> Result<HostArray> {
        let mut acc: Option<ArrayD<T>> = None;
        for v in inputs {
            let a = v.array()?.typed::<T>()?;
            match &mut acc {
                None => acc = Some(a.to_owned()),
                Some(s) if s.shape() == a.shape() => Zip::from(s).and(a).for_each(|s, &x| *s += x),
                Some(s) => {
                    return Err(Error::internal(format!(
                        "add counts: shapes {:?} and {:?}",
                        s.shape(),
                        a.shape()
                    )));
                }
            }
        }
        Ok(HostArray::new(acc.ok_or_else(|| Error::internal("add counts: no input"))?.into_shared()))
    }
    match inputs.first().map(|v| v.array()).transpose()?.map(|a| a.dtype()) {
        Some(DType::I64) => sum::<i64>(inputs),
        _ => sum::<f64>(inputs),
    }
}

/// Counts divided by each dimension's bin widths, then by their total (NumPy's order).
fn density(counts: &HostArray, edges: &[Vec<f64>]) -> Result<HostArray> {
    let mut c = as_f64(counts);
    let total: f64 = c.iter().sum();
    for (d, e) in edges.iter().enumerate() {
        for (mut lane, w) in c.axis_iter_mut(Axis(d)).zip(e.windows(2)) {
            lane.mapv_inplace(|v| v / (w[1] - w[0]));
        }
    }
    c.mapv_inplace(|v| v / total);
    Ok(HostArray::new(c.into_shared()))
}

/// A block's bincount: `i64` counts, or `f64` sums of `weights`, of each value `0..length`.
fn bincount(x: &HostArray, weights: Option<&HostArray>, length: usize) -> Result<HostArray> {
    let dtype = x.dtype();
    if !dtype.is_integer() {
        return Err(Error::internal(format!("bincount of {dtype} values")));
    }
    // A u64 above i64::MAX fits no bin: it becomes i64::MAX, which the check below refuses.
    let values: Vec<i64> = crate::map_host!(x, a => a
        .iter()
        .map(|&v| if dtype == DType::U64 { (v.to_i64() as u64).min(i64::MAX as u64) as i64 } else { v.to_i64() })
        .collect());
    let slot = |v: i64| -> Result<usize> {
        if v < 0 {
            return Err(Error::invalid(format!(
                "bincount: the value {v} is negative; only values >= 0 can be counted"
            )));
        }
        let i = v as usize;
        if i >= length {
            return Err(Error::invalid(format!(
                "bincount: the value {v} does not fit the {length} bin(s) asked for (values 0..{length})"
            )));
        }
        Ok(i)
    };
    match weights {
        None => {
            let mut counts = vec![0i64; length];
            for &v in &values {
                counts[slot(v)?] += 1;
            }
            Ok(HostArray::new(Array1::from(counts).into_dyn().into_shared()))
        }
        Some(w) => {
            let w = as_f64(w);
            if w.len() != values.len() {
                return Err(Error::internal("bincount: weights block of another size"));
            }
            let mut sums = vec![0.0f64; length];
            for (&v, &wt) in values.iter().zip(w.iter()) {
                sums[slot(v)?] += wt;
            }
            Ok(HostArray::new(Array1::from(sums).into_dyn().into_shared()))
        }
    }
}
