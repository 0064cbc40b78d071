//! QR of matrices that are not tall-skinny: block Gram-Schmidt over the column blocks, each
//! panel orthogonalised by TSQR, with reorthogonalisation (BCGS2).
//!
//! Panel `j` (the `m × n_j` column block `A_j`) is projected against the `Q` columns found so
//! far, `W = A_j − Q (Qᵀ A_j)`, factored by TSQR, `W = Q₁ R₁`, and the projection is repeated
//! once on `Q₁` (`W₂ = Q₁ − Q (Qᵀ Q₁) = Q_j R₂`): one pass of block Gram-Schmidt loses
//! orthogonality in proportion to the condition number, two keep `QᵀQ − I` at the level of
//! rounding for any numerically full-rank matrix, and a second pass also makes the
//! directions a rank-deficient panel adds (from rounding noise) orthogonal to the earlier
//! ones. `R`'s column `j` is `[Qᵀ A_j + (Qᵀ Q₁) R₁; R₂ R₁; 0]`. Every step is an ordinary blocked
//! matmul or TSQR over `a`'s row blocks, so nothing larger than a row block times a panel is
//! ever held by one task.

use crate::array::Array;
use crate::core::chunks::Chunks;
use crate::core::dtype::Float;
use crate::core::error::Result;
use crate::linalg::matmul;
use crate::{SliceArg, concatenate};

/// The thin QR of `a` (`m × n`, `k = min(m, n)`) by BCGS2 over its column blocks, a column
/// boundary added at `k` when `a` is wide (columns past `k` only add to `R`). `Q` is `m × k`
/// in `a`'s row chunks, `R` is `k × n`.
pub(super) fn qr<T: Float>(
    a: &Array<T>,
    tsqr: impl Fn(&Array<T>) -> Result<(Array<T>, Array<T>)>,
) -> Result<(Array<T>, Array<T>)> {
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let k = m.min(n);
    let mut cols = Vec::new();
    let mut off = 0;
    for &w in a.chunks().axis(1) {
        if off < k && off + w > k {
            cols.extend([k - off, off + w - k]);
        } else {
            cols.push(w);
        }
        off += w;
    }
    let a =
        a.rechunk(crate::ChunkSpec::Explicit(Chunks::new(vec![a.chunks().axis(0).to_vec(), cols.clone()])?))?;
    let mut q_panels: Vec<Array<T>> = Vec::new();
    let mut r_cols: Vec<Array<T>> = Vec::with_capacity(cols.len());
    let (mut width, mut start) = (0usize, 0usize);
    for &nj in &cols {
        let aj = a.slice(&[SliceArg::from(..), SliceArg::from(start as isize..(start + nj) as isize)])?;
        start += nj;
        let q = (!q_panels.is_empty()).then(|| concat(&q_panels, 1)).transpose()?;
        let Some(q) = q else {
            let (qj, rj) = tsqr(&aj)?;
            r_cols.push(pad_rows(rj, k)?);
            q_panels.push(qj);
            width += nj;
            continue;
        };
        let qt = q.transpose();
        let s1 = matmul(&qt, &aj)?;
        if width >= k {
            r_cols.push(s1);
            continue;
        }
        let w1 = aj.try_sub(&matmul(&q, &s1)?)?;
        let (q1, r1) = tsqr(&w1)?;
        let s2 = matmul(&qt, &q1)?;
        let w2 = q1.try_sub(&matmul(&q, &s2)?)?;
        let (qj, r2) = tsqr(&w2)?;
        let top = s1.try_add(&matmul(&s2, &r1)?)?;
        let diag = matmul(&r2, &r1)?;
        r_cols.push(pad_rows(concat(&[top, diag], 0)?, k)?);
        q_panels.push(qj);
        width += nj;
    }
    Ok((concat(&q_panels, 1)?, concat(&r_cols, 1)?))
}

fn concat<T: Float>(parts: &[Array<T>], axis: isize) -> Result<Array<T>> {
    let refs: Vec<&Array<T>> = parts.iter().collect();
    concatenate(&refs, axis)
}

/// `r` with zero rows appended up to `k` rows.
fn pad_rows<T: Float>(r: Array<T>, k: usize) -> Result<Array<T>> {
    let (rows, cols) = (r.shape()[0], r.shape()[1]);
    if rows >= k {
        return Ok(r);
    }
    let z = crate::zeros::<T>(&[k - rows, cols], [k - rows, cols.max(1)])?;
    concat(&[r, z], 0)
}
