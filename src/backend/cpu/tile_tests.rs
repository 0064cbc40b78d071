//! Tile kernels called directly through the CPU backend: a kernel that overwrites an input
//! reuses its buffer when it owns the only reference, and leaves a shared input untouched.

//! (Unit tests: the kernels are internal.)

use std::sync::Arc;

use ndarray::{Array2, ArrayD, Ix2};

use crate::backend::Backend;
use crate::backend::cpu::CpuBackend;
use crate::core::block::{HostArray, Value};
use crate::ir::kernel::{Kernel, TileKernel};

/// A reproducible `m × n` matrix of values in [-1, 1) (xorshift from `seed`).
fn arr2(seed: u64, m: usize, n: usize) -> Array2<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_fn((m, n), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

fn block(a: Array2<f64>) -> Value {
    Value::Array(HostArray::new(a.into_dyn().into_shared()))
}

fn data_ptr(v: &Value) -> *const f64 {
    v.array().unwrap().typed::<f64>().unwrap().as_ptr()
}

fn values(v: &Value) -> Array2<f64> {
    let a: ArrayD<f64> = v.array().unwrap().typed::<f64>().unwrap().to_owned();
    a.into_dimensionality::<Ix2>().unwrap()
}

fn close(a: &Array2<f64>, b: &Array2<f64>) -> bool {
    a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs()))
}

fn gemm_acc() -> Kernel {
    Kernel::Tile(Arc::new(TileKernel::Gemm { ta: false, tb: false, alpha: 1.0, accumulate: true }))
}

#[test]
fn an_accumulating_gemm_writes_into_a_running_sum_it_owns() {
    let (c, a, b) = (arr2(1, 37, 29), arr2(2, 37, 41), arr2(3, 41, 29));
    let want = &c + &a.dot(&b);
    let c_block = block(c);
    let before = data_ptr(&c_block);
    let out = CpuBackend.execute_owned(&gemm_acc(), vec![c_block, block(a), block(b)]).unwrap();
    assert_eq!(data_ptr(&out), before, "the running sum was copied although nothing else held it");
    assert!(close(&values(&out), &want));
}

#[test]
fn an_accumulating_gemm_leaves_a_shared_running_sum_alone() {
    let (c, a, b) = (arr2(4, 30, 20), arr2(5, 30, 25), arr2(6, 25, 20));
    let want = &c + &a.dot(&b);
    let c_block = block(c.clone());
    let kept = c_block.clone();
    let out =
        CpuBackend.execute_owned(&gemm_acc(), vec![c_block, block(a.clone()), block(b.clone())]).unwrap();
    assert!(close(&values(&out), &want));
    assert_ne!(data_ptr(&out), data_ptr(&kept));
    assert_eq!(values(&kept), c, "a running sum someone else holds was overwritten");
    // Lent inputs (`execute`) are never overwritten either.
    let out = CpuBackend.execute(&gemm_acc(), &[kept.clone(), block(a), block(b)]).unwrap();
    assert!(close(&values(&out), &want));
    assert_eq!(values(&kept), c);
}

#[test]
fn a_transposed_running_sum_is_copied_into_c_order() {
    let (c, a, b) = (arr2(7, 16, 16), arr2(8, 16, 9), arr2(9, 9, 16));
    let want = c.t().to_owned() + a.dot(&b);
    let ct = Value::Array(HostArray::new(c.into_dyn().into_shared().reversed_axes()));
    let out = CpuBackend.execute_owned(&gemm_acc(), vec![ct, block(a), block(b)]).unwrap();
    assert!(close(&values(&out), &want));
}

