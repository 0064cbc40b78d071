//! Blocked LU with partial pivoting, and the triangular solves built on it and on
//! Cholesky: `lu`, `solve`, `solve_spd`, `solve_triangular`, `inv`.

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Float};
use crate::core::error::{Error, Result};
use crate::graph::tiled::{TileBuilder, TiledOp};
use crate::ir::kernel::TileKernel;
use crate::ir::task::TaskId;
use crate::linalg::{gemm, square_tiles, tile_bytes, tiled_nodes};

/// Right-looking LU: per column of tiles `k`, one task factors the whole panel below the
/// diagonal with partial pivoting (the pivot is the largest element of the column over all
/// the panel's rows, as LAPACK's getrf); the panel's row swaps are applied to the tiles of
/// the other columns, the row of `U` tiles is solved (trsm) and the trailing matrix
/// updated (gemm).
struct Lu;

impl TiledOp for Lu {
    fn name(&self) -> &str {
        "lu"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let rows = b.chunks(0).axis(0).to_vec();
        let off = b.chunks(0).offsets(0).to_vec();
        let dt = b.dtype(0);
        let nt = rows.len();
        let mut cur: Vec<Vec<Option<TaskId>>> = vec![vec![None; nt]; nt];
        let mut l: Vec<Vec<Option<TaskId>>> = vec![vec![None; nt]; nt];
        let mut u: Vec<Vec<Option<TaskId>>> = vec![vec![None; nt]; nt];
        let mut perm: Option<TaskId> = None;
        let tile = |b: &mut TileBuilder<'_>, cur: &mut Vec<Vec<Option<TaskId>>>, i: usize, j: usize| {
            *cur[i][j].get_or_insert_with(|| b.input(0, &[i, j]))
        };
        for k in 0..nt {
            let panel: Vec<TaskId> = (k..nt).map(|i| tile(b, &mut cur, i, k)).collect();
            let height: usize = rows[k..].iter().sum();
            let f = b.push(TileKernel::PanelLu, panel, &[k, k], tile_bytes(height + rows[k], rows[k], dt));
            perm = Some(match perm {
                None => b.push(TileKernel::Pick { factor: 2, rows: None }, vec![f], &[k], 8 * height),
                Some(p) => b.push(TileKernel::ComposePerm { offset: off[k] }, vec![p, f], &[k], 8 * off[nt]),
            });
            for i in k..nt {
                let pick = TileKernel::Pick { factor: 0, rows: Some((off[i] - off[k], rows[i])) };
                l[i][k] = Some(b.push(pick, vec![f], &[i, k], tile_bytes(rows[i], rows[k], dt)));
            }
            u[k][k] = Some(b.push(
                TileKernel::Pick { factor: 1, rows: None },
                vec![f],
                &[k, k],
                tile_bytes(rows[k], rows[k], dt),
            ));
            // The panel's row swaps, applied to the rows k.. of every other column of tiles.
            for j in (0..nt).filter(|&j| j != k) {
                let mut src = vec![f];
                for i in k..nt {
                    src.push(if j < k { l[i][j].expect("made at step j") } else { tile(b, &mut cur, i, j) });
                }
                for i in k..nt {
                    let t = b.push(
                        TileKernel::PermuteRows { rows: (off[i] - off[k], rows[i]) },
                        src.clone(),
                        &[i, j],
                        tile_bytes(rows[i], rows[j], dt),
                    );
                    if j < k {
                        l[i][j] = Some(t);
                    } else {
                        cur[i][j] = Some(t);
                    }
                }
            }
            let lkk = l[k][k].expect("made above");
            for j in k + 1..nt {
                let trsm = TileKernel::Trsm { right: false, lower: true, trans: false, unit: true };
                let akj = tile(b, &mut cur, k, j);
                u[k][j] = Some(b.push(trsm, vec![lkk, akj], &[k, j], tile_bytes(rows[k], rows[j], dt)));
            }
            for i in k + 1..nt {
                for j in k + 1..nt {
                    let deps = vec![tile(b, &mut cur, i, j), l[i][k].expect("made"), u[k][j].expect("made")];
                    cur[i][j] = Some(b.push(
                        gemm(false, false, -1.0, true),
                        deps,
                        &[i, j],
                        tile_bytes(rows[i], rows[j], dt),
                    ));
                }
            }
        }
        let zero_or = |b: &mut TileBuilder<'_>, t: Option<TaskId>, i: usize, j: usize| {
            t.unwrap_or_else(|| {
                let z = TileKernel::Zeros { shape: vec![rows[i], rows[j]], dtype: dt };
                b.push(z, vec![], &[i, j], tile_bytes(rows[i], rows[j], dt))
            })
        };
        let mut lo = Vec::with_capacity(nt * nt);
        let mut up = Vec::with_capacity(nt * nt);
        for i in 0..nt {
            for j in 0..nt {
                lo.push(zero_or(b, l[i][j], i, j));
                up.push(zero_or(b, u[i][j], i, j));
            }
        }
        vec![vec![perm.expect("at least one tile")], lo, up]
    }
}

