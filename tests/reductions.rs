//! Reductions against eager references over random shapes, chunkings, axes and keepdims.

mod common;

use common::*;
use ndarray::ArrayD;
use proptest::prelude::*;
use tessera::{Axes, ReduceKind, ReduceOptions};

fn case() -> impl Strategy<Value = (ArrayD<f64>, tessera::Chunks, Vec<usize>, bool, usize)> {
    array_case(true).prop_flat_map(|(a, c)| {
        let nd = a.ndim();
        (Just(a), Just(c), axes_subset(nd), any::<bool>(), 2usize..6)
    })
}

fn naive_sum(v: &[f64]) -> f64 {
    v.iter().sum()
}
fn mean(v: &[f64]) -> f64 {
    naive_sum(v) / v.len() as f64
}
fn var(v: &[f64], ddof: f64) -> f64 {
    let m = mean(v);
    let s: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    if v.len() as f64 - ddof <= 0.0 { f64::NAN } else { s / (v.len() as f64 - ddof) }
}
fn nonnan(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| !x.is_nan()).collect()
}
fn fold_nan(v: &[f64], max: bool) -> f64 {
    let mut it = v.iter().copied();
    let Some(first) = it.next() else { return f64::NAN };
    it.fold(first, |a, b| {
        if a.is_nan() || b.is_nan() {
            f64::NAN
        } else if max {
            a.max(b)
        } else {
            a.min(b)
        }
    })
}
fn arg(v: &[f64], max: bool) -> i64 {
    if let Some(i) = v.iter().position(|x| x.is_nan()) {
        return i as i64;
    }
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if (max && x > v[best]) || (!max && x < v[best]) {
            best = i;
        }
    }
    best as i64
}

/// NumPy's nanargmax / nanargmin of one slice as documented: the index of the first maximum
/// (minimum) of the non-NaN values; `None` for an all-NaN slice (NumPy raises ValueError
/// "All-NaN slice encountered").
fn nan_arg(v: &[f64], max: bool) -> Option<i64> {
    let mut best: Option<usize> = None;
    for (i, &x) in v.iter().enumerate() {
        if x.is_nan() {
            continue;
        }
        match best {
            Some(b) if !((max && x > v[b]) || (!max && x < v[b])) => {}
            _ => best = Some(i),
        }
    }
    best.map(|b| b as i64)
}

