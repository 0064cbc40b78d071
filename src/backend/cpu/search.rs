//! Searching kernels: digitize, a block's share of a searchsorted, isin, the position of each
//! element among a unique's values, and a block's sorted distinct values (merged by a tree).
//!
//! Every search is a binary search (`partition_point`) under NumPy's order: numbers ascending,
//! NaN after every number and equal to every NaN, `-0.0` equal to `0.0`.

use std::cmp::Ordering;

use ndarray::{Array1, ArrayD, IxDyn};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::counting::{CountKernel, CountStep};
use crate::ir::kernel::Factors;
use crate::with_dtype;

/// Run one searching task (the counting steps are dispatched by [`super::counting`]).
pub(crate) fn execute(k: &CountKernel, inputs: &[Value]) -> Result<Value> {
    let input =
        |i: usize| inputs.get(i).ok_or_else(|| Error::internal("search kernel: missing input"))?.array();
    let arr = |a: HostArray| Ok(Value::Array(a));
    match &k.step {
        CountStep::Digitize { bins, right, decreasing } => {
            arr(with_dtype!(k.dtype, T => digitize::<T>(input(0)?, bins, *right, *decreasing)?))
        }
        CountStep::SearchCount { right } => {
            arr(with_dtype!(k.dtype, T => search_count::<T>(input(0)?, input(1)?, *right)?))
        }
        CountStep::IsIn { test, invert } => {
            arr(with_dtype!(k.dtype, T => isin::<T>(input(0)?, test, *invert)?))
        }
        CountStep::Locate { values } => arr(with_dtype!(k.dtype, T => locate::<T>(input(0)?, values)?)),
        CountStep::UniquePart { offset, shape } => {
            let f = with_dtype!(k.dtype, T => unique_part::<T>(input(0)?, offset, shape)?);
            Ok(state(f))
        }
        CountStep::UniqueMerge => {
            let parts: Vec<&Factors> =
                inputs.iter().map(|v| v.get_state::<Factors>()).collect::<Result<_>>()?;
            let f = with_dtype!(k.dtype, T => unique_merge::<T>(&parts)?);
            Ok(state(f))
        }
        _ => Err(Error::internal(format!("{} is not a search step", k.name()))),
    }
}

fn state(f: Factors) -> Value {
    let bytes = f.0.iter().map(|a| a.nbytes()).sum::<usize>() + 64;
    Value::state(f, bytes)
}

/// NumPy's sort order: numbers ascending, NaN last (all NaNs equal).
fn nan_last<T: Element>(a: T, b: T) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

/// A typed block's elements as a contiguous 1-d slice, or an error.
fn slice_of<T: Element>(h: &HostArray) -> Result<&[T]> {
    h.typed::<T>()?.as_slice().ok_or_else(|| Error::internal("search table is not contiguous"))
}

fn i64_block(shape: &[usize], v: Vec<i64>) -> Result<HostArray> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::internal(e.to_string()))?;
    Ok(HostArray::new(a.into_shared()))
}

/// `numpy.digitize` of a block (see [`CountStep::Digitize`]); `bins` holds no NaN.
fn digitize<T: Element>(x: &HostArray, bins: &[f64], right: bool, decreasing: bool) -> Result<HostArray> {
    let xv = x.typed::<T>()?;
    let n = bins.len() as i64;
    let out: Vec<i64> = xv
        .iter()
        .map(|v| {
            let v = v.to_f64();
            let p = if v.is_nan() {
                if decreasing { 0 } else { bins.len() }
            } else {
                match (decreasing, right) {
                    (false, false) => bins.partition_point(|&b| b <= v),
                    (false, true) => bins.partition_point(|&b| b < v),
                    (true, false) => bins.partition_point(|&b| b > v),
                    (true, true) => bins.partition_point(|&b| b >= v),
                }
            };
            (p as i64).min(n)
        })
        .collect();
    i64_block(xv.shape(), out)
}

