//! TSQR (a reduction tree of small QRs over a column of row blocks) and the thin SVD
//! built on it.

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Float};
use crate::core::error::{Error, Result};
use crate::graph::tiled::{TileBuilder, TiledOp};
use crate::ir::kernel::TileKernel;
use crate::ir::task::TaskId;
use crate::linalg::{check_matrix, gemm, tile_bytes, tiled_nodes};

/// Most R factors stacked into one QR of the reduction tree.
const FAN_IN: usize = 16;

/// Size of the smaller side's square (`n² · element size`) above which [`svd`] does not
/// decompose it in one task but runs block Jacobi ([`crate::linalg::svd_jacobi`]): 512 MiB,
/// 8192² `f64` elements.
const JACOBI_ABOVE_BYTES: usize = 512 << 20;

/// The tasks of a TSQR of input 0 (`m × n` in one column of row blocks): the `Q` block of
/// each row block (`m_i × k`), the `R` task (`k × n`), and `k = min(m, n)`.
fn tsqr_tasks(b: &mut TileBuilder<'_>, n: usize) -> (Vec<TaskId>, TaskId, usize) {
    let rows = b.chunks(0).axis(0).to_vec();
    let dt = b.dtype(0);
    let pick = |factor, rows| TileKernel::Pick { factor, rows };
    // Leaves: a QR of each row block.
    let mut leaves = Vec::with_capacity(rows.len());
    let mut level: Vec<(TaskId, usize)> = Vec::with_capacity(rows.len());
    for (i, &m) in rows.iter().enumerate() {
        let k = m.min(n);
        let a = b.input(0, &[i, 0]);
        let f = b.push(TileKernel::Qr, vec![a], &[i, 0], tile_bytes(m + n, k, dt));
        leaves.push(f);
        let r = b.push(pick(1, None), vec![f], &[i, 0], tile_bytes(k, n, dt));
        level.push((r, k));
    }
    // The tree: groups of R factors stacked and factored again, up to one. `links[l][c]`:
    // the factors task of element c's group at level l + 1, and c's rows in its stack.
    let mut links: Vec<Vec<(TaskId, usize, usize)>> = Vec::new();
    let mut groups_f: Vec<Vec<TaskId>> = vec![leaves];
    while level.len() > 1 {
        let mut next = Vec::new();
        let mut link = Vec::with_capacity(level.len());
        let mut fs = Vec::new();
        for (g, chunk) in level.chunks(FAN_IN).enumerate() {
            let stacked: usize = chunk.iter().map(|c| c.1).sum();
            let k = stacked.min(n);
            let deps = chunk.iter().map(|c| c.0).collect();
            let f = b.push(TileKernel::Qr, deps, &[g, 1 + links.len()], tile_bytes(stacked + n, k, dt));
            let mut off = 0;
            for c in chunk {
                link.push((f, off, c.1));
                off += c.1;
            }
            let r = b.push(pick(1, None), vec![f], &[g, 1 + links.len()], tile_bytes(k, n, dt));
            next.push((r, k));
            fs.push(f);
        }
        links.push(link);
        groups_f.push(fs);
        level = next;
    }
    let (r, k) = level[0];
    // Back down the tree: each element's share of the Q above it, D_c = Q2_g[rows of c] · D_g.
    let mut down: Vec<Option<TaskId>> = vec![None];
    for l in (0..links.len()).rev() {
        let width = FAN_IN;
        let mut below = Vec::with_capacity(links[l].len());
        for (c, &(f, off, kc)) in links[l].iter().enumerate() {
            let piece = b.push(pick(0, Some((off, kc))), vec![f], &[c, l], tile_bytes(kc, k, dt));
            let d = match down[c / width] {
                None => piece,
                Some(dg) => {
                    b.push(gemm(false, false, 1.0, false), vec![piece, dg], &[c, l], tile_bytes(kc, k, dt))
                }
            };
            below.push(Some(d));
        }
        down = below;
    }
    let q = groups_f[0]
        .clone()
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let bytes = tile_bytes(rows[i], k, dt);
            let q1 = b.push(pick(0, None), vec![f], &[i, 0], bytes);
            match down[i] {
                None => q1,
                Some(d) => b.push(gemm(false, false, 1.0, false), vec![q1, d], &[i, 0], bytes),
            }
        })
        .collect();
    (q, r, k)
}

struct Tsqr {
    n: usize,
}

impl TiledOp for Tsqr {
    fn name(&self) -> &str {
        "qr"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let (q, r, _) = tsqr_tasks(b, self.n);
        vec![q, vec![r]]
    }
}

struct TsqrSvd {
    n: usize,
}

