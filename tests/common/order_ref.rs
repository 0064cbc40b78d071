//! Eager references of NumPy's order statistics, one line at a time: `sort`, stable
//! `argsort`, `_quantile` transcribed (shared by tests/order.rs and tests/order_long.rs).

use ndarray::{ArrayD, Axis, IxDyn};
use std::cmp::Ordering;
use tessera::QuantileMethod;

pub fn nan_last(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(b).unwrap(),
        (x, y) => x.cmp(&y),
    }
}

/// `f` applied to every line along `axis`, its results laid along a new last axis, then
/// moved to `axis` (same length lines: sort, argsort, top-k).
pub fn ref_lines<U: Clone + Default>(
    x: &ArrayD<f64>,
    axis: usize,
    k: usize,
    f: impl Fn(&[f64]) -> Vec<U>,
) -> ArrayD<U> {
    let mut shape = x.shape().to_vec();
    shape[axis] = k;
    let mut out = ArrayD::<U>::default(IxDyn(&shape));
    for (lane, mut o) in x.lanes(Axis(axis)).into_iter().zip(out.lanes_mut(Axis(axis))) {
        let r = f(&lane.to_vec());
        for (d, v) in o.iter_mut().zip(r) {
            *d = v;
        }
    }
    out
}

/// NumPy's `sort` of one line.
pub fn ref_sort(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(nan_last);
    v
}

pub fn ref_argsort(v: &[f64]) -> Vec<i64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| nan_last(&v[i], &v[j]));
    idx.into_iter().map(|i| i as i64).collect()
}

/// NumPy's `_quantile` on one line, transcribed: virtual index per method, `_get_indexes`'
/// clipping, `_get_gamma`, `_lerp` (with tessera's documented handling of infinities).
pub fn ref_quantile(v: &[f64], q: f64, m: QuantileMethod, skip_nan: bool) -> f64 {
    let mut s: Vec<f64> =
        if skip_nan { v.iter().copied().filter(|x| !x.is_nan()).collect() } else { v.to_vec() };
    if s.is_empty() || s.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    s.sort_by(nan_last);
    let n = s.len() as f64;
    let take = |i: f64| s[(i.max(0.0) as usize).min(s.len() - 1)];
    // NumPy: n * quantiles + (alpha + quantiles * (1 - alpha - beta)) - 1
    let cont = |a: f64, b: f64| n * q + (a + q * (1.0 - a - b)) - 1.0;
    use QuantileMethod::*;
    let v = match m {
        InvertedCdf => {
            let i = n * q - 1.0;
            return take(if i == i.floor() { i } else { i.floor() + 1.0 });
        }
        ClosestObservation => {
            let i = n * q - 1.5;
            let keep = i == i.floor() && i.floor().rem_euclid(2.0) == 1.0;
            return take(if keep { i.floor() } else { i.floor() + 1.0 });
        }
        Lower => return take(((n - 1.0) * q).floor()),
        Higher => return take(((n - 1.0) * q).ceil()),
        Nearest => return take(((n - 1.0) * q).round_ties_even()),
        AveragedInvertedCdf => n * q - 1.0,
        Midpoint => 0.5 * (((n - 1.0) * q).floor() + ((n - 1.0) * q).ceil()),
        Linear => (n - 1.0) * q,
        InterpolatedInvertedCdf => cont(0.0, 1.0),
        Hazen => cont(0.5, 0.5),
        Weibull => cont(0.0, 0.0),
        MedianUnbiased => cont(1.0 / 3.0, 1.0 / 3.0),
        NormalUnbiased => cont(3.0 / 8.0, 3.0 / 8.0),
    };
    if v >= n - 1.0 {
        return s[s.len() - 1];
    }
    if v < 0.0 {
        return s[0];
    }
    let lo = v.floor();
    let mut g = v - lo;
    if m == AveragedInvertedCdf {
        g = if g == 0.0 { 0.5 } else { 1.0 };
    }
    if m == Midpoint {
        g = if v == v.floor() { 0.0 } else { 0.5 };
    }
    let (a, b) = (s[lo as usize], s[lo as usize + 1]);
    if g == 0.0 || a == b {
        a
    } else if a.is_infinite() || b.is_infinite() {
        a + (b - a) * g
    } else if g >= 0.5 {
        b - (b - a) * (1.0 - g)
    } else {
        a + (b - a) * g
    }
}

/// Equal as values (−0 == 0), NaNs equal.
pub fn same_values(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}