/// LU with partial pivoting: `(perm, L, U)` with `a[perm] = L · U` (rows of `a` taken in the
/// order `perm`, as SciPy's `lu(a, p_indices=True)`), `L` unit lower triangular, `U` upper
/// triangular, in `a`'s tiles (square tiles: the columns take the rows' chunks).
///
/// Stability: each column of tiles is factored as one tall panel, so the pivot of every
/// column is searched over all the rows below the diagonal, exactly as LAPACK's `getrf`
/// (not the tile-local "incremental" pivoting some tiled libraries use, which is less
/// stable). The cost is that each panel factorisation is one task on the critical path.
/// A singular matrix factors (with a zero on `U`'s diagonal); `solve` and `inv` report it.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::from_array(ndarray::array![[1.0f64, 2.0], [3.0, 4.0]], [1, 1])?;
/// let (p, l, u) = tessera::linalg::lu(&a)?;
/// assert_eq!(p.to_vec()?, vec![1, 0]); // row 1 (the 3) is the first pivot
/// let lu = tessera::linalg::matmul(&l, &u)?.compute()?;
/// assert_eq!(lu, ndarray::array![[3.0, 4.0], [1.0, 2.0]].into_dyn());
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn lu<T: Float>(a: &Array<T>) -> Result<(Array<i64>, Array<T>, Array<T>)> {
    let a = square_tiles("lu", a)?;
    let n = a.shape()[0];
    if n == 0 {
        return Err(Error::invalid("lu: the matrix is empty"));
    }
    let c = a.chunks().clone();
    let outs = vec![
        ("lu-perm", DType::I64, Chunks::new(vec![vec![n]])?),
        ("lu-l", T::DTYPE, c.clone()),
        ("lu-u", T::DTYPE, c),
    ];
    let nodes = tiled_nodes(Arc::new(Lu), vec![a.node().clone()], outs);
    Ok((
        Array::from_node(nodes[0].clone()),
        Array::from_node(nodes[1].clone()),
        Array::from_node(nodes[2].clone()),
    ))
}