impl TiledOp for TsqrSvd {
    fn name(&self) -> &str {
        "svd"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let dt = b.dtype(0);
        let rows = b.chunks(0).axis(0).to_vec();
        let (q, r, k) = tsqr_tasks(b, self.n);
        let f = b.push(TileKernel::Svd, vec![r], &[0, 0], tile_bytes(2 * k + self.n, k, dt));
        let pick = |factor| TileKernel::Pick { factor, rows: None };
        let ur = b.push(pick(0), vec![f], &[0, 0], tile_bytes(k, k, dt));
        let s = b.push(pick(1), vec![f], &[0], tile_bytes(k, 1, dt));
        let vt = b.push(pick(2), vec![f], &[0, 0], tile_bytes(k, self.n, dt));
        let u = q
            .iter()
            .enumerate()
            .map(|(i, &qi)| {
                b.push(gemm(false, false, 1.0, false), vec![qi, ur], &[i, 0], tile_bytes(rows[i], k, dt))
            })
            .collect();
        vec![u, vec![s], vec![vt]]
    }
}

/// `a` with one column of blocks (TSQR needs whole rows).
fn whole_rows<T: Float>(op: &str, a: &Array<T>) -> Result<Array<T>> {
    check_matrix(op, a)?;
    if a.shape().contains(&0) {
        return Err(Error::invalid(format!("{op}: the matrix of shape {:?} is empty", a.shape())));
    }
    if a.chunks().axis(1).len() == 1 {
        return Ok(a.clone());
    }
    let c = Chunks::new(vec![a.chunks().axis(0).to_vec(), vec![a.shape()[1]]])?;
    a.rechunk(crate::ChunkSpec::Explicit(c))
}

/// The thin QR of `a` (`m × n`): `Q` (`m × k`, orthonormal columns, in `a`'s row chunks)
/// and `R` (`k × n`, upper triangular), `k = min(m, n)`.
///
/// Tall-skinny matrices (one column of blocks, or `n` no larger than the largest row block)
/// go through TSQR: a QR of each row block (rechunked to whole rows first), a reduction tree
/// of QRs of the stacked `R` factors (16 per node), then each block's `Q` multiplied by its
/// share of the `Q`s above it. Other shapes (square, wide, or tall with wide column blocks)
/// go through block Gram-Schmidt over `a`'s column blocks with one reorthogonalisation pass
/// (BCGS2), each panel factored by TSQR: no task holds more than a row block times a column
/// block, so a matrix of any size works; it costs about twice the flops of Householder QR,
/// and keeps `QᵀQ − I` at rounding level for numerically full-rank matrices (rank-deficient
/// ones still reconstruct, with orthonormal `Q`). Signs follow faer's Householder QR
/// (`R`'s diagonal may be negative, as LAPACK's).
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::random::uniform::<f64>(3, &[1000, 20], [250, 20])?;
/// let (q, r) = tessera::linalg::qr(&a)?;
/// let back = tessera::linalg::matmul(&q, &r)?;
/// let err = back.try_sub(&a)?.abs().max(Axes::All)?.item()?;
/// assert!(err < 1e-12, "{err}");
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn qr<T: Float>(a: &Array<T>) -> Result<(Array<T>, Array<T>)> {
    check_matrix("qr", a)?;
    let c = a.chunks();
    let tallest = c.axis(0).iter().copied().max().unwrap_or(0);
    if c.axis(1).len() > 1 && a.shape()[1] > tallest && !a.shape().contains(&0) {
        return crate::linalg::block_qr::qr(a, tsqr);
    }
    tsqr(a)
}

/// Whether the `n × n` square of [`svd`]'s one-task step would exceed
/// [`JACOBI_ABOVE_BYTES`].
fn too_large_for_one_task(n: usize, dtype: DType) -> bool {
    n.saturating_mul(n).saturating_mul(dtype.size()) > JACOBI_ABOVE_BYTES
}

/// [`qr`] by TSQR (`a` rechunked to whole rows).
fn tsqr<T: Float>(a: &Array<T>) -> Result<(Array<T>, Array<T>)> {
    let a = whole_rows("qr", a)?;
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let k = m.min(n);
    let outs = vec![
        ("qr-q", T::DTYPE, Chunks::new(vec![a.chunks().axis(0).to_vec(), vec![k]])?),
        ("qr-r", T::DTYPE, Chunks::new(vec![vec![k], vec![n]])?),
    ];
    let nodes = tiled_nodes(Arc::new(Tsqr { n }), vec![a.node().clone()], outs);
    Ok((Array::from_node(nodes[0].clone()), Array::from_node(nodes[1].clone())))
}

