//! Blocked linear algebra: products, Cholesky, QR and SVD as task graphs over blocks, with
//! faer doing the work inside each block.
//!
//! Every algorithm is a tiled operation emitting tile steps (gemm, potrf, trsm,
//! qr, svd) as tasks of the same graph as everything else, so it fuses with what feeds it,
//! runs on the same scheduler within the same memory budget, and shows in the same profile.
//! Matrices are 2-d arrays of `f32` or `f64`; the chunking rules of each function are in its
//! documentation (where blocks must line up, the input is rechunked, as dask does).
//!
//! ```
//! use tessera::prelude::*;
//! let a = tessera::random::uniform::<f64>(7, &[300, 200], [100, 50])?;
//! let c = tessera::linalg::matmul(&a, &a.transpose())?; // 300 × 300, SPD plus a shift:
//! let spd = c.try_add(&tessera::eye::<f64>(300, 300, 0, [100, 100])?.try_mul(300.0)?)?;
//! let l = tessera::linalg::cholesky(&spd, true)?;
//! let back = tessera::linalg::matmul(&l, &l.transpose())?;
//! let err = back.try_sub(&spd)?.abs().max(Axes::All)?.item()?;
//! assert!(err < 1e-9, "{err}");
//! # Ok::<(), tessera::Error>(())
//! ```

// Tile algorithms index several tile grids by (i, j) at once; index loops say it best.
#![allow(clippy::needless_range_loop)]

mod block_qr;
mod cholesky;
mod extra;
mod jacobi;
mod lu;
mod product;
mod qr;

pub use cholesky::cholesky;
pub use extra::{
    Lstsq, Norm, det, diagonal, lstsq, lstsq_full, norm, outer, slogdet, trace, tril, triu, vdot,
};
pub use jacobi::svd_jacobi;
pub use lu::{inv, lu, solve, solve_spd, solve_triangular};
pub use product::{einsum, matmul, tensordot};
pub use qr::{qr, svd, svd_compressed};

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Float};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TiledOp, TiledSpec, next_group};
use crate::ir::kernel::TileKernel;

/// The output nodes of a tiled op over `inputs`: one per `(name, dtype, chunks)`.
fn tiled_nodes(
    op: Arc<dyn TiledOp>,
    inputs: Vec<Arc<Node>>,
    outputs: Vec<(&str, DType, Chunks)>,
) -> Vec<Arc<Node>> {
    let group = next_group();
    outputs
        .into_iter()
        .enumerate()
        .map(|(output, (name, dtype, chunks))| {
            let spec = TiledSpec { op: op.clone(), group, output };
            Node::new(name, dtype, chunks, Op::Tiled(spec), inputs.clone())
        })
        .collect()
}

/// Checks that `a` is a matrix, naming `op`.
fn check_matrix<T: Float>(op: &str, a: &Array<T>) -> Result<()> {
    if a.ndim() != 2 {
        return Err(Error::invalid(format!("{op}: expected a 2-d matrix, got shape {:?}", a.shape())));
    }
    Ok(())
}

/// Checks that `a` is a square matrix and gives it matching row and column chunks (the
/// columns take the rows' chunks).
fn square_tiles<T: Float>(op: &str, a: &Array<T>) -> Result<Array<T>> {
    check_matrix(op, a)?;
    let s = a.shape();
    if s[0] != s[1] {
        return Err(Error::ShapeMismatch {
            op: format!("{op} (needs a square matrix)"),
            left: s.to_vec(),
            right: vec![],
        });
    }
    let c = a.chunks();
    if c.axis(0) == c.axis(1) {
        return Ok(a.clone());
    }
    let rows = c.axis(0).to_vec();
    a.rechunk(crate::ChunkSpec::Explicit(Chunks::new(vec![rows.clone(), rows])?))
}

/// The machine epsilon of `T`, as f64.
fn eps<T: Float>() -> f64 {
    if T::DTYPE == DType::F32 { f32::EPSILON as f64 } else { f64::EPSILON }
}

/// Estimated bytes of an `r × c` tile of `dtype`.
fn tile_bytes(r: usize, c: usize, dtype: DType) -> usize {
    r * c * dtype.size()
}

/// A gemm step: `[C,] A, B` → `C + alpha op(A) op(B)`.
fn gemm(ta: bool, tb: bool, alpha: f64, accumulate: bool) -> TileKernel {
    TileKernel::Gemm { ta, tb, alpha, accumulate }
}
