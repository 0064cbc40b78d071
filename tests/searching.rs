//! Counting and searching against NumPy: cases printed by NumPy 2.4 (hard-coded), and eager
//! references of the documented semantics of `histogramdd`, `bincount`, `digitize`,
//! `searchsorted`, `isin` and `unique` over random shapes, irregular chunks, NaN and ties.

mod common;

use std::cmp::Ordering;

use common::*;
use ndarray::{ArrayD, IxDyn, arr1, arr2};
use proptest::prelude::*;
use tessera::{BinLength, Bins, HistogramDdOptions, Side};

const NAN: f64 = f64::NAN;

fn a1(v: &[f64], chunk: usize) -> tessera::Array<f64> {
    tessera::from_array(arr1(v).into_dyn(), [chunk]).unwrap()
}

fn flat<T: tessera::Element>(x: &tessera::Array<T>) -> Vec<T> {
    compute_checked(x).iter().copied().collect()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs()))
}

#[test]
fn histograms_printed_by_numpy() {
    // np.histogram2d([0, 1, 2, 2.5, 3], [0, 0, 1, 5, 1], bins=2)
    let x = a1(&[0.0, 1.0, 2.0, 2.5, 3.0], 2);
    let y = a1(&[0.0, 0.0, 1.0, 5.0, 1.0], 3);
    let (h, ex, ey) = tessera::histogram2d(&x, &y, &[2.into()], &Default::default(), None).unwrap();
    assert_eq!(h.shape(), &[2, 2]);
    assert_eq!(flat(&h), vec![2.0, 0.0, 2.0, 1.0]);
    assert_eq!((ex, ey), (vec![0.0, 1.5, 3.0], vec![0.0, 2.5, 5.0]));
    // bins=[[0, 1, 3], [0, 1, 2, 5]], weights=[1, 2, 3, 4, 5], density=True
    let w = a1(&[1.0, 2.0, 3.0, 4.0, 5.0], 1);
    let bins = [Bins::Edges(vec![0.0, 1.0, 3.0]), Bins::Edges(vec![0.0, 1.0, 2.0, 5.0])];
    let opts = HistogramDdOptions { density: true, ..Default::default() };
    let (h, _, _) = tessera::histogram2d(&x, &y, &bins, &opts, Some(&w)).unwrap();
    let want =
        [0.06666666666666667, 0.0, 0.0, 0.06666666666666667, 0.26666666666666666, 0.044444444444444446];
    assert!(close(&flat(&h), &want), "{:?}", flat(&h));
    // np.histogramdd([[0, 1, 2, 3], [1, 1, 1, 1]], bins=(2, 3)) and with range=[(0, 4), None], density
    let x = a1(&[0.0, 1.0, 2.0, 3.0], 3);
    let y = a1(&[1.0, 1.0, 1.0, 1.0], 1);
    let bins = [Bins::Count(2), Bins::Count(3)];
    let (h, e) = tessera::histogramdd(&[&x, &y], &bins, &Default::default(), None).unwrap();
    assert_eq!(flat(&h), vec![0.0, 2.0, 0.0, 0.0, 2.0, 0.0]);
    assert_eq!(e[0], vec![0.0, 1.5, 3.0]);
    assert!(close(&e[1], &[0.5, 0.8333333333333334, 1.1666666666666667, 1.5]));
    let opts = HistogramDdOptions { ranges: vec![Some((0.0, 4.0)), None], density: true };
    let (h, e) = tessera::histogramdd(&[&x, &y], &bins, &opts, None).unwrap();
    assert!(close(&flat(&h), &[0.0, 0.75, 0.0, 0.0, 0.75, 0.0]));
    assert_eq!(e[0], vec![0.0, 2.0, 4.0]);
    // NaN in the data and no range: NumPy's "autodetected range of [nan, nan] is not finite".
    let n = a1(&[0.0, NAN], 2);
    let err = tessera::histogram2d(&n, &n, &[2.into()], &Default::default(), None).unwrap_err();
    assert!(err.to_string().contains("not finite"), "{err}");
    // Arguments that do not fit: NumPy raises on each.
    let three = [Bins::Count(2), Bins::Count(2), Bins::Count(2)];
    assert!(tessera::histogramdd(&[&x, &y], &three, &Default::default(), None).is_err());
    assert!(tessera::histogramdd::<f64>(&[], &[Bins::Count(2)], &Default::default(), None).is_err());
    let short = a1(&[1.0, 2.0], 1);
    assert!(matches!(
        tessera::histogram2d(&x, &short, &[2.into()], &Default::default(), None),
        Err(tessera::Error::ShapeMismatch { .. })
    ));
    let ranges = HistogramDdOptions { ranges: vec![Some((1.0, 0.0)), None], density: false };
    let err = tessera::histogramdd(&[&x, &y], &[Bins::Count(2)], &ranges, None).unwrap_err();
    assert!(err.to_string().contains("dimension 0") && err.to_string().contains("larger than min"), "{err}");
    let err = tessera::histogramdd(
        &[&x, &y],
        &[Bins::Count(2), Bins::Edges(vec![1.0, 0.0])],
        &Default::default(),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("dimension 1") && err.to_string().contains("monotonically"), "{err}");
}