/// Block substitution with the tiles of input `t` (square tiles) on right-hand sides `rhs`
/// (`rhs[i][c]`: row block `i`, column block `c`): solves `op(T) X = B` where `op(T)` is `T`
/// or `Tᵀ` (`trans`), `T` lower or upper (`lower`), unit diagonal or not.
fn substitute(
    b: &mut TileBuilder<'_>,
    t: usize,
    (rhs, cols): (Vec<Vec<TaskId>>, Vec<usize>),
    (lower, trans, unit): (bool, bool, bool),
    check: bool,
) -> (Vec<Vec<TaskId>>, Vec<usize>) {
    let rows = b.chunks(t).axis(0).to_vec();
    let off = b.chunks(t).offsets(0).to_vec();
    let dt = b.dtype(t);
    let nt = rows.len();
    let forward = lower ^ trans;
    let mut x: Vec<Vec<Option<TaskId>>> = vec![vec![None; rhs.first().map_or(0, Vec::len)]; nt];
    let order: Vec<usize> = if forward { (0..nt).collect() } else { (0..nt).rev().collect() };
    // One task checks the whole diagonal first, so the error names the first bad row
    // whatever order the substitution runs in; every trsm waits for it.
    let guard = check.then(|| {
        let diag = (0..nt).map(|i| b.input(t, &[i, i])).collect();
        b.push(TileKernel::CheckPivots { offsets: off[..nt].to_vec() }, diag, &[0], 0)
    });
    for &i in &order {
        for c in 0..x[i].len() {
            let mut acc = rhs[i][c];
            let done: Vec<usize> = if forward { (0..i).collect() } else { (i + 1..nt).collect() };
            for j in done {
                // op(T)[i, j] is T[i, j], or T[j, i] transposed.
                let tij = if trans { b.input(t, &[j, i]) } else { b.input(t, &[i, j]) };
                let xj = x[j][c].expect("solved before");
                acc = b.push(
                    gemm(trans, false, -1.0, true),
                    vec![acc, tij, xj],
                    &[i, c],
                    tile_bytes(rows[i], cols[c], dt),
                );
            }
            let tii = b.input(t, &[i, i]);
            let trsm = TileKernel::Trsm { right: false, lower, trans, unit };
            let deps = [tii, acc].into_iter().chain(guard).collect();
            x[i][c] = Some(b.push(trsm, deps, &[i, c], tile_bytes(rows[i], cols[c], dt)));
        }
    }
    let x = x.into_iter().map(|r| r.into_iter().map(|v| v.expect("solved")).collect()).collect();
    (x, cols)
}

/// The right-hand side's tasks, `[row block][column block]`, from input `k`, and its
/// column chunks.
fn rhs_tiles(b: &mut TileBuilder<'_>, k: usize) -> (Vec<Vec<TaskId>>, Vec<usize>) {
    let cols = b.chunks(k).axis(1).to_vec();
    let nr = b.chunks(k).axis(0).len();
    ((0..nr).map(|i| (0..cols.len()).map(|c| b.input(k, &[i, c])).collect()).collect(), cols)
}

fn flat(x: (Vec<Vec<TaskId>>, Vec<usize>)) -> Vec<Vec<TaskId>> {
    vec![x.0.into_iter().flatten().collect()]
}

/// `solve`: inputs `[perm, L, U, B]`.
struct SolveLu;

impl TiledOp for SolveLu {
    fn name(&self) -> &str {
        "solve"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let rows = b.chunks(3).axis(0).to_vec();
        let off = b.chunks(3).offsets(0).to_vec();
        let perm = b.input(0, &[0]);
        let (bt, cols) = rhs_tiles(b, 3);
        // B's rows in the order of the pivots.
        let mut pb = vec![Vec::new(); rows.len()];
        for c in 0..cols.len() {
            let mut src = vec![perm];
            src.extend(bt.iter().map(|r| r[c]));
            for (i, p) in pb.iter_mut().enumerate() {
                let bytes = tile_bytes(rows[i], cols[c], b.dtype(3));
                p.push(b.push(
                    TileKernel::PermuteRows { rows: (off[i], rows[i]) },
                    src.clone(),
                    &[i, c],
                    bytes,
                ));
            }
        }
        let y = substitute(b, 1, (pb, cols), (true, false, true), false);
        flat(substitute(b, 2, y, (false, false, false), true))
    }
}

/// Triangular solve on input 0 for right-hand sides input 1.
struct SolveTri {
    lower: bool,
    trans: bool,
}

impl TiledOp for SolveTri {
    fn name(&self) -> &str {
        "solve_triangular"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let rhs = rhs_tiles(b, 1);
        flat(substitute(b, 0, rhs, (self.lower, self.trans, false), true))
    }
}

/// Cholesky solve: inputs `[L, B]`: `L y = B`, then `Lᵀ x = y`.
struct SolveChol;

impl TiledOp for SolveChol {
    fn name(&self) -> &str {
        "solve_spd"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let rhs = rhs_tiles(b, 1);
        let y = substitute(b, 0, rhs, (true, false, false), false);
        flat(substitute(b, 0, y, (true, true, false), false))
    }
}

