//! Blocked Cholesky: right-looking, one potrf per diagonal tile, trsm below it, and the
//! trailing update as gemm tasks.

use std::sync::Arc;

use crate::array::Array;
use crate::core::dtype::Float;
use crate::core::error::Result;
use crate::graph::tiled::{TileBuilder, TiledOp};
use crate::ir::kernel::TileKernel;
use crate::ir::task::TaskId;
use crate::linalg::{gemm, square_tiles, tile_bytes, tiled_nodes};

struct Cholesky;

impl TiledOp for Cholesky {
    fn name(&self) -> &str {
        "cholesky"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let rows = b.chunks(0).axis(0).to_vec();
        let offsets = b.chunks(0).offsets(0).to_vec();
        let dt = b.dtype(0);
        let nt = rows.len();
        // The current value of each lower tile (i ≥ j): the input's, then updated.
        let mut cur: Vec<Vec<Option<TaskId>>> = vec![vec![None; nt]; nt];
        let mut l: Vec<Vec<Option<TaskId>>> = vec![vec![None; nt]; nt];
        let tile = |b: &mut TileBuilder<'_>, cur: &mut Vec<Vec<Option<TaskId>>>, i: usize, j: usize| {
            *cur[i][j].get_or_insert_with(|| b.input(0, &[i, j]))
        };
        for k in 0..nt {
            let akk = tile(b, &mut cur, k, k);
            let lkk = b.push(
                TileKernel::Potrf { tile: k, offset: offsets[k] },
                vec![akk],
                &[k, k],
                tile_bytes(rows[k], rows[k], dt),
            );
            l[k][k] = Some(lkk);
            for i in k + 1..nt {
                let aik = tile(b, &mut cur, i, k);
                let trsm = TileKernel::Trsm { right: true, lower: true, trans: true, unit: false };
                l[i][k] = Some(b.push(trsm, vec![lkk, aik], &[i, k], tile_bytes(rows[i], rows[k], dt)));
            }
            for i in k + 1..nt {
                for j in k + 1..=i {
                    let aij = tile(b, &mut cur, i, j);
                    let (lik, ljk) = (l[i][k].expect("made above"), l[j][k].expect("made above"));
                    let t = b.push(
                        gemm(false, true, -1.0, true),
                        vec![aij, lik, ljk],
                        &[i, j],
                        tile_bytes(rows[i], rows[j], dt),
                    );
                    cur[i][j] = Some(t);
                }
            }
        }
        let mut out = Vec::with_capacity(nt * nt);
        for i in 0..nt {
            for j in 0..nt {
                out.push(match l[i][j] {
                    Some(t) => t,
                    None => b.push(
                        TileKernel::Zeros { shape: vec![rows[i], rows[j]], dtype: dt },
                        vec![],
                        &[i, j],
                        tile_bytes(rows[i], rows[j], dt),
                    ),
                });
            }
        }
        vec![out]
    }
}

/// The Cholesky factor of a symmetric positive definite matrix: `L` with `a = L Lᵀ`
/// (`lower`), or `U = Lᵀ` with `a = Uᵀ U`. Only the lower triangle of `a` is read (as
/// LAPACK's `potrf`, NumPy's `cholesky`).
///
/// A tile algorithm: per diagonal tile `k`, a potrf task factors it, trsm tasks solve the
/// tiles below it, and gemm tasks update the trailing matrix; tiles may be irregular as long
/// as the row and column chunks match (otherwise the columns are rechunked to the rows'
/// chunks first). A matrix that is not positive definite gives
/// [`crate::Error::NotPositiveDefinite`] naming the diagonal tile and the row of the failing
/// pivot.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::from_array(ndarray::array![[4.0f64, 2.0], [2.0, 3.0]], [1, 1])?;
/// let l = tessera::linalg::cholesky(&a, true)?.compute()?;
/// assert_eq!(l[[0, 0]], 2.0);
/// assert_eq!(l[[0, 1]], 0.0);
/// assert!((l[[1, 1]] - 2f64.sqrt()).abs() < 1e-15);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn cholesky<T: Float>(a: &Array<T>, lower: bool) -> Result<Array<T>> {
    let a = square_tiles("cholesky", a)?;
    let nodes = tiled_nodes(
        Arc::new(Cholesky),
        vec![a.node().clone()],
        vec![("cholesky", T::DTYPE, a.chunks().clone())],
    );
    let l = Array::from_node(nodes[0].clone());
    Ok(if lower { l } else { l.transpose() })
}
