//! Matrix products: `matmul` over blocks and `tensordot` through it.

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::Chunks;
use crate::core::dtype::Float;
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp};
use crate::ir::kernel::TileKernel;
use crate::ir::task::TaskId;
use crate::linalg::{check_matrix, gemm, tile_bytes, tiled_nodes};

/// `C = A · B` over blocks: output block `(i, j)` is a chain of gemm tasks over the
/// contracted blocks `k`, each adding `A[i, k] · B[k, j]` to the running sum, so the partial
/// products are accumulated as they are made, never all held at once.
struct Matmul {
    /// Blocks of the (leading) batch axes, C order.
    batch_grid: Vec<usize>,
    /// Blocks along the contracted axis.
    k: usize,
}

impl TiledOp for Matmul {
    fn name(&self) -> &str {
        "matmul"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let nb = self.batch_grid.len();
        let (ra, ca) = (b.chunks(0).axis(nb).to_vec(), b.chunks(1).axis(nb + 1).to_vec());
        let dt = b.dtype(0);
        let batches: usize = self.batch_grid.iter().product();
        let mut out = Vec::with_capacity(batches * ra.len() * ca.len());
        for lin in 0..batches {
            let bi = crate::core::chunks::unravel(lin, &self.batch_grid);
            let batch_elems: usize = bi.iter().enumerate().map(|(d, &x)| b.chunks(0).axis(d)[x]).product();
            let at = |x: usize, y: usize| -> Vec<usize> { bi.iter().copied().chain([x, y]).collect() };
            for (i, &rows) in ra.iter().enumerate() {
                for (j, &cols) in ca.iter().enumerate() {
                    let bytes = batch_elems * tile_bytes(rows, cols, dt);
                    let mut acc: Option<TaskId> = None;
                    for k in 0..self.k {
                        let (x, y) = (b.input(0, &at(i, k)), b.input(1, &at(k, j)));
                        let deps = match acc {
                            None => vec![x, y],
                            Some(c) => vec![c, x, y],
                        };
                        acc = Some(b.push(gemm(false, false, 1.0, acc.is_some()), deps, &at(i, j), bytes));
                    }
                    out.push(acc.expect("at least one block along the contracted axis"));
                }
            }
        }
        vec![out]
    }
}

/// `C = A · Aᵀ` over blocks: only the tiles on and below the diagonal are computed (syrk
/// chains on the diagonal, gemm chains below), the tiles above are views of their mirrors;
/// about half the work of a general product, as NumPy's BLAS does for `a @ a.T`.
struct Gram;

impl TiledOp for Gram {
    fn name(&self) -> &str {
        "matmul-gram"
    }
    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let rows = b.chunks(0).axis(0).to_vec();
        let nk = b.chunks(0).axis(1).len();
        let dt = b.dtype(0);
        let nt = rows.len();
        let mut lower = vec![vec![None; nt]; nt];
        for i in 0..nt {
            for j in 0..=i {
                let bytes = tile_bytes(rows[i], rows[j], dt);
                let mut acc: Option<TaskId> = None;
                for k in 0..nk {
                    let x = b.input(0, &[i, k]);
                    let mut deps: Vec<TaskId> = acc.into_iter().collect();
                    let kernel = if i == j {
                        deps.push(x);
                        TileKernel::Syrk { alpha: 1.0, accumulate: acc.is_some() }
                    } else {
                        deps.extend([x, b.input(0, &[j, k])]);
                        gemm(false, true, 1.0, acc.is_some())
                    };
                    acc = Some(b.push(kernel, deps, &[i, j], bytes));
                }
                lower[i][j] = acc;
            }
        }
        let mut out = Vec::with_capacity(nt * nt);
        for i in 0..nt {
            for j in 0..nt {
                out.push(if j <= i {
                    lower[i][j].expect("made above")
                } else {
                    let m = lower[j][i].expect("made above");
                    b.push(TileKernel::Transpose, vec![m], &[i, j], 0)
                });
            }
        }
        vec![out]
    }
}

