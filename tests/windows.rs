//! Windows and moments against eager references written from NumPy's, pandas' and xarray's
//! documented semantics: rolling statistics, coarsen, diff, gradient, average, cov and
//! corrcoef, cumulative sums of the flattened array and NaN-skipping scans; random shapes and
//! irregular chunks, and the edge cases each op has. Concrete values were checked with NumPy.

mod common;

use common::*;
use ndarray::{Array1, ArrayD, Axis, Dimension, IxDyn, Slice, array};
use proptest::prelude::*;
use tessera::array::{CoarsenBoundary, Spacing};
use tessera::stats::{CovOptions, average, average_returned, corrcoef, cov};
use tessera::{Axes, Chunks, Operand};

// ---------------------------------------------------------------- rolling

/// A group's reduction in a reference.
type Fold = fn(&[f64]) -> f64;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stat {
    Sum,
    Mean,
    Min,
    Max,
    Var(f64),
    Std(f64),
    Count,
}

fn stat_of(v: &[f64], s: Stat) -> f64 {
    let n = v.len() as f64;
    let sum: f64 = v.iter().sum();
    let var = |ddof: f64| {
        if n - ddof <= 0.0 {
            return f64::NAN;
        }
        let m = sum / n;
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - ddof)
    };
    match s {
        Stat::Sum => sum,
        Stat::Mean => sum / n,
        Stat::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        Stat::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Stat::Var(d) => var(d),
        Stat::Std(d) => var(d).sqrt(),
        Stat::Count => n,
    }
}

/// pandas/xarray rolling along `ax`: position `i` reads `i − before ..= i − before + window −
/// 1` (`before` = window − 1 trailing, window / 2 centred), positions off the array and NaN
/// values are left out, fewer than `min_periods` values left → NaN.
fn ref_rolling(
    x: &ArrayD<f64>,
    ax: usize,
    window: usize,
    center: bool,
    min_periods: usize,
    s: Stat,
) -> ArrayD<f64> {
    let before = if center { window / 2 } else { window - 1 } as isize;
    let mut out = x.clone();
    for (src, mut dst) in x.lanes(Axis(ax)).into_iter().zip(out.lanes_mut(Axis(ax))) {
        let n = src.len() as isize;
        for i in 0..n {
            let lo = i - before;
            let vals: Vec<f64> = (lo..lo + window as isize)
                .filter(|&j| (0..n).contains(&j))
                .map(|j| src[j as usize])
                .filter(|v| !v.is_nan())
                .collect();
            dst[i as usize] = if vals.len() < min_periods { f64::NAN } else { stat_of(&vals, s) };
        }
    }
    out
}

fn rolled(r: &tessera::array::Rolling<f64>, s: Stat) -> tessera::Array<f64> {
    match s {
        Stat::Sum => r.sum(),
        Stat::Mean => r.mean(),
        Stat::Min => r.min(),
        Stat::Max => r.max(),
        Stat::Var(d) => r.var(d),
        Stat::Std(d) => r.std(d),
        Stat::Count => r.count(),
    }
    .unwrap()
}

fn stat() -> impl Strategy<Value = Stat> {
    prop_oneof![
        Just(Stat::Sum),
        Just(Stat::Mean),
        Just(Stat::Min),
        Just(Stat::Max),
        (0usize..3).prop_map(|d| Stat::Var(d as f64)),
        (0usize..3).prop_map(|d| Stat::Std(d as f64)),
        Just(Stat::Count),
    ]
}

