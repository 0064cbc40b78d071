//! Order statistics (sort, argsort, quantiles, top-k) against NumPy: a table of
//! `numpy.quantile` values for every method (NumPy 2.4), and eager references of NumPy's
//! documented semantics over random shapes, irregular chunks, NaN, ±inf and ties.

mod common;

use common::order_ref::*;
use common::*;
use ndarray::{ArrayD, Axis};
use proptest::prelude::*;
use tessera::{QuantileMethod, QuantileOptions, TopkOptions};

/// `numpy.quantile(x[:n], QS, method=m)` for x = BASE, printed by NumPy 2.4.6.
const BASE: [f64; 10] = [3.5, -1.0, 7.0, 2.0, 2.0, 10.0, 0.25, -4.5, 6.0, 1.0];
const QS: [f64; 9] = [0.0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.75, 0.9, 1.0];
#[rustfmt::skip]
const GOLDEN: &[(usize, &str, [f64; 9])] = &[
    (1, "inverted_cdf", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "averaged_inverted_cdf", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "closest_observation", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "interpolated_inverted_cdf", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "hazen", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "weibull", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "linear", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "median_unbiased", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "normal_unbiased", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "lower", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "higher", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "midpoint", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (1, "nearest", [3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (2, "inverted_cdf", [-1.0, -1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 3.5, 3.5]),
    (2, "averaged_inverted_cdf", [-1.0, -1.0, -1.0, -1.0, 1.25, 3.5, 3.5, 3.5, 3.5]),
    (2, "closest_observation", [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 3.5]),
    (2, "interpolated_inverted_cdf", [-1.0, -1.0, -1.0, -1.0, -1.0, -0.1000000000000002, 1.25, 2.6, 3.5]),
    (2, "hazen", [-1.0, -1.0, -1.0, -0.5499999999999996, 1.25, 2.15, 3.5, 3.5, 3.5]),
    (2, "weibull", [-1.0, -1.0, -1.0, -1.0, 1.25, 2.599999999999999, 3.5, 3.5, 3.5]),
    (2, "linear", [-1.0, -0.55, 0.125, 0.34999999999999987, 1.25, 1.7, 2.375, 3.0500000000000003, 3.5]),
    (2, "median_unbiased", [-1.0, -1.0, -1.0, -0.8500000000000005, 1.25, 2.3000000000000003, 3.5, 3.5, 3.5]),
    (2, "normal_unbiased", [-1.0, -1.0, -1.0, -0.7749999999999998, 1.25, 2.2625, 3.5, 3.5, 3.5]),
    (2, "lower", [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 3.5]),
    (2, "higher", [-1.0, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5, 3.5]),
    (2, "midpoint", [-1.0, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 3.5]),
    (2, "nearest", [-1.0, -1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 3.5, 3.5]),
    (3, "inverted_cdf", [-1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 7.0, 7.0, 7.0]),
    (3, "averaged_inverted_cdf", [-1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 7.0, 7.0, 7.0]),
    (3, "closest_observation", [-1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 3.5, 7.0, 7.0]),
    (3, "interpolated_inverted_cdf", [-1.0, -1.0, -1.0, -1.0, 1.25, 2.599999999999999, 4.375, 5.950000000000001, 7.0]),
    (3, "hazen", [-1.0, -1.0, 0.125, 0.7999999999999996, 3.5, 4.549999999999999, 6.125, 7.0, 7.0]),
    (3, "weibull", [-1.0, -1.0, -1.0, -0.1000000000000002, 3.5, 4.8999999999999995, 7.0, 7.0, 7.0]),
    (3, "linear", [-1.0, -0.09999999999999998, 1.25, 1.7, 3.5, 4.2, 5.25, 6.3, 7.0]),
    (3, "median_unbiased", [-1.0, -1.0, -0.24999999999999967, 0.49999999999999956, 3.5, 4.666666666666666, 6.416666666666667, 7.0, 7.0]),
    (3, "normal_unbiased", [-1.0, -1.0, -0.15625, 0.5749999999999993, 3.5, 4.637499999999999, 6.34375, 7.0, 7.0]),
    (3, "lower", [-1.0, -1.0, -1.0, -1.0, 3.5, 3.5, 3.5, 3.5, 7.0]),
    (3, "higher", [-1.0, 3.5, 3.5, 3.5, 3.5, 7.0, 7.0, 7.0, 7.0]),
    (3, "midpoint", [-1.0, 1.25, 1.25, 1.25, 3.5, 5.25, 5.25, 5.25, 7.0]),
    (3, "nearest", [-1.0, -1.0, -1.0, 3.5, 3.5, 3.5, 7.0, 7.0, 7.0]),
    (4, "inverted_cdf", [-1.0, -1.0, -1.0, 2.0, 2.0, 3.5, 3.5, 7.0, 7.0]),
    (4, "averaged_inverted_cdf", [-1.0, -1.0, 0.5, 2.0, 2.75, 3.5, 5.25, 7.0, 7.0]),
    (4, "closest_observation", [-1.0, -1.0, -1.0, -1.0, 2.0, 2.0, 3.5, 7.0, 7.0]),
    (4, "interpolated_inverted_cdf", [-1.0, -1.0, -1.0, -0.40000000000000013, 2.0, 2.5999999999999996, 3.5, 5.6000000000000005, 7.0]),
    (4, "hazen", [-1.0, -1.0, 0.5, 1.0999999999999999, 2.75, 3.3499999999999996, 5.25, 7.0, 7.0]),
    (4, "weibull", [-1.0, -1.0, -0.25, 0.5, 2.75, 3.5, 6.125, 7.0, 7.0]),
    (4, "linear", [-1.0, -0.09999999999999987, 1.25, 1.6999999999999997, 2.75, 3.1999999999999997, 4.375, 5.950000000000001, 7.0]),
    (4, "median_unbiased", [-1.0, -1.0, 0.2500000000000002, 0.8999999999999999, 2.75, 3.3999999999999995, 5.541666666666667, 7.0, 7.0]),
    (4, "normal_unbiased", [-1.0, -1.0, 0.3125, 0.9499999999999997, 2.75, 3.3874999999999997, 5.46875, 7.0, 7.0]),
    (4, "lower", [-1.0, -1.0, -1.0, -1.0, 2.0, 2.0, 3.5, 3.5, 7.0]),
    (4, "higher", [-1.0, 2.0, 2.0, 2.0, 3.5, 3.5, 7.0, 7.0, 7.0]),
    (4, "midpoint", [-1.0, 0.5, 0.5, 0.5, 2.75, 2.75, 5.25, 5.25, 7.0]),
    (4, "nearest", [-1.0, -1.0, 2.0, 2.0, 3.5, 3.5, 3.5, 7.0, 7.0]),
    (5, "inverted_cdf", [-1.0, -1.0, 2.0, 2.0, 2.0, 2.0, 3.5, 7.0, 7.0]),
    (5, "averaged_inverted_cdf", [-1.0, -1.0, 2.0, 2.0, 2.0, 2.75, 3.5, 7.0, 7.0]),
    (5, "closest_observation", [-1.0, -1.0, -1.0, 2.0, 2.0, 2.0, 3.5, 3.5, 7.0]),
    (5, "interpolated_inverted_cdf", [-1.0, -1.0, -0.25, 0.5, 2.0, 2.0, 3.125, 5.25, 7.0]),
    (5, "hazen", [-1.0, -1.0, 1.25, 2.0, 2.0, 2.75, 4.375, 7.0, 7.0]),
    (5, "weibull", [-1.0, -1.0, 0.5, 1.4000000000000001, 2.0, 2.9000000000000004, 5.25, 7.0, 7.0]),
    (5, "linear", [-1.0, 0.20000000000000018, 2.0, 2.0, 2.0, 2.5999999999999996, 3.5, 5.6000000000000005, 7.0]),
    (5, "median_unbiased", [-1.0, -1.0, 1.0000000000000002, 1.8, 2.0, 2.8, 4.666666666666666, 7.0, 7.0]),
    (5, "normal_unbiased", [-1.0, -1.0, 1.0625, 1.8499999999999999, 2.0, 2.7874999999999996, 4.59375, 7.0, 7.0]),
    (5, "lower", [-1.0, -1.0, 2.0, 2.0, 2.0, 2.0, 3.5, 3.5, 7.0]),
    (5, "higher", [-1.0, 2.0, 2.0, 2.0, 2.0, 3.5, 3.5, 7.0, 7.0]),
    (5, "midpoint", [-1.0, 0.5, 2.0, 2.0, 2.0, 2.75, 3.5, 5.25, 7.0]),
    (5, "nearest", [-1.0, -1.0, 2.0, 2.0, 2.0, 2.0, 3.5, 7.0, 7.0]),
    (7, "inverted_cdf", [-1.0, -1.0, 0.25, 2.0, 2.0, 3.5, 7.0, 10.0, 10.0]),
    (7, "averaged_inverted_cdf", [-1.0, -1.0, 0.25, 2.0, 2.0, 3.5, 7.0, 10.0, 10.0]),
    (7, "closest_observation", [-1.0, -1.0, 0.25, 0.25, 2.0, 2.0, 3.5, 7.0, 10.0]),
    (7, "interpolated_inverted_cdf", [-1.0, -1.0, -0.0625, 0.42500000000000016, 2.0, 2.3000000000000003, 4.375, 7.8999999999999995, 10.0]),
    (7, "hazen", [-1.0, -0.7499999999999998, 0.6875, 1.3000000000000003, 2.0, 3.0500000000000003, 6.125, 9.399999999999999, 10.0]),
    (7, "weibull", [-1.0, -1.0, 0.25, 0.9499999999999998, 2.0, 3.1999999999999997, 7.0, 10.0, 10.0]),
    (7, "linear", [-1.0, -0.2499999999999999, 1.125, 1.6499999999999997, 2.0, 2.8999999999999995, 5.25, 8.200000000000001, 10.0]),
    (7, "median_unbiased", [-1.0, -0.9166666666666667, 0.5416666666666664, 1.1833333333333331, 2.0, 3.1, 6.416666666666666, 9.8, 10.0]),
    (7, "normal_unbiased", [-1.0, -0.8749999999999999, 0.578125, 1.2125000000000004, 2.0, 3.087500000000001, 6.34375, 9.7, 10.0]),
    (7, "lower", [-1.0, -1.0, 0.25, 0.25, 2.0, 2.0, 3.5, 7.0, 10.0]),
    (7, "higher", [-1.0, 0.25, 2.0, 2.0, 2.0, 3.5, 7.0, 10.0, 10.0]),
    (7, "midpoint", [-1.0, -0.375, 1.125, 1.125, 2.0, 2.75, 5.25, 8.5, 10.0]),
    (7, "nearest", [-1.0, 0.25, 2.0, 2.0, 2.0, 3.5, 3.5, 7.0, 10.0]),
    (10, "inverted_cdf", [-4.5, -4.5, 0.25, 0.25, 2.0, 2.0, 6.0, 7.0, 10.0]),
    (10, "averaged_inverted_cdf", [-4.5, -2.75, 0.25, 0.625, 2.0, 2.75, 6.0, 8.5, 10.0]),
    (10, "closest_observation", [-4.5, -4.5, -1.0, 0.25, 2.0, 2.0, 6.0, 7.0, 10.0]),
    (10, "interpolated_inverted_cdf", [-4.5, -4.5, -0.375, 0.25, 2.0, 2.0, 4.75, 7.0, 10.0]),
    (10, "hazen", [-4.5, -2.75, 0.25, 0.625, 2.0, 2.75, 6.0, 8.5, 10.0]),
    (10, "weibull", [-4.5, -4.1499999999999995, -0.0625, 0.47499999999999987, 2.0, 2.8999999999999995, 6.25, 9.700000000000001, 10.0]),
    (10, "linear", [-4.5, -1.3499999999999999, 0.4375, 0.7749999999999998, 2.0, 2.599999999999999, 5.375, 7.299999999999999, 10.0]),
    (10, "median_unbiased", [-4.5, -3.216666666666667, 0.14583333333333315, 0.5750000000000002, 2.0, 2.8, 6.083333333333334, 8.899999999999999, 10.0]),
    (10, "normal_unbiased", [-4.5, -3.1000000000000005, 0.171875, 0.5875000000000001, 2.0, 2.7875000000000005, 6.0625, 8.799999999999999, 10.0]),
    (10, "lower", [-4.5, -4.5, 0.25, 0.25, 2.0, 2.0, 3.5, 7.0, 10.0]),
    (10, "higher", [-4.5, -1.0, 1.0, 1.0, 2.0, 3.5, 6.0, 10.0, 10.0]),
    (10, "midpoint", [-4.5, -2.75, 0.625, 0.625, 2.0, 2.75, 4.75, 8.5, 10.0]),
    (10, "nearest", [-4.5, -1.0, 0.25, 1.0, 2.0, 2.0, 6.0, 7.0, 10.0]),
];

#[test]
fn every_method_matches_numpy_on_a_table() {
    for &(n, method, want) in GOLDEN {
        let m: QuantileMethod = method.parse().unwrap();
        let x = tessera::from_array(ndarray::arr1(&BASE[..n]).into_dyn(), [2]).unwrap();
        let got = x.quantile_with(&QS, 0, &QuantileOptions::default().method(m)).unwrap().to_vec().unwrap();
        for (j, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "n={n} {method} q={}: {g} vs NumPy {w}", QS[j]);
        }
        // The same through nanquantile with NaN mixed in.
        let mut with_nan: Vec<f64> = BASE[..n].to_vec();
        with_nan.insert(n / 2, f64::NAN);
        with_nan.push(f64::NAN);
        let x = tessera::from_array(ndarray::Array1::from(with_nan).into_dyn(), [3]).unwrap();
        let got =
            x.nanquantile_with(&QS, 0, &QuantileOptions::default().method(m)).unwrap().to_vec().unwrap();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "nanquantile n={n} {method}: {g} vs {w}");
        }
    }
}