#[test]
fn bincount_printed_by_numpy() {
    let x = tessera::from_array(arr1(&[0i64, 3, 3, 1]).into_dyn(), [3]).unwrap();
    assert_eq!(flat(&x.bincount(2).unwrap()), vec![1, 1, 0, 2]);
    // np.bincount([0, 3, 3, 1], weights=[0.5, 1, 2, 3], minlength=6)
    let w = a1(&[0.5, 1.0, 2.0, 3.0], 1);
    assert_eq!(flat(&x.bincount_weighted(&w, 6).unwrap()), vec![0.5, 3.0, 0.0, 3.0, 0.0, 0.0]);
    // np.bincount([], minlength=3)
    let e = tessera::zeros::<i32>(&[0], [1]).unwrap();
    assert_eq!(flat(&e.bincount(3).unwrap()), vec![0, 0, 0]);
    assert_eq!(flat(&x.bincount(BinLength::Exactly(4)).unwrap()), vec![1, 1, 0, 2]);
}

#[test]
fn bincount_errors_name_the_value() {
    // NumPy: "'list' argument must have no negative elements".
    let x = tessera::from_array(arr1(&[1i32, -2, 0]).into_dyn(), [2]).unwrap();
    let err = x.bincount(0).unwrap_err().to_string();
    assert!(err.contains("-2") && err.contains("negative"), "{err}");
    // Lazily: found when the graph runs.
    let lazy = x.bincount(BinLength::Exactly(4)).unwrap();
    let err = lazy.compute().unwrap_err().to_string();
    assert!(err.contains("-2") && err.contains("negative"), "{err}");
    let y = tessera::from_array(arr1(&[1i64, 7, 0]).into_dyn(), [1]).unwrap();
    let err = y.bincount(BinLength::Exactly(5)).unwrap().compute().unwrap_err().to_string();
    assert!(err.contains('7') && err.contains("5 bin"), "{err}");
    let f = a1(&[1.0], 1);
    assert!(f.bincount(0).unwrap_err().to_string().contains("integers"));
    let w = a1(&[1.0, 2.0], 1);
    assert!(y.bincount_weighted(&w, 0).is_err());
}