/// For each element of `v`, how many elements of the (sorted) 1-d block `a` are `< v`
/// (`≤ v` when `right`), in NumPy's order.
fn search_count<T: Element>(a: &HostArray, v: &HostArray, right: bool) -> Result<HostArray> {
    let a = a.typed::<T>()?;
    let a = a.as_slice().map(std::borrow::Cow::Borrowed).unwrap_or_else(|| a.iter().copied().collect());
    let vv = v.typed::<T>()?;
    let out: Vec<i64> = vv
        .iter()
        .map(|&x| {
            let p = if right {
                a.partition_point(|&e| nan_last(e, x) != Ordering::Greater)
            } else {
                a.partition_point(|&e| nan_last(e, x) == Ordering::Less)
            };
            p as i64
        })
        .collect();
    i64_block(vv.shape(), out)
}

/// Whether each element is among `test` (sorted, no NaN); negated when `invert`.
fn isin<T: Element>(x: &HostArray, test: &HostArray, invert: bool) -> Result<HostArray> {
    let t = slice_of::<T>(test)?;
    let xv = x.typed::<T>()?;
    let out = xv.map(|&v| {
        let found = !v.is_nan() && {
            let i = t.partition_point(|&e| e < v);
            i < t.len() && t[i] == v
        };
        found != invert
    });
    Ok(HostArray::new(out.into_shared()))
}

/// Each element's position among the sorted distinct `values` (NaN last).
fn locate<T: Element>(x: &HostArray, values: &HostArray) -> Result<HostArray> {
    let u = slice_of::<T>(values)?;
    let xv = x.typed::<T>()?;
    let out: Vec<i64> =
        xv.iter().map(|&v| u.partition_point(|&e| nan_last(e, v) == Ordering::Less) as i64).collect();
    i64_block(xv.shape(), out)
}

fn host<T: Element>(v: Vec<T>) -> HostArray {
    HostArray::new(Array1::from(v).into_dyn().into_shared())
}

/// Sorted `(value, count, first flat index)` triples, runs of equal values merged: the value
/// and index of the earliest occurrence kept, counts added. `items` is sorted by value, ties
/// by index.
fn merge_runs<T: Element>(items: &[(T, i64, i64)]) -> Factors {
    let (mut vals, mut counts, mut first) = (Vec::new(), Vec::new(), Vec::new());
    for &(v, c, i) in items {
        match vals.last() {
            Some(&last) if nan_last(last, v) == Ordering::Equal => {
                *counts.last_mut().expect("a count per value") += c;
            }
            _ => {
                vals.push(v);
                counts.push(c);
                first.push(i);
            }
        }
    }
    Factors(vec![host(vals), host(counts), host(first)])
}

/// A block's distinct values, their counts and first flat indices in the whole array.
fn unique_part<T: Element>(x: &HostArray, offset: &[usize], shape: &[usize]) -> Result<Factors> {
    let xv = x.typed::<T>()?;
    let bshape = xv.shape().to_vec();
    let nd = bshape.len();
    if offset.len() != nd || shape.len() != nd {
        return Err(Error::internal("unique: block offset of another rank"));
    }
    let mut strides = vec![1usize; nd];
    for d in (0..nd.saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    // C-order walk of the block (an odometer over its index), tracking the flat index.
    let mut idx = vec![0usize; nd];
    let mut flat: usize = offset.iter().zip(&strides).map(|(o, s)| o * s).sum();
    let mut items: Vec<(T, i64, i64)> = Vec::with_capacity(xv.len());
    for &v in xv.iter() {
        items.push((v, 1, flat as i64));
        for d in (0..nd).rev() {
            idx[d] += 1;
            flat += strides[d];
            if idx[d] < bshape[d] {
                break;
            }
            flat -= strides[d] * bshape[d];
            idx[d] = 0;
        }
    }
    items.sort_by(|a, b| nan_last(a.0, b.0));
    Ok(merge_runs(&items))
}

/// Several blocks' distinct values merged.
fn unique_merge<T: Element>(parts: &[&Factors]) -> Result<Factors> {
    let mut items: Vec<(T, i64, i64)> = Vec::new();
    for p in parts {
        let [v, c, i] = &p.0[..] else {
            return Err(Error::internal("unique merge: a state of other than three arrays"));
        };
        let (v, c, i) = (v.typed::<T>()?, c.typed::<i64>()?, i.typed::<i64>()?);
        items.extend(v.iter().zip(c.iter()).zip(i.iter()).map(|((&v, &c), &i)| (v, c, i)));
    }
    items.sort_by(|a, b| nan_last(a.0, b.0).then(a.2.cmp(&b.2)));
    Ok(merge_runs(&items))
}