/// `b` as a 2-d right-hand side with `a`'s row chunks; whether it was 1-d.
fn as_rhs<T: Float>(op: &str, a: &Array<T>, b: &Array<T>) -> Result<(Array<T>, bool)> {
    let vector = b.ndim() == 1;
    if b.ndim() == 0 || b.ndim() > 2 || b.shape()[0] != a.shape()[0] {
        return Err(Error::ShapeMismatch {
            op: format!("{op} (b must have as many rows as a)"),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    let b2 = if vector { b.expand_dims(1)? } else { b.clone() };
    let want = a.chunks().axis(0).to_vec();
    let b2 = if b2.chunks().axis(0) == want.as_slice() {
        b2
    } else {
        b2.rechunk(crate::ChunkSpec::Explicit(Chunks::new(vec![want, b2.chunks().axis(1).to_vec()])?))?
    };
    Ok((b2, vector))
}

fn finish<T: Float>(
    op: Arc<dyn TiledOp>,
    inputs: Vec<Arc<crate::graph::node::Node>>,
    rhs: &Array<T>,
    vector: bool,
) -> Result<Array<T>> {
    let nodes = tiled_nodes(op, inputs, vec![("solve", T::DTYPE, rhs.chunks().clone())]);
    let x = Array::from_node(nodes[0].clone());
    if vector { x.squeeze(Some(&[1])) } else { Ok(x) }
}

/// Solve `a x = b` for a square `a` (LU with partial pivoting, see [`lu`]); `b` is a vector
/// or a matrix of right-hand sides (rechunked to `a`'s row chunks). A singular `a` gives
/// [`Error::Singular`] naming the row of the zero pivot.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::from_array(ndarray::array![[2.0f64, 1.0], [1.0, 3.0]], [1, 1])?;
/// let b = tessera::from_array(ndarray::array![3.0f64, 5.0], [1])?;
/// let x = tessera::linalg::solve(&a, &b)?.to_vec()?;
/// assert!((x[0] - 0.8).abs() < 1e-15 && (x[1] - 1.4).abs() < 1e-15);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn solve<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let a = square_tiles("solve", a)?;
    let (rhs, vector) = as_rhs("solve", &a, b)?;
    let (p, l, u) = lu(&a)?;
    let inputs = vec![p.node().clone(), l.node().clone(), u.node().clone(), rhs.node().clone()];
    finish(Arc::new(SolveLu), inputs, &rhs, vector)
}

/// Solve `a x = b` for a symmetric positive definite `a` through its Cholesky factor (half
/// the work of [`solve`]); [`Error::NotPositiveDefinite`] if it is not.
pub fn solve_spd<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let a = square_tiles("solve_spd", a)?;
    let (rhs, vector) = as_rhs("solve_spd", &a, b)?;
    let l = crate::linalg::cholesky(&a, true)?;
    finish(Arc::new(SolveChol), vec![l.node().clone(), rhs.node().clone()], &rhs, vector)
}

/// Solve `t x = b` (or `tᵀ x = b` when `trans`) for a triangular `t`, lower or upper, by
/// block substitution; only that triangle of `t` is read. A zero on the diagonal gives
/// [`Error::Singular`].
pub fn solve_triangular<T: Float>(t: &Array<T>, b: &Array<T>, lower: bool, trans: bool) -> Result<Array<T>> {
    let t = square_tiles("solve_triangular", t)?;
    let (rhs, vector) = as_rhs("solve_triangular", &t, b)?;
    finish(Arc::new(SolveTri { lower, trans }), vec![t.node().clone(), rhs.node().clone()], &rhs, vector)
}

/// The inverse of a square matrix (`solve(a, I)`); [`Error::Singular`] if it has none.
pub fn inv<T: Float>(a: &Array<T>) -> Result<Array<T>> {
    let a = square_tiles("inv", a)?;
    let n = a.shape()[0];
    let rows = a.chunks().axis(0).to_vec();
    let eye = crate::eye::<T>(n, n, 0, crate::ChunkSpec::Explicit(Chunks::new(vec![rows.clone(), rows])?))?;
    solve(&a, &eye)
}
