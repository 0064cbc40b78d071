//! Blocked linear algebra against eager references (ndarray's `dot`, faer on the whole
//! matrix) and by reconstruction, on random shapes and irregular tiles.

mod common;

use ndarray::{Array2, ArrayD, Ix2, IxDyn};
use proptest::prelude::*;
use tessera::linalg::{cholesky, matmul, qr, svd, tensordot};
use tessera::prelude::*;
use tessera::{Chunks, Error};

use common::arr2;

fn chunked(a: &Array2<f64>, c: Chunks) -> tessera::Array<f64> {
    tessera::from_array(a.clone(), ChunkSpec::Explicit(c)).unwrap()
}

fn get2(x: &tessera::Array<f64>) -> Array2<f64> {
    common::compute_checked(x).into_dimensionality::<Ix2>().unwrap()
}

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// An SPD matrix: `B Bᵀ + n I`.
fn spd(seed: u64, n: usize) -> Array2<f64> {
    let b = arr2(seed, n, n);
    b.dot(&b.t()) + Array2::<f64>::eye(n) * n as f64
}

fn dims() -> impl Strategy<Value = usize> {
    1usize..=30
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn matmul_matches_ndarray(n in dims(), seed in 0u64..1000,
                              ca in (dims(), dims()).prop_flat_map(|(m, k)| common::chunks_for(vec![m, k])),
                              cb in any::<u8>()) {
        let k = ca.axis(1).iter().sum::<usize>();
        let a = arr2(seed, ca.shape()[0], k);
        let b = arr2(seed + 1, k, n);
        // b's row chunks: the same as a's columns, or other ones (then b is rechunked).
        let cbk = if cb % 2 == 0 { ca.axis(1).to_vec() } else { Chunks::uniform(&[k], &[1 + cb as usize % k.max(1)]).unwrap().axis(0).to_vec() };
        let cbn = Chunks::uniform(&[n], &[1 + cb as usize % 7]).unwrap().axis(0).to_vec();
        let x = chunked(&a, ca);
        let y = chunked(&b, Chunks::new(vec![cbk, cbn]).unwrap());
        let got = get2(&matmul(&x, &y).unwrap());
        let want = a.dot(&b);
        prop_assert!(max_abs(&(&got - &want)) <= 1e-12 * (k as f64), "{got:?} vs {want:?}");
    }

    #[test]
    fn cholesky_reconstructs_and_matches_faer(n in 1usize..=40, seed in 0u64..1000,
                                              cuts in proptest::collection::vec(1usize..40, 0..5)) {
        let a = spd(seed, n);
        let mut rows = Vec::new();
        let mut prev = 0;
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < n).collect();
        cuts.sort_unstable();
        cuts.dedup();
        for c in cuts.into_iter().chain([n]) {
            rows.push(c - prev);
            prev = c;
        }
        let x = chunked(&a, Chunks::new(vec![rows.clone(), rows]).unwrap());
        let l = get2(&cholesky(&x, true).unwrap());
        let back = l.dot(&l.t());
        prop_assert!(max_abs(&(&back - &a)) <= 1e-12 * max_abs(&a));
        for i in 0..n {
            for j in i + 1..n {
                prop_assert_eq!(l[[i, j]], 0.0);
            }
        }
        let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
        let fl = fa.llt(faer::Side::Lower).unwrap();
        let fl = fl.L();
        for i in 0..n {
            for j in 0..=i {
                prop_assert!((fl[(i, j)] - l[[i, j]]).abs() <= 1e-10 * (1.0 + l[[i, j]].abs()));
            }
        }
    }

    #[test]
    fn tsqr_is_orthonormal_and_reconstructs(n in 1usize..=12, blocks in proptest::collection::vec(1usize..=40, 1..40),
                                            seed in 0u64..1000) {
        let m: usize = blocks.iter().sum();
        let a = arr2(seed, m, n);
        let x = chunked(&a, Chunks::new(vec![blocks, vec![n]]).unwrap());
        let (q, r) = qr(&x).unwrap();
        let (q, r) = (get2(&q), get2(&r));
        let k = m.min(n);
        prop_assert_eq!(q.dim(), (m, k));
        prop_assert_eq!(r.dim(), (k, n));
        prop_assert!(max_abs(&(q.dot(&r) - &a)) <= 1e-12 * (m as f64));
        prop_assert!(max_abs(&(q.t().dot(&q) - Array2::<f64>::eye(k))) <= 1e-12 * (m as f64));
        for i in 0..k {
            for j in 0..i.min(n) {
                prop_assert_eq!(r[[i, j]], 0.0);
            }
        }
    }
}

