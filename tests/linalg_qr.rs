//! QR of shapes that are not tall-skinny (block Gram-Schmidt with TSQR panels), against
//! reconstruction, orthogonality and triangularity, and against faer's R up to signs.

mod common;

use ndarray::{Array2, Ix2};
use proptest::prelude::*;
use tessera::Chunks;
use tessera::linalg::qr;

use common::{normal2 as arr2, split};

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Check a thin QR of `a` (chunks `rows × cols`) and return (‖QR − A‖, ‖QᵀQ − I‖) maxima.
fn check(a: &Array2<f64>, rows: Vec<usize>, cols: Vec<usize>) -> (f64, f64) {
    let (m, n) = a.dim();
    let x = tessera::from_array(a.clone().into_dyn(), Chunks::new(vec![rows, cols]).unwrap()).unwrap();
    let (q, r) = qr(&x).unwrap();
    let q = q.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let r = r.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let k = m.min(n);
    assert_eq!((q.dim(), r.dim()), ((m, k), (k, n)));
    for i in 0..k {
        for j in 0..i.min(n) {
            assert_eq!(r[[i, j]], 0.0, "R[{i}, {j}] below the diagonal");
        }
    }
    (max_abs(&(q.dot(&r) - a)), max_abs(&(q.t().dot(&q) - Array2::<f64>::eye(k))))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn general_shapes_reconstruct_with_orthonormal_q(
        m in 1usize..90, n in 1usize..90, rc in proptest::collection::vec(0usize..200, 0..6),
        cc in proptest::collection::vec(0usize..200, 1..6), seed in 0u64..1000,
    ) {
        let a = arr2(seed, m, n);
        let (rows, cols) = (split(m, &rc), split(n, &cc));
        let (rec, orth) = check(&a, rows, cols);
        let scale = (m.max(n)) as f64;
        prop_assert!(rec <= 1e-12 * scale, "‖QR − A‖ = {rec}");
        prop_assert!(orth <= 1e-12 * scale, "‖QᵀQ − I‖ = {orth}");
    }
}

#[test]
fn square_wide_and_ragged_matrices_take_the_block_path_and_match_faer() {
    for (m, n, rows, cols) in [(120, 120, 25, 30), (40, 130, 15, 35), (1001, 300, 250, 100)] {
        let a = arr2(m as u64 + n as u64, m, n);
        let x = tessera::from_array(a.clone().into_dyn(), [rows, cols]).unwrap();
        let (q, r) = qr(&x).unwrap();
        // The block path: R's columns after the first come from projections (gemm tasks);
        // TSQR alone makes R without any.
        assert!(r.plan().tasks.iter().any(|t| t.kernel_name() == "gemm"), "{m}×{n}");
        let (rec, orth) = check(
            &a,
            Chunks::uniform(&[m, n], &[rows, cols]).unwrap().axis(0).to_vec(),
            Chunks::uniform(&[m, n], &[rows, cols]).unwrap().axis(1).to_vec(),
        );
        assert!(rec < 1e-11 && orth < 1e-11, "{m}×{n}: {rec} {orth}");
        // R equals faer's up to the sign of each row.
        let r = r.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
        let fr = faer::Mat::<f64>::from_fn(m, n, |i, j| a[[i, j]]).qr().thin_R().to_owned();
        for i in 0..m.min(n) {
            let sign = if (r[[i, i]] < 0.0) == (fr[(i, i)] < 0.0) { 1.0 } else { -1.0 };
            for j in i..n {
                assert!(
                    (r[[i, j]] - sign * fr[(i, j)]).abs() < 1e-9 * (1.0 + fr[(i, j)].abs()),
                    "{m}×{n} R[{i},{j}]"
                );
            }
        }
        drop(q);
    }
    let tall = tessera::from_array(arr2(3, 200, 10).into_dyn(), [50, 5]).unwrap();
    assert!(qr(&tall).unwrap().1.plan().tasks.iter().all(|t| t.kernel_name() != "gemm"), "TSQR");
}

#[test]
fn ill_conditioned_and_rank_deficient_matrices() {
    let (m, n) = (150, 80);
    let mut a = arr2(5, m, n);
    // Columns scaled from 1 down to 1e-10: condition number ~1e10.
    for j in 0..n {
        let s = 10f64.powf(-10.0 * j as f64 / (n - 1) as f64);
        a.column_mut(j).mapv_inplace(|v| v * s);
    }
    let (rec, orth) = check(&a, vec![50, 50, 50], vec![20, 20, 20, 20]);
    assert!(rec < 1e-12 && orth < 1e-12, "ill-conditioned: {rec} {orth}");
    // The second half of the columns repeats the first: rank 40 of 80.
    let b = arr2(6, m, 40);
    let d = ndarray::concatenate(ndarray::Axis(1), &[b.view(), b.view()]).unwrap();
    let (rec, orth) = check(&d, vec![50, 50, 50], vec![20, 20, 20, 20]);
    assert!(rec < 1e-12 && orth < 1e-12, "rank-deficient: {rec} {orth}");
}

#[test]
fn f32_block_qr() {
    let a = arr2(7, 64, 96).mapv(|v| v as f32);
    let x = tessera::from_array(a.clone().into_dyn(), [16, 24]).unwrap();
    let (q, r) = qr(&x).unwrap();
    let q = q.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let r = r.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let rec = (q.dot(&r) - &a).iter().fold(0f32, |m, v| m.max(v.abs()));
    let orth = (q.t().dot(&q) - Array2::<f32>::eye(64)).iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(rec < 1e-4 && orth < 1e-5, "{rec} {orth}");
}
