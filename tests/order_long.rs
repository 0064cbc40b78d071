//! Order statistics of lines too long for one task (quantiles by radix selection, sorts on
//! exact splitters), forced on small arrays by tiny [`LineLimits`]: bit for bit what the
//! whole-line path gives, and NumPy's semantics by the eager references, over irregular
//! chunks along the axis (one-element blocks, empty axes), NaN, ±inf, ±0.0 and ties.

mod common;

use common::order_ref::*;
use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::{Chunks, LineLimits, QuantileMethod, QuantileOptions, SortOptions};

/// Every line is too long; `select_bytes` as given (tiny: narrow digits, many passes, small
/// buckets gathered or none).
fn long(select_bytes: usize) -> LineLimits {
    LineLimits { line_bytes: 0, select_bytes }
}

/// Values with many ties (small integers), NaN, ±inf and ±0.0.
fn tied_values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    let v = prop_oneof![
        4 => (-4i32..5).prop_map(f64::from),
        4 => -100.0f64..100.0,
        1 => Just(f64::NAN),
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(0.0), Just(-0.0)],
    ];
    proptest::collection::vec(v, n)
}

/// 1 to 3 axes, at most 300 values, irregular chunks; an axis.
fn case() -> impl Strategy<Value = (ArrayD<f64>, Chunks, usize)> {
    (1usize..=3)
        .prop_flat_map(|nd| proptest::collection::vec(0usize..=24, nd))
        .prop_map(|mut s| {
            while s.iter().product::<usize>() > 300 {
                let (i, _) = s.iter().enumerate().max_by_key(|(_, n)| **n).unwrap();
                s[i] = s[i] * 2 / 3;
            }
            s
        })
        .prop_flat_map(|s| {
            let n: usize = s.iter().product();
            let nd = s.len();
            (tied_values(n), chunks_for(s.clone()), 0..nd)
                .prop_map(move |(v, c, ax)| (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c, ax))
        })
}

/// Selection memory: tiny (4-bit digits, nothing or little gathered, one line per block)
/// up to roomy (whole buckets gathered after one pass, several lines per block).
fn select_bytes() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..600, 600usize..20_000, 20_000usize..2_000_000]
}

fn method() -> impl Strategy<Value = QuantileMethod> {
    (0usize..13).prop_map(|i| QuantileMethod::ALL[i])
}

