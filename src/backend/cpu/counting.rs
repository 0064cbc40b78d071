//! Counting kernels: a block's histogram (NumPy's bin rule), counts added, the result.

use ndarray::{Array1, ArrayD, ArrayViewD, IxDyn, Zip};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};

/// Any block's values as `f64`.
fn as_f64(h: &HostArray) -> ArrayD<f64> {
    crate::map_host!(h, a => a.mapv(|v| v.to_f64()))
}

/// The bin of `v` among `edges` (`n + 1` increasing edges): `[e_i, e_{i+1})`, the last bin
/// closed; `None` outside `[e_0, e_n]` or for NaN. With `uniform` edges the bin is computed
/// as NumPy does (`(v − e_0) · n / (e_n − e_0)`, truncated, then moved by one where the
/// edges say so), else by binary search.
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
            for &v in xv.iter() {
                if let Some(b) = bin_of(v.to_f64(), edges, uniform) {
                    counts[b] += 1.0;
                }
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

/// 1-d `f64` blocks added.
pub(crate) fn add_counts(inputs: &[Value]) -> Result<HostArray> {
    let mut sum: Option<Array1<f64>> = None;
    for v in inputs {
        let a = as_f64(v.array()?);
        let a = a.into_dimensionality::<ndarray::Ix1>().map_err(|e| Error::internal(e.to_string()))?;
        match &mut sum {
            None => sum = Some(a.to_owned()),
            Some(s) => *s += &a,
        }
    }
    let s = sum.ok_or_else(|| Error::internal("add counts: no input"))?;
    Ok(HostArray::new(s.into_dyn().into_shared()))
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
