//! The SVD on random shapes and irregular chunks: the TSQR path of `svd` (tall, and wide
//! through the transpose, whatever the chunking) and block Jacobi (`svd_jacobi`), each by
//! reconstruction, orthonormality of U and V, and against faer's singular values of the
//! whole matrix; rank-deficient, ill-conditioned, f32 and bad input.

mod common;

use ndarray::{Array1, Array2, Ix2};
use proptest::prelude::*;
use tessera::linalg::{svd, svd_jacobi};
use tessera::prelude::*;
use tessera::{Chunks, Error};

use common::{normal2 as arr2, split};

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

type Triplets = (tessera::Array<f64>, tessera::Array<f64>, tessera::Array<f64>);

/// The largest errors of an SVD of `a`: (‖UΣVᵀ − A‖, ‖UᵀU − I‖, ‖VᵀV − I‖, |s − faer's s|),
/// after checking the shapes and that `s` descends.
fn check(a: &Array2<f64>, (u, s, vt): Triplets) -> (f64, f64, f64, f64) {
    let (m, n) = a.dim();
    let k = m.min(n);
    let u = u.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let vt = vt.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let s = s.to_vec().unwrap();
    assert_eq!((u.dim(), s.len(), vt.dim()), ((m, k), k, (k, n)));
    assert!(s.windows(2).all(|w| w[0] >= w[1]) && s.iter().all(|&v| v >= 0.0), "{s:?}");
    let back = (&u * &Array1::from(s.clone())).dot(&vt);
    let fs = faer::Mat::<f64>::from_fn(m, n, |i, j| a[[i, j]]).singular_values().unwrap();
    let sv = s.iter().zip(&fs).fold(0.0f64, |e, (p, q)| e.max((p - q).abs()));
    (
        max_abs(&(back - a)),
        max_abs(&(u.t().dot(&u) - Array2::<f64>::eye(k))),
        max_abs(&(vt.dot(&vt.t()) - Array2::<f64>::eye(k))),
        sv,
    )
}

fn chunked(a: &Array2<f64>, rows: Vec<usize>, cols: Vec<usize>) -> tessera::Array<f64> {
    tessera::from_array(a.clone(), ChunkSpec::Explicit(Chunks::new(vec![rows, cols]).unwrap())).unwrap()
}

/// A random `m × n` matrix, and the same chunked with rows cut at `rc` and columns at `cc`.
fn case(m: usize, n: usize, rc: &[usize], cc: &[usize], seed: u64) -> (Array2<f64>, tessera::Array<f64>) {
    let a = arr2(seed, m, n);
    let x = chunked(&a, split(m, rc), split(n, cc));
    (a, x)
}