/// `reduce(ArgMax|ArgMin, skip_nan = true)` of `x` over `axis` (flat over all axes with
/// `None`) against [`nan_arg`] of its values `a`: the same indices, or an error naming the
/// all-NaN slice when the reference meets one.
fn check_nan_arg<T: tessera::Element>(
    x: &tessera::Array<T>,
    a: &ArrayD<f64>,
    axis: Option<usize>,
    max: bool,
) {
    let kind = if max { ReduceKind::ArgMax } else { ReduceKind::ArgMin };
    let axes = axis.map_or(Axes::All, Axes::from);
    let y = x.reduce::<i64>(tessera::Reduction::nan(kind), axes, &ReduceOptions::default()).unwrap();
    let want = match axis {
        None => ArrayD::from_elem(ndarray::IxDyn(&[]), nan_arg(&a.iter().copied().collect::<Vec<_>>(), max)),
        Some(d) => ref_reduce(a, &[d], false, |v| nan_arg(v, max)),
    };
    let what = format!("{kind:?} skip_nan axis {axis:?} of {T:?} shape {:?}", a.shape(), T = T::DTYPE);
    if want.iter().any(Option::is_none) {
        let e = y.compute().expect_err(&what).to_string();
        assert!(e.contains("All-NaN slice"), "{what}: {e}");
    } else {
        assert_eq!(compute_checked(&y), want.mapv(Option::unwrap), "{what}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn float_reductions((a, c, axes, keep, every) in case()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let ax = Axes::List(axes.iter().map(|&v| v as isize).collect());
        let o = ReduceOptions::default().keepdims(keep).split_every(every);
        let r = |f: fn(&[f64]) -> f64| ref_reduce(&a, &axes, keep, f);
        let tol = 1e-9;
        prop_assert!(close_f64(&compute_checked(&x.sum_with(ax.clone(), &o).unwrap()), &r(naive_sum), tol));
        prop_assert!(close_f64(&compute_checked(&x.mean_with(ax.clone(), &o).unwrap()), &r(mean), tol));
        prop_assert!(close_f64(&compute_checked(&x.prod_with(ax.clone(), &o).unwrap()), &r(|v| v.iter().product()), tol));
        prop_assert!(close_f64(&compute_checked(&x.var_with(ax.clone(), &o.clone().ddof(1.0)).unwrap()), &r(|v| var(v, 1.0)), 1e-7));
        prop_assert!(close_f64(&compute_checked(&x.std_with(ax.clone(), &o).unwrap()), &r(|v| var(v, 0.0).sqrt()), 1e-7));
        let empty = axes.iter().any(|&d| a.shape()[d] == 0);
        let out_empty = a.shape().iter().enumerate().any(|(d, &n)| n == 0 && !axes.contains(&d));
        if !empty || out_empty {
            prop_assert!(same_f64(&compute_checked(&x.min_with(ax.clone(), &o).unwrap()), &r(|v| fold_nan(v, false))));
            prop_assert!(same_f64(&compute_checked(&x.max_with(ax.clone(), &o).unwrap()), &r(|v| fold_nan(v, true))));
        } else {
            prop_assert!(x.min(ax.clone()).is_err());
        }
        // NaN-skipping variants.
        let n = |f: fn(&[f64]) -> f64| ref_reduce(&a, &axes, false, move |v: &[f64]| f(&nonnan(v)));
        prop_assert!(close_f64(&compute_checked(&x.nansum(ax.clone()).unwrap()), &n(naive_sum), tol));
        prop_assert!(close_f64(&compute_checked(&x.nanmean(ax.clone()).unwrap()), &n(mean), tol));
        prop_assert!(close_f64(&compute_checked(&x.nanvar(ax.clone(), 0.0).unwrap()), &n(|v| var(v, 0.0)), 1e-7));
        prop_assert!(close_f64(&compute_checked(&x.nanstd(ax.clone(), 0.0).unwrap()), &n(|v| var(v, 0.0).sqrt()), 1e-7));
        if !empty || out_empty {
            prop_assert!(same_f64(&compute_checked(&x.nanmin(ax.clone()).unwrap()), &n(|v| fold_nan(v, false))));
            prop_assert!(same_f64(&compute_checked(&x.nanmax(ax.clone()).unwrap()), &n(|v| fold_nan(v, true))));
        } else {
            prop_assert!(x.nanmax(ax.clone()).is_err());
        }
        // Boolean reductions.
        let b = x.gt(0.0).unwrap();
        prop_assert_eq!(compute_checked(&b.any(ax.clone()).unwrap()), ref_reduce(&a, &axes, false, |v| v.iter().any(|&x| x > 0.0)));
        prop_assert_eq!(compute_checked(&b.all(ax.clone()).unwrap()), ref_reduce(&a, &axes, false, |v| v.iter().all(|&x| x > 0.0)));
        prop_assert_eq!(compute_checked(&x.count_nonzero(ax.clone()).unwrap()), ref_reduce(&a, &axes, false, |v| v.iter().filter(|&&x| x != 0.0).count() as i64));
        prop_assert_eq!(compute_checked(&x.count(ax.clone()).unwrap()), ref_reduce(&a, &axes, false, |v| v.iter().filter(|x| !x.is_nan()).count() as i64));
        prop_assert_eq!(compute_checked(&b.count(ax.clone()).unwrap()), ref_reduce(&a, &axes, false, |v| v.len() as i64));
    }

    #[test]
    fn integer_sums_are_exact((a, c, axes, keep, every) in case()) {
        let ai = a.mapv(|v| if v.is_finite() { (v * 1e6) as i32 } else { 7 });
        let x = tessera::from_array(ai.clone(), c).unwrap();
        let ax = Axes::List(axes.iter().map(|&v| v as isize).collect());
        let o = ReduceOptions::default().keepdims(keep).split_every(every);
        let got = compute_checked(&x.sum_with(ax.clone(), &o).unwrap());
        prop_assert_eq!(got, ref_reduce(&ai, &axes, keep, |v| v.iter().map(|&x| x as i64).sum::<i64>()));
        let got = compute_checked(&x.mean(ax).unwrap());
        prop_assert!(close_f64(&got, &ref_reduce(&ai, &axes, false, |v| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64), 1e-12));
    }

    #[test]
    fn arg_reductions((a, c) in array_case(true), which in any::<prop::sample::Index>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        if a.is_empty() {
            prop_assert!(x.argmin(None).is_err() || a.ndim() == 0);
            return Ok(());
        }
        // Flat index over all axes.
        let flat: Vec<f64> = a.iter().copied().collect();
        prop_assert_eq!(x.argmin(None).unwrap().item().unwrap(), arg(&flat, false));
        prop_assert_eq!(x.argmax(None).unwrap().item().unwrap(), arg(&flat, true));
        if a.ndim() > 0 {
            let axis = which.index(a.ndim());
            let got = compute_checked(&x.argmax(Some(axis as isize)).unwrap());
            prop_assert_eq!(got, ref_reduce(&a, &[axis], false, |v| arg(v, true)));
            let got = compute_checked(&x.argmin(Some(axis as isize - a.ndim() as isize)).unwrap());
            prop_assert_eq!(got, ref_reduce(&a, &[axis], false, |v| arg(v, false)));
        }
    }

    #[test]
    fn nan_arg_reductions((a, c) in array_case(true), which in any::<prop::sample::Index>()) {
        // f64, and the same values rounded to f32 (whose ties the reference sees too).
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let a32 = a.mapv(|v| v as f32);
        let x32 = tessera::from_array(a32.clone(), c).unwrap();
        let a32 = a32.mapv(f64::from);
        if a.is_empty() {
            prop_assert!(x.reduce::<i64>(tessera::Reduction::nan(ReduceKind::ArgMax), Axes::All, &ReduceOptions::default()).is_err());
            return Ok(());
        }
        let axis = (a.ndim() > 0).then(|| which.index(a.ndim()));
        for max in [true, false] {
            for ax in [None, axis] {
                check_nan_arg(&x, &a, ax, max);
                check_nan_arg(&x32, &a32, ax, max);
            }
        }
    }

    #[test]
    fn scans((a, c) in array_case(false), which in any::<prop::sample::Index>()) {
        prop_assume!(a.ndim() > 0);
        let axis = which.index(a.ndim());
        let x = tessera::from_array(a.clone(), c).unwrap();
        let mut want = a.clone();
        want.accumulate_axis_inplace(ndarray::Axis(axis), |&p, c| *c += p);
        prop_assert!(close_f64(&compute_checked(&x.cumsum(axis as isize).unwrap()), &want, 1e-9));
        let small = a.mapv(|v| 1.0 + v / 1000.0);
        let y = tessera::from_array(small.clone(), x.chunks().clone()).unwrap();
        let mut want = small.clone();
        want.accumulate_axis_inplace(ndarray::Axis(axis), |&p, c| *c *= p);
        prop_assert!(close_f64(&compute_checked(&y.cumprod(axis as isize).unwrap()), &want, 1e-9));
    }
}

#[test]
fn f32_mean_is_accurate_over_ten_million() {
    // A naive f32 running sum of 1e7 values of 0.1 is off by ~1e-1 relative; we accumulate in
    // f64 and combine in a tree.
    let x = tessera::full::<f32>(&[10_000_000], 0.1, [1_000_000]).unwrap();
    let m = x.mean(Axes::All).unwrap().item().unwrap();
    assert!(((m as f64) - 0.1f32 as f64).abs() < 1e-7, "mean {m}");
    let naive = (0..10_000_000).fold(0.0f32, |s, _| s + 0.1) / 1e7;
    assert!((naive as f64 - 0.1).abs() > 1e-3, "the naive f32 sum really is inaccurate: {naive}");
}

#[test]
fn nan_arg_reductions_skip_nan_in_other_blocks_and_fail_on_all_nan_slices() {
    let nan = f64::NAN;
    // NaN in the first block; the maximum 9 three times (the first counts) and the minimum
    // -2 in later blocks of irregular chunks.
    let v = [1.0, nan, 3.0, 7.0, nan, 9.0, -2.0, 9.0, 9.0, nan];
    let a = ArrayD::from_shape_vec(ndarray::IxDyn(&[10]), v.to_vec()).unwrap();
    let chunks = tessera::Chunks::new(vec![vec![3, 1, 4, 2]]).unwrap();
    let x = tessera::from_array(a.clone(), chunks.clone()).unwrap();
    let x32 = tessera::from_array(a.mapv(|v| v as f32), chunks).unwrap();
    let opts = ReduceOptions::default();
    for (kind, want) in [(ReduceKind::ArgMax, 5), (ReduceKind::ArgMin, 6)] {
        assert_eq!(
            x.reduce::<i64>(tessera::Reduction::nan(kind), Axes::All, &opts).unwrap().item().unwrap(),
            want
        );
        assert_eq!(
            x32.reduce::<i64>(tessera::Reduction::nan(kind), Axes::All, &opts).unwrap().item().unwrap(),
            want
        );
        assert_eq!(
            x.reduce::<i64>(tessera::Reduction::nan(kind), 0, &opts).unwrap().to_vec().unwrap(),
            vec![want]
        );
        // Without skip_nan the first NaN wins, as in NumPy's argmax / argmin.
        assert_eq!(x.reduce::<i64>(kind, Axes::All, &opts).unwrap().item().unwrap(), 1);
    }
    assert_eq!(x.argmax(None).unwrap().item().unwrap(), 1);
    assert_eq!(x.nanargmax(None).unwrap().item().unwrap(), 5);
    assert_eq!(x32.nanargmin(Some(0)).unwrap().to_vec().unwrap(), vec![6]);

    // 2-d, irregular chunks both ways: row 0 starts with NaN, the maximum of column 2 sits two
    // blocks below its NaN, ties in row 3, and column 3 is all NaN.
    #[rustfmt::skip]
    let m = vec![
        nan, 4.0, nan, nan, 0.5,
        2.0, nan, 1.0, nan, 0.5,
        2.0, 8.0, nan, nan, nan,
        5.0, 5.0, 6.0, nan, 6.0,
        nan, 8.0, 6.5, nan, -1.0,
    ];
    let a = ArrayD::from_shape_vec(ndarray::IxDyn(&[5, 5]), m).unwrap();
    let chunks = tessera::Chunks::new(vec![vec![2, 1, 2], vec![1, 3, 1]]).unwrap();
    let x = tessera::from_array(a.clone(), chunks.clone()).unwrap();
    let x32 = tessera::from_array(a.mapv(|v| v as f32), chunks).unwrap();
    for max in [true, false] {
        for axis in [None, Some(0), Some(1)] {
            check_nan_arg(&x, &a, axis, max);
            check_nan_arg(&x32, &a, axis, max);
        }
    }
    let row = |x: &tessera::Array<f64>, kind| {
        x.reduce::<i64>(tessera::Reduction::nan(kind), 1, &opts).unwrap().to_vec().unwrap()
    };
    assert_eq!(row(&x, ReduceKind::ArgMax), vec![1, 0, 1, 2, 1]);
    assert_eq!(row(&x, ReduceKind::ArgMin), vec![4, 4, 0, 0, 4]);
    assert_eq!(
        x.reduce::<i64>(tessera::Reduction::nan(ReduceKind::ArgMax), Axes::All, &opts)
            .unwrap()
            .item()
            .unwrap(),
        11
    );
    // Column 3 is all NaN: an error that says so, per axis 0; NumPy raises ValueError.
    let e = x
        .reduce::<i64>(tessera::Reduction::nan(ReduceKind::ArgMax), 0, &opts)
        .unwrap()
        .compute()
        .unwrap_err();
    assert!(e.to_string().contains("All-NaN slice"), "{e}");
    // An all-NaN array, flat.
    let all = tessera::full::<f32>(&[4, 6], f32::NAN, [3, 4]).unwrap();
    let e = all
        .reduce::<i64>(tessera::Reduction::nan(ReduceKind::ArgMin), Axes::All, &opts)
        .unwrap()
        .compute()
        .unwrap_err();
    assert!(e.to_string().contains("All-NaN slice"), "{e}");
    assert_eq!(all.argmin(None).unwrap().item().unwrap(), 0);
}

#[test]
fn reductions_are_bit_identical_across_threads_and_split_every() {
    let x = tessera::random::normal::<f32>(3, &[301, 207], [37, 41], 1.0, 5.0).unwrap();
    let mut seen = None;
    for workers in [1, 2, 3, 5] {
        let opts = tessera::ComputeOptions::default().workers(workers);
        let v = x.var(0, 1.0).unwrap().compute_with(&opts).unwrap();
        let bits: Vec<u32> = v.iter().map(|f| f.to_bits()).collect();
        if let Some(prev) = &seen {
            assert_eq!(prev, &bits, "workers = {workers}");
        }
        seen = Some(bits);
    }
}

#[test]
fn axis_errors() {
    let x = tessera::ones::<f64>(&[3, 4], [2, 2]).unwrap();
    let e = x.sum(2).unwrap_err();
    assert_eq!(e, tessera::Error::InvalidAxis { op: "sum".into(), axis: 2, ndim: 2 });
    assert!(x.sum([0, -2]).is_err(), "repeated axis");
    assert!(x.argmin(Some(-3)).is_err());
    assert!(x.sum_with(0, &ReduceOptions::default().split_every(1)).is_err());
    let e = tessera::ones::<f64>(&[0, 3], [1, 1]).unwrap().max(0).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn tiny_tasks_plan_is_fused() {
    let x = tessera::ones::<f64>(&[100_000], [10]).unwrap();
    let y = (&x + 1.0).sum(Axes::All).unwrap();
    let g = y.plan();
    // One fused task per block (read + add + partial), a 16-way tree, one finalize.
    assert_eq!(g.stats.fused_nodes, 2);
    let partials = 10_000;
    assert!(g.stats.tasks < partials + partials / 15 + 100, "{:?}", g.stats);
    assert_eq!(y.item().unwrap(), 200_000.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// f32 sums and means (the vectorised row-tile path) against an f64 reference, within
    /// the rounding error of f32 partial sums: a few ulps of the sum of magnitudes.
    #[test]
    fn f32_sums_and_means((a, c, axes, keep, every) in case()) {
        let a32 = a.mapv(|v| v as f32);
        let a64 = a32.mapv(|v| v as f64);
        let x = tessera::from_array(a32, c).unwrap();
        let ax = Axes::List(axes.iter().map(|&v| v as isize).collect());
        let o = ReduceOptions::default().keepdims(keep).split_every(every);
        let as64 = |r: ArrayD<f32>| r.mapv(|v| v as f64);
        let within = |got: &ArrayD<f64>, want: &ArrayD<f64>, scale: &ArrayD<f64>| {
            got.shape() == want.shape()
                && got.iter().zip(want.iter()).zip(scale.iter()).all(|((g, w), s)| {
                    (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 4e-6 * (s + 1.0)
                })
        };
        let abs = |v: &[f64]| v.iter().filter(|x| !x.is_nan()).map(|x| x.abs()).sum::<f64>();
        let mean_abs = |v: &[f64]| { let n = nonnan(v).len().max(1) as f64; abs(v) / n };
        let s_abs = ref_reduce(&a64, &axes, keep, abs);
        let m_abs = ref_reduce(&a64, &axes, keep, mean_abs);
        prop_assert!(within(&as64(compute_checked(&x.sum_with(ax.clone(), &o).unwrap())), &ref_reduce(&a64, &axes, keep, naive_sum), &s_abs));
        prop_assert!(within(&as64(compute_checked(&x.mean_with(ax.clone(), &o).unwrap())), &ref_reduce(&a64, &axes, keep, mean), &m_abs));
        let n = |f: fn(&[f64]) -> f64| ref_reduce(&a64, &axes, false, move |v: &[f64]| f(&nonnan(v)));
        let s_abs = ref_reduce(&a64, &axes, false, abs);
        let m_abs = ref_reduce(&a64, &axes, false, mean_abs);
        prop_assert!(within(&as64(compute_checked(&x.nansum(ax.clone()).unwrap())), &n(naive_sum), &s_abs));
        prop_assert!(within(&as64(compute_checked(&x.nanmean(ax.clone()).unwrap())), &n(mean), &m_abs));
    }
}

#[test]
fn long_reduced_axis_in_one_block_stays_accurate() {
    // 100,000 rows reduced along a non-contiguous axis inside one block: the row-tile path
    // flushes its f32 partial sums into f64 every few planes.
    let x = tessera::full::<f32>(&[100_000, 3], 0.1, [100_000, 3]).unwrap();
    let m = x.mean(0).unwrap().to_vec().unwrap();
    for v in m {
        assert!((v as f64 - 0.1f32 as f64).abs() < 1e-7, "{v}");
    }
}

/// The nan-reductions and the arg-reductions take options like every other reduction, and
/// arg-reductions take their axis like them (`Into<Axes>`: an axis, `Axes::All`, or NumPy's
/// `Some(axis)` / `None`).
#[test]
fn nan_and_arg_reductions_take_options_and_axes_like_the_others() {
    let mut a =
        ndarray::Array3::<f64>::from_shape_fn((4, 5, 3), |(i, j, k)| (i * 7 + j * 3 + k) as f64 % 5.0);
    a[[1, 2, 0]] = f64::NAN;
    a[[3, 0, 2]] = f64::NAN;
    let a = a.into_dyn();
    let x = tessera::from_array(a.clone(), [3, 2, 3]).unwrap();
    let keep = ReduceOptions::default().keepdims(true);
    let nanmean_ref = a.map_axis(ndarray::Axis(1), |l| {
        let v: Vec<f64> = l.iter().copied().filter(|v| !v.is_nan()).collect();
        v.iter().sum::<f64>() / v.len() as f64
    });
    let got = x.nanmean_with(1, &keep).unwrap().compute().unwrap();
    assert_eq!(got.shape(), &[4, 1, 3]);
    assert_eq!(got.index_axis(ndarray::Axis(1), 0), nanmean_ref.view());
    let nanmax_ref =
        a.map_axis(ndarray::Axis(0), |l| l.iter().copied().filter(|v| !v.is_nan()).fold(f64::MIN, f64::max));
    assert_eq!(
        x.nanmax_with(0, &keep).unwrap().compute().unwrap().index_axis(ndarray::Axis(0), 0),
        nanmax_ref.view()
    );
    let var = x.nanvar_with(2, &ReduceOptions::default().ddof(1.0)).unwrap().compute().unwrap();
    assert_eq!(var, x.nanvar(2, 1.0).unwrap().compute().unwrap());
    // Arg-reductions: an axis as for any reduction, NumPy's Option, and keepdims.
    let by_axis = x.argmax(1).unwrap().compute().unwrap();
    assert_eq!(by_axis, x.argmax(Some(1)).unwrap().compute().unwrap());
    assert_eq!(x.argmin(Axes::All).unwrap().compute().unwrap(), x.argmin(None).unwrap().compute().unwrap());
    let kept = x.nanargmax_with(1, &keep).unwrap().compute().unwrap();
    assert_eq!(kept.shape(), &[4, 1, 3]);
    assert_eq!(kept.index_axis(ndarray::Axis(1), 0), x.nanargmax(1).unwrap().compute().unwrap().view());
}

#[test]
fn f32_sums_over_a_leading_axis_stay_within_the_flush_bound() {
    // f32 sums, means and nanmeans over axis 0 of a (4000, 50, 50) cube of 1e4 + U[0, 1) (1e7
    // values, every 97th NaN for nanmean), the whole axis in each block. Reducing a block's
    // non-last axis adds at most FLUSH_PLANES = 32 planes in f32 before flushing into the f64
    // states, so each f32 partial sum has at most 32 terms: the result is within 32·2⁻²⁴ of
    // the sum of magnitudes (≤ 31 roundings per partial, one to f32 at the end) of the f64
    // reference. (Measured: about 7e-8; with the f32 partials never flushed, 3e-5.)
    let (n, r, c) = (4000, 50, 50);
    let hash = |i: usize| {
        let mut h = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        (h >> 40) as f32 / (1u64 << 24) as f32
    };
    let a =
        ArrayD::from_shape_fn(ndarray::IxDyn(&[n, r, c]), |ix| 1e4 + hash((ix[0] * r + ix[1]) * c + ix[2]));
    let an = ArrayD::from_shape_fn(a.raw_dim(), |ix| {
        let i = (ix[0] * r + ix[1]) * c + ix[2];
        if i % 97 == 0 { f32::NAN } else { a[&ix] }
    });
    // f64 references over axis 0: sums, sums of magnitudes and counts of the non-NaN values,
    // and what a naive f32 running sum gives.
    let m = r * c;
    let (mut s, mut mag, mut ns, mut nmag, mut cnt) =
        (vec![0f64; m], vec![0f64; m], vec![0f64; m], vec![0f64; m], vec![0f64; m]);
    let mut naive = vec![0f32; m];
    let (fa, fan) = (a.as_slice().unwrap(), an.as_slice().unwrap());
    for i in 0..n {
        for j in 0..m {
            let (v, w) = (fa[i * m + j], fan[i * m + j]);
            s[j] += v as f64;
            mag[j] += (v as f64).abs();
            naive[j] += v;
            if !w.is_nan() {
                ns[j] += w as f64;
                nmag[j] += (w as f64).abs();
                cnt[j] += 1.0;
            }
        }
    }
    let bound = 32.0 * 2f64.powi(-24);
    let chunks = [4000, 10, 50];
    let x = tessera::from_array(a, chunks).unwrap();
    let xn = tessera::from_array(an, chunks).unwrap();
    let sum = x.sum(0).unwrap().to_vec().unwrap();
    let mean = x.mean(0).unwrap().to_vec().unwrap();
    let nanmean = xn.nanmean(0).unwrap().to_vec().unwrap();
    let mut worst = [0f64; 3];
    for j in 0..m {
        let errs = [
            (sum[j] as f64 - s[j]).abs() / mag[j],
            (mean[j] as f64 - s[j] / n as f64).abs() / (mag[j] / n as f64),
            (nanmean[j] as f64 - ns[j] / cnt[j]).abs() / (nmag[j] / cnt[j]),
        ];
        for (w, e) in worst.iter_mut().zip(errs) {
            *w = w.max(e);
        }
    }
    for (what, w) in ["sum", "mean", "nanmean"].iter().zip(worst) {
        assert!(w <= bound, "{what}: relative error {w:e} > 32·2⁻²⁴ = {bound:e}");
    }
    // The data is where it matters: a naive f32 running sum breaks the bound.
    let naive_worst = (0..m).map(|j| (naive[j] as f64 - s[j]).abs() / mag[j]).fold(0.0, f64::max);
    assert!(naive_worst > 10.0 * bound, "naive f32 sum's relative error {naive_worst:e}");
}

/// Every reduction name parses to the reduction it names and prints back the same; a
/// reduction by name gives what the typed method gives.
#[test]
fn reductions_by_name_match_the_typed_methods() {
    for name in tessera::Reduction::names() {
        let r: tessera::Reduction = name.parse().unwrap();
        assert_eq!(r.name(), name);
        assert_eq!(r.to_string(), name);
        assert_eq!(r.over(tessera::DType::F32).name(), name);
    }
    assert_eq!(" NanMean ".parse::<tessera::Reduction>().unwrap(), tessera::Reduction::nan(ReduceKind::Mean));
    let e = "median".parse::<tessera::Reduction>().unwrap_err().to_string();
    assert!(e.contains("unknown reduction 'median'") && e.contains("nanargmax"), "{e}");
    // A NaN flag on a kind without a NaN form names the kind itself.
    assert_eq!(tessera::Reduction::nan(ReduceKind::Any).name(), "any");

    let a = ndarray::array![[1.0, f64::NAN, 3.0], [4.0, 5.0, -6.0]].into_dyn();
    let x = tessera::from_array(a, [1, 2]).unwrap();
    let o = ReduceOptions::default();
    let by =
        |n: &str| x.reduce::<f64>(n.parse::<tessera::Reduction>().unwrap(), 1, &o).unwrap().to_vec().unwrap();
    let same = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).all(|(p, q)| p == q || (p.is_nan() && q.is_nan()));
    assert!(same(by("nanmean"), x.nanmean(1).unwrap().to_vec().unwrap()));
    assert!(same(by("max"), x.max(1).unwrap().to_vec().unwrap()));
    assert!(same(by("nanstd"), x.nanstd(1, 0.0).unwrap().to_vec().unwrap()));
    assert!(same(by("prod"), x.prod(1).unwrap().to_vec().unwrap()));
    let idx =
        |n: &str| x.reduce::<i64>(n.parse::<tessera::Reduction>().unwrap(), 1, &o).unwrap().to_vec().unwrap();
    assert_eq!(idx("count"), vec![2, 3]);
    assert_eq!(idx("nanargmin"), vec![0, 2]);
    assert_eq!(idx("count_nonzero"), vec![3, 3]);
    // The result type is checked.
    let e = x.reduce::<f64>(ReduceKind::Count, 1, &o).unwrap_err().to_string();
    assert!(e.contains("count"), "{e}");
}