fn case_axis() -> impl Strategy<Value = (ArrayD<f64>, tessera::Chunks, usize)> {
    array_case(true).prop_filter("an axis", |(a, _)| a.ndim() > 0).prop_flat_map(|(a, c)| {
        let nd = a.ndim();
        (Just(a), Just(c), 0..nd)
    })
}

fn method() -> impl Strategy<Value = QuantileMethod> {
    (0usize..13).prop_map(|i| QuantileMethod::ALL[i])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sort_and_argsort_match_numpy((a, c, ax) in case_axis()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let n = a.shape()[ax];
        let s = x.sort(ax as isize).unwrap();
        prop_assert_eq!(s.chunks(), &c);
        let want = ref_lines(&a, ax, n, ref_sort);
        prop_assert!(same_values(&compute_checked(&s), &want));
        let i = x.argsort(ax as isize).unwrap();
        prop_assert_eq!(compute_checked(&i), ref_lines(&a, ax, n, ref_argsort));
    }

    #[test]
    fn quantiles_match_numpy((a, c, ax) in case_axis(), qs in proptest::collection::vec(0.0f64..=1.0, 1..4),
                             m in method(), skip in any::<bool>(), keep in any::<bool>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let opts = QuantileOptions::default().method(m).keepdims(keep);
        let got = if skip { x.nanquantile_with(&qs, ax as isize, &opts) } else { x.quantile_with(&qs, ax as isize, &opts) };
        let got = compute_checked(&got.unwrap());
        let per_q: Vec<ArrayD<f64>> = qs.iter().map(|&q| {
            let r = ref_reduce(&a, &[ax], keep, |v| ref_quantile(v, q, m, skip));
            r.insert_axis(Axis(0))
        }).collect();
        let views: Vec<_> = per_q.iter().map(|r| r.view()).collect();
        let want = ndarray::concatenate(Axis(0), &views).unwrap();
        let bad = got.indexed_iter().find(|(i, g)| { let w = want[i]; !(**g == w || (g.is_nan() && w.is_nan())) });
        prop_assert!(got.shape() == want.shape() && bad.is_none(), "{} {:?} skip={}: at {:?} want {:?}", m, qs, skip, bad, bad.as_ref().map(|(i, _)| want[i]));
    }

    #[test]
    fn topk_matches_stable_argsort((a, c, ax) in case_axis(), k_frac in 0.0f64..=1.0,
                                   largest in any::<bool>(), every in 2usize..5) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let n = a.shape()[ax];
        let k = ((n as f64) * k_frac).round() as usize;
        let opts = TopkOptions { largest, split_every: every };
        let order = |v: &[f64]| {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            // NumPy: argsort(-x, kind="stable") for the largest, argsort(x, kind="stable") else.
            idx.sort_by(|&i, &j| if largest { nan_last(&-v[i], &-v[j]) } else { nan_last(&v[i], &v[j]) });
            idx.truncate(k);
            idx
        };
        let vals = compute_checked(&x.topk_with(k, ax as isize, &opts).unwrap());
        let idx = compute_checked(&x.argtopk_with(k, ax as isize, &opts).unwrap());
        prop_assert!(same_values(&vals, &ref_lines(&a, ax, k, |v| order(v).into_iter().map(|i| v[i]).collect())));
        prop_assert_eq!(idx, ref_lines(&a, ax, k, |v| order(v).into_iter().map(|i| i as i64).collect()));
    }
}