fn jacobi(x: &tessera::Array<f64>) -> Triplets {
    svd_jacobi(x, &ComputeOptions::default()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn block_jacobi_matches_faer_on_any_shape_and_chunking(
        m in 1usize..48, n in 1usize..48, rc in proptest::collection::vec(0usize..100, 0..5),
        cc in proptest::collection::vec(0usize..100, 0..5), seed in 0u64..1000,
    ) {
        let (a, x) = case(m, n, &rc, &cc, seed);
        let (rec, uo, vo, sv) = check(&a, jacobi(&x));
        let scale = m.max(n) as f64;
        prop_assert!(rec <= 1e-13 * scale, "‖UΣVᵀ − A‖ = {rec}");
        prop_assert!(uo <= 1e-13 * scale && vo <= 1e-13 * scale, "orthonormality {uo} {vo}");
        prop_assert!(sv <= 1e-13 * scale, "singular values off by {sv}");
    }

    #[test]
    fn tsqr_svd_matches_faer_tall_and_wide_whatever_the_chunks(
        m in 1usize..60, n in 1usize..60, rc in proptest::collection::vec(0usize..100, 0..5),
        cc in proptest::collection::vec(0usize..100, 0..5), seed in 0u64..1000,
    ) {
        let (a, x) = case(m, n, &rc, &cc, seed);
        let (rec, uo, vo, sv) = check(&a, svd(&x).unwrap());
        let scale = m.max(n) as f64;
        prop_assert!(rec <= 1e-13 * scale && uo <= 1e-13 * scale && vo <= 1e-13 * scale, "{rec} {uo} {vo}");
        prop_assert!(sv <= 1e-13 * scale, "singular values off by {sv}");
    }
}

#[test]
fn block_jacobi_runs_one_rotation_per_pair_of_panels() {
    let a = arr2(1, 40, 40);
    let x = chunked(&a, vec![40], vec![10, 10, 10, 10]);
    let (u, _, _) = jacobi(&x);
    // Four panels: six pairs per sweep; the result's graph starts from the last sweep's X.
    assert!(u.plan().tasks.iter().all(|t| t.kernel_name() != "jacobi-rotation"));
    let (rec, uo, vo, sv) = check(&a, jacobi(&x));
    assert!(rec < 1e-12 && uo < 1e-12 && vo < 1e-12 && sv < 1e-12, "{rec} {uo} {vo} {sv}");
}

#[test]
fn block_jacobi_of_rank_deficient_matrices_keeps_u_orthonormal() {
    // Rank 12 of 60, a zero column, and a wide matrix of rank 5.
    let b = arr2(2, 60, 12).dot(&arr2(3, 12, 60));
    let mut z = b.clone();
    z.column_mut(17).fill(0.0);
    for (a, rows, cols) in
        [(b, vec![25, 35], vec![20, 15, 25]), (z, vec![60], vec![7; 8].into_iter().chain([4]).collect())]
    {
        let (rec, uo, vo, sv) = check(&a, jacobi(&chunked(&a, rows, cols)));
        assert!(rec < 1e-11 && uo < 1e-11 && vo < 1e-11 && sv < 1e-11, "{rec} {uo} {vo} {sv}");
    }
    let w = arr2(4, 30, 5).dot(&arr2(5, 5, 70)).t().to_owned();
    let (rec, uo, vo, sv) = check(&w, jacobi(&chunked(&w, vec![30, 40], vec![10, 20])));
    assert!(rec < 1e-11 && uo < 1e-11 && vo < 1e-11 && sv < 1e-11, "{rec} {uo} {vo} {sv}");
}

#[test]
fn block_jacobi_of_an_ill_conditioned_matrix() {
    // Columns scaled from 1 down to 1e-12 and mixed by an orthogonal matrix: κ ≈ 1e12.
    let n = 64;
    let mut a = arr2(6, n, n);
    for j in 0..n {
        let s = 10f64.powf(-12.0 * j as f64 / (n - 1) as f64);
        a.column_mut(j).mapv_inplace(|v| v * s);
    }
    let q = faer::Mat::<f64>::from_fn(n, n, |i, j| arr2(7, n, n)[[i, j]]).qr().compute_thin_Q();
    let q = Array2::from_shape_fn((n, n), |(i, j)| q[(i, j)]);
    let a = q.dot(&a);
    let (rec, uo, vo, sv) = check(&a, jacobi(&chunked(&a, vec![30, 34], vec![16, 16, 16, 16])));
    let s0 = 10.0; // ‖A‖ is about √n · 1.
    assert!(rec < 1e-13 * s0 && vo < 1e-12 && sv < 1e-13 * s0, "{rec} {vo} {sv}");
    assert!(uo < 1e-10, "‖UᵀU − I‖ = {uo}");
}

#[test]
fn block_jacobi_in_f32() {
    let a = arr2(8, 50, 36).mapv(|v| v as f32);
    let x = tessera::from_array(a.clone(), [20, 12]).unwrap();
    let (u, s, vt) = svd_jacobi(&x, &ComputeOptions::default()).unwrap();
    let u = u.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let vt = vt.compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let s = Array1::from(s.to_vec().unwrap());
    let rec = ((&u * &s).dot(&vt) - &a).iter().fold(0f32, |m, v| m.max(v.abs()));
    let orth = (u.t().dot(&u) - Array2::<f32>::eye(36)).iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(rec < 1e-4 && orth < 1e-5, "{rec} {orth}");
}

#[test]
fn block_jacobi_rejects_bad_input() {
    let mut a = arr2(9, 20, 20);
    a[[3, 4]] = f64::NAN;
    let err = svd_jacobi(&tessera::from_array(a, [10, 10]).unwrap(), &ComputeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let empty = tessera::zeros::<f64>(&[0, 5], [1, 5]).unwrap();
    let err = svd_jacobi(&empty, &ComputeOptions::default()).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)) && err.to_string().contains("empty"), "{err}");
    let v = tessera::zeros::<f64>(&[5], [5]).unwrap();
    assert!(svd_jacobi(&v, &ComputeOptions::default()).unwrap_err().to_string().contains("2-d"));
}

#[test]
fn block_jacobi_under_a_small_memory_budget_keeps_its_sweeps_on_disk() {
    let a = arr2(10, 90, 60);
    let x = chunked(&a, vec![30, 30, 30], vec![20, 20, 20]);
    let dir = std::env::temp_dir().join(format!("tessera-test-jacobi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // X and V take 72 KB: a 64 KB budget sends them (and Q) to disk between steps.
    let opts = ComputeOptions::default().memory_budget(64 << 10).spill_dir(&dir);
    let on_disk = svd_jacobi(&x, &opts).unwrap();
    let in_memory = svd_jacobi(&x, &ComputeOptions::default()).unwrap();
    let host = |t: &Triplets| (t.0.compute().unwrap(), t.1.compute().unwrap(), t.2.compute().unwrap());
    // The same graph on the same blocks: the same bits, whichever way they waited.
    assert_eq!(host(&on_disk), host(&in_memory));
    let (rec, uo, vo, sv) = check(&a, on_disk);
    assert!(rec < 1e-12 && uo < 1e-12 && vo < 1e-12 && sv < 1e-12, "{rec} {uo} {vo} {sv}");
    // The files were unlinked once open; with the arrays dropped, nothing is left.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir(&dir).unwrap();
    // Where the disk cannot be written, the error names the place (so the disk was used).
    let gone = dir.join("missing");
    let err =
        svd_jacobi(&x, &ComputeOptions::default().memory_budget(64 << 10).spill_dir(&gone)).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    // A budget twice the size keeps everything in memory: no directory needed.
    let roomy = ComputeOptions::default().memory_budget(1 << 20).spill_dir(&gone);
    assert!(svd_jacobi(&x, &roomy).is_ok());
}
