//! The exact SVD of matrices whose smaller side is too large for one task: one-sided block
//! Jacobi (Hestenes' method on column panels; Bečka, Okša & Vajteršic's block form).
//!
//! `X` starts as `A` cut into its column panels and `V` as the identity. One step takes two
//! panels `p`, `q`, forms the Gram matrix `G = [X_p X_q]ᵀ [X_p X_q]` (syrk and gemm chains
//! over `X`'s row blocks), finds its eigenvectors `W` in one small task, and rotates both
//! panels of `X` and of `V` by `W`: afterwards the columns of `p` and `q` are mutually
//! orthogonal. A sweep pairs every panel with every other once, in rounds of disjoint
//! pairs (the round-robin tournament), so each round's pairs run in parallel. A pair whose
//! columns are already orthogonal relative to the matrix (`|x_iᵀ x_j| ≤ tol · ‖A‖_F ·
//! max(‖x_i‖, ‖x_j‖)`, what a backward-stable SVD needs) is left as it is: rotating it
//! would only scramble its small columns, whose mutual angles a Gram matrix cannot resolve.
//! Sweeps repeat until no pair rotates; then `A V = X` has orthogonal columns, `σ_j =
//! ‖x_j‖`, and `U` comes from a QR of `X` ordered by `σ` (`x_j / σ_j` up to rounding where
//! `σ_j` is well above it, orthonormal directions where it is not).
//!
//! No task holds more than a row block times a panel, or one pair's Gram matrix. `X` and
//! `V` are computed between sweeps (the number of sweeps depends on the data) and wait in
//! memory, or, when the compute options' memory budget is less than twice their size, in
//! unlinked block files in the spill directory (`compute::persist_on_disk`), read back block by
//! block by the next sweep.
//! A tall matrix is first reduced by QR (`A = Q R`, Jacobi on the square `R`, `U = Q U_R`),
//! which also makes the sweeps converge faster.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::array::Array;
use crate::array::creation::source_array;
use crate::core::block::HostArray;
use crate::core::chunks::Chunks;
use crate::core::dtype::{Element, Float};
use crate::core::error::{Error, Result};
use crate::graph::tiled::{TileBuilder, TiledOp};
use crate::ir::kernel::TileKernel;
use crate::ir::task::TaskId;
use crate::linalg::{check_matrix, eps, gemm, matmul, qr, tile_bytes, tiled_nodes};
use crate::runtime::ComputeOptions;
use crate::{AnyArray, Axes, ChunkSpec, compute_many};

/// Sweeps after which block Jacobi gives up (it converges quadratically once close: the
/// tests' matrices, ill-conditioned ones included, take 2–7).
const MAX_SWEEPS: usize = 40;

/// The rounds of a sweep over `nb` panels: every pair `(p, q)`, `p < q`, once, in rounds of
/// disjoint pairs (the circle method; one panel alone is paired with itself).
fn rounds(nb: usize) -> Vec<Vec<(usize, usize)>> {
    if nb == 1 {
        return vec![vec![(0, 0)]];
    }
    let n = nb + nb % 2;
    let mut ids: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n - 1);
    for _ in 0..n - 1 {
        let round = (0..n / 2)
            .map(|i| (ids[i], ids[n - 1 - i]))
            .filter(|&(p, q)| p < nb && q < nb)
            .map(|(p, q)| (p.min(q), p.max(q)))
            .collect();
        out.push(round);
        let last = ids.pop().expect("n ≥ 2");
        ids.insert(1, last);
    }
    out
}

/// One sweep. Inputs `X` (`m × n`, any row chunks, the panels as column chunks) and `V`
/// (`n × n`, the panels as both row and column chunks); outputs the rotated `X` and `V` and
/// how far each step's pair was from orthogonal (1-d, one block per step; see
/// [`TileKernel::JacobiRotation`]).
struct Sweep {
    panels: Vec<usize>,
    /// `A`'s Frobenius norm and the rotation threshold ([`TileKernel::JacobiRotation`]).
    scale: f64,
    tol: f64,
}

impl Sweep {
    fn steps(&self) -> usize {
        rounds(self.panels.len()).iter().map(Vec::len).sum()
    }
}