#[test]
fn a_times_its_transpose_does_half_the_work() {
    let a = arr2(8, 37, 23);
    let x = chunked(&a, Chunks::new(vec![vec![10, 1, 20, 6], vec![5, 18]]).unwrap());
    let g = matmul(&x, &x.transpose()).unwrap();
    let got = get2(&g);
    let want = a.dot(&a.t());
    assert!(max_abs(&(&got - &want)) < 1e-12);
    assert_eq!(got, got.t());
    let plan = g.plan();
    let names: Vec<&str> = plan.tasks.iter().map(|t| t.kernel_name()).collect();
    // 4 row blocks: 4 diagonal tiles × 2 syrk, 6 below × 2 gemm, 6 above as views.
    assert_eq!(names.iter().filter(|n| **n == "syrk").count(), 8);
    assert_eq!(names.iter().filter(|n| **n == "gemm").count(), 12);
    assert_eq!(names.iter().filter(|n| **n == "transpose").count(), 6);
    // Aᵀ A and a product with another matrix take the general path.
    let other = get2(&matmul(&x.transpose(), &x).unwrap());
    assert!(max_abs(&(&other - &a.t().dot(&a))) < 1e-12);
}

#[test]
fn a_times_its_transpose_with_diagonal_tiles_over_many_mirror_blocks() {
    // A 150-row diagonal tile spans 3 × 3 of the 64 × 64 blocks its upper triangle is
    // mirrored in (the last ragged); two column blocks make the second product accumulate.
    let a = arr2(9, 200, 90);
    let x = chunked(&a, Chunks::new(vec![vec![150, 50], vec![40, 50]]).unwrap());
    let got = get2(&matmul(&x, &x.transpose()).unwrap());
    let want = a.dot(&a.t());
    assert!(max_abs(&(&got - &want)) < 1e-10);
    assert_eq!(got, got.t());
}

#[test]
fn matmul_of_vectors_and_errors() {
    let a = arr2(1, 5, 7);
    let v = ndarray::Array1::from_shape_fn(7, |i| i as f64);
    let x = chunked(&a, Chunks::uniform(&[5, 7], &[2, 3]).unwrap());
    let y = tessera::from_array(v.clone(), [4]).unwrap();
    let got = matmul(&x, &y).unwrap().compute().unwrap();
    let want = a.dot(&v);
    assert!(got.iter().zip(want.iter()).all(|(p, q)| (p - q).abs() < 1e-12));
    let dot = matmul(&y, &y).unwrap().compute().unwrap();
    assert_eq!(dot.shape(), &[] as &[usize]);
    assert!((dot[IxDyn(&[])] - v.dot(&v)).abs() < 1e-9);
    let err = matmul(&x, &x).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("[5, 7]"), "{err}");
    let three = tessera::ones::<f64>(&[2, 2, 2], [1, 1, 1]).unwrap();
    assert!(matmul(&three, &x).is_err());
}

#[test]
fn tensordot_matches_a_reference() {
    let a = ArrayD::from_shape_fn(IxDyn(&[3, 4, 5]), |i| (i[0] * 20 + i[1] * 5 + i[2]) as f64 * 0.1);
    let b = ArrayD::from_shape_fn(IxDyn(&[5, 3, 6]), |i| (i[0] as f64 - i[1] as f64) * 0.5 + i[2] as f64);
    let x = tessera::from_array(a.clone(), [2, 3, 2]).unwrap();
    let y = tessera::from_array(b.clone(), [3, 2, 4]).unwrap();
    // Contract a's axes (2, 0) with b's (0, 1): result (4, 6).
    let got = tensordot(&x, &y, &[2, 0], &[0, 1]).unwrap().compute().unwrap();
    assert_eq!(got.shape(), &[4, 6]);
    for j in 0..4 {
        for l in 0..6 {
            let mut s = 0.0;
            for i in 0..3 {
                for k in 0..5 {
                    s += a[[i, j, k]] * b[[k, i, l]];
                }
            }
            assert!((got[[j, l]] - s).abs() < 1e-9, "{j} {l}");
        }
    }
    // No contracted axes: the outer product.
    let outer = tensordot(&x, &y, &[], &[]).unwrap();
    assert_eq!(outer.shape(), &[3, 4, 5, 5, 3, 6]);
    let msg = tensordot(&x, &y, &[0], &[0]).unwrap_err().to_string();
    assert!(msg.contains("axis 0 of a has length 3"), "{msg}");
}