/// Whether `b` is `aᵀ` (the same node, transposed).
fn is_transpose_of(b: &Node, a: &Node) -> bool {
    matches!(&b.op, Op::Relayout { drop, perm, insert } if drop.is_empty() && insert.is_empty() && perm == &[1, 0])
        && b.inputs[0].id == a.id
}

/// The matrix product `a · b`, as NumPy's `a @ b` for 1-d and 2-d operands (a 1-d `a` is a
/// row, a 1-d `b` a column, and that axis is dropped from the result).
///
/// Blocks: the result has `a`'s row chunks and `b`'s column chunks. The contracted axis must
/// be chunked alike in both; where it is not, `b` is rechunked to `a`'s column chunks.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::arange(0.0f64, 6.0, 1.0, [6])?.reshape(&[2, 3])?;
/// let b = tessera::ones::<f64>(&[3], [2])?;
/// assert_eq!(tessera::linalg::matmul(&a, &b)?.to_vec()?, vec![3.0, 12.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn matmul<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::invalid(format!(
            "matmul: operands of shapes {:?} and {:?}: scalars are not matrices (use multiplication)",
            a.shape(),
            b.shape()
        )));
    }
    if a.ndim() > 2 || b.ndim() > 2 {
        return batched(a, b);
    }
    let (a2, b2) = (
        if a.ndim() == 1 { a.expand_dims(0)? } else { a.clone() },
        if b.ndim() == 1 { b.expand_dims(1)? } else { b.clone() },
    );
    let c = matmul2(&a2, &b2)?;
    match (a.ndim(), b.ndim()) {
        (1, 1) => c.squeeze(None),
        (1, _) => c.squeeze(Some(&[0])),
        (_, 1) => c.squeeze(Some(&[1])),
        _ => Ok(c),
    }
}