/// `Σ_i A_iᵀ B_i` over the row blocks `a` and `other` (the Gram block of two panels), or
/// `Σ_i A_iᵀ A_i` by syrk when `other` is `None`.
fn gram(
    b: &mut TileBuilder<'_>,
    a: &[TaskId],
    other: Option<&[TaskId]>,
    at: &[usize],
    bytes: usize,
) -> TaskId {
    let mut acc: Option<TaskId> = None;
    for (i, &ai) in a.iter().enumerate() {
        let (kernel, mut deps) = match other {
            None => {
                let t = b.push(TileKernel::Transpose, vec![ai], at, 0);
                (TileKernel::Syrk { alpha: 1.0, accumulate: acc.is_some() }, vec![t])
            }
            Some(o) => (gemm(true, false, 1.0, acc.is_some()), vec![ai, o[i]]),
        };
        if let Some(c) = acc {
            deps.insert(0, c);
        }
        acc = Some(b.push(kernel, deps, at, bytes));
    }
    acc.expect("at least one row block")
}

impl TiledOp for Sweep {
    fn name(&self) -> &str {
        "svd-jacobi"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let dt = b.dtype(0);
        let nb = self.panels.len();
        let xrows = b.chunks(0).axis(0).to_vec();
        let mut x: Vec<Vec<TaskId>> =
            (0..xrows.len()).map(|i| (0..nb).map(|p| b.input(0, &[i, p])).collect()).collect();
        let mut v: Vec<Vec<TaskId>> =
            (0..nb).map(|i| (0..nb).map(|p| b.input(1, &[i, p])).collect()).collect();
        let mut offs = Vec::new();
        let w = &self.panels;
        for (p, q) in rounds(nb).into_iter().flatten() {
            let at = [p, q];
            let col = |t: &[Vec<TaskId>], c: usize| t.iter().map(|r| r[c]).collect::<Vec<_>>();
            let (xp, xq) = (col(&x, p), col(&x, q));
            let gpp = gram(b, &xp, None, &at, tile_bytes(w[p], w[p], dt));
            let grams = if p == q {
                vec![gpp]
            } else {
                let gpq = gram(b, &xp, Some(&xq), &at, tile_bytes(w[p], w[q], dt));
                let gqq = gram(b, &xq, None, &at, tile_bytes(w[q], w[q], dt));
                vec![gpp, gpq, gqq]
            };
            let width = if p == q { w[p] } else { w[p] + w[q] };
            let rot = b.push(
                TileKernel::JacobiRotation { scale: self.scale, tol: self.tol },
                grams,
                &at,
                tile_bytes(width, width, dt),
            );
            offs.push(b.push(TileKernel::Pick { factor: 0, rows: None }, vec![rot], &at, dt.size()));
            // [X_p X_q] W: X_p' = X_p W_pp + X_q W_qp, X_q' = X_p W_pq + X_q W_qq, for the row
            // blocks of X and of V (one task per new block; no copy when nothing rotated).
            for (t, rows) in [(&mut x, &xrows), (&mut v, w)] {
                for (row, &r) in t.iter_mut().zip(rows.iter()) {
                    let deps = if p == q { vec![row[p], rot] } else { vec![row[p], row[q], rot] };
                    let mut apply = |second| {
                        let bytes = tile_bytes(r, w[if second { q } else { p }], dt);
                        b.push(TileKernel::JacobiApply { second }, deps.clone(), &at, bytes)
                    };
                    let np = apply(false);
                    if p != q {
                        row[q] = apply(true);
                    }
                    row[p] = np;
                }
            }
        }
        vec![x.concat(), v.concat(), offs]
    }
}

/// A computed result kept in memory as an array of the given chunks.
fn persist<T: Float>(h: HostArray, chunks: &Chunks) -> Result<Array<T>> {
    crate::from_array(h.into_typed::<T>()?, ChunkSpec::Explicit(chunks.clone()))
}

/// Where the results of a step wait for the next: in memory, or on disk when `opts` sets a
/// memory budget that `bytes` (what would wait) would take more than half of: block files in
/// the spill directory (`opts.spill_dir`, else the system's temporary one), unlinked as soon
/// as they are open, so their space goes when the arrays reading them are dropped.
fn disk_for(bytes: usize, opts: &ComputeOptions) -> Option<PathBuf> {
    let budget = opts.memory_budget?;
    (bytes > budget / 2).then(|| opts.spill_dir.clone().unwrap_or_else(std::env::temp_dir))
}