fn rolling_case() -> impl Strategy<Value = (ArrayD<f64>, Chunks, usize, usize, bool, Option<usize>, Stat)> {
    array_case(true).prop_filter("needs an axis", |(a, _)| a.ndim() > 0).prop_flat_map(|(a, c)| {
        let nd = a.ndim();
        (Just(a), Just(c), 0..nd, 1usize..14, any::<bool>(), any::<bool>(), 0usize..14, stat()).prop_map(
            |(a, c, ax, w, center, has_mp, mp, s)| {
                let mp = has_mp.then_some(1 + mp % w);
                (a, c, ax, w, center, mp, s)
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every statistic, window (longer than blocks and axes too), centring and min_periods,
    /// on data with NaN and infinities over irregular chunks: the reference's values in the
    /// input's shape and chunks.
    #[test]
    fn rolling_matches_pandas_semantics((a, c, ax, w, center, mp, s) in rolling_case()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let mut r = x.rolling(ax as isize, w).unwrap().center(center);
        if let Some(m) = mp {
            r = r.min_periods(m);
        }
        let y = rolled(&r, s);
        prop_assert_eq!(y.chunks(), &c);
        let mut got = compute_checked(&y);
        let mut want = ref_rolling(&a, ax, w, center, mp.unwrap_or(w), s);
        if let Stat::Std(_) = s {
            // A standard deviation near 0 is the square root of rounding errors of the
            // variance's updates: compare variances.
            got.mapv_inplace(|v| v * v);
            want.mapv_inplace(|v| v * v);
        }
        let bad = got.indexed_iter().zip(want.iter()).find(|((_, g), w)| !close_f64(&ArrayD::from_elem(IxDyn(&[]), **g), &ArrayD::from_elem(IxDyn(&[]), **w), 1e-9));
        prop_assert!(bad.is_none(), "{:?} w {} center {} mp {:?} ax {}: at {:?} got {} want {}; chunks {:?}", s, w, center, mp, ax, bad.as_ref().map(|b| b.0.0.clone()), bad.as_ref().map_or(0.0, |b| *b.0.1), bad.as_ref().map_or(0.0, |b| *b.1), c);
    }

    /// diff of any order, with and without prepend/append, bit for bit as repeated
    /// subtraction (NumPy's algorithm), the result's axis `n` shorter (empty past the length).
    #[test]
    fn diff_matches_numpy((a, c) in array_case(true).prop_filter("an axis", |(a, _)| a.ndim() > 0),
                          axis in 0usize..4, n in 0usize..6, edges in 0usize..4) {
        let ax = axis % a.ndim();
        let x = tessera::from_array(a.clone(), c).unwrap();
        let (pre, app) = (edges & 1 == 1, edges & 2 == 2);
        let mut shape = a.shape().to_vec();
        shape[ax] = 2;
        let app_arr = ArrayD::from_shape_fn(IxDyn(&shape), |i| i.slice().iter().sum::<usize>() as f64 * 0.5);
        let mut want = a.clone();
        if n > 0 {
            if pre {
                shape[ax] = 1;
                want = ndarray::concatenate(Axis(ax), &[ArrayD::from_elem(IxDyn(&shape), 1.25).view(), want.view()]).unwrap();
            }
            if app {
                want = ndarray::concatenate(Axis(ax), &[want.view(), app_arr.view()]).unwrap();
            }
        }
        for _ in 0..n {
            let len = want.shape()[ax] as isize;
            if len == 0 {
                break;
            }
            let hi = want.slice_axis(Axis(ax), Slice::from(1..len));
            let lo = want.slice_axis(Axis(ax), Slice::from(..len - 1));
            want = &hi - &lo;
        }
        let app_t = tessera::from_array(app_arr, [2; 4][..a.ndim()].to_vec()).unwrap();
        let y = x
            .diff_with(n, ax as isize, pre.then_some(Operand::Scalar(1.25)), app.then_some(Operand::Array(app_t)))
            .unwrap();
        let got = compute_checked(&y);
        prop_assert!(same_f64(&got, &want), "{}\nvs\n{}", got, want);
    }

    /// gradient with a step or coordinates, edge orders 1 and 2, over irregular chunks: bit for
    /// bit NumPy's formulas (`ref_gradient`), in the input's chunks.
    #[test]
    fn gradient_matches_numpy((a, c) in array_case(false).prop_filter("an axis of 3", |(a, _)| a.shape().iter().any(|&n| n >= 3)),
                              axis in 0usize..4, edge in 1usize..3, uneven in any::<bool>(), seed in 0u64..1000) {
        let ax = (0..a.ndim()).cycle().skip(axis).find(|&d| a.shape()[d] >= 3).unwrap();
        let n = a.shape()[ax];
        let coords: Vec<f64> = if uneven {
            arr2(seed, 1, n).iter().scan(0.0, |s, v| { *s += 0.5 + v.abs(); Some(*s) }).collect()
        } else {
            (0..n).map(|i| i as f64 * 0.75).collect()
        };
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let y = x.gradient(ax as isize, coords.clone(), edge).unwrap();
        prop_assert_eq!(y.chunks(), &c);
        let got = compute_checked(&y);
        let want = ref_gradient(&a, ax, &coords, edge);
        prop_assert!(same_f64(&got, &want), "{}\nvs\n{}", got, want);
    }

    /// coarsen's reductions against group-by-group folds, exact and trimmed.
    #[test]
    fn coarsen_matches_xarray((a, c) in array_case(true).prop_filter("an axis", |(a, _)| a.ndim() > 0),
                              f0 in 1usize..5, f1 in 1usize..4, which in 0usize..6) {
        let nd = a.ndim();
        let mut factors = vec![(0isize, f0)];
        if nd > 1 {
            factors.push((nd as isize - 1, f1));
        }
        let mut fac = vec![1usize; nd];
        for &(ax, f) in &factors {
            fac[ax as usize] = f;
        }
        let x = tessera::from_array(a.clone(), c).unwrap();
        let exact = (0..nd).all(|d| a.shape()[d] % fac[d] == 0);
        let e = x.coarsen(&factors, CoarsenBoundary::Exact);
        prop_assert_eq!(e.is_ok(), exact);
        let co = x.coarsen(&factors, CoarsenBoundary::Trim).unwrap();
        let (y, f): (tessera::Array<f64>, Fold) = match which {
            0 => (co.sum().unwrap(), |v| v.iter().sum()),
            1 => (co.mean().unwrap(), |v| v.iter().sum::<f64>() / v.len() as f64),
            2 => (co.max().unwrap(), |v| v.iter().copied().fold(f64::NEG_INFINITY, |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) })),
            3 => (co.nanmean().unwrap(), |v| { let k: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect(); k.iter().sum::<f64>() / k.len() as f64 }),
            4 => (co.nanmin().unwrap(), |v| v.iter().copied().filter(|x| !x.is_nan()).fold(f64::NAN, f64::min)),
            _ => (co.nansum().unwrap(), |v| v.iter().copied().filter(|x| !x.is_nan()).sum()),
        };
        let out: Vec<usize> = (0..nd).map(|d| a.shape()[d] / fac[d]).collect();
        let want = ArrayD::from_shape_fn(IxDyn(&out), |o| {
            let vals: Vec<f64> = ndarray::indices(IxDyn(&fac)).into_iter().map(|k| {
                let idx: Vec<usize> = (0..nd).map(|d| o[d] * fac[d] + k[d]).collect();
                a[IxDyn(&idx)]
            }).collect();
            f(&vals)
        });
        let got = compute_checked(&y);
        prop_assert!(close_f64(&got, &want, 1e-9), "{}\nvs\n{}", got, want);
    }

    /// cumsum and cumprod of the flattened array (C order) and nancumsum / nancumprod along an
    /// axis or flattened.
    #[test]
    fn flat_and_nan_scans((a, c) in array_case(true), axis in 0usize..5) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let flat: Vec<f64> = a.iter().copied().collect();
        let scan = |v: &[f64], prod: bool, nan: bool| -> Vec<f64> {
            let mut acc = if prod { 1.0 } else { 0.0 };
            v.iter().map(|&e| {
                let e = if nan && e.is_nan() { if prod { 1.0 } else { 0.0 } } else { e };
                acc = if prod { acc * e } else { acc + e };
                acc
            }).collect()
        };
        let got = compute_checked(&x.cumsum(Axes::All).unwrap());
        prop_assert!(close_f64(&got, &ArrayD::from_shape_vec(IxDyn(&[flat.len()]), scan(&flat, false, false)).unwrap(), 1e-9));
        let small = x.try_div(50.0).unwrap();
        let got = compute_checked(&small.nancumprod(Axes::All).unwrap());
        let sv: Vec<f64> = flat.iter().map(|v| v / 50.0).collect();
        prop_assert!(close_f64(&got, &ArrayD::from_shape_vec(IxDyn(&[sv.len()]), scan(&sv, true, true)).unwrap(), 1e-9));
        if a.ndim() > 0 {
            let ax = axis % a.ndim();
            let mut want = a.clone();
            for mut lane in want.lanes_mut(Axis(ax)) {
                let v = scan(&lane.to_vec(), false, true);
                lane.assign(&Array1::from(v));
            }
            let got = compute_checked(&x.nancumsum(ax as isize).unwrap());
            prop_assert!(close_f64(&got, &want, 1e-9), "{}\nvs\n{}", got, want);
        }
    }

    /// average with full-shape and 1-d weights, and its sum of weights.
    #[test]
    fn average_matches_numpy((a, c) in array_case(false).prop_filter("an axis", |(a, _)| a.ndim() > 0 && !a.is_empty()),
                             axis in 0usize..4, seed in 0u64..1000, one_d in any::<bool>()) {
        let ax = axis % a.ndim();
        let x = tessera::from_array(a.clone(), c).unwrap();
        let n = a.shape()[ax];
        let w1: Vec<f64> = arr2(seed, 1, n).iter().map(|v| 0.1 + v.abs()).collect();
        let wfull = if one_d {
            ArrayD::from_shape_fn(a.raw_dim(), |i| w1[i[ax]])
        } else {
            ArrayD::from_shape_fn(a.raw_dim(), |i| 0.1 + (i.slice().iter().sum::<usize>() as f64 * 0.37).sin().abs())
        };
        let w = if one_d {
            tessera::from_array(Array1::from(w1.clone()).into_dyn(), [3]).unwrap()
        } else {
            tessera::from_array(wfull.clone(), [4; 4][..a.ndim()].to_vec()).unwrap()
        };
        let (avg, sw) = average_returned(&x, ax as isize, Some(&w)).unwrap();
        let num = (&a * &wfull).sum_axis(Axis(ax));
        let den = wfull.sum_axis(Axis(ax));
        prop_assert!(close_f64(&compute_checked(&avg), &(&num / &den), 1e-9));
        prop_assert!(close_f64(&compute_checked(&sw), &den, 1e-12));
    }

    /// cov and corrcoef of random variables (rows or columns, ddof, bias) against the centred
    /// product computed eagerly.
    #[test]
    fn cov_matches_numpy(k in 1usize..6, nobs in 2usize..30, cr in 1usize..5, cc in 1usize..9, seed in 0u64..1000,
                         rowvar in any::<bool>(), ddof in 0usize..3) {
        let m = arr2(seed, k, nobs);
        let data = if rowvar { m.clone() } else { m.t().to_owned() };
        let chunks = if rowvar { [cr, cc] } else { [cc, cr] };
        let x = tessera::from_array(data.into_dyn(), chunks).unwrap();
        let c = cov(&x, None, &CovOptions::default().rowvar(rowvar).ddof(ddof as f64)).unwrap();
        let centred = &m - &m.mean_axis(Axis(1)).unwrap().insert_axis(Axis(1));
        let fact = (nobs as f64 - ddof as f64).max(0.0);
        let want = centred.dot(&centred.t()) * (1.0 / fact);
        let got = compute_checked(&c);
        let want_d = if k == 1 { want.clone().into_shape_with_order(IxDyn(&[])).unwrap() } else { want.clone().into_dyn() };
        prop_assert!(close_f64(&got, &want_d, 1e-10), "{}\nvs\n{}", got, want_d);
        let r = compute_checked(&corrcoef(&x, None, rowvar).unwrap());
        if k == 1 {
            prop_assert_eq!(r.iter().next().copied(), Some(1.0));
        } else {
            // The correlation does not depend on the normalisation.
            let g = centred.dot(&centred.t());
            let d: Vec<f64> = (0..k).map(|i| g[[i, i]].sqrt()).collect();
            let wr = ArrayD::from_shape_fn(IxDyn(&[k, k]), |i| (g[[i[0], i[1]]] / d[i[0]] / d[i[1]]).clamp(-1.0, 1.0));
            prop_assert!(close_f64(&r, &wr, 1e-10), "{}\nvs\n{}", r, wr);
        }
    }
}

/// NumPy's `gradient` along `ax` at coordinates `x` (evenly spaced ones as one step), lane by
/// lane, with NumPy's expressions in NumPy's order.
fn ref_gradient(a: &ArrayD<f64>, ax: usize, x: &[f64], edge: usize) -> ArrayD<f64> {
    let n = x.len();
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let uniform = d.iter().all(|&s| s == d[0]);
    let mut out = a.clone();
    for (f, mut o) in a.lanes(Axis(ax)).into_iter().zip(out.lanes_mut(Axis(ax))) {
        for i in 1..n - 1 {
            o[i] = if uniform {
                (f[i + 1] - f[i - 1]) / (2.0 * d[0])
            } else {
                let (d1, d2) = (d[i - 1], d[i]);
                let (p, q, r) = (-d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2)));
                p * f[i - 1] + q * f[i] + r * f[i + 1]
            };
        }
        if edge == 1 {
            o[0] = (f[1] - f[0]) / d[0];
            o[n - 1] = (f[n - 1] - f[n - 2]) / d[n - 2];
        } else if uniform {
            let h = d[0];
            o[0] = -1.5 / h * f[0] + 2.0 / h * f[1] + -0.5 / h * f[2];
            o[n - 1] = 0.5 / h * f[n - 3] + -2.0 / h * f[n - 2] + 1.5 / h * f[n - 1];
        } else {
            let (d1, d2) = (d[0], d[1]);
            let (p, q, r) =
                (-(2.0 * d1 + d2) / (d1 * (d1 + d2)), (d1 + d2) / (d1 * d2), -d1 / (d2 * (d1 + d2)));
            o[0] = p * f[0] + q * f[1] + r * f[2];
            let (d1, d2) = (d[n - 3], d[n - 2]);
            let (p, q, r) =
                (d2 / (d1 * (d1 + d2)), -(d2 + d1) / (d1 * d2), (2.0 * d2 + d1) / (d2 * (d1 + d2)));
            o[n - 1] = p * f[n - 3] + q * f[n - 2] + r * f[n - 1];
        }
    }
    out
}