#[test]
fn cholesky_of_a_ragged_f32_matrix_and_upper() {
    let n = 101;
    let a = spd(4, n);
    let x = tessera::from_array(a.mapv(|v| v as f32), [25, 25]).unwrap();
    let l = cholesky(&x, true).unwrap().compute().unwrap().into_dimensionality::<Ix2>().unwrap();
    let l = l.mapv(f64::from);
    assert!(max_abs(&(l.dot(&l.t()) - &a)) <= 1e-5 * max_abs(&a));
    let xd = tessera::from_array(a.clone(), [30, 25]).unwrap(); // columns rechunked to the rows'
    let u = get2(&cholesky(&xd, false).unwrap());
    assert!(max_abs(&(u.t().dot(&u) - &a)) <= 1e-12 * max_abs(&a));
}

#[test]
fn cholesky_names_the_failing_tile_and_pivot() {
    let n = 40;
    let mut a = spd(5, n);
    // Make the leading 27 × 27 minor singular-ish: row/column 26 a copy of row/column 3.
    for j in 0..n {
        a[[26, j]] = a[[3, j]];
    }
    for i in 0..n {
        a[[i, 26]] = a[[i, 3]];
    }
    a[[26, 26]] = a[[3, 3]];
    let x = tessera::from_array(a, [10, 10]).unwrap();
    let err = cholesky(&x, true).unwrap().compute().unwrap_err();
    match err {
        Error::NotPositiveDefinite { tile, pivot } => {
            assert_eq!(tile, (2, 2));
            assert_eq!(pivot, 26);
        }
        e => panic!("expected NotPositiveDefinite, got {e}"),
    }
    let rect = tessera::ones::<f64>(&[4, 5], [2, 2]).unwrap();
    let msg = cholesky(&rect, true).unwrap_err().to_string();
    assert!(msg.contains("square") && msg.contains("[4, 5]"), "{msg}");
}

#[test]
fn svd_reconstructs_tall_and_wide_and_matches_faer() {
    for (m, n, rc, cc) in [(500, 12, 37, 12), (300, 9, 300, 3), (7, 60, 7, 16)] {
        let a = arr2(m as u64 + n as u64, m, n);
        let x = chunked(&a, Chunks::uniform(&[m, n], &[rc, cc]).unwrap());
        let (u, s, vt) = svd(&x).unwrap();
        let (u, vt) = (get2(&u), get2(&vt));
        let s = s.to_vec().unwrap();
        let k = m.min(n);
        assert_eq!((u.dim(), s.len(), vt.dim()), ((m, k), k, (k, n)));
        let back = (&u * &ndarray::Array1::from(s.clone())).dot(&vt);
        assert!(max_abs(&(back - &a)) < 1e-11, "{m}x{n}");
        assert!(max_abs(&(u.t().dot(&u) - Array2::<f64>::eye(k))) < 1e-11);
        let fa = faer::Mat::<f64>::from_fn(m, n, |i, j| a[[i, j]]);
        let fs = fa.singular_values().unwrap();
        for (p, q) in s.iter().zip(&fs) {
            assert!((p - q).abs() < 1e-11 * fs[0], "{p} vs {q}");
        }
    }
}

#[test]
fn rank_deficient_qr_still_reconstructs() {
    let m = 200;
    let c = arr2(9, m, 3);
    // Six columns spanning a 3-d space.
    let a = ndarray::concatenate(ndarray::Axis(1), &[c.view(), (c.clone() * 2.0).view()]).unwrap();
    let x = chunked(&a, Chunks::uniform(&[m, 6], &[16, 6]).unwrap());
    let (q, r) = qr(&x).unwrap();
    let (q, r) = (get2(&q), get2(&r));
    assert!(max_abs(&(q.dot(&r) - &a)) < 1e-12);
    let (_, s, _) = svd(&x).unwrap();
    let s = s.to_vec().unwrap();
    assert!(s[3] < 1e-12 * s[0], "{s:?}");
}