#[test]
fn digitize_printed_by_numpy() {
    let x = a1(&[1.0, NAN], 1);
    // np.digitize([1, nan], [2, 1, 0]) and right=True
    assert_eq!(flat(&x.digitize(&[2.0, 1.0, 0.0], false).unwrap()), vec![1, 0]);
    assert_eq!(flat(&x.digitize(&[2.0, 1.0, 0.0], true).unwrap()), vec![2, 0]);
    let x = a1(&[1.0, 5.0], 2);
    assert_eq!(flat(&x.digitize(&[], false).unwrap()), vec![0, 0]);
    // Equal bins count as increasing: np.digitize([1, 5], [1, 1, 1]) and right=True.
    assert_eq!(flat(&x.digitize(&[1.0, 1.0, 1.0], false).unwrap()), vec![3, 3]);
    assert_eq!(flat(&x.digitize(&[1.0, 1.0, 1.0], true).unwrap()), vec![0, 3]);
    let i = tessera::from_array(arr2(&[[3i64, 0], [-1, 10]]).into_dyn(), [1, 1]).unwrap();
    assert_eq!(flat(&i.digitize(&[0.0, 2.5, 10.0], true).unwrap()), vec![2, 0, 0, 2]);
    assert!(x.digitize(&[0.0, 2.0, 1.0], false).unwrap_err().to_string().contains("monotonically"));
    assert!(x.digitize(&[0.0, NAN], false).unwrap_err().to_string().contains("NaN"));
}

#[test]
fn searchsorted_printed_by_numpy() {
    // np.searchsorted([1, 2, 2, nan, nan], [nan, 2, 0, -inf], side=...)
    let a = a1(&[1.0, 2.0, 2.0, NAN, NAN], 2);
    let v = a1(&[NAN, 2.0, 0.0, f64::NEG_INFINITY], 3);
    assert_eq!(flat(&tessera::searchsorted(&a, &v, Side::Left).unwrap()), vec![3, 1, 0, 0]);
    assert_eq!(flat(&a.searchsorted(&v, Side::Right).unwrap()), vec![5, 3, 0, 0]);
    assert_eq!("right".parse::<Side>().unwrap(), Side::Right);
    assert!("up".parse::<Side>().is_err());
    let m = tessera::ones::<f64>(&[2, 2], [1, 1]).unwrap();
    assert!(tessera::searchsorted(&m, &v, Side::Left).unwrap_err().to_string().contains("1-d"));
}

#[test]
fn searchsorted_never_gathers_the_sorted_array() {
    let a = tessera::arange(0.0, 100.0, 1.0, [10]).unwrap();
    let v = tessera::from_array(arr2(&[[5.5, 99.0, -1.0], [50.0, 0.0, 100.0]]).into_dyn(), [1, 2]).unwrap();
    let r = a.searchsorted(&v, Side::Left).unwrap();
    let g = r.plan();
    let search: Vec<_> = g.tasks.iter().filter(|t| t.kernel_name() == "searchsorted").collect();
    assert_eq!(search.len(), 10 * 4, "a task per pair of blocks");
    assert!(search.iter().all(|t| t.inputs.len() == 2));
    assert!(g.tasks.iter().all(|t| t.inputs.len() <= 16));
    assert_eq!(r.chunks(), v.chunks());
    assert_eq!(flat(&r), vec![6, 99, 0, 50, 0, 100]);
}

#[test]
fn unique_printed_by_numpy() {
    // np.unique([0.0, -0.0, nan, 1, nan], return_counts=True, return_index=True, return_inverse=True)
    let x = a1(&[0.0, -0.0, NAN, 1.0, NAN], 2);
    let u = x.unique_full().unwrap();
    assert_eq!(u.values.len(), 3);
    assert!(
        u.values[0] == 0.0 && u.values[0].is_sign_positive() && u.values[1] == 1.0 && u.values[2].is_nan()
    );
    assert_eq!(u.index, vec![0, 3, 2]);
    assert_eq!(u.counts, vec![2, 1, 2]);
    assert_eq!(flat(&u.inverse), vec![0, 0, 2, 1, 2]);
    // np.unique([[2, 1], [2, 3]], return_inverse=True): the inverse of x's shape.
    let m = tessera::from_array(arr2(&[[2i64, 1], [2, 3]]).into_dyn(), [2, 1]).unwrap();
    let u = m.unique_full().unwrap();
    assert_eq!(u.values, vec![1, 2, 3]);
    assert_eq!(compute_checked(&u.inverse), arr2(&[[1i64, 0], [1, 2]]).into_dyn());
    assert_eq!(u.inverse.chunks(), m.chunks());
    let e = tessera::zeros::<f64>(&[0, 3], [1, 2]).unwrap();
    let u = e.unique_full().unwrap();
    assert!(u.values.is_empty() && u.counts.is_empty() && u.inverse.shape() == [0, 3]);
}