#[test]
fn trsm_and_potrf_leave_shared_inputs_alone() {
    let n = 24;
    let g = arr2(10, n, n);
    let spd = g.dot(&g.t()) + Array2::<f64>::eye(n) * n as f64;
    let a = block(spd.clone());
    let kept = a.clone();
    let potrf = Kernel::Tile(Arc::new(TileKernel::Potrf { tile: 0, offset: 0 }));
    let l = CpuBackend.execute_owned(&potrf, vec![a]).unwrap();
    assert_eq!(values(&kept), spd, "potrf overwrote a tile someone else holds");
    let lv = values(&l);
    assert!(close(&lv.dot(&lv.t()), &spd));

    let rhs = arr2(11, 7, n);
    let x_in = block(rhs.clone());
    let kept = x_in.clone();
    // X Lᵀ = B, as Cholesky's panel update solves it.
    let trsm =
        Kernel::Tile(Arc::new(TileKernel::Trsm { right: true, lower: true, trans: true, unit: false }));
    let x = CpuBackend.execute_owned(&trsm, vec![l, x_in]).unwrap();
    assert_eq!(values(&kept), rhs, "trsm overwrote a right-hand side someone else holds");
    assert!(close(&values(&x).dot(&lv.t()), &rhs));
}

/// A block holding `a` in C order, or the same values in F order (a transposed C-order
/// buffer).
fn laid_out(a: &Array2<f64>, f_order: bool) -> Value {
    if f_order {
        Value::Array(HostArray::new(a.t().to_owned().into_dyn().into_shared().reversed_axes()))
    } else {
        block(a.clone())
    }
}

#[test]
fn gemm_and_syrk_tiles_match_ndarray_in_every_layout() {
    // Every transpose flag and operand layout (OpenBLAS under the `blas` feature reads both
    // orders through its own flags; faer through strides), f64 and f32, with and without a
    // running sum.
    let (m, k, n) = (13, 17, 11);
    for (ta, tb, fa, fb, acc) in
        (0..32).map(|i| (i & 1 != 0, i & 2 != 0, i & 4 != 0, i & 8 != 0, i & 16 != 0))
    {
        let a = if ta { arr2(20, k, m) } else { arr2(20, m, k) };
        let b = if tb { arr2(21, n, k) } else { arr2(21, k, n) };
        let c = arr2(22, m, n);
        let (oa, ob) =
            (if ta { a.t().to_owned() } else { a.clone() }, if tb { b.t().to_owned() } else { b.clone() });
        let want = oa.dot(&ob) * 0.5 + if acc { c.clone() } else { Array2::zeros((m, n)) };
        let kernel = Kernel::Tile(Arc::new(TileKernel::Gemm { ta, tb, alpha: 0.5, accumulate: acc }));
        let mut inputs = if acc { vec![block(c.clone())] } else { vec![] };
        inputs.extend([laid_out(&a, fa), laid_out(&b, fb)]);
        let got = values(&CpuBackend.execute_owned(&kernel, inputs.clone()).unwrap());
        assert!(close(&got, &want), "gemm ta {ta} tb {tb} F-order a {fa} b {fb} accumulate {acc}");

        let to32 = |v: &Value| {
            let a: ArrayD<f64> = v.array().unwrap().typed::<f64>().unwrap().to_owned();
            let s = a.mapv(|x| x as f32);
            // Keep the layout: an F-order input stays F-order.
            let s = if v.array().unwrap().typed::<f64>().unwrap().is_standard_layout() {
                s.as_standard_layout().into_owned()
            } else {
                s.reversed_axes().as_standard_layout().into_owned().reversed_axes()
            };
            Value::Array(HostArray::new(s.into_shared()))
        };
        let got32 = CpuBackend.execute_owned(&kernel, inputs.iter().map(to32).collect()).unwrap();
        let got32 = got32
            .array()
            .unwrap()
            .typed::<f32>()
            .unwrap()
            .mapv(|x| x as f64)
            .into_dimensionality::<Ix2>()
            .unwrap();
        assert!(
            got32.iter().zip(&want).all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + y.abs())),
            "f32 gemm {ta} {tb} {fa} {fb} {acc}"
        );
    }
    for (fa, acc) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = arr2(23, 19, 8);
        let c = arr2(24, 19, 19);
        let c = &c + &c.t();
        let want = a.dot(&a.t()) * 2.0 + if acc { c.clone() } else { Array2::zeros((19, 19)) };
        let kernel = Kernel::Tile(Arc::new(TileKernel::Syrk { alpha: 2.0, accumulate: acc }));
        let mut inputs = if acc { vec![block(c.clone())] } else { vec![] };
        inputs.push(laid_out(&a, fa));
        let got = values(&CpuBackend.execute_owned(&kernel, inputs).unwrap());
        assert!(close(&got, &want), "syrk F-order {fa} accumulate {acc}");
    }
    // Under the feature every one of these products went through OpenBLAS, none fell back.
    #[cfg(feature = "blas")]
    assert!(crate::backend::cpu::blas_products() >= 68, "{}", crate::backend::cpu::blas_products());
}