fn matmul2<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    check_matrix("matmul", a)?;
    check_matrix("matmul", b)?;
    if a.shape()[1] != b.shape()[0] {
        return Err(Error::ShapeMismatch {
            op: "matmul (inner dimensions differ)".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    if is_transpose_of(b.node(), a.node()) && a.shape()[1] > 0 {
        let chunks = Chunks::new(vec![a.chunks().axis(0).to_vec(), a.chunks().axis(0).to_vec()])?;
        let nodes = tiled_nodes(Arc::new(Gram), vec![a.node().clone()], vec![("matmul", T::DTYPE, chunks)]);
        return Ok(Array::from_node(nodes[0].clone()));
    }
    let inner = a.chunks().axis(1).to_vec();
    let b = if b.chunks().axis(0) == inner.as_slice() {
        b.clone()
    } else {
        b.rechunk(crate::ChunkSpec::Explicit(Chunks::new(vec![inner.clone(), b.chunks().axis(1).to_vec()])?))?
    };
    let chunks = Chunks::new(vec![a.chunks().axis(0).to_vec(), b.chunks().axis(1).to_vec()])?;
    let op = Matmul { batch_grid: vec![], k: inner.len() };
    let nodes = tiled_nodes(
        Arc::new(op),
        vec![a.node().clone(), b.node().clone()],
        vec![("matmul", T::DTYPE, chunks)],
    );
    Ok(Array::from_node(nodes[0].clone()))
}

/// `matmul` with batch axes: NumPy's rules (the last two axes are the matrices, the leading
/// ones broadcast against each other; a 1-d operand is a row or a column, its axis dropped).
fn batched<T: Float>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let (a, drop_m) = if a.ndim() == 1 { (a.expand_dims(0)?, true) } else { (a.clone(), false) };
    let (b, drop_n) = if b.ndim() == 1 { (b.expand_dims(1)?, true) } else { (b.clone(), false) };
    let (na, nb) = (a.ndim(), b.ndim());
    let (m, k, k2, n) = (a.shape()[na - 2], a.shape()[na - 1], b.shape()[nb - 2], b.shape()[nb - 1]);
    if k != k2 {
        return Err(Error::ShapeMismatch {
            op: "matmul (inner dimensions differ)".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    let batch =
        crate::array::elementwise::broadcast_shapes("matmul", &[&a.shape()[..na - 2], &b.shape()[..nb - 2]])?;
    let nbt = batch.len();
    let shape_of = |x: usize, y: usize| -> Vec<usize> { batch.iter().copied().chain([x, y]).collect() };
    let a = a.broadcast_to(&shape_of(m, k))?;
    let b = b.broadcast_to(&shape_of(k, n))?;
    // b's batch axes in a's blocks, its rows in a's column blocks.
    let mut want: Vec<Vec<usize>> = a.chunks().axes()[..nbt].to_vec();
    want.push(a.chunks().axis(nbt + 1).to_vec());
    want.push(b.chunks().axis(nbt + 1).to_vec());
    let b = if b.chunks().axes() == want.as_slice() {
        b
    } else {
        b.rechunk(crate::ChunkSpec::Explicit(Chunks::new(want)?))?
    };
    let mut out_axes: Vec<Vec<usize>> = a.chunks().axes()[..nbt].to_vec();
    out_axes.push(a.chunks().axis(nbt).to_vec());
    out_axes.push(b.chunks().axis(nbt + 1).to_vec());
    let batch_grid: Vec<usize> = a.chunks().numblocks()[..nbt].to_vec();
    let op = Matmul { batch_grid, k: a.chunks().axis(nbt + 1).len() };
    let nodes = tiled_nodes(
        Arc::new(op),
        vec![a.node().clone(), b.node().clone()],
        vec![("matmul", T::DTYPE, Chunks::new(out_axes)?)],
    );
    let c = Array::from_node(nodes[0].clone());
    let nd = c.ndim() as isize;
    match (drop_m, drop_n) {
        (true, true) => c.squeeze(Some(&[nd - 2, nd - 1])),
        (true, false) => c.squeeze(Some(&[nd - 2])),
        (false, true) => c.squeeze(Some(&[nd - 1])),
        (false, false) => Ok(c),
    }
}

/// NumPy's `tensordot`: the sum of products over `a`'s axes `axes_a` paired with `b`'s
/// `axes_b`; the result's axes are `a`'s other axes, then `b`'s. Done as one [`matmul`] of
/// `a` and `b` transposed and reshaped to matrices (the reshapes rechunk where they merge
/// axes across block boundaries).
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::ones::<f64>(&[3, 4, 5], [2, 2, 5])?;
/// let b = tessera::ones::<f64>(&[4, 3, 2], [4, 1, 2])?;
/// let c = tessera::linalg::tensordot(&a, &b, &[1, 0], &[0, 1])?;
/// assert_eq!(c.shape(), &[5, 2]);
/// assert!(c.to_vec()?.iter().all(|&v| v == 12.0));
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn tensordot<T: Float>(
    a: &Array<T>,
    b: &Array<T>,
    axes_a: &[isize],
    axes_b: &[isize],
) -> Result<Array<T>> {
    if axes_a.len() != axes_b.len() {
        return Err(Error::invalid(format!(
            "tensordot: {} axes of a paired with {} axes of b",
            axes_a.len(),
            axes_b.len()
        )));
    }
    let norm = |x: &Array<T>, axes: &[isize]| -> Result<Vec<usize>> {
        let v: Vec<usize> = axes
            .iter()
            .map(|&ax| crate::array::norm_axis("tensordot", ax, x.ndim()))
            .collect::<Result<_>>()?;
        let mut s = v.clone();
        s.sort_unstable();
        s.dedup();
        if s.len() != v.len() {
            return Err(Error::invalid(format!("tensordot: repeated axis in {axes:?}")));
        }
        Ok(v)
    };
    let (ca, cb) = (norm(a, axes_a)?, norm(b, axes_b)?);
    for (&x, &y) in ca.iter().zip(&cb) {
        if a.shape()[x] != b.shape()[y] {
            return Err(Error::ShapeMismatch {
                op: format!(
                    "tensordot (axis {x} of a has length {}, axis {y} of b {})",
                    a.shape()[x],
                    b.shape()[y]
                ),
                left: a.shape().to_vec(),
                right: b.shape().to_vec(),
            });
        }
    }
    let fa: Vec<usize> = (0..a.ndim()).filter(|d| !ca.contains(d)).collect();
    let fb: Vec<usize> = (0..b.ndim()).filter(|d| !cb.contains(d)).collect();
    let k: usize = ca.iter().map(|&d| a.shape()[d]).product();
    let m: usize = fa.iter().map(|&d| a.shape()[d]).product();
    let n: usize = fb.iter().map(|&d| b.shape()[d]).product();
    let perm_a: Vec<isize> = fa.iter().chain(&ca).map(|&d| d as isize).collect();
    let perm_b: Vec<isize> = cb.iter().chain(&fb).map(|&d| d as isize).collect();
    let am = a.permute_axes(&perm_a)?.reshape(&[m as isize, k as isize])?;
    let bm = b.permute_axes(&perm_b)?.reshape(&[k as isize, n as isize])?;
    let c = matmul2(&am, &bm)?;
    let out: Vec<isize> =
        fa.iter().map(|&d| a.shape()[d] as isize).chain(fb.iter().map(|&d| b.shape()[d] as isize)).collect();
    c.reshape(&out)
}

/// Einstein summation over one or two operands, for the patterns a transpose, a sum,
/// [`tensordot`] and batched [`matmul`] express: `"ij,jk->ik"`, `"bij,bjk->bik"`,
/// `"i,j->ij"`, `"ij,ij->"`, `"ijk->kj"`, `"ij->"`. The output is given explicitly after
/// `->` (without it, NumPy's implicit rule: the indices seen once, sorted). An index of one
/// operand absent from the output and the other operand is summed first; indices shared by
/// both operands and kept in the output are batch axes; shared and absent are contracted.
/// A repeated index within one operand (a diagonal, `"ii->i"`) is not supported.
///
/// ```
/// use tessera::prelude::*;
/// let a = tessera::arange(0.0f64, 6.0, 1.0, [6])?.reshape(&[2, 3])?;
/// let b = tessera::ones::<f64>(&[3, 4], [2, 2])?;
/// let c = tessera::linalg::einsum("ij,jk->ki", &[&a, &b])?;
/// assert_eq!(c.shape(), &[4, 2]);
/// assert_eq!(c.to_vec()?[..2], [3.0, 12.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn einsum<T: Float>(spec: &str, operands: &[&Array<T>]) -> Result<Array<T>> {
    let bad = |why: &str| Error::invalid(format!("einsum '{spec}': {why}"));
    let spec_ns: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, out) = match spec_ns.split_once("->") {
        Some((l, o)) => (l.to_string(), Some(o.to_string())),
        None => (spec_ns.clone(), None),
    };
    let ins: Vec<Vec<char>> = lhs.split(',').map(|s| s.chars().collect()).collect();
    if ins.len() != operands.len() || !(1..=2).contains(&ins.len()) {
        return Err(bad(&format!(
            "{} operand(s) in the pattern, {} given (one or two supported)",
            ins.len(),
            operands.len()
        )));
    }
    for (idx, x) in ins.iter().zip(operands) {
        if idx.len() != x.ndim() || idx.iter().any(|c| !c.is_ascii_alphabetic()) {
            return Err(bad(&format!(
                "'{}' does not label the {} axes of shape {:?}",
                idx.iter().collect::<String>(),
                x.ndim(),
                x.shape()
            )));
        }
        let mut u = idx.clone();
        u.sort_unstable();
        u.dedup();
        if u.len() != idx.len() {
            return Err(bad("a repeated index within one operand (a diagonal) is not supported"));
        }
    }
    let out: Vec<char> = match out {
        Some(o) => o.chars().collect(),
        None => {
            let mut all: Vec<char> = ins.concat();
            all.sort_unstable();
            all.into_iter()
                .fold(Vec::new(), |mut v: Vec<(char, usize)>, c| {
                    match v.last_mut() {
                        Some((p, n)) if *p == c => *n += 1,
                        _ => v.push((c, 1)),
                    }
                    v
                })
                .into_iter()
                .filter(|&(_, n)| n == 1)
                .map(|(c, _)| c)
                .collect()
        }
    };
    if let Some(c) = out.iter().find(|c| !ins.iter().any(|i| i.contains(c))) {
        return Err(bad(&format!("output index '{c}' is not an input index")));
    }
    // Sum each operand's private indices that the output drops.
    let mut arrs: Vec<Array<T>> = Vec::new();
    let mut labels: Vec<Vec<char>> = Vec::new();
    for (k, (idx, x)) in ins.iter().zip(operands).enumerate() {
        let other: &[char] = if ins.len() == 2 { &ins[1 - k] } else { &[] };
        let drop: Vec<isize> = (0..idx.len())
            .filter(|&d| !out.contains(&idx[d]) && !other.contains(&idx[d]))
            .map(|d| d as isize)
            .collect();
        let kept: Vec<char> = idx.iter().copied().filter(|c| out.contains(c) || other.contains(c)).collect();
        let y = if drop.is_empty() { (*x).clone() } else { sum_as(x, &drop)? };
        arrs.push(y);
        labels.push(kept);
    }
    let permute_to = |x: &Array<T>, from: &[char], to: &[char]| -> Result<Array<T>> {
        let perm: Vec<isize> =
            to.iter().map(|c| from.iter().position(|d| d == c).expect("present") as isize).collect();
        x.permute_axes(&perm)
    };
    if arrs.len() == 1 {
        return permute_to(&arrs[0], &labels[0], &out);
    }
    let (la, lb) = (&labels[0], &labels[1]);
    for c in la.iter().filter(|c| lb.contains(c)) {
        let (da, db) = (la.iter().position(|d| d == c).unwrap(), lb.iter().position(|d| d == c).unwrap());
        if arrs[0].shape()[da] != arrs[1].shape()[db] {
            return Err(bad(&format!(
                "index '{c}' has lengths {} and {}",
                arrs[0].shape()[da],
                arrs[1].shape()[db]
            )));
        }
    }
    let batch: Vec<char> = la.iter().copied().filter(|c| lb.contains(c) && out.contains(c)).collect();
    let contr: Vec<char> = la.iter().copied().filter(|c| lb.contains(c) && !out.contains(c)).collect();
    let fa: Vec<char> = la.iter().copied().filter(|c| !lb.contains(c)).collect();
    let fb: Vec<char> = lb.iter().copied().filter(|c| !la.contains(c)).collect();
    let len = |x: &Array<T>, l: &[char], cs: &[char]| -> Vec<usize> {
        cs.iter().map(|c| x.shape()[l.iter().position(|d| d == c).unwrap()]).collect()
    };
    let (bs, fas, fbs, ks) = (
        len(&arrs[0], la, &batch),
        len(&arrs[0], la, &fa),
        len(&arrs[1], lb, &fb),
        len(&arrs[0], la, &contr),
    );
    let prod = |v: &[usize]| v.iter().product::<usize>() as isize;
    let with_batch =
        |tail: [isize; 2]| -> Vec<isize> { bs.iter().map(|&d| d as isize).chain(tail).collect() };
    let order_a: Vec<char> = batch.iter().chain(&fa).chain(&contr).copied().collect();
    let order_b: Vec<char> = batch.iter().chain(&contr).chain(&fb).copied().collect();
    let am = permute_to(&arrs[0], la, &order_a)?.reshape(&with_batch([prod(&fas), prod(&ks)]))?;
    let bm = permute_to(&arrs[1], lb, &order_b)?.reshape(&with_batch([prod(&ks), prod(&fbs)]))?;
    let c = if bs.is_empty() { matmul2(&am, &bm)? } else { batched(&am, &bm)? };
    let full: Vec<isize> = bs.iter().chain(&fas).chain(&fbs).map(|&d| d as isize).collect();
    let have: Vec<char> = batch.iter().chain(&fa).chain(&fb).copied().collect();
    permute_to(&c.reshape(&full)?, &have, &out)
}

/// `x` summed over `axes`, in its own element type (floats sum to themselves).
fn sum_as<T: Float>(x: &Array<T>, axes: &[isize]) -> Result<Array<T>> {
    let s = x.sum(crate::Axes::List(axes.to_vec()))?;
    Ok(Array::from_node(s.node().clone()))
}