#[test]
fn isin_printed_by_numpy() {
    // np.isin([nan, 1, 0, -0.0], [nan, -0.0, 1])
    let x = a1(&[NAN, 1.0, 0.0, -0.0], 3);
    assert_eq!(flat(&x.isin(&[NAN, -0.0, 1.0], false).unwrap()), vec![false, true, true, true]);
    // np.isin([[1, 5], [7, 2]], [2, 7, 9], invert=True)
    let m = tessera::from_array(arr2(&[[1i64, 5], [7, 2]]).into_dyn(), [1, 1]).unwrap();
    assert_eq!(flat(&m.isin(&[2, 7, 9], true).unwrap()), vec![true, true, false, false]);
    assert_eq!(flat(&m.isin(&[], false).unwrap()), vec![false; 4]);
}

// ---- eager references of NumPy's documented semantics ----

/// NumPy's sort order: NaN last, NaNs equal.
fn order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap(),
    }
}

/// Values of `a` rounded to a few levels, so ties are common (NaN and ±∞ kept).
fn coarse(a: &ArrayD<f64>) -> ArrayD<f64> {
    a.mapv(|v| (v / 25.0).round() * 5.0)
}

fn ravel(a: &ArrayD<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

/// `numpy.digitize` by its definition: increasing, `bins[i-1] <= x < bins[i]` (right:
/// `bins[i-1] < x <= bins[i]`); decreasing the mirror.
fn ref_digitize(x: f64, bins: &[f64], right: bool) -> i64 {
    let up = bins.windows(2).all(|w| w[0] <= w[1]);
    let below = |b: f64| if right { order(b, x) == Ordering::Less } else { order(b, x) != Ordering::Greater };
    let n = bins.iter().filter(|&&b| below(b)).count();
    (if up { n } else { bins.len() - n }) as i64
}

fn ref_unique(v: &[f64]) -> (Vec<f64>, Vec<i64>, Vec<i64>, Vec<i64>) {
    let mut vals: Vec<f64> = Vec::new();
    let mut index = Vec::new();
    for (k, &x) in v.iter().enumerate() {
        if !vals.iter().any(|&u| order(u, x) == Ordering::Equal) {
            vals.push(x);
            index.push(k as i64);
        }
    }
    let mut perm: Vec<usize> = (0..vals.len()).collect();
    perm.sort_by(|&i, &j| order(vals[i], vals[j]));
    let vals: Vec<f64> = perm.iter().map(|&i| vals[i]).collect();
    let index: Vec<i64> = perm.iter().map(|&i| index[i]).collect();
    let pos = |x: f64| vals.iter().position(|&u| order(u, x) == Ordering::Equal).unwrap() as i64;
    let counts =
        vals.iter().map(|&u| v.iter().filter(|&&x| order(u, x) == Ordering::Equal).count() as i64).collect();
    let inverse = v.iter().map(|&x| pos(x)).collect();
    (vals, counts, index, inverse)
}

/// Bin of `x` among edges by NumPy's rule (last bin closed), or `None`.
fn ref_bin(x: f64, e: &[f64]) -> Option<usize> {
    let n = e.len() - 1;
    if !(x >= e[0] && x <= e[n]) {
        return None;
    }
    Some(e.iter().filter(|&&b| b <= x).count().min(n) - 1)
}

fn sorted_case() -> impl Strategy<Value = (Vec<f64>, tessera::Chunks)> {
    (0usize..40).prop_flat_map(|n| (values(n, true), chunks_for(vec![n]))).prop_map(|(mut v, c)| {
        for x in v.iter_mut() {
            *x = (*x / 25.0).round() * 5.0;
        }
        v.sort_by(|a, b| order(*a, *b));
        (v, c)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn digitize_matches_its_definition((a, c) in array_case(true), mut bins in proptest::collection::vec(-30i32..30, 0..6),
                                       down in any::<bool>(), right in any::<bool>()) {
        let a = coarse(&a);
        let mut bins: Vec<f64> = { bins.sort(); bins.drain(..).map(|b| b as f64 * 5.0).collect() };
        if down { bins.reverse(); }
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let got = x.digitize(&bins, right).unwrap();
        prop_assert_eq!(got.chunks(), &c);
        let want: Vec<i64> = a.iter().map(|&v| ref_digitize(v, &bins, right)).collect();
        prop_assert_eq!(flat(&got), want);
    }

    #[test]
    fn searchsorted_counts_over_any_chunking((s, sc) in sorted_case(), (v, vc) in array_case(true), right in any::<bool>()) {
        let v = coarse(&v);
        let a = tessera::from_array(ArrayD::from_shape_vec(IxDyn(&[s.len()]), s.clone()).unwrap(), sc).unwrap();
        let vx = tessera::from_array(v.clone(), vc.clone()).unwrap();
        let side = if right { Side::Right } else { Side::Left };
        let got = tessera::searchsorted(&a, &vx, side).unwrap();
        prop_assert_eq!(got.chunks(), &vc);
        let want: Vec<i64> = v.iter().map(|&x| s.iter().filter(|&&e| {
            let o = order(e, x);
            o == Ordering::Less || (right && o == Ordering::Equal)
        }).count() as i64).collect();
        prop_assert_eq!(flat(&got), want);
    }

    #[test]
    fn isin_matches_any_equal((a, c) in array_case(true), test in proptest::collection::vec(-5i32..5, 0..5),
                              with_nan in any::<bool>(), invert in any::<bool>()) {
        let a = coarse(&a);
        let mut t: Vec<f64> = test.iter().map(|&k| k as f64 * 5.0).collect();
        if with_nan { t.push(NAN); }
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let got = x.isin(&t, invert).unwrap();
        prop_assert_eq!(got.chunks(), &c);
        let want: Vec<bool> = a.iter().map(|&v| t.contains(&v) != invert).collect();
        prop_assert_eq!(flat(&got), want);
    }

    #[test]
    fn unique_matches_first_occurrences((a, c) in array_case(true)) {
        let a = coarse(&a);
        let x = tessera::from_array(a.clone(), c).unwrap();
        let u = x.unique_full().unwrap();
        let (vals, counts, index, inverse) = ref_unique(&ravel(&a));
        prop_assert!(same_f64(&arr1(&u.values).into_dyn(), &arr1(&vals).into_dyn()));
        prop_assert_eq!(u.counts, counts);
        prop_assert_eq!(u.index, index);
        prop_assert_eq!(u.inverse.chunks(), x.chunks());
        prop_assert_eq!(flat(&u.inverse), inverse);
        // Integers too.
        let i = x.astype::<i64>();
        let iv: Vec<f64> = compute_checked(&i).iter().map(|&k| k as f64).collect();
        let (vals, counts, _, _) = ref_unique(&iv);
        let ui = i.unique_full().unwrap();
        prop_assert_eq!(ui.values.iter().map(|&k| k as f64).collect::<Vec<_>>(), vals);
        prop_assert_eq!(ui.counts, counts);
    }

    #[test]
    fn bincount_matches_counts((a, c) in array_case(false), minlength in 0usize..30, weighted in any::<bool>(), exact in any::<bool>()) {
        let k = a.mapv(|v| (v.abs() as i64) % 23);
        let x = tessera::from_array(k.clone(), c.clone()).unwrap();
        let n = k.iter().map(|&v| v as usize + 1).max().unwrap_or(0).max(minlength);
        let len: BinLength = if exact { BinLength::Exactly(n) } else { minlength.into() };
        let wv = a.mapv(|v| (v * 4.0).round() / 4.0);
        let mut want = vec![0.0; n];
        for (&v, &w) in k.iter().zip(wv.iter()) {
            want[v as usize] += if weighted { w } else { 1.0 };
        }
        let got: Vec<f64> = if weighted {
            let w = tessera::from_array(wv.clone(), tessera::ChunkSpec::Auto).unwrap();
            flat(&x.bincount_weighted(&w, len).unwrap())
        } else {
            flat(&x.bincount(len).unwrap()).iter().map(|&v| v as f64).collect()
        };
        prop_assert_eq!(got, want);
    }

    #[test]
    fn histogramdd_matches_the_bin_rule((a, c) in array_case(true), d in 1usize..4, nb in 1usize..6,
                                        edges_given in any::<bool>(), weighted in any::<bool>(), density in any::<bool>()) {
        // Coordinates: the data and shifted, scaled copies of it (same shape, other chunks).
        let cols: Vec<ArrayD<f64>> = (0..d).map(|i| a.mapv(|v| if i == 0 { v } else { (v * (i + 1) as f64) % 97.0 })).collect();
        let xs: Vec<tessera::Array<f64>> = cols.iter().enumerate().map(|(i, col)| {
            let chunks = if i == 0 { tessera::ChunkSpec::from(c.clone()) } else { tessera::ChunkSpec::Auto };
            tessera::from_array(col.clone(), chunks).unwrap()
        }).collect();
        let refs: Vec<&tessera::Array<f64>> = xs.iter().collect();
        let bins: Vec<Bins> = (0..d).map(|i| if edges_given {
            Bins::Edges((0..=nb + i).map(|k| -90.0 + 180.0 * (k * k) as f64 / ((nb + i) * (nb + i)) as f64).collect())
        } else { Bins::Count(nb + i) }).collect();
        let opts = HistogramDdOptions { ranges: vec![Some((-50.0, 60.0)); d], density };
        let wv = a.mapv(|v| if v.is_finite() { (v.abs() * 4.0).round() / 4.0 } else { 1.0 });
        let w = tessera::from_array(wv.clone(), [3; 8][..a.ndim()].to_vec()).unwrap();
        let (h, edges) = tessera::histogramdd(&refs, &bins, &opts, weighted.then_some(&w)).unwrap();
        let shape: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
        prop_assert_eq!(h.shape(), &shape[..]);
        let mut want = ArrayD::<f64>::zeros(IxDyn(&shape));
        let cols: Vec<Vec<f64>> = cols.iter().map(ravel).collect();
        for (k, &wt) in wv.iter().enumerate() {
            let at: Option<Vec<usize>> = (0..d).map(|i| ref_bin(cols[i][k], &edges[i])).collect();
            if let Some(at) = at {
                want[IxDyn(&at)] += if weighted { wt } else { 1.0 };
            }
        }
        if density {
            let total: f64 = want.iter().sum();
            for (i, e) in edges.iter().enumerate() {
                for (mut lane, b) in want.axis_iter_mut(ndarray::Axis(i)).zip(e.windows(2)) {
                    lane.mapv_inplace(|v| v / (b[1] - b[0]));
                }
            }
            want.mapv_inplace(|v| v / total);
        }
        let got = compute_checked(&h);
        prop_assert!(close_f64(&got, &want, 1e-12), "got {:?}, want {:?}", got, want);
    }
}
