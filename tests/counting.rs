//! Histograms against NumPy: cases printed by NumPy 2.4, and an eager reference of
//! `numpy.histogram`'s documented bin rule over random shapes, chunks, NaN and weights.

mod common;

use common::*;
use ndarray::ArrayD;
use proptest::prelude::*;
use tessera::HistogramOptions;

fn x9() -> tessera::Array<f64> {
    let v = ndarray::arr1(&[0.1, 0.2, 0.7, 1.0, -3.0, 5.0, 2.5, 2.5, f64::NAN]).into_dyn();
    tessera::from_array(v, [4]).unwrap()
}

#[test]
fn cases_printed_by_numpy() {
    let x = x9();
    let (c, e) = x.histogram(5, Some((0.0, 2.5))).unwrap();
    assert_eq!(c.to_vec().unwrap(), vec![2, 1, 1, 0, 2]);
    assert_eq!(e, vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
    let finite = x.slice(&[tessera::SliceArg::from(0..8)]).unwrap();
    let (c, e) = finite.histogram(3, None).unwrap();
    assert_eq!(c.to_vec().unwrap(), vec![1, 4, 3]);
    assert!((e[1] - -0.333_333_333_333_333_3).abs() < 1e-15 && e[3] == 5.0);
    // Repeated edges: an empty bin; the last bin closed.
    let (c, _) = x.histogram(vec![0.0, 0.2, 1.0, 1.0, 3.0], None).unwrap();
    assert_eq!(c.to_vec().unwrap(), vec![1, 2, 0, 3]);
    let (d, _) = finite.histogram_with(4, &HistogramOptions { range: None, density: true }, None).unwrap();
    assert_eq!(d.to_vec().unwrap(), vec![0.0625, 0.1875, 0.1875, 0.0625]);
    let w = tessera::arange(0.0, 8.0, 1.0, [3]).unwrap();
    let (s, _) = finite.histogram_with(4, &HistogramOptions::default(), Some(&w)).unwrap();
    assert_eq!(s.to_vec().unwrap(), vec![4.0, 3.0, 16.0, 5.0]);
    // All values equal: the range widened by ½ each way.
    let same = tessera::full(&[3], 2.0f64, [2]).unwrap();
    let (c, e) = same.histogram(2, None).unwrap();
    assert_eq!((c.to_vec().unwrap(), e), (vec![0, 3], vec![1.5, 2.0, 2.5]));
}

#[test]
fn errors_name_the_problem() {
    let x = x9();
    assert!(x.histogram(3, None).unwrap_err().to_string().contains("not finite"));
    assert!(x.histogram(3, Some((2.0, 1.0))).unwrap_err().to_string().contains("larger than min"));
    assert!(x.histogram(0, Some((0.0, 1.0))).is_err());
    assert!(x.histogram(vec![1.0, 0.0], None).unwrap_err().to_string().contains("monotonically"));
    assert!(x.histogram(vec![1.0], None).is_err());
    let w = tessera::ones::<f64>(&[3], [3]).unwrap();
    assert!(
        x.histogram_with(2, &HistogramOptions { range: Some((0.0, 1.0)), density: false }, Some(&w)).is_err()
    );
    // An empty array: NumPy's range (0, 1), no counts.
    let e = tessera::zeros::<f32>(&[0, 4], tessera::ChunkSpec::Auto).unwrap();
    let (c, edges) = e.histogram(2, None).unwrap();
    assert_eq!((c.to_vec().unwrap(), edges), (vec![0, 0], vec![0.0, 0.5, 1.0]));
}

/// NumPy's rule: bin i holds e_i ≤ v < e_{i+1}, the last bin also v = e_n.
fn ref_hist(v: &ArrayD<f64>, w: Option<&ArrayD<f64>>, edges: &[f64]) -> Vec<f64> {
    let n = edges.len() - 1;
    let mut out = vec![0.0; n];
    for (k, &x) in v.iter().enumerate() {
        if !(x >= edges[0] && x <= edges[n]) {
            continue;
        }
        let i = edges.iter().filter(|&&e| e <= x).count().min(n) - 1;
        out[i] += w.map_or(1.0, |w| w.as_slice_memory_order().unwrap()[k]);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn counts_match_the_bin_rule((a, c) in array_case(true), nb in 1usize..12, lo in -120.0f64..0.0,
                                 width in 0.0f64..200.0, weighted in any::<bool>(), edges_given in any::<bool>()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let hi = lo + width;
        let wv = ArrayD::from_shape_vec(a.raw_dim(), (0..a.len()).map(|k| (k % 5) as f64 - 1.0).collect()).unwrap();
        let w = tessera::from_array(wv.clone(), c).unwrap();
        let opts = HistogramOptions { range: Some((lo, hi)), density: false };
        let bins: tessera::Bins = if edges_given {
            let mut e: Vec<f64> = (0..=nb).map(|i| lo + width * ((i * i) as f64) / ((nb * nb) as f64)).collect();
            e[nb] = hi;
            e.into()
        } else { nb.into() };
        let (got, edges) = if weighted {
            x.histogram_with(bins, &opts, Some(&w)).unwrap()
        } else {
            let (c, e) = x.histogram(bins, Some((lo, hi))).unwrap();
            (c.astype::<f64>(), e)
        };
        let a = a.as_standard_layout().to_owned();
        let wv = wv.as_standard_layout().to_owned();
        let want = ref_hist(&a, weighted.then_some(&wv), &edges);
        prop_assert_eq!(compute_checked(&got).into_raw_vec_and_offset().0, want);
    }
}