mod lu {
    use super::*;
    use tessera::linalg::{inv, lu, solve, solve_spd, solve_triangular};

    /// Tiles of an axis of length `n` cut at the `cuts` inside it.
    fn tiles(n: usize, cuts: Vec<usize>) -> Vec<usize> {
        common::split(n, &cuts.into_iter().filter(|&c| c < n).collect::<Vec<_>>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn pa_equals_lu_and_solve_matches_faer(n in 1usize..=36, seed in 0u64..1000,
                                               cuts in proptest::collection::vec(1usize..36, 0..5), nrhs in 1usize..4) {
            let a = arr2(seed, n, n);
            let rows = tiles(n, cuts);
            let x = chunked(&a, Chunks::new(vec![rows.clone(), rows]).unwrap());
            let (p, l, u) = lu(&x).unwrap();
            let p = p.to_vec().unwrap();
            let (l, u) = (get2(&l), get2(&u));
            let pa = Array2::from_shape_fn((n, n), |(i, j)| a[[p[i] as usize, j]]);
            prop_assert!(max_abs(&(l.dot(&u) - &pa)) <= 1e-12 * n as f64);
            for i in 0..n {
                prop_assert_eq!(l[[i, i]], 1.0);
                for j in i + 1..n {
                    prop_assert_eq!(l[[i, j]], 0.0);
                    prop_assert_eq!(u[[j, i]], 0.0);
                }
                // Partial pivoting: every multiplier is at most 1 in size.
                prop_assert!(l.row(i).iter().all(|v| v.abs() <= 1.0 + 1e-15));
            }
            // The same pivots as faer's LU of the whole matrix.
            let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
            let flu = fa.partial_piv_lu();
            let fp: Vec<i64> = flu.P().arrays().0.iter().map(|&v| v as i64).collect();
            prop_assert_eq!(&p, &fp);
            let b = arr2(seed + 7, n, nrhs);
            let y = chunked(&b, Chunks::uniform(&[n, nrhs], &[5, 2]).unwrap());
            let sol = get2(&solve(&x, &y).unwrap());
            prop_assert!(max_abs(&(a.dot(&sol) - &b)) <= 1e-9 * (1.0 + max_abs(&sol)));
        }
    }

    #[test]
    fn spd_triangular_inverse_and_vectors() {
        let n = 53;
        let a = spd(11, n);
        let x = chunked(&a, Chunks::uniform(&[n, n], &[12, 12]).unwrap());
        let bv = ndarray::Array1::from_shape_fn(n, |i| (i as f64).sin());
        let b = tessera::from_array(bv.clone(), [20]).unwrap();
        for s in [solve(&x, &b).unwrap(), solve_spd(&x, &b).unwrap()] {
            let s = s.compute().unwrap().into_dimensionality::<ndarray::Ix1>().unwrap();
            assert!((a.dot(&s) - &bv).iter().all(|r| r.abs() < 1e-10));
        }
        let ai = get2(&inv(&x).unwrap());
        assert!(max_abs(&(a.dot(&ai) - Array2::<f64>::eye(n))) < 1e-12);
        // Triangular: only the named triangle is read.
        let lo = Array2::from_shape_fn((n, n), |(i, j)| if j <= i { a[[i, j]] } else { 99.0 });
        let t = chunked(&lo, Chunks::uniform(&[n, n], &[12, 12]).unwrap());
        let tl = Array2::from_shape_fn((n, n), |(i, j)| if j <= i { a[[i, j]] } else { 0.0 });
        for trans in [false, true] {
            let s = solve_triangular(&t, &b, true, trans).unwrap().compute().unwrap();
            let s = s.into_dimensionality::<ndarray::Ix1>().unwrap();
            let m = if trans { tl.t().to_owned() } else { tl.clone() };
            assert!((m.dot(&s) - &bv).iter().all(|r| r.abs() < 1e-10), "trans {trans}");
        }
    }

    #[test]
    fn singular_and_mismatched_systems_are_errors() {
        // Column 13 all zeros: an exactly zero pivot (as NumPy, only an exact zero is
        // "singular"; a numerically singular matrix solves to large values).
        let mut a = arr2(3, 20, 20);
        for i in 0..20 {
            a[[i, 13]] = 0.0;
        }
        let x = chunked(&a, Chunks::uniform(&[20, 20], &[6, 6]).unwrap());
        let b = tessera::ones::<f64>(&[20], [20]).unwrap();
        let err = solve(&x, &b).unwrap().compute().unwrap_err();
        assert!(matches!(err, Error::Singular { .. }), "{err}");
        assert!(err.to_string().contains("row 13"), "{err}");
        let zero = tessera::zeros::<f64>(&[4, 4], [2, 2]).unwrap();
        assert!(matches!(inv(&zero).unwrap().compute().unwrap_err(), Error::Singular { .. }));
        let short = tessera::ones::<f64>(&[7], [7]).unwrap();
        let msg = solve(&x, &short).unwrap_err().to_string();
        assert!(msg.contains("[20, 20]") && msg.contains("[7]"), "{msg}");
        let rect = tessera::ones::<f64>(&[3, 4], [2, 2]).unwrap();
        assert!(lu(&rect).unwrap_err().to_string().contains("square"));
    }
}

mod helpers {
    use super::*;
    use tessera::linalg::{Norm, det, diagonal, lstsq, norm, outer, slogdet, trace, tril, triu, vdot};