/// The plan selects by counting: it has counting tasks and no whole-line kernel.
fn counts<T: tessera::Element>(x: &tessera::Array<T>) -> bool {
    let g = x.plan();
    g.tasks.iter().any(|t| t.kernel_name() == "select-count")
        && !g.tasks.iter().any(|t| ["quantile", "sort", "argsort"].contains(&t.kernel_name()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn quantiles_by_counting_equal_whole_lines((a, c, ax) in case(), qs in proptest::collection::vec(0.0f64..=1.0, 1..4),
                                               m in method(), skip in any::<bool>(), keep in any::<bool>(),
                                               bytes in select_bytes()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let whole = QuantileOptions::default().method(m).keepdims(keep);
        let by_counting = whole.limits(long(bytes));
        let run = |o: &QuantileOptions| if skip { x.nanquantile_with(&qs, ax as isize, o) } else { x.quantile_with(&qs, ax as isize, o) };
        let got = run(&by_counting).unwrap();
        prop_assert!(counts(&got));
        let got = compute_checked(&got);
        prop_assert!(same_f64(&got, &compute_checked(&run(&whole).unwrap())), "{} {:?} skip={}", m, qs, skip);
        let per_q: Vec<ArrayD<f64>> = qs.iter().map(|&q| {
            ref_reduce(&a, &[ax], keep, |v| ref_quantile(v, q, m, skip)).insert_axis(Axis(0))
        }).collect();
        let views: Vec<_> = per_q.iter().map(|r| r.view()).collect();
        prop_assert!(same_values(&got, &ndarray::concatenate(Axis(0), &views).unwrap()));
    }

    /// f32 and i64: the keys of other types, bit for bit the whole-line path.
    #[test]
    fn f32_and_i64_quantiles_by_counting((a, c, ax) in case(), q in 0.0f64..=1.0, m in method(),
                                         skip in any::<bool>(), bytes in select_bytes()) {
        let whole = QuantileOptions::default().method(m);
        let by_counting = whole.limits(long(bytes));
        let f = tessera::from_array(a.mapv(|v| v as f32), c.clone()).unwrap();
        let i = tessera::from_array(a.mapv(|v| if v.is_finite() { (v * 1e6).round() as i64 } else { i64::MIN + 1 }), c).unwrap();
        let ax = ax as isize;
        let (gf, wf) = if skip {
            (f.nanquantile_with(&[q], ax, &by_counting), f.nanquantile_with(&[q], ax, &whole))
        } else {
            (f.quantile_with(&[q], ax, &by_counting), f.quantile_with(&[q], ax, &whole))
        };
        let bits = |x: &ArrayD<f32>| x.mapv(|v| if v.is_nan() { u32::MAX } else { v.to_bits() });
        prop_assert_eq!(bits(&compute_checked(&gf.unwrap())), bits(&compute_checked(&wf.unwrap())));
        let gi = compute_checked(&i.quantile_with(&[q], ax, &by_counting).unwrap());
        prop_assert!(same_f64(&gi, &compute_checked(&i.quantile_with(&[q], ax, &whole).unwrap())));
    }

    #[test]
    fn sorts_on_splitters_equal_whole_lines((a, c, ax) in case(), bytes in select_bytes()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let n = a.shape()[ax];
        let opts = SortOptions { limits: long(bytes) };
        let s = x.sort_with(ax as isize, &opts).unwrap();
        let i = x.argsort_with(ax as isize, &opts).unwrap();
        prop_assert_eq!(s.chunks(), &c);
        prop_assert_eq!(i.chunks(), &c);
        if n > 1 && !a.is_empty() {
            prop_assert!(counts(&s) && counts(&i));
        }
        // Bit for bit (−0.0 and 0.0 kept in index order, as the stable whole-line sort).
        let got = compute_checked(&s);
        prop_assert!(same_f64(&got, &compute_checked(&x.sort(ax as isize).unwrap())));
        prop_assert!(same_values(&got, &ref_lines(&a, ax, n, ref_sort)));
        prop_assert_eq!(compute_checked(&i), ref_lines(&a, ax, n, ref_argsort));
    }

    #[test]
    fn f32_and_i64_sorts_on_splitters((a, c, ax) in case(), bytes in select_bytes()) {
        let n = a.shape()[ax];
        let opts = SortOptions { limits: long(bytes) };
        let f = a.mapv(|v| v as f32);
        let x = tessera::from_array(f.clone(), c.clone()).unwrap();
        let bits = |x: &ArrayD<f32>| x.mapv(|v| if v.is_nan() { u32::MAX } else { v.to_bits() });
        let got = compute_checked(&x.sort_with(ax as isize, &opts).unwrap());
        prop_assert_eq!(bits(&got), bits(&compute_checked(&x.sort(ax as isize).unwrap())));
        prop_assert_eq!(compute_checked(&x.argsort_with(ax as isize, &opts).unwrap()), ref_lines(&f.mapv(f64::from), ax, n, ref_argsort));
        let iv = a.mapv(|v| if v.is_finite() { v.round() as i64 * 1_000_000_007 } else { i64::MIN / 2 });
        let x = tessera::from_array(iv.clone(), c).unwrap();
        let as_f = iv.mapv(|v| v as f64);
        prop_assert_eq!(compute_checked(&x.sort_with(ax as isize, &opts).unwrap()).mapv(|v| v as f64), ref_lines(&as_f, ax, n, ref_sort));
        prop_assert_eq!(compute_checked(&x.argsort_with(ax as isize, &opts).unwrap()), ref_lines(&as_f, ax, n, ref_argsort));
    }
}

#[test]
fn heavy_ties_split_by_position() {
    // 1,000 equal keys (0.0 and −0.0) and a few others, in blocks of 7: every splitter falls
    // among the ties, so runs are cut by position and the sort stays stable.
    let v: Vec<f64> = (0..1000)
        .map(|i| {
            if i % 97 == 5 {
                1.5
            } else if i % 2 == 0 {
                0.0
            } else {
                -0.0
            }
        })
        .collect();
    let a = ndarray::Array1::from(v.clone()).into_dyn();
    let x = tessera::from_array(a.clone(), [7]).unwrap();
    for bytes in [0, 5000, 1 << 20] {
        let opts = SortOptions { limits: long(bytes) };
        let i = x.argsort_with(0, &opts).unwrap();
        assert!(counts(&i));
        assert_eq!(i.to_vec().unwrap(), ref_argsort(&v));
        let s = x.sort_with(0, &opts).unwrap().to_vec().unwrap();
        let whole = x.sort(0).unwrap().to_vec().unwrap();
        assert!(s.iter().zip(&whole).all(|(p, q)| p.to_bits() == q.to_bits()));
        let m = x.quantile_with(&[0.5, 0.995], 0, &QuantileOptions::default().limits(long(bytes))).unwrap();
        assert_eq!(m.to_vec().unwrap(), vec![0.0, 1.5]);
    }
}

#[test]
fn a_line_past_the_limit_is_never_gathered() {
    // 4,096 values in blocks of 256, limit 1 KiB per line: no task holds the line.
    let a = ndarray::Array1::from_shape_fn(4096, |i| ((i * 7919) % 4099) as f64).into_dyn();
    let x = tessera::from_array(a.clone(), [256]).unwrap();
    let limits = LineLimits { line_bytes: 1024, select_bytes: 1 << 12 };
    let m = x.quantile_with(&[0.5], 0, &QuantileOptions::default().limits(limits)).unwrap();
    let s = x.sort_with(0, &SortOptions { limits }).unwrap();
    for g in [m.plan(), s.plan()] {
        let most = g.tasks.iter().map(|t| t.out_bytes + t.scratch_bytes).max().unwrap();
        assert!(most < 4096 * 8, "a task of {most} bytes");
    }
    assert_eq!(
        m.to_vec().unwrap(),
        vec![ref_quantile(a.as_slice().unwrap(), 0.5, QuantileMethod::Linear, false)]
    );
    assert_eq!(s.to_vec().unwrap(), ref_sort(a.as_slice().unwrap()));
    // The default limit switches at MAX_LINE_BYTES.
    let under = tessera::zeros::<f64>(&[tessera::array::MAX_LINE_BYTES / 8], [1 << 20]).unwrap();
    assert!(!counts(&under.median(0).unwrap()));
    let over = tessera::zeros::<f64>(&[tessera::array::MAX_LINE_BYTES / 8 + 1], [1 << 20]).unwrap();
    assert!(counts(&over.median(0).unwrap()));
}

#[test]
fn empty_axes_and_nan_lines_by_counting() {
    let q = QuantileOptions::default().limits(long(0));
    let e = tessera::zeros::<f64>(&[3, 0], [2, 1]).unwrap();
    let m = e.quantile_with(&[0.5], 1, &q).unwrap().to_vec().unwrap();
    assert!(m.len() == 3 && m.iter().all(|v| v.is_nan()));
    assert_eq!(e.sort_with(1, &SortOptions { limits: long(0) }).unwrap().compute().unwrap().shape(), &[3, 0]);
    let x = tessera::from_array(ndarray::arr1(&[f64::NAN, 2.0, f64::NAN, 1.0]).into_dyn(), [1]).unwrap();
    assert!(x.quantile_with(&[0.5], 0, &q).unwrap().to_vec().unwrap()[0].is_nan());
    assert_eq!(x.nanquantile_with(&[0.5], 0, &q).unwrap().to_vec().unwrap(), vec![1.5]);
    let all_nan = tessera::from_array(ndarray::arr1(&[f64::NAN; 3]).into_dyn(), [2]).unwrap();
    assert!(all_nan.nanquantile_with(&[0.5], 0, &q).unwrap().to_vec().unwrap()[0].is_nan());
}

#[test]
fn many_quantiles_by_counting() {
    // 101 percentiles of 10,000 tied values in irregular blocks: many buckets per line (found
    // by binary search), default and tiny selection memory, every method.
    let a = ndarray::Array1::from_shape_fn(10_000, |i| ((i * 7919) % 613) as f64 / 4.0 - 50.0).into_dyn();
    let mut chunks = vec![1, 2, 997];
    chunks.extend(std::iter::repeat_n(1000, 9));
    let x = tessera::from_array(a.clone(), Chunks::new(vec![chunks]).unwrap()).unwrap();
    let qs: Vec<f64> = (0..=100).map(|p| p as f64 / 100.0).collect();
    for m in QuantileMethod::ALL {
        for bytes in [tessera::array::SELECT_BYTES, 3000] {
            let whole = QuantileOptions::default().method(m);
            let got = x.quantile_with(&qs, 0, &whole.limits(long(bytes))).unwrap();
            assert!(counts(&got));
            let got = got.compute().unwrap();
            assert!(same_f64(&got, &x.quantile_with(&qs, 0, &whole).unwrap().compute().unwrap()), "{m}");
            let v = a.as_slice().unwrap();
            assert!(got.iter().zip(&qs).all(|(g, &q)| *g == ref_quantile(v, q, m, false)), "{m}");
        }
    }
}