#[test]
fn a_jacobi_rotation_orthogonalises_two_panels_and_is_skipped_once_they_are() {
    let tile = |t: TileKernel| Kernel::Tile(Arc::new(t));
    let (xp, xq) = (arr2(11, 30, 4), arr2(12, 30, 3));
    let scale = (xp.iter().chain(&xq).map(|v| v * v).sum::<f64>()).sqrt();
    let grams = vec![block(xp.t().dot(&xp)), block(xp.t().dot(&xq)), block(xq.t().dot(&xq))];
    let rot = CpuBackend.execute(&tile(TileKernel::JacobiRotation { scale, tol: 1e-14 }), &grams).unwrap();
    let apply = |second, rot: &Value| {
        let k = tile(TileKernel::JacobiApply { second });
        CpuBackend.execute(&k, &[block(xp.clone()), block(xq.clone()), rot.clone()]).unwrap()
    };
    let (np, nq) = (values(&apply(false, &rot)), values(&apply(true, &rot)));
    assert_eq!((np.dim(), nq.dim()), ((30, 4), (30, 3)));
    // The rotated columns are mutually orthogonal, norms descending, and span the same space
    // with the same total energy.
    let both = ndarray::concatenate(ndarray::Axis(1), &[np.view(), nq.view()]).unwrap();
    let g = both.t().dot(&both);
    for i in 0..7 {
        for j in 0..7 {
            if i != j {
                assert!(g[[i, j]].abs() < 1e-12 * scale * scale, "g[{i},{j}] = {}", g[[i, j]]);
            }
        }
        assert!(i == 0 || g[[i, i]] <= g[[i - 1, i - 1]] * (1.0 + 1e-12));
    }
    assert!((g.diag().sum() - scale * scale).abs() < 1e-10 * scale * scale);
    // Orthogonal panels: no rotation, and each block comes back as it was, uncopied.
    let grams = vec![
        block(g.slice(ndarray::s![..4, ..4]).to_owned()),
        block(g.slice(ndarray::s![..4, 4..]).to_owned()),
        block(g.slice(ndarray::s![4.., 4..]).to_owned()),
    ];
    let rot = CpuBackend.execute(&tile(TileKernel::JacobiRotation { scale, tol: 1e-10 }), &grams).unwrap();
    let (bp, bq) = (block(np.clone()), block(nq.clone()));
    let k = tile(TileKernel::JacobiApply { second: true });
    let same = CpuBackend.execute(&k, &[bp.clone(), bq.clone(), rot]).unwrap();
    assert_eq!(data_ptr(&same), data_ptr(&bq));
    // A NaN in the Gram matrix is an error, not a rotation by NaNs.
    let mut bad = xp.t().dot(&xp);
    bad[[1, 1]] = f64::NAN;
    let err = CpuBackend.execute(&tile(TileKernel::JacobiRotation { scale, tol: 1e-14 }), &[block(bad)]);
    assert!(err.unwrap_err().to_string().contains("NaN"));
}
