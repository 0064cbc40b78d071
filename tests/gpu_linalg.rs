//! GPU parity of the linear-algebra tiles (gemm, syrk, trsm) and whole workloads forced onto
//! the GPU, against the CPU; skipped (with a notice) without an adapter unless
//! `TESSERA_REQUIRE_GPU=1`.

mod gpu_common;

use gpu_common::*;
use ndarray::ArrayD;
use tessera::Array;

#[test]
fn whole_workloads_forced_onto_the_gpu_equal_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    // sst-nanmean at a small size: land masked with NaN, time mean of each grid cell.
    let sst = tessera::datasets::sst(40, 36, 72, 7, [8, 18, 36]).unwrap();
    let m = sst.nanmean(0).unwrap();
    let (a, rep) = m.compute_report(&g).unwrap();
    let b = m.compute_with(&cpu()).unwrap();
    assert!(rep.gpu_tasks >= 20, "{} GPU tasks", rep.gpu_tasks);
    assert_close(&a, &b, 8.0, 1e-5, "sst nanmean");
    // A blocked Cholesky: gemm and syrk tiles on the GPU, potrf and trsm on the CPU.
    let n = 300;
    let r = tessera::random::uniform::<f64>(3, &[n, n], [128, 128]).unwrap();
    let spd = tessera::linalg::matmul(&r, &r.transpose()).unwrap()
        + &tessera::eye::<f64>(n, n, 0, [128, 128]).unwrap() * n as f64;
    let l = tessera::linalg::cholesky(&spd, true).unwrap();
    let ((a, rep), b) = (l.compute_report(&g).unwrap(), l.compute_with(&cpu()).unwrap());
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() <= 1e-12 * (1.0 + q.abs())));
    assert_eq!(rep.gpu_tasks > 0, tessera::gpu::devices()[0].shader_f64, "f64 tiles on the GPU");
    let l32 = tessera::linalg::cholesky(&spd.astype::<f32>(), true).unwrap();
    let ((a, rep), b) = (l32.compute_report(&g).unwrap(), l32.compute_with(&cpu()).unwrap());
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() <= 1e-4 * (1.0 + q.abs())));
    assert!(rep.gpu_tasks > 0);
}

fn assert_product_close(g: &ArrayD<f32>, c: &ArrayD<f32>, bound: &ArrayD<f32>, k: usize, what: &str) {
    for (i, ((&p, &q), &b)) in g.iter().zip(c).zip(bound).enumerate() {
        let tol = 4.0 * k as f32 * f32::EPSILON * b + 1e-30;
        assert!((p - q).abs() <= tol, "{what}: element {i}: GPU {p}, CPU {q}, tolerance {tol}");
    }
}

#[test]
fn matmul_tiles_match_faer() {
    let Some((_lock, g)) = gpu() else { return };
    use tessera::linalg::matmul;
    // The last case has tiles with a 128 × 128 interior and deep slices: the kernel's
    // unguarded path, in every layout (transposed operands, syrk).
    for (m, k, n, ch) in [
        (1usize, 1usize, 1usize, 1usize),
        (130, 70, 257, 64),
        (65, 200, 63, 50),
        (256, 33, 128, 128),
        (300, 260, 270, 150),
    ] {
        let a = tessera::random::normal::<f32>(m as u64, &[m, k], [ch, ch], 0.0, 1.0).unwrap();
        let b = tessera::random::normal::<f32>(n as u64 + 1, &[k, n], [ch, ch], 0.0, 1.0).unwrap();
        let bound = matmul(&a.abs(), &b.abs()).unwrap().compute_with(&cpu()).unwrap();
        for (what, y) in [
            ("a @ b", matmul(&a, &b).unwrap()),
            ("(bᵀ @ aᵀ)ᵀ", matmul(&b.transpose(), &a.transpose()).unwrap().transpose()),
        ] {
            let (p, q, on_gpu) = both(&y, &g);
            assert_product_close(&p, &q, &bound, k, &format!("{what} {m}x{k}x{n}"));
            assert!(on_gpu > 0, "{what}");
        }
        // a @ aᵀ: syrk on the diagonal tiles, gemm below, mirrored views above.
        let gram = matmul(&a, &a.transpose()).unwrap();
        let gb = matmul(&a.abs(), &a.abs().transpose()).unwrap().compute_with(&cpu()).unwrap();
        let (p, q, on_gpu) = both(&gram, &g);
        assert_product_close(&p, &q, &gb, k, &format!("a @ aᵀ {m}x{k}"));
        assert!(on_gpu > 0);
        assert!(p.iter().zip(p.t().iter()).all(|(x, y)| x == y), "a @ aᵀ is symmetric");
    }
}