fn vec_of(x: &tessera::Array<f64>) -> Vec<f64> {
    compute_checked(x).iter().copied().collect()
}

fn same_vec(got: &[f64], want: &[f64]) -> bool {
    got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()))
}

// ---------------------------------------------------------------- fixed cases

#[test]
fn rolling_edge_cases_by_hand() {
    let nan = f64::NAN;
    let v = array![1.0, 2.0, nan, 4.0, 5.0, 6.0, 7.0].into_dyn();
    // One-element blocks, a window longer than every block.
    let x = tessera::from_array(v.clone(), [1]).unwrap();
    let r = x.rolling(0, 3).unwrap();
    assert!(same_vec(&vec_of(&r.sum().unwrap()), &[nan, nan, nan, nan, nan, 15.0, 18.0]));
    let r1 = r.clone().min_periods(1);
    assert!(same_vec(&vec_of(&r1.sum().unwrap()), &[1.0, 3.0, 3.0, 6.0, 9.0, 15.0, 18.0]));
    assert!(same_vec(&vec_of(&r1.count().unwrap()), &[1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0]));
    // Centred, even window: the extra element is on the left (i − 2 ..= i + 1), as pandas.
    let c = x.rolling(0, 4).unwrap().center(true).min_periods(1).sum().unwrap();
    assert!(same_vec(&vec_of(&c), &[3.0, 3.0, 7.0, 11.0, 15.0, 22.0, 18.0]));
    let c = x.rolling(0, 4).unwrap().center(true).min_periods(2).max().unwrap();
    assert!(same_vec(&vec_of(&c), &[2.0, 2.0, 4.0, 5.0, 6.0, 7.0, 7.0]));
    // A window longer than the axis: every window runs off an edge.
    let long = x.rolling(0, 20).unwrap();
    assert!(vec_of(&long.mean().unwrap()).iter().all(|v| v.is_nan()));
    let long = long.min_periods(3).center(true).mean().unwrap();
    assert!(same_vec(&vec_of(&long), &[25.0 / 6.0; 7]));
    // pandas' std (ddof 1) of a window of one value is NaN, of equal values exactly 0.
    let k = tessera::from_array(array![3.0, 3.0, 3.0, 0.1, 0.1, 0.1].into_dyn(), [4]).unwrap();
    let s = vec_of(&k.rolling(0, 3).unwrap().min_periods(1).std(1.0).unwrap());
    assert!(s[0].is_nan() && s[1] == 0.0 && s[2] == 0.0 && s[5] == 0.0, "{s:?}");
    let m = vec_of(&k.rolling(0, 3).unwrap().mean().unwrap());
    assert_eq!(m[5], 0.1);
    // Window 1: the values themselves, NaN where NaN.
    assert!(same_vec(&vec_of(&x.rolling(0, 1).unwrap().mean().unwrap()), v.as_slice().unwrap()));
}