/// Compute `arrays` in one run and keep each as an array of its chunks: in memory, or in
/// `disk` (see [`disk_for`]).
fn persist_many<T: Float>(
    arrays: &[&Array<T>],
    disk: Option<&Path>,
    opts: &ComputeOptions,
) -> Result<Vec<Array<T>>> {
    let Some(dir) = disk else {
        let refs: Vec<&dyn AnyArray> = arrays.iter().map(|&a| a as &dyn AnyArray).collect();
        let got = compute_many(&refs, opts)?;
        return got.into_iter().zip(arrays).map(|(h, a)| persist(h, a.chunks())).collect();
    };
    let nodes: Vec<_> = arrays.iter().map(|a| a.node().clone()).collect();
    let sources = crate::compute::persist_on_disk(&nodes, dir, opts)?;
    sources
        .into_iter()
        .zip(arrays)
        .map(|(src, a)| source_array::<T>(src, ChunkSpec::Explicit(a.chunks().clone())))
        .collect()
}

/// The thin SVD of `a` by one-sided block Jacobi over its column chunks (see the module
/// documentation): `(U, s, Vᵀ)` as [`crate::linalg::svd`] gives them, `s` descending. The
/// sweeps run when this is called (their number depends on the data), with `opts`; what
/// is returned is lazy. Wide matrices go through their transpose, tall ones through QR
/// first. With a memory budget in `opts` below twice the size of `a` and `V` together,
/// what waits between sweeps goes to disk (see the module documentation), so neither the
/// matrix nor its rotations need fit in memory.
///
/// Use it for matrices whose smaller side is too large for the SVD of one task (which is
/// what [`crate::linalg::svd`] does: it calls this one above 8192 × 8192 `f64` elements,
/// or 11585 × 11585 `f32`); each task holds at most a row block times a column chunk, or a
/// Gram matrix of two column chunks. It costs about `10 n³` flops per sweep on a square
/// matrix, and several sweeps (2–7 in the tests): 2.5–3× a one-task SVD's time at 4000²
/// (BENCHMARKS.md), in exchange for a bounded task size. Chunks of a few hundred to a thousand columns suit it. `U` comes
/// from a QR of the rotated matrix, so it is orthonormal for rank-deficient and
/// ill-conditioned matrices too.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::random::uniform::<f64>(4, &[90, 90], [40, 25])?;
/// let (u, s, vt) = tessera::linalg::svd_jacobi(&a, &ComputeOptions::default())?;
/// let back = tessera::linalg::matmul(&u.try_mul(&s.expand_dims(0)?)?, &vt)?;
/// let err = back.try_sub(&a)?.abs().max(Axes::All)?.item()?;
/// assert!(err < 1e-12, "{err}");
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn svd_jacobi<T: Float>(a: &Array<T>, opts: &ComputeOptions) -> Result<(Array<T>, Array<T>, Array<T>)> {
    check_matrix("svd_jacobi", a)?;
    let (m, n) = (a.shape()[0], a.shape()[1]);
    if m == 0 || n == 0 {
        return Err(Error::invalid(format!("svd_jacobi: the matrix of shape {:?} is empty", a.shape())));
    }
    if m < n {
        let (u, s, vt) = svd_jacobi(&a.transpose(), opts)?;
        return Ok((vt.transpose(), s, u.transpose()));
    }
    if m == n {
        return square(a, opts);
    }
    let (q, r) = qr(a)?;
    let disk = disk_for((m * n + n * n) * T::DTYPE.size(), opts);
    let [q, r]: [Array<T>; 2] = persist_many(&[&q, &r], disk.as_deref(), opts)?.try_into().expect("two");
    let (ur, s, vt) = square(&r, opts)?;
    Ok((matmul(&q, &ur)?, s, vt))
}

