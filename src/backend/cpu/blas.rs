//! Gemm and syrk tiles through the system's OpenBLAS (cargo feature `blas`; Debian:
//! `apt-get install libopenblas-dev`). faer stays the default: on this project's 2-core
//! machine OpenBLAS's single-threaded kernels ran the 1000² f64 tile products of `compound`
//! about 8 % faster than faer's (BENCHMARKS.md).
//!
//! OpenBLAS runs on one thread here: each scheduler worker calls it for its own tile, so
//! workers × BLAS threads stay within the cores. Every gemm and syrk tile goes to OpenBLAS
//! (the tile kernels borrow no idle cores for them): which library computes a tile must not
//! depend on how many workers happen to be idle, or the same graph would give different bits
//! from run to run (OpenBLAS and faer round differently). Tiles whose layout CBLAS cannot
//! take stay on faer, which depends only on the graph too.

use std::ffi::c_int;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use cblas_sys::{
    CBLAS_TRANSPOSE, CblasLower, CblasNoTrans, CblasRowMajor, CblasTrans, cblas_dgemm, cblas_dsyrk,
    cblas_sgemm, cblas_ssyrk,
};
use ndarray::{ArcArray, Array2, IxDyn};

use crate::backend::cpu::tiles::TileFloat;
use crate::core::dtype::DType;

#[link(name = "openblas")]
unsafe extern "C" {
    fn openblas_set_num_threads(n: c_int);
}

/// Tile products OpenBLAS ran (tests check the feature is used, not bypassed).
pub(crate) static PRODUCTS: AtomicUsize = AtomicUsize::new(0);

/// OpenBLAS's own thread count, set to one before its first use; counts the product.
fn one_thread() {
    PRODUCTS.fetch_add(1, Ordering::Relaxed);
    static ONCE: Once = Once::new();
    // SAFETY: a plain setter of OpenBLAS's global thread count.
    ONCE.call_once(|| unsafe { openblas_set_num_threads(1) });
}

/// A 2-d block as a row-major CBLAS operand `op(M)` with `op(M) = a` (`aᵀ` when `trans`):
/// its pointer, `op` and leading dimension; `None` when neither stride is 1, a stride is
/// negative, or an extent does not fit a C `int`.
fn operand<T>(a: &ArcArray<T, IxDyn>, trans: bool) -> Option<(*const T, CBLAS_TRANSPOSE, c_int)> {
    let (r, c) = (a.shape()[0], a.shape()[1]);
    let (s0, s1) = (a.strides()[0], a.strides()[1]);
    let fits = |x: usize| c_int::try_from(x).ok();
    let (row_major, ld) = if (s1 == 1 || c <= 1) && s0 >= c.max(1) as isize {
        (true, s0 as usize)
    } else if (s0 == 1 || r <= 1) && s1 >= r.max(1) as isize {
        (false, s1 as usize)
    } else {
        return None;
    };
    fits(r)?;
    fits(c)?;
    let op = if row_major ^ trans { CblasNoTrans } else { CblasTrans };
    Some((a.as_ptr(), op, fits(ld.max(1))?))
}

/// Whether gemm and syrk tiles run on OpenBLAS (this build has the `blas` feature).
pub(crate) const ENABLED: bool = true;

/// `out = alpha · op(a) · op(b) + (out if accumulate)` on a C-order `out` of the right shape.
/// False (nothing done) when an operand's layout does not suit CBLAS or the sizes are empty.
pub(crate) fn gemm<T: TileFloat>(
    out: &mut Array2<T>,
    accumulate: bool,
    (a, ta): (&ArcArray<T, IxDyn>, bool),
    (b, tb): (&ArcArray<T, IxDyn>, bool),
    alpha: f64,
) -> bool {
    let (m, n) = out.dim();
    let k = if ta { a.shape()[0] } else { a.shape()[1] };
    let (Some((pa, opa, lda)), Some((pb, opb, ldb))) = (operand(a, ta), operand(b, tb)) else {
        return false;
    };
    let (Ok(mi), Ok(ni), Ok(ki)) = (c_int::try_from(m), c_int::try_from(n), c_int::try_from(k)) else {
        return false;
    };
    if m == 0 || n == 0 || k == 0 {
        return false;
    }
    one_thread();
    let beta = if accumulate { 1.0 } else { 0.0 };
    let pc = out.as_mut_ptr();
    // SAFETY: `a`, `b` and `out` are live arrays whose extents and strides `operand` and
    // `out`'s C order describe; T is f32 or f64 exactly as `T::DTYPE` says, so the casts
    // name the same type.
    unsafe {
        match T::DTYPE {
            DType::F64 => cblas_dgemm(
                CblasRowMajor,
                opa,
                opb,
                mi,
                ni,
                ki,
                alpha,
                pa.cast(),
                lda,
                pb.cast(),
                ldb,
                beta,
                pc.cast(),
                ni,
            ),
            DType::F32 => cblas_sgemm(
                CblasRowMajor,
                opa,
                opb,
                mi,
                ni,
                ki,
                alpha as f32,
                pa.cast(),
                lda,
                pb.cast(),
                ldb,
                beta as f32,
                pc.cast(),
                ni,
            ),
            _ => return false,
        }
    }
    true
}

/// The lower triangle of `out = alpha · a · aᵀ + (out if accumulate)` on a C-order square
/// `out`; false (nothing done) as for [`gemm`].
pub(crate) fn syrk_lower<T: TileFloat>(
    out: &mut Array2<T>,
    accumulate: bool,
    a: &ArcArray<T, IxDyn>,
    alpha: f64,
) -> bool {
    let (n, k) = (a.shape()[0], a.shape()[1]);
    let Some((pa, op, lda)) = operand(a, false) else {
        return false;
    };
    let (Ok(ni), Ok(ki)) = (c_int::try_from(n), c_int::try_from(k)) else {
        return false;
    };
    if n == 0 || k == 0 || out.dim() != (n, n) {
        return false;
    }
    one_thread();
    let beta = if accumulate { 1.0 } else { 0.0 };
    let pc = out.as_mut_ptr();
    // SAFETY: as in `gemm`. When `a` is column-major, `op` is Trans and CBLAS reads the
    // row-major k × n matrix `M = aᵀ`, computing `Mᵀ · M = a · aᵀ`.
    unsafe {
        match T::DTYPE {
            DType::F64 => {
                cblas_dsyrk(CblasRowMajor, CblasLower, op, ni, ki, alpha, pa.cast(), lda, beta, pc.cast(), ni)
            }
            DType::F32 => cblas_ssyrk(
                CblasRowMajor,
                CblasLower,
                op,
                ni,
                ki,
                alpha as f32,
                pa.cast(),
                lda,
                beta as f32,
                pc.cast(),
                ni,
            ),
            _ => return false,
        }
    }
    true
}