#[test]
fn rolling_of_integers_f32_and_along_inner_axes() {
    // Integers roll in f64.
    let a = ArrayD::from_shape_fn(IxDyn(&[3, 10]), |i| (i[0] * 10 + i[1] * i[1]) as i64);
    let x = tessera::from_array(a.clone(), [2, 3]).unwrap();
    let y: tessera::Array<f64> = x.rolling(-1, 4).unwrap().center(true).min_periods(2).var(0.0).unwrap();
    let want = ref_rolling(&a.mapv(|v| v as f64), 1, 4, true, 2, Stat::Var(0.0));
    assert!(close_f64(&compute_checked(&y), &want, 1e-12));
    // f32 stays f32.
    let f = a.mapv(|v| v as f32);
    let y: tessera::Array<f32> =
        tessera::from_array(f, [3, 1]).unwrap().rolling(1, 5).unwrap().mean().unwrap();
    let got = compute_checked(&y).mapv(f64::from);
    let want = ref_rolling(&a.mapv(|v| v as f64), 1, 5, false, 5, Stat::Mean);
    assert!(close_f64(&got, &want, 1e-6), "{got}\nvs\n{want}");
    // A 3-d array rolled along its middle axis.
    let b = ArrayD::from_shape_fn(IxDyn(&[2, 9, 3]), |i| ((i[0] * 31 + i[1] * 7 + i[2]) as f64 * 0.7).sin());
    let z = tessera::from_array(b.clone(), [1, 2, 2])
        .unwrap()
        .rolling(1, 6)
        .unwrap()
        .min_periods(4)
        .std(1.0)
        .unwrap();
    assert!(close_f64(&compute_checked(&z), &ref_rolling(&b, 1, 6, false, 4, Stat::Std(1.0)), 1e-12));
}