/// The thin SVD of `a` (`m × n`): `(U, s, Vᵀ)` with `a = U · diag(s) · Vᵀ`, `s` descending,
/// `k = min(m, n)` singular triplets. Tall matrices go through [`qr`] (TSQR), then the SVD of
/// the small `R`, then `U = Q · U_R` block by block; a wide matrix is done as the SVD of its
/// transpose. `U` has `a`'s row chunks.
///
/// The SVD of `R` (`k × k`, `k = min(m, n)`) runs in one task. Where that square would
/// exceed 512 MiB (`k` above 8192 for `f64`, 11585 for `f32`), [`crate::linalg::svd_jacobi`]
/// is used instead: block Jacobi over `a`'s column chunks, no task larger than a row block
/// times two column chunks, several times the flops; its sweeps run when `svd` is called.
/// For the leading triplets only, [`svd_compressed`] is far cheaper.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::random::uniform::<f64>(5, &[600, 8], [200, 8])?;
/// let (u, s, vt) = tessera::linalg::svd(&a)?;
/// assert_eq!((u.shape(), s.shape(), vt.shape()), (&[600, 8][..], &[8][..], &[8, 8][..]));
/// let s = s.to_vec()?;
/// assert!(s.windows(2).all(|w| w[0] >= w[1]));
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn svd<T: Float>(a: &Array<T>) -> Result<(Array<T>, Array<T>, Array<T>)> {
    check_matrix("svd", a)?;
    let (m, n) = (a.shape()[0], a.shape()[1]);
    if m < n {
        let (u, s, vt) = svd(&a.transpose())?;
        return Ok((vt.transpose(), s, u.transpose()));
    }
    if too_large_for_one_task(n, T::DTYPE) {
        return crate::linalg::svd_jacobi(a, &crate::ComputeOptions::global());
    }
    let a = whole_rows("svd", a)?;
    let k = m.min(n);
    let dt: DType = T::DTYPE;
    let outs = vec![
        ("svd-u", dt, Chunks::new(vec![a.chunks().axis(0).to_vec(), vec![k]])?),
        ("svd-s", dt, Chunks::new(vec![vec![k]])?),
        ("svd-vt", dt, Chunks::new(vec![vec![k], vec![n]])?),
    ];
    let nodes = tiled_nodes(Arc::new(TsqrSvd { n }), vec![a.node().clone()], outs);
    let [u, s, vt] = [0, 1, 2].map(|i| Array::from_node(nodes[i].clone()));
    Ok((u, s, vt))
}

/// A rank-`k` approximation of the SVD by random projection (Halko, Martinsson & Tropp;
/// dask's `svd_compressed`): `(U, s, Vᵀ)` with `k` columns, rows and values. A Gaussian test
/// matrix of `k + oversampling` columns (from `seed`) sketches `a`'s range; each of
/// `power_iterations` multiplies by `a aᵀ` again (re-orthonormalised by TSQR each time),
/// which sharpens the estimate when the singular values decay slowly; then the small
/// projected matrix is decomposed exactly. Works for any shape; `a`'s row chunks carry
/// through to `U`, its column chunks to `Vᵀ`.
///
/// ```
/// use tessera::prelude::*;
/// // A rank-3 matrix: the sketch recovers it.
/// let l = tessera::random::uniform::<f64>(1, &[400, 3], [100, 3])?;
/// let r = tessera::random::uniform::<f64>(2, &[3, 300], [3, 100])?;
/// let a = tessera::linalg::matmul(&l, &r)?;
/// let (u, s, vt) = tessera::linalg::svd_compressed(&a, 3, 5, 1, 7)?;
/// let back = tessera::linalg::matmul(&u.try_mul(&s.expand_dims(0)?)?, &vt)?;
/// let err = back.try_sub(&a)?.abs().max(Axes::All)?.item()?;
/// assert!(err < 1e-9, "{err}");
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn svd_compressed<T: Float>(
    a: &Array<T>,
    k: usize,
    oversampling: usize,
    power_iterations: usize,
    seed: u64,
) -> Result<(Array<T>, Array<T>, Array<T>)> {
    use crate::linalg::matmul;
    check_matrix("svd_compressed", a)?;
    let (m, n) = (a.shape()[0], a.shape()[1]);
    if k == 0 || k > m.min(n) {
        return Err(Error::invalid(format!(
            "svd_compressed: rank {k} for a {m} × {n} matrix (1 ..= {})",
            m.min(n)
        )));
    }
    let l = (k + oversampling).min(m.min(n));
    let cols = a.chunks().axis(1).to_vec();
    let omega = crate::random::normal::<T>(
        seed,
        &[n, l],
        crate::ChunkSpec::Explicit(Chunks::new(vec![cols, vec![l]])?),
        0.0,
        1.0,
    )?;
    let at = a.transpose();
    let mut q = qr(&matmul(a, &omega)?)?.0;
    for _ in 0..power_iterations {
        let z = qr(&matmul(&at, &q)?)?.0;
        q = qr(&matmul(a, &z)?)?.0;
    }
    // B = Qᵀ A is l × n: small in rows; its SVD goes through its transpose.
    let b = matmul(&q.transpose(), a)?;
    let (ub, s, vt) = svd(&b)?;
    let u = matmul(&q, &ub)?;
    let keep = |x: &Array<T>, axis: usize| -> Result<Array<T>> {
        let mut args = vec![crate::SliceArg::from(..); x.ndim()];
        args[axis] = crate::SliceArg::from(0..k as isize);
        x.slice(&args)
    };
    Ok((keep(&u, 1)?, keep(&s, 0)?, keep(&vt, 0)?))
}

#[cfg(test)]
mod tests {
    use super::too_large_for_one_task;
    use crate::core::dtype::DType;

    #[test]
    fn svd_switches_to_block_jacobi_above_a_512_mib_square() {
        assert!(!too_large_for_one_task(8192, DType::F64) && too_large_for_one_task(8193, DType::F64));
        assert!(!too_large_for_one_task(11585, DType::F32) && too_large_for_one_task(11586, DType::F32));
        assert!(too_large_for_one_task(usize::MAX, DType::F64));
    }
}