#[test]
fn triangular_solves_and_lu_match_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    use tessera::linalg::{solve, solve_triangular, tril, triu};
    let n = 150;
    let r = tessera::random::uniform::<f32>(4, &[n, n], [64, 64]).unwrap();
    // Well-conditioned triangles: a dominant diagonal.
    let d = &tessera::eye::<f32>(n, n, 0, [64, 64]).unwrap() * n as f32;
    // Computed inputs, so that the solves' own tiles are the only tasks that can run on the GPU.
    let fix =
        |x: Array<f32>, ch: usize| tessera::from_array(x.compute_with(&cpu()).unwrap(), [ch, ch]).unwrap();
    for ch in [n, 64] {
        let lo = fix(tril(&(&r + &d), 0).unwrap(), ch);
        let up = fix(triu(&(&r + &d), 0).unwrap(), ch);
        let a = fix(&r + &d, ch);
        let b = tessera::from_array(
            tessera::random::uniform::<f32>(5, &[n, 7], [n, 7]).unwrap().compute().unwrap(),
            [ch, 7],
        )
        .unwrap();
        for (what, x) in [
            ("lower", solve_triangular(&lo, &b, true, false).unwrap()),
            ("lower, transposed", solve_triangular(&lo, &b, true, true).unwrap()),
            ("upper", solve_triangular(&up, &b, false, false).unwrap()),
            ("upper, transposed", solve_triangular(&up, &b, false, true).unwrap()),
            ("general (LU)", solve(&a, &b).unwrap()),
        ] {
            let (p, q, on_gpu) = both(&x, &g);
            assert_close(&p, &q, 0.0, 1e-5, &format!("{what}, tiles of {ch}"));
            assert!(on_gpu > 0, "{what}, tiles of {ch}");
        }
    }
}

#[test]
fn block_jacobi_svd_with_its_gram_tiles_on_the_gpu() {
    let Some((_lock, g)) = gpu() else { return };
    // f32: the Gram matrices' syrk/gemm tiles run on the GPU, the rotations on the CPU.
    let a = tessera::random::normal::<f32>(21, &[96, 64], [40, 32], 0.0, 1.0).unwrap();
    let (u, s, vt) = tessera::linalg::svd_jacobi(&a, &g).unwrap();
    let s_gpu = s.to_vec().unwrap();
    let (_, s_cpu, _) = tessera::linalg::svd_jacobi(&a, &cpu()).unwrap();
    let s_cpu = s_cpu.to_vec().unwrap();
    for (p, q) in s_gpu.iter().zip(&s_cpu) {
        assert!((p - q).abs() <= 1e-4 * s_cpu[0], "σ: GPU run {p}, CPU run {q}");
    }
    let back = tessera::linalg::matmul(&u.try_mul(s.expand_dims(0).unwrap()).unwrap(), &vt).unwrap();
    let err = back.try_sub(&a).unwrap().abs().max(tessera::Axes::All).unwrap().compute_with(&g).unwrap();
    assert!(err.iter().all(|&e| e < 1e-4), "{err:?}");
}