#[test]
fn rolling_is_one_named_task_per_block() {
    let x = tessera::ones::<f64>(&[100, 4], [10, 2]).unwrap();
    let y = x.rolling(0, 25).unwrap().mean().unwrap();
    let dot = y.to_dot();
    assert!(dot.matches("rolling").count() >= y.nblocks(), "{dot}");
    assert!(!dot.contains("map_overlap"));
    assert_eq!(compute_checked(&y)[[30, 1]], 1.0);
}

#[test]
fn bad_arguments_are_errors_naming_them() {
    let x = tessera::ones::<f64>(&[6, 4], [4, 4]).unwrap();
    let e = x.rolling(0, 0).unwrap_err().to_string();
    assert!(e.contains("window"), "{e}");
    assert!(x.rolling(2, 3).is_err());
    let e = x.rolling(0, 3).unwrap().min_periods(4).mean().unwrap_err().to_string();
    assert!(e.contains("min_periods") && e.contains('4'), "{e}");
    assert!(x.rolling(0, 3).unwrap().min_periods(0).sum().is_err());
    assert!(x.rolling(0, 3).unwrap().std(-1.0).is_err());
    let e = x.coarsen(&[(1, 3)], CoarsenBoundary::Exact).unwrap_err().to_string();
    assert!(e.contains("axis 1") && e.contains("length 4") && e.contains("factor 3"), "{e}");
    assert!(x.coarsen(&[(0, 0)], CoarsenBoundary::Trim).unwrap_err().to_string().contains("factor"));
    assert!(x.coarsen(&[(0, 2), (-2, 3)], CoarsenBoundary::Trim).is_err());
    assert!(x.coarsen(&[(2, 2)], CoarsenBoundary::Trim).is_err());
    assert!(x.diff(1, 2).is_err());
    let e = x.gradient(0, 1.0, 3).unwrap_err().to_string();
    assert!(e.contains("edge_order"), "{e}");
    assert!(x.gradient(0, vec![0.0, 1.0], 1).is_err());
    let one = tessera::ones::<f64>(&[2], [1]).unwrap();
    let e = one.gradient(0, 1.0, 2).unwrap_err().to_string();
    assert!(e.contains("at least 3"), "{e}");
    assert!(
        x.gradient_all(&[Spacing::Uniform(1.0), Spacing::Uniform(2.0), Spacing::Uniform(3.0)], 1).is_err()
    );
    let w = tessera::ones::<f64>(&[5], [5]).unwrap();
    assert!(average(&x, 0, Some(&w)).is_err());
    assert!(average(&x, vec![0usize, 1], Some(&tessera::ones::<f64>(&[4], [4]).unwrap())).is_ok());
    let x3 = tessera::ones::<f64>(&[2, 2, 2], [2, 2, 2]).unwrap();
    assert!(cov(&x3, None, &CovOptions::default()).is_err());
    assert!(x.cumsum(vec![0usize, 1]).is_err());
    let pre = tessera::ones::<f64>(&[3], [3]).unwrap();
    assert!(x.diff_with(1, 0, Some(Operand::Array(pre)), None).is_err());
}