    #[test]
    fn triangles_diagonal_trace_outer_vdot() {
        let a = arr2(2, 7, 5);
        let x = chunked(&a, Chunks::uniform(&[7, 5], &[3, 2]).unwrap());
        for k in [-2isize, 0, 1, 4] {
            let up = get2(&triu(&x, k).unwrap());
            let lo = get2(&tril(&x, k).unwrap());
            for i in 0..7 {
                for j in 0..5 {
                    let d = j as isize - i as isize;
                    assert_eq!(up[[i, j]], if d >= k { a[[i, j]] } else { 0.0 });
                    assert_eq!(lo[[i, j]], if d <= k { a[[i, j]] } else { 0.0 });
                }
            }
        }
        let d = diagonal(&x).unwrap().to_vec().unwrap();
        assert_eq!(d, (0..5).map(|i| a[[i, i]]).collect::<Vec<_>>());
        assert!((trace(&x).unwrap().item().unwrap() - d.iter().sum::<f64>()).abs() < 1e-15);
        let v = tessera::arange(0.0f64, 4.0, 1.0, [3]).unwrap();
        let o = get2(&outer(&v, &v).unwrap());
        assert_eq!(o[[2, 3]], 6.0);
        assert_eq!(vdot(&x, &x).unwrap().item().unwrap(), a.iter().map(|v| v * v).sum::<f64>());
        assert!(triu(&v, 0).is_err());
    }

    #[test]
    fn norms_match_their_definitions() {
        let a = arr2(5, 40, 6);
        let x = chunked(&a, Chunks::uniform(&[40, 6], &[9, 4]).unwrap());
        let n = |o| norm(&x, o).unwrap().item().unwrap();
        let fro = a.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((n(Norm::Fro) - fro).abs() < 1e-12);
        let col = (0..6).map(|j| a.column(j).iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max);
        let row = (0..40).map(|i| a.row(i).iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max);
        assert!((n(Norm::One) - col).abs() < 1e-12 && (n(Norm::Inf) - row).abs() < 1e-12);
        let fa = faer::Mat::<f64>::from_fn(40, 6, |i, j| a[[i, j]]);
        assert!((n(Norm::Two) - fa.singular_values().unwrap()[0]).abs() < 1e-12);
        let v = tessera::from_array(ndarray::array![3.0f64, -4.0], [1]).unwrap();
        let nv = |o| norm(&v, o).unwrap().item().unwrap();
        assert_eq!((nv(Norm::One), nv(Norm::Two), nv(Norm::Inf)), (7.0, 5.0, 4.0));
        assert!((nv(Norm::P(3.0)) - 91f64.cbrt()).abs() < 1e-12);
        assert!(norm(&v, Norm::P(0.0)).is_err());
    }