/// [`svd_jacobi`] of a square matrix.
fn square<T: Float>(a: &Array<T>, opts: &ComputeOptions) -> Result<(Array<T>, Array<T>, Array<T>)> {
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let dt = T::DTYPE;
    let cols = a.chunks().axis(1).to_vec();
    let vc = Chunks::new(vec![cols.clone(), cols.clone()])?;
    let mut x = a.clone();
    let mut v = crate::eye::<T>(n, n, 0, ChunkSpec::Explicit(vc.clone()))?;
    let tol = 8.0 * eps::<T>() * (m as f64).sqrt();
    let scale = a.try_mul(a)?.sum(Axes::All)?.item()?.to_f64().sqrt();
    if !scale.is_finite() {
        return Err(Error::invalid("svd_jacobi: the matrix holds NaN or infinite values"));
    }
    let disk = disk_for((m * n + n * n) * dt.size(), opts);
    let (mut prev, mut last) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..MAX_SWEEPS {
        let op = Sweep { panels: cols.clone(), scale, tol };
        let steps = op.steps();
        let outs = vec![
            ("svd-jacobi-x", dt, x.chunks().clone()),
            ("svd-jacobi-v", dt, vc.clone()),
            ("svd-jacobi-off", dt, Chunks::new(vec![vec![1; steps]])?),
        ];
        let nodes = tiled_nodes(Arc::new(op), vec![x.node().clone(), v.node().clone()], outs);
        let [xs, vs, off] = [0, 1, 2].map(|i| Array::<T>::from_node(nodes[i].clone()));
        let [xn, vn, off]: [Array<T>; 3] =
            persist_many(&[&xs, &vs, &off], disk.as_deref(), opts)?.try_into().expect("three");
        (x, v) = (xn, vn);
        last = off.to_vec()?.iter().fold(0.0, |m, c| m.max(c.to_f64()));
        // Done when every pair was orthogonal enough that no panel was rotated, or when the
        // sweeps stop gaining within a few thousandths of that.
        if last <= tol || (last > 0.9 * prev && last < 1e3 * tol) {
            return finish(&x, &v, disk.as_deref(), opts);
        }
        prev = last;
    }
    Err(Error::invalid(format!(
        "svd_jacobi: no convergence after {MAX_SWEEPS} sweeps (the panels still {last:.2e} from orthogonal)"
    )))
}

/// `U`, `s`, `Vᵀ` from converged `X` (orthogonal columns, relative to `A`'s norm) and `V`,
/// ordered by descending `σ_j = ‖x_j‖`. `U` comes from a QR of the ordered `X`, `Q` with
/// the signs of `R`'s diagonal: `x_j / σ_j` where `σ_j` is well above rounding, and
/// orthonormal directions where it is not (columns whose mutual angles a Gram matrix
/// cannot resolve, and a rank-deficient matrix's null space).
fn finish<T: Float>(
    x: &Array<T>,
    v: &Array<T>,
    disk: Option<&Path>,
    opts: &ComputeOptions,
) -> Result<(Array<T>, Array<T>, Array<T>)> {
    let n = x.shape()[1];
    let sq = x.try_mul(x)?.sum(0)?.to_vec()?;
    let norms: Vec<T> = sq.iter().map(|&v| <T as Element>::cast_from(v.to_f64().sqrt())).collect();
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by(|&i, &j| norms[j].partial_cmp(&norms[i]).unwrap_or(std::cmp::Ordering::Equal));
    let s: Vec<T> = perm.iter().map(|&j| norms[j]).collect();
    let idx: Vec<isize> = perm.iter().map(|&j| j as isize).collect();
    let vt = v.take(&idx, 1)?.transpose();
    let (q, r) = qr(&x.take(&idx, 1)?)?;
    let d = crate::linalg::diagonal(&r)?;
    let [q, d]: [Array<T>; 2] = persist_many(&[&q, &d], disk, opts)?.try_into().expect("two");
    let d = d.to_vec()?;
    let signs: Vec<T> =
        d.iter().map(|&v| <T as Element>::cast_from(if v.to_f64() < 0.0 { -1.0 } else { 1.0 })).collect();
    let signs = crate::from_array(ndarray::Array2::from_shape_vec((1, n), signs).expect("1 × n"), [1, n])?;
    let u = q.try_mul(&signs)?;
    let s = crate::from_array(ndarray::Array1::from(s), [n])?;
    Ok((u, s, vt))
}

#[cfg(test)]
mod tests {
    use super::rounds;

    #[test]
    fn rounds_pair_every_panel_with_every_other_once_in_disjoint_rounds() {
        for nb in 1..=9 {
            let mut seen = std::collections::BTreeSet::new();
            for round in rounds(nb) {
                let mut used = std::collections::BTreeSet::new();
                for (p, q) in round {
                    assert!(p <= q && q < nb);
                    assert!(
                        used.insert(p) && (p == q || used.insert(q)),
                        "{nb}: {p} or {q} twice in a round"
                    );
                    assert!(seen.insert((p, q)), "{nb}: ({p}, {q}) twice");
                }
            }
            let want = if nb == 1 { 1 } else { nb * (nb - 1) / 2 };
            assert_eq!(seen.len(), want, "{nb} panels");
        }
    }
}