#[test]
fn diff_and_gradient_edge_cases() {
    // NumPy: np.diff([1, 3, 6, 10], prepend=0, append=[20, 21]) == [1, 2, 3, 4, 10, 1].
    let x = tessera::from_array(array![1i64, 3, 6, 10].into_dyn(), [3]).unwrap();
    let app = tessera::from_array(array![20i64, 21].into_dyn(), [1]).unwrap();
    let d = x.diff_with(1, 0, Some(Operand::Scalar(0)), Some(Operand::Array(app))).unwrap();
    assert_eq!(compute_checked(&d).into_raw_vec_and_offset().0, vec![1, 2, 3, 4, 10, 1]);
    // n larger than the axis: an empty axis; n = 0: the input, edges ignored.
    assert_eq!(x.diff(7, 0).unwrap().shape(), &[0]);
    assert_eq!(x.diff(0, 0).unwrap().shape(), &[4]);
    assert_eq!(x.diff_with(0, 0, Some(Operand::Scalar(5)), None).unwrap().shape(), &[4]);
    // Bools: x[i + 1] != x[i].
    let b = tessera::from_array(array![true, true, false, true].into_dyn(), [2]).unwrap();
    assert_eq!(b.diff(1, 0).unwrap().to_vec().unwrap(), vec![false, true, true]);
    // 2-d, along the last axis, one-element blocks.
    let m = tessera::from_array(array![[1.0, 4.0, 9.0], [2.0, 2.0, 0.0]].into_dyn(), [1, 1]).unwrap();
    assert_eq!(m.diff(1, -1).unwrap().to_vec().unwrap(), vec![3.0, 5.0, 0.0, -2.0]);

    // gradient, values from NumPy 2.4.
    let f = tessera::from_array(array![1.0, 2.0, 4.0, 7.0, 11.0].into_dyn(), [2]).unwrap();
    let at = vec![0.0, 1.0, 1.5, 3.5, 4.0];
    assert!(same_vec(
        &vec_of(&f.gradient(0, at.clone(), 1).unwrap()),
        &[1.0, 2.9999999999999996, 3.5, 6.700000000000001, 8.0]
    ));
    assert!(same_vec(
        &vec_of(&f.gradient(0, at, 2).unwrap()),
        &[-1.0, 2.9999999999999996, 3.5, 6.700000000000001, 9.299999999999997]
    ));
    // Two points (edge order 1) and three (edge order 2).
    let two = tessera::from_array(array![3.0, 5.0].into_dyn(), [1]).unwrap();
    assert_eq!(vec_of(&two.gradient(0, 1.0, 1).unwrap()), vec![2.0, 2.0]);
    let three = tessera::from_array(array![3.0, 5.0, 10.0].into_dyn(), [1]).unwrap();
    assert_eq!(vec_of(&three.gradient(0, 1.0, 2).unwrap()), vec![0.5, 3.5, 6.5]);
    assert!(same_vec(
        &vec_of(&three.gradient(0, vec![0.0, 0.5, 2.0], 2).unwrap()),
        &[4.166666666666666, 3.8333333333333326, 2.8333333333333357]
    ));
    // Integers in f64; gradient_all gives one array per axis.
    let i = tessera::from_array(array![1i64, 4, 9, 16].into_dyn(), [3]).unwrap();
    assert_eq!(vec_of(&i.gradient(0, 2.0, 1).unwrap()), vec![1.5, 2.0, 3.0, 3.5]);
    let g = m.gradient_all(&[], 1).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(vec_of(&g[0]), vec![1.0, -2.0, -9.0, 1.0, -2.0, -9.0]);
    assert_eq!(vec_of(&g[1]), vec![3.0, 4.0, 5.0, 0.0, -1.0, -2.0]);
}