    #[test]
    fn determinants_against_faer() {
        let n = 30;
        let a = arr2(17, n, n);
        let x = chunked(&a, Chunks::uniform(&[n, n], &[7, 7]).unwrap());
        let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
        let want = fa.determinant();
        let got = det(&x).unwrap();
        assert!((got - want).abs() <= 1e-10 * want.abs(), "{got} vs {want}");
        let (s, l) = slogdet(&x).unwrap();
        assert_eq!(s, want.signum());
        assert!((l - want.abs().ln()).abs() < 1e-10);
        let z = tessera::zeros::<f64>(&[3, 3], [2, 2]).unwrap();
        assert_eq!(slogdet(&z).unwrap(), (0.0, f64::NEG_INFINITY));
        assert_eq!(det(&z).unwrap(), 0.0);
    }

    #[test]
    fn least_squares_full_rank_and_rank_deficient() {
        let (m, n) = (120, 5);
        let a = arr2(23, m, n);
        let b = arr2(24, m, 2);
        let x = chunked(&a, Chunks::uniform(&[m, n], &[25, 5]).unwrap());
        let y = chunked(&b, Chunks::uniform(&[m, 2], &[25, 2]).unwrap());
        let sol = get2(&lstsq(&x, &y, None).unwrap());
        // The normal equations hold: Aᵀ (A x − b) = 0.
        let r = a.t().dot(&(a.dot(&sol) - &b));
        assert!(max_abs(&r) < 1e-10, "{r:?}");
        // A repeated column: the minimum-norm solution splits the weight evenly.
        let a2 =
            ndarray::concatenate(ndarray::Axis(1), &[a.view(), a.column(0).insert_axis(ndarray::Axis(1))])
                .unwrap();
        let x2 = chunked(&a2, Chunks::uniform(&[m, n + 1], &[25, n + 1]).unwrap());
        let s2 = get2(&lstsq(&x2, &y, None).unwrap());
        assert!((s2[[0, 0]] - s2[[n, 0]]).abs() < 1e-10);
        assert!((s2[[0, 0]] + s2[[n, 0]] - sol[[0, 0]]).abs() < 1e-10);
    }
}

#[test]
fn randomized_svd_recovers_the_leading_triplets() {
    use tessera::linalg::svd_compressed;
    // A = U diag(2^-i) Vᵀ with random orthonormal U, V: a fast-decaying spectrum.
    let (m, n) = (300, 80);
    let q = |seed, r, c| {
        let g = arr2(seed, r, c);
        faer::Mat::<f64>::from_fn(r, c, |i, j| g[[i, j]]).qr().compute_thin_Q()
    };
    let (u, v) = (q(31, m, n), q(32, n, n));
    let a = Array2::from_shape_fn((m, n), |(i, j)| {
        (0..n).map(|l| u[(i, l)] * 0.5f64.powi(l as i32) * v[(j, l)]).sum()
    });
    let x = chunked(&a, Chunks::uniform(&[m, n], &[70, 30]).unwrap());
    let (uk, s, vt) = svd_compressed(&x, 5, 10, 2, 3).unwrap();
    let s = s.to_vec().unwrap();
    for (i, sv) in s.iter().enumerate() {
        assert!((sv - 0.5f64.powi(i as i32)).abs() < 1e-8, "{i}: {sv}");
    }
    let (uk, vt) = (get2(&uk), get2(&vt));
    assert_eq!((uk.dim(), vt.dim()), ((m, 5), (5, n)));
    assert!(max_abs(&(uk.t().dot(&uk) - Array2::<f64>::eye(5))) < 1e-10);
    // The rank-5 reconstruction is off by about the sixth singular value.
    let back = (&uk * &ndarray::Array1::from(s)).dot(&vt);
    assert!(max_abs(&(back - &a)) < 0.05, "rank-5 error");
    assert!(svd_compressed(&x, 0, 5, 0, 1).is_err());
    assert!(svd_compressed(&x, 81, 5, 0, 1).is_err());
}

#[test]
fn batched_matmul_broadcasts_like_numpy() {
    let a = ArrayD::from_shape_fn(IxDyn(&[3, 1, 5, 4]), |i| (i[0] * 7 + i[2] * 3 + i[3]) as f64 * 0.25 - 2.0);
    let b = ArrayD::from_shape_fn(IxDyn(&[2, 4, 6]), |i| (i[0] as f64 + 1.0) * (i[1] as f64 - i[2] as f64));
    let x = tessera::from_array(a.clone(), [2, 1, 3, 3]).unwrap();
    let y = tessera::from_array(b.clone(), [1, 2, 4]).unwrap();
    let c = tessera::linalg::matmul(&x, &y).unwrap();
    assert_eq!(c.shape(), &[3, 2, 5, 6]);
    let got = common::compute_checked(&c);
    for p in 0..3 {
        for q in 0..2 {
            for i in 0..5 {
                for j in 0..6 {
                    let want: f64 = (0..4).map(|l| a[[p, 0, i, l]] * b[[q, l, j]]).sum();
                    assert!((got[[p, q, i, j]] - want).abs() < 1e-12);
                }
            }
        }
    }
    // A vector on the left: its axis is dropped.
    let v = tessera::ones::<f64>(&[5], [2]).unwrap();
    let vc = tessera::linalg::matmul(&v, &x).unwrap();
    assert_eq!(vc.shape(), &[3, 1, 4]);
    let vc = vc.compute().unwrap();
    assert!((vc[[2, 0, 1]] - (0..5).map(|i| a[[2, 0, i, 1]]).sum::<f64>()).abs() < 1e-12);
    let bad = tessera::ones::<f64>(&[2, 3, 6], [1, 3, 6]).unwrap();
    assert!(tessera::linalg::matmul(&x, &bad).is_err());
}

#[test]
fn einsum_patterns_match_loops() {
    use tessera::linalg::einsum;
    let a = ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |i| (i[0] * 12 + i[1] * 4 + i[2]) as f64 * 0.5 - 3.0);
    let b =
        ArrayD::from_shape_fn(IxDyn(&[2, 4, 5]), |i| (i[0] as f64 - 0.5) * (i[1] as f64 + 2.0 * i[2] as f64));
    let x = tessera::from_array(a.clone(), [1, 2, 3]).unwrap();
    let y = tessera::from_array(b.clone(), [2, 3, 2]).unwrap();
    // Batched matmul, output transposed.
    let c = einsum("bij,bjk->bki", &[&x, &y]).unwrap().compute().unwrap();
    assert_eq!(c.shape(), &[2, 5, 3]);
    for p in 0..2 {
        for k in 0..5 {
            for i in 0..3 {
                let w: f64 = (0..4).map(|j| a[[p, i, j]] * b[[p, j, k]]).sum();
                assert!((c[[p, k, i]] - w).abs() < 1e-12);
            }
        }
    }
    // Contract two axes, one summed away first ("i" only in a, not in the output).
    let d = einsum("bij,bjk->k", &[&x, &y]).unwrap().compute().unwrap();
    for k in 0..5 {
        let w: f64 = (0..2)
            .flat_map(|p| (0..3).flat_map(move |i| (0..4).map(move |j| (p, i, j))))
            .map(|(p, i, j)| a[[p, i, j]] * b[[p, j, k]])
            .sum();
        assert!((d[[k]] - w).abs() < 1e-10);
    }
    // Implicit output, transpose, full sum, outer.
    assert_eq!(einsum("bij", &[&x]).unwrap().shape(), &[2, 3, 4]);
    assert_eq!(einsum("ijk->kj", &[&x]).unwrap().shape(), &[4, 3]);
    let total = einsum("ijk->", &[&x]).unwrap().item().unwrap();
    assert!((total - a.sum()).abs() < 1e-9);
    let v = tessera::arange(1.0f64, 4.0, 1.0, [2]).unwrap();
    let o = einsum("i,j->ij", &[&v, &v]).unwrap().compute().unwrap();
    assert_eq!(o[[1, 2]], 6.0);
    assert_eq!(einsum("i,i", &[&v, &v]).unwrap().item().unwrap(), 14.0);
    // Errors name the pattern.
    for bad in ["ii->i", "ij,jk->ik", "bij,bjk->bz", "bi,bjk->bk"] {
        let e = einsum(bad, &[&x, &y]).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(bad), "{bad}: {e}");
    }
}