#[test]
fn integers_and_f32_keep_numpys_result_types() {
    let a = ndarray::arr2(&[[5i64, 1, 4], [2, 2, 9]]).into_dyn();
    let x = tessera::from_array(a, [1, 2]).unwrap();
    assert_eq!(x.sort(1).unwrap().to_vec().unwrap(), vec![1, 4, 5, 2, 2, 9]);
    assert_eq!(x.argsort(0).unwrap().to_vec().unwrap(), vec![1, 0, 0, 0, 1, 1]);
    let m: tessera::Array<f64> = x.median(1).unwrap();
    assert_eq!(m.to_vec().unwrap(), vec![4.0, 2.0]);
    let f = tessera::from_array(ndarray::arr1(&[1.0f32, 2.0, 4.0]).into_dyn(), [2]).unwrap();
    let p: tessera::Array<f32> = f.percentile(25.0, 0).unwrap();
    assert_eq!(p.to_vec().unwrap(), vec![1.5f32]);
}

#[test]
fn empty_axes_and_edges() {
    // An empty axis: sorts are empty, quantiles NaN (NumPy raises; nanquantile gives NaN).
    let e = tessera::zeros::<f64>(&[3, 0], tessera::ChunkSpec::Auto).unwrap();
    assert_eq!(e.sort(1).unwrap().compute().unwrap().shape(), &[3, 0]);
    let q = e.quantile(0.5, 1).unwrap().to_vec().unwrap();
    assert!(q.len() == 3 && q.iter().all(|v| v.is_nan()));
    assert_eq!(e.topk(0, 1).unwrap().compute().unwrap().shape(), &[3, 0]);
    // Infinities are order statistics, not NaN (NumPy's lerp gives inf − inf = NaN).
    let inf =
        tessera::from_array(ndarray::arr1(&[1.0, f64::INFINITY, f64::NEG_INFINITY]).into_dyn(), [1]).unwrap();
    assert_eq!(inf.quantile(1.0, 0).unwrap().to_vec().unwrap(), vec![f64::INFINITY]);
    assert_eq!(inf.quantile(0.0, 0).unwrap().to_vec().unwrap(), vec![f64::NEG_INFINITY]);
    assert_eq!(inf.quantile(0.75, 0).unwrap().to_vec().unwrap(), vec![f64::INFINITY]);
}