#[test]
fn average_cov_corrcoef_and_scans_match_numpy_values() {
    let m = array![[1.0, 2.0, 4.0, 7.0], [0.5, -1.0, 3.0, 2.0], [2.0, 2.0, 1.0, 0.0]];
    let x = tessera::from_array(m.clone().into_dyn(), [2, 3]).unwrap();
    let close = |got: Vec<f64>, want: &[f64]| {
        got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-12) && got.len() == want.len()
    };
    // np.cov(m)
    let c = vec_of(&cov(&x, None, &CovOptions::default()).unwrap());
    assert!(close(
        c,
        &[
            7.0,
            2.9166666666666665,
            -2.5,
            2.9166666666666665,
            3.0625,
            -1.2083333333333333,
            -2.5,
            -1.2083333333333333,
            0.9166666666666666
        ]
    ));
    // np.cov(m, rowvar=False, ddof=0)[0]
    let c = cov(&x, None, &CovOptions::default().rowvar(false).ddof(0.0)).unwrap();
    assert_eq!(c.shape(), &[4, 4]);
    assert!(close(
        vec_of(&c)[..4].to_vec(),
        &[0.3888888888888889, 0.6666666666666666, -0.611111111111111, -0.8333333333333333]
    ));
    // np.corrcoef(m)
    let r = vec_of(&corrcoef(&x, None, true).unwrap());
    assert!(close(
        r,
        &[
            1.0,
            0.629940788348712,
            -0.9869275424396534,
            0.629940788348712,
            1.0,
            -0.721178860387891,
            -0.9869275424396534,
            -0.721178860387891,
            1.0
        ]
    ));
    // One variable: 0-d. np.cov(m[0]) == 7.0, np.corrcoef(m[0]) == 1.0.
    let r0 = tessera::from_array(m.row(0).to_owned().into_dyn(), [3]).unwrap();
    let r1 = tessera::from_array(m.row(1).to_owned().into_dyn(), [3]).unwrap();
    let c0 = cov(&r0, None, &CovOptions::default()).unwrap();
    assert_eq!((c0.ndim(), c0.item().unwrap()), (0, 7.0));
    assert_eq!(corrcoef(&r0, None, true).unwrap().item().unwrap(), 1.0);
    // np.cov(m[0], m[1], bias=True)
    let c01 = vec_of(&cov(&r0, Some(&r1), &CovOptions::default().bias(true)).unwrap());
    assert!(close(c01, &[5.25, 2.1875, 2.1875, 2.296875]));
    // np.average(m, axis=1, weights=[1, 2, 3, 4], returned=True)
    let w = tessera::from_array(array![1.0, 2.0, 3.0, 4.0].into_dyn(), [2]).unwrap();
    let (a, sw) = average_returned(&x, 1, Some(&w)).unwrap();
    assert!(close(vec_of(&a), &[4.5, 1.55, 0.9]));
    assert_eq!(vec_of(&sw), vec![10.0; 3]);
    let (a, n) = average_returned(&x, 0, None).unwrap();
    assert!(close(vec_of(&a), &[3.5 / 3.0, 1.0, 8.0 / 3.0, 3.0]));
    assert_eq!(vec_of(&n), vec![3.0; 4]);
    // np.cumsum(m) (flattened) and np.nancumprod(..., axis=None)
    assert_eq!(
        vec_of(&x.cumsum(Axes::All).unwrap()),
        vec![1.0, 3.0, 7.0, 14.0, 14.5, 13.5, 16.5, 18.5, 20.5, 22.5, 23.5, 23.5]
    );
    let p = tessera::from_array(array![[f64::NAN, 2.0], [3.0, f64::NAN]].into_dyn(), [1, 1]).unwrap();
    assert_eq!(vec_of(&p.nancumprod(Axes::All).unwrap()), vec![1.0, 2.0, 6.0, 6.0]);
    let i = tessera::from_array(array![[1i32, 2], [3, 4]].into_dyn(), [1, 2]).unwrap();
    assert_eq!(i.cumprod(Axes::All).unwrap().to_vec().unwrap(), vec![1i64, 2, 6, 24]);
}

#[test]
fn coarsen_of_integers_and_trim() {
    let a = ArrayD::from_shape_fn(IxDyn(&[5, 7]), |i| (i[0] * 7 + i[1]) as i32);
    let x = tessera::from_array(a, [2, 3]).unwrap();
    let c = x.coarsen(&[(0, 2), (1, 3)], CoarsenBoundary::Trim).unwrap();
    // Rows 0-1 and 2-3, columns 0-2 and 3-5: sums in i64, means in f64.
    assert_eq!(c.sum().unwrap().to_vec().unwrap(), vec![27i64, 45, 111, 129]);
    assert_eq!(c.mean().unwrap().to_vec().unwrap(), vec![4.5, 7.5, 18.5, 21.5]);
    assert_eq!(c.min().unwrap().to_vec().unwrap(), vec![0, 3, 14, 17]);
    assert_eq!(c.max().unwrap().to_vec().unwrap(), vec![9, 12, 23, 26]);
}