#[test]
fn bad_arguments_are_errors() {
    let x = tessera::ones::<f64>(&[4, 5], [2, 2]).unwrap();
    assert!(x.sort(2).is_err());
    assert!(x.quantile(1.5, 0).unwrap_err().to_string().contains("[0, 1]"));
    assert!(x.nanpercentile(-1.0, 0).is_err());
    assert!(x.topk(6, 1).unwrap_err().to_string().contains("k = 6"));
    assert!("mean".parse::<QuantileMethod>().unwrap_err().to_string().contains("unknown quantile method"));
    // A line too long for one task is selected by counting, not refused (tests/order_long).
    let long = tessera::zeros::<f64>(&[1 << 27], [1 << 20]).unwrap();
    assert!(long.median(0).unwrap().plan().tasks.iter().any(|t| t.kernel_name() == "select-count"));
    // A top-k needs no whole line.
    assert_eq!(long.topk(2, 0).unwrap().shape(), &[2]);
}

#[test]
fn lines_longer_than_a_block_are_cut_across() {
    // 3-D, the sorted axis spanning irregular blocks: the result keeps the input's chunks.
    let a = ndarray::Array::from_shape_fn((37, 23, 11), |(i, j, k)| {
        ((i * 7919 + j * 104_729 + k * 13) % 101) as f64
    });
    let c = tessera::Chunks::new(vec![vec![5, 1, 20, 11], vec![23], vec![4, 4, 3]]).unwrap();
    let x = tessera::from_array(a.clone().into_dyn(), c.clone()).unwrap();
    for ax in 0..3 {
        let s = x.sort(ax as isize).unwrap();
        assert_eq!(s.chunks(), &c);
        let n = a.shape()[ax];
        let want = ref_lines(&a.clone().into_dyn(), ax, n, ref_sort);
        assert_eq!(s.compute().unwrap(), want);
        let m = x.nanmedian(ax as isize).unwrap().compute().unwrap();
        assert_eq!(
            m,
            ref_reduce(&a.clone().into_dyn(), &[ax], false, |v| ref_quantile(
                v,
                0.5,
                QuantileMethod::Linear,
                true
            ))
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Groupby quantiles with pooled windows against pooling by hand (Hobday's threshold).
    #[test]
    fn groupby_quantile_pools_windows((a, c, ax) in case_axis(), ngroups in 1i64..5, window in 0usize..4,
                                      q in 0.0f64..=1.0, m in method(), skip in any::<bool>(), seed in 0u64..1000) {
        let n = a.shape()[ax];
        let labels: Vec<i64> = (0..n as u64).map(|i| ((i * 7 + seed) % (ngroups as u64 + 1)) as i64 - 1).collect();
        let x = tessera::from_array(a.clone(), c).unwrap();
        let opts = tessera::GroupQuantileOptions { window, method: m, skip_nan: skip };
        let g = x.groupby_quantile(ax as isize, &labels, q, &opts).unwrap();
        let mut groups: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
        groups.sort_unstable();
        groups.dedup();
        prop_assert_eq!(&g.groups, &groups);
        let got = compute_checked(&g.array);
        let want = ref_lines(&a, ax, groups.len(), |v| {
            groups.iter().map(|&gl| {
                let mut pos: Vec<usize> = Vec::new();
                for (t, &l) in labels.iter().enumerate() {
                    if l == gl {
                        pos.extend(t.saturating_sub(window)..=(t + window).min(n - 1));
                    }
                }
                pos.sort_unstable();
                pos.dedup();
                let pooled: Vec<f64> = pos.into_iter().map(|p| v[p]).collect();
                ref_quantile(&pooled, q, m, skip)
            }).collect()
        });
        prop_assert!(same_values(&got, &want));
    }
}

#[test]
fn groupby_quantile_checks_its_arguments() {
    let x = tessera::ones::<f64>(&[6, 2], [4, 1]).unwrap();
    let o = tessera::GroupQuantileOptions::default();
    assert!(x.groupby_quantile(0, &[0, 1, 0], 0.5, &o).is_err());
    assert!(x.groupby_quantile(0, &[0; 6], 1.5, &o).unwrap_err().to_string().contains("[0, 1]"));
    assert!(x.groupby_quantile(2, &[0; 6], 0.5, &o).is_err());
    // No labelled position: no group.
    assert_eq!(x.groupby_quantile(0, &[-1; 6], 0.5, &o).unwrap().array.shape(), &[0, 2]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The radix sort's keys for f32 and i64 (NaN, ±0, ±inf, negative integers, ties).
    #[test]
    fn sort_f32_and_i64((a, c, ax) in case_axis()) {
        let n = a.shape()[ax];
        let f = a.mapv(|v| v as f32);
        let x = tessera::from_array(f.clone(), c.clone()).unwrap();
        let want = ref_lines(&f.mapv(f64::from), ax, n, ref_sort);
        prop_assert!(same_values(&compute_checked(&x.sort(ax as isize).unwrap()).mapv(f64::from), &want));
        prop_assert_eq!(compute_checked(&x.argsort(ax as isize).unwrap()), ref_lines(&f.mapv(f64::from), ax, n, ref_argsort));
        let i = a.mapv(|v| if v.is_finite() { v.round() as i64 * 1_000_000_007 } else { i64::MIN / 2 });
        let x = tessera::from_array(i.clone(), c).unwrap();
        let as_f = i.mapv(|v| v as f64);
        let want = ref_lines(&as_f, ax, n, ref_sort);
        prop_assert_eq!(compute_checked(&x.sort(ax as isize).unwrap()).mapv(|v| v as f64), want);
        prop_assert_eq!(compute_checked(&x.argsort(ax as isize).unwrap()), ref_lines(&as_f, ax, n, ref_argsort));
    }
}
