//! The tile kernels of blocked linear algebra on the CPU, with faer.
//!
//! Blocks arrive as ndarray arrays in any layout (a transposed view is read in place through
//! its strides); results are C-order blocks. A kernel runs on its worker's core, plus the
//! cores of idle workers when its tiles are large enough to split (see
//! [`crate::runtime::cores`]): workers × faer threads never exceed the workers, and a lone
//! large task (a panel on the critical path, one big block) uses them all.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::{cholesky, householder, lu, matmul, qr, triangular_solve};
use faer::{Accum, Conj, Mat, MatMut, MatRef, Par};
use ndarray::{ArcArray, Array2, ArrayD, IxDyn};

use crate::backend::cpu::blas;
use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::kernel::{Factors, TileKernel};

/// Element types the tile kernels run on.
pub(crate) trait TileFloat: Element + faer::traits::RealField + Copy {}
impl TileFloat for f32 {}
impl TileFloat for f64 {}

/// Elements of input below which a task stays on its own core (splitting a small tile costs
/// more than it saves).
const SPLIT_ELEMENTS: usize = 512 * 512;

/// Run `kernel`, over inputs of `elements` elements in all, with the cores it may borrow.
fn with_cores<R: Send>(elements: usize, kernel: impl FnOnce(Par) -> R + Send) -> R {
    if elements < SPLIT_ELEMENTS {
        return kernel(Par::Seq);
    }
    let loan = crate::runtime::cores::borrow(usize::MAX);
    match (loan.threads(), crate::runtime::cores::pool()) {
        (n, Some(pool)) if n > 1 => pool.install(|| kernel(Par::rayon(n))),
        _ => kernel(Par::Seq),
    }
}

/// Run one tile kernel. The input a kernel overwrites ([`crate::ir::kernel::Kernel::in_place_input`])
/// becomes its result without a copy when `inputs` holds the only reference to it.
pub(crate) fn execute(k: &TileKernel, mut inputs: Vec<Value>) -> Result<Value> {
    if let TileKernel::Zeros { shape, dtype } = k {
        return Ok(Value::Array(HostArray::zeros(*dtype, shape)));
    }
    if let TileKernel::Pick { factor, rows } = k {
        let f = inputs.first().ok_or_else(|| Error::internal("pick: no input"))?.get_state::<Factors>()?;
        let a = f.0.get(*factor).ok_or_else(|| Error::invalid("pick: no such factor"))?;
        return Ok(Value::Array(match rows {
            None => a.clone(),
            Some((r0, n)) => crate::core::host::slice_view(a, &[(*r0, 1, *n), (0, 1, a.shape()[1])], &[])?,
        }));
    }
    match k {
        TileKernel::PermuteRows { rows } => return permute_rows(*rows, &inputs),
        TileKernel::ComposePerm { offset } => return compose_perm(*offset, &inputs),
        _ => {}
    }
    let first = inputs.first().ok_or_else(|| Error::internal("tile kernel: no input"))?.array()?;
    if let TileKernel::Transpose = k {
        return Ok(Value::Array(crate::map_host!(first, a => HostArray::new(a.clone().reversed_axes()))));
    }
    let dtype = first.dtype();
    let elements: usize =
        inputs.iter().filter_map(|v| v.array().ok()).map(|a| a.shape().iter().product::<usize>()).sum();
    let inputs = &mut inputs;
    // Products OpenBLAS runs (one thread) borrow no cores: see `blas`.
    let elements = if blas::ENABLED && matches!(k, TileKernel::Gemm { .. } | TileKernel::Syrk { .. }) {
        0
    } else {
        elements
    };
    match dtype {
        DType::F32 => with_cores(elements, |par| run::<f32>(k, inputs, par)),
        DType::F64 => with_cores(elements, |par| run::<f64>(k, inputs, par)),
        d => Err(Error::invalid(format!("linear algebra needs f32 or f64 blocks, not {d}"))),
    }
}

fn run<T: TileFloat>(k: &TileKernel, inputs: &mut [Value], par: Par) -> Result<Value> {
    if let TileKernel::Gemm { alpha, accumulate, .. } = k
        && inputs.iter().any(|v| v.array().is_ok_and(|a| a.shape().len() > 2))
    {
        return batched_gemm::<T>(inputs, *alpha, *accumulate, par);
    }
    // The input overwritten with the result, taken out of `inputs` (its slot is left empty).
    let taken = match k.in_place_input() {
        Some(i) => Some(take_owned::<T>(
            inputs.get_mut(i).ok_or_else(|| Error::internal("tile kernel: missing input"))?,
        )?),
        None => None,
    };
    let inputs = &*inputs;
    let arr = |i: usize| -> Result<&ArcArray<T, IxDyn>> {
        let a = inputs
            .get(i)
            .ok_or_else(|| Error::internal("tile kernel: missing input"))?
            .array()?
            .typed::<T>()?;
        if a.ndim() != 2 {
            return Err(Error::invalid(format!("tile kernel: a {}-d block, expected 2-d", a.ndim())));
        }
        Ok(a)
    };
    match k {
        TileKernel::Gemm { ta, tb, alpha, accumulate } => {
            let off = usize::from(*accumulate);
            let (a_block, b_block) = (arr(off)?, arr(off + 1)?);
            let (a, b) = (view(a_block, *ta), view(b_block, *tb));
            if a.ncols() != b.nrows() {
                return Err(Error::ShapeMismatch {
                    op: "gemm".into(),
                    left: vec![a.nrows(), a.ncols()],
                    right: vec![b.nrows(), b.ncols()],
                });
            }
            let mut out = taken.unwrap_or_else(|| Array2::zeros((a.nrows(), b.ncols())));
            if out.dim() != (a.nrows(), b.ncols()) {
                return Err(Error::ShapeMismatch {
                    op: "gemm (running sum)".into(),
                    left: vec![a.nrows(), b.ncols()],
                    right: out.shape().to_vec(),
                });
            }
            // OpenBLAS when the `blas` feature is on (and the layout suits CBLAS), else faer.
            if !blas::gemm(&mut out, *accumulate, (a_block, *ta), (b_block, *tb), *alpha) {
                let beta = if *accumulate { Accum::Add } else { Accum::Replace };
                matmul::matmul(mat_mut(&mut out), beta, a, b, T::from_f64_impl(*alpha), par);
            }
            Ok(array(out))
        }
        TileKernel::Syrk { alpha, accumulate } => {
            let a_block = arr(usize::from(*accumulate))?;
            let a = view(a_block, false);
            let n = a.nrows();
            let mut out = taken.unwrap_or_else(|| Array2::zeros((n, n)));
            if out.dim() != (n, n) {
                return Err(Error::ShapeMismatch {
                    op: "syrk".into(),
                    left: vec![n, a.ncols()],
                    right: out.shape().to_vec(),
                });
            }
            if blas::syrk_lower(&mut out, *accumulate, a_block, *alpha) {
                mirror_lower(&mut out);
                return Ok(array(out));
            }
            let beta = if *accumulate { Accum::Add } else { Accum::Replace };
            use matmul::triangular::{BlockStructure, matmul as tri_matmul};
            tri_matmul(
                mat_mut(&mut out),
                BlockStructure::TriangularLower,
                beta,
                a,
                BlockStructure::Rectangular,
                a.transpose(),
                BlockStructure::Rectangular,
                T::from_f64_impl(*alpha),
                par,
            );
            mirror_lower(&mut out);
            Ok(array(out))
        }
        TileKernel::Potrf { tile, offset } => {
            let mut l = given(taken)?;
            let n = l.nrows();
            let req = cholesky::llt::factor::cholesky_in_place_scratch::<T>(n, par, Default::default());
            let mut buf = MemBuffer::new(req);
            let r = cholesky::llt::factor::cholesky_in_place(
                mat_mut(&mut l),
                Default::default(),
                par,
                MemStack::new(&mut buf),
                Default::default(),
            );
            if let Err(cholesky::llt::factor::LltError::NonPositivePivot { index }) = r {
                return Err(Error::NotPositiveDefinite { tile: (*tile, *tile), pivot: offset + index });
            }
            for i in 0..n {
                for j in i + 1..n {
                    l[(i, j)] = <T as Element>::zero();
                }
            }
            Ok(array(l))
        }
        TileKernel::CheckPivots { offsets } => {
            for (i, &first_row) in offsets.iter().enumerate() {
                let t = arr(i)?;
                let d = t.shape()[0].min(t.shape()[1]);
                let bad = |v: T| v == <T as Element>::zero() || !v.to_f64().is_finite();
                if let Some(r) = (0..d).find(|&r| bad(t[[r, r]])) {
                    return Err(Error::Singular {
                        op: "solve".into(),
                        detail: format!("zero or non-finite pivot on the diagonal at row {}", first_row + r),
                    });
                }
            }
            Ok(Value::Array(HostArray::zeros(DType::I64, &[0])))
        }
        TileKernel::Trsm { right, lower, trans, unit } => {
            let t = arr(0)?;
            let mut x = given(taken)?;
            // X op(T) = B  ⇔  op(T)ᵀ Xᵀ = Bᵀ: solve from the left with the transposed system.
            let flip = *trans ^ *right;
            let m = view(t, flip);
            let m_lower = *lower ^ flip;
            let need = if *right { x.ncols() } else { x.nrows() };
            if m.nrows() != m.ncols() || m.nrows() != need {
                return Err(Error::ShapeMismatch {
                    op: "trsm".into(),
                    left: t.shape().to_vec(),
                    right: vec![x.nrows(), x.ncols()],
                });
            }
            let xm = mat_mut(&mut x);
            let rhs = if *right { xm.transpose_mut() } else { xm };
            match (m_lower, *unit) {
                (true, false) => triangular_solve::solve_lower_triangular_in_place(m, rhs, par),
                (true, true) => triangular_solve::solve_unit_lower_triangular_in_place(m, rhs, par),
                (false, false) => triangular_solve::solve_upper_triangular_in_place(m, rhs, par),
                (false, true) => triangular_solve::solve_unit_upper_triangular_in_place(m, rhs, par),
            }
            Ok(array(x))
        }
        TileKernel::Qr => {
            let (a, n) = stack_rows::<T>(inputs)?;
            let m = a.nrows();
            let (q, r) = thin_qr(a, par);
            Ok(Value::state(
                Factors(vec![from_mat(q.as_ref()), from_mat(r.as_ref())]),
                (m * n + n * n) * T::DTYPE.size(),
            ))
        }
        TileKernel::PanelLu => {
            let (mut a, n) = stack_rows::<T>(inputs)?;
            let m = a.nrows();
            let mut perm = vec![0usize; m];
            let mut perm_inv = vec![0usize; m];
            let req =
                lu::partial_pivoting::factor::lu_in_place_scratch::<usize, T>(m, n, par, Default::default());
            lu::partial_pivoting::factor::lu_in_place(
                a.as_mut(),
                &mut perm,
                &mut perm_inv,
                par,
                MemStack::new(&mut MemBuffer::new(req)),
                Default::default(),
            );
            let k = m.min(n);
            let l = Array2::from_shape_fn((m, k), |(i, j)| match i.cmp(&j) {
                std::cmp::Ordering::Greater => a[(i, j)],
                std::cmp::Ordering::Equal => <T as Element>::one(),
                std::cmp::Ordering::Less => <T as Element>::zero(),
            });
            let u = Array2::from_shape_fn(
                (k, n),
                |(i, j)| if j >= i { a[(i, j)] } else { <T as Element>::zero() },
            );
            let p = ndarray::Array1::from_iter(perm.iter().map(|&p| p as i64));
            let bytes = (m * k + k * n) * T::DTYPE.size() + m * 8;
            let f = Factors(vec![
                HostArray::new(l.into_dyn().into_shared()),
                HostArray::new(u.into_dyn().into_shared()),
                HostArray::new(p.into_dyn().into_shared()),
            ]);
            Ok(Value::state(f, bytes))
        }
        TileKernel::Svd => {
            // The low-level call, with the task's `par`: `Mat::thin_svd` would take faer's
            // global setting, every core of rayon's global pool, whatever else is running.
            use faer::linalg::svd::{ComputeSvdVectors, svd as svd_in, svd_scratch};
            let a = view(arr(0)?, false);
            let (m, n) = (a.nrows(), a.ncols());
            let k = m.min(n);
            let thin = ComputeSvdVectors::Thin;
            let req = svd_scratch::<T>(m, n, thin, thin, par, Default::default());
            let (mut sd, mut um, mut vm) =
                (faer::diag::Diag::<T>::zeros(k), Mat::<T>::zeros(m, k), Mat::<T>::zeros(n, k));
            let mut buf = MemBuffer::new(req);
            svd_in(
                a,
                sd.as_mut(),
                Some(um.as_mut()),
                Some(vm.as_mut()),
                par,
                MemStack::new(&mut buf),
                Default::default(),
            )
            .map_err(|e| Error::invalid(format!("svd did not converge: {e:?}")))?;
            let s: Vec<T> = (0..k).map(|i| sd[i]).collect();
            let s =
                ArrayD::from_shape_vec(IxDyn(&[s.len()]), s).map_err(|e| Error::invalid(e.to_string()))?;
            let u = from_mat(um.as_ref());
            let vt = from_mat(vm.transpose());
            let bytes = u.nbytes() + vt.nbytes() + s.len() * T::DTYPE.size();
            Ok(Value::state(Factors(vec![u, HostArray::new(s.into_shared()), vt]), bytes))
        }
        TileKernel::JacobiRotation { scale, tol } => {
            let views = (0..inputs.len())
                .map(|i| Ok(arr(i)?.view().into_dimensionality::<ndarray::Ix2>().expect("checked 2-d")))
                .collect::<Result<Vec<_>>>()?;
            crate::backend::cpu::rotation::jacobi_rotation(&views, *scale, *tol, par)
        }
        TileKernel::JacobiApply { second } => {
            crate::backend::cpu::rotation::jacobi_apply::<T>(inputs, *second, par)
        }
        TileKernel::Pick { .. }
        | TileKernel::Zeros { .. }
        | TileKernel::Transpose
        | TileKernel::PermuteRows { .. }
        | TileKernel::ComposePerm { .. } => unreachable!("handled above"),
    }
}

/// Gemm over batch axes: inputs `[C,] A, B` of shapes `(…, m, k)`, `(…, k, n)` with the same
/// leading axes; each batch element is one 2-d product.
fn batched_gemm<T: TileFloat>(inputs: &[Value], alpha: f64, accumulate: bool, par: Par) -> Result<Value> {
    let off = usize::from(accumulate);
    let get = |i: usize| -> Result<ndarray::ArrayD<T>> {
        let a = inputs.get(i).ok_or_else(|| Error::internal("gemm: missing input"))?.array()?.typed::<T>()?;
        Ok(a.as_standard_layout().into_owned())
    };
    let (a, b) = (get(off)?, get(off + 1)?);
    let nd = a.ndim();
    if b.ndim() != nd || a.shape()[..nd - 2] != b.shape()[..nd - 2] || a.shape()[nd - 1] != b.shape()[nd - 2]
    {
        return Err(Error::ShapeMismatch {
            op: "batched gemm".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    let (m, k, n) = (a.shape()[nd - 2], a.shape()[nd - 1], b.shape()[nd - 1]);
    let batch: usize = a.shape()[..nd - 2].iter().product();
    let mut shape = a.shape()[..nd - 2].to_vec();
    shape.extend([m, n]);
    let mut out =
        if accumulate { get(0)? } else { ndarray::ArrayD::from_elem(IxDyn(&shape), <T as Element>::zero()) };
    let a3 = a.into_shape_with_order((batch, m, k)).map_err(|e| Error::invalid(e.to_string()))?;
    let b3 = b.into_shape_with_order((batch, k, n)).map_err(|e| Error::invalid(e.to_string()))?;
    {
        let mut c3 =
            out.view_mut().into_shape_with_order((batch, m, n)).map_err(|e| Error::invalid(e.to_string()))?;
        let beta = if accumulate { Accum::Add } else { Accum::Replace };
        for p in 0..batch {
            let (x, y) = (a3.index_axis(ndarray::Axis(0), p), b3.index_axis(ndarray::Axis(0), p));
            let mut z = c3.index_axis_mut(ndarray::Axis(0), p);
            let zm = MatMut::from_row_major_slice_mut(z.as_slice_mut().expect("C order"), m, n);
            let xm = MatRef::from_row_major_slice(x.to_slice().expect("C order"), m, k);
            let ym = MatRef::from_row_major_slice(y.to_slice().expect("C order"), k, n);
            matmul::matmul(zm, beta, xm, ym, T::from_f64_impl(alpha), par);
        }
    }
    Ok(Value::Array(HostArray::new(out.into_shared())))
}

/// The 2-d blocks of `inputs` stacked by rows into one column-major matrix, and its columns.
fn stack_rows<T: TileFloat>(inputs: &[Value]) -> Result<(Mat<T>, usize)> {
    let parts = inputs.iter().map(|v| v.array()?.typed::<T>()).collect::<Result<Vec<_>>>()?;
    let n =
        parts.first().ok_or_else(|| Error::invalid("stack: no blocks"))?.shape().get(1).copied().unwrap_or(0);
    if let Some(p) = parts.iter().find(|p| p.ndim() != 2 || p.shape()[1] != n) {
        return Err(Error::invalid(format!("stacked blocks of {n} and {:?} columns", p.shape())));
    }
    let m: usize = parts.iter().map(|p| p.shape()[0]).sum();
    let mut a = Mat::<T>::zeros(m, n);
    let mut r0 = 0;
    for p in &parts {
        let v = view(p, false);
        a.as_mut().submatrix_mut(r0, 0, v.nrows(), n).copy_from(v);
        r0 += v.nrows();
    }
    Ok((a, n))
}

/// A permutation from an i64 array or from the factors of a panel LU.
fn perm_of(v: &Value) -> Result<&ArcArray<i64, IxDyn>> {
    match v.get_state::<Factors>() {
        Ok(f) => f.0.get(2).ok_or_else(|| Error::invalid("permutation: no perm factor"))?.typed::<i64>(),
        Err(_) => v.array()?.typed::<i64>(),
    }
}

/// Rows `(r0, n)` of the input tiles stacked and permuted.
fn permute_rows(rows: (usize, usize), inputs: &[Value]) -> Result<Value> {
    let perm = perm_of(inputs.first().ok_or_else(|| Error::internal("permute_rows: no input"))?)?;
    let tiles = inputs[1..].iter().map(|v| v.array()).collect::<Result<Vec<_>>>()?;
    let first = tiles.first().ok_or_else(|| Error::invalid("permute_rows: no tiles"))?;
    // Where each stacked row lives: (tile, local row).
    let mut at = Vec::new();
    for (t, a) in tiles.iter().enumerate() {
        at.extend((0..a.shape()[0]).map(|r| (t, r)));
    }
    let (r0, n) = rows;
    crate::with_dtype!(first.dtype(), E => {
        let ts = tiles.iter().map(|a| a.typed::<E>()).collect::<Result<Vec<_>>>()?;
        let cols = ts[0].shape()[1..].to_vec();
        let mut shape = vec![n];
        shape.extend(&cols);
        let mut out = ArrayD::<E>::from_elem(IxDyn(&shape), E::zero());
        for r in 0..n {
            let src = usize::try_from(perm[[r0 + r]]).ok().and_then(|p| at.get(p).copied());
            let (t, lr) = src.ok_or_else(|| Error::invalid("permute_rows: permutation out of range"))?;
            out.index_axis_mut(ndarray::Axis(0), r).assign(&ts[t].index_axis(ndarray::Axis(0), lr));
        }
        Ok(Value::Array(HostArray::new(out.into_shared())))
    })
}

/// The whole-matrix permutation after a panel at row `offset` permuted its rows.
fn compose_perm(offset: usize, inputs: &[Value]) -> Result<Value> {
    let prev = perm_of(&inputs[0])?;
    let local = perm_of(&inputs[1])?;
    let mut next = prev.to_owned();
    for (t, &p) in local.iter().enumerate() {
        next[[offset + t]] = prev[[offset + p as usize]];
    }
    Ok(Value::Array(HostArray::new(next.into_shared())))
}

/// The thin QR of `a` (m × n): `Q` m × k with orthonormal columns, `R` k × n upper
/// trapezoidal, k = min(m, n).
fn thin_qr<T: TileFloat>(mut a: Mat<T>, par: Par) -> (Mat<T>, Mat<T>) {
    let (m, n) = a.shape();
    let k = m.min(n);
    let bs = qr::no_pivoting::factor::recommended_block_size::<T>(m, n);
    let mut coeff = Mat::<T>::zeros(bs, k);
    let req = qr::no_pivoting::factor::qr_in_place_scratch::<T>(m, n, bs, par, Default::default());
    qr::no_pivoting::factor::qr_in_place(
        a.as_mut(),
        coeff.as_mut(),
        par,
        MemStack::new(&mut MemBuffer::new(req)),
        Default::default(),
    );
    let mut r = Mat::<T>::zeros(k, n);
    for j in 0..n {
        for i in 0..=j.min(k - 1) {
            r[(i, j)] = a[(i, j)];
        }
    }
    let mut q = Mat::<T>::identity(m, k);
    let req = householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(m, bs, k);
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        a.as_ref().get(.., ..k),
        coeff.as_ref(),
        Conj::No,
        q.as_mut(),
        par,
        MemStack::new(&mut MemBuffer::new(req)),
    );
    (q, r)
}

/// A faer view of a 2-d block in its own layout (transposed if asked).
fn view<T: TileFloat>(a: &ArcArray<T, IxDyn>, trans: bool) -> MatRef<'_, T> {
    let (s, st) = (a.shape(), a.strides());
    // SAFETY: the pointer, extents and strides describe the live array `a`, which the
    // returned view borrows.
    let m = unsafe { MatRef::from_raw_parts(a.as_ptr(), s[0], s[1], st[0], st[1]) };
    if trans { m.transpose() } else { m }
}

/// The 2-d block in `v` as a C-order array, taken out of `v` (left holding an empty block).
/// No copy when `v` held the only reference to a C-order buffer, which is how the scheduler
/// hands a running sum to the next product of its chain; otherwise one copy (one memcpy when
/// the block is C-order: an element-by-element copy through indices cost 4 % of xxT-sum).
fn take_owned<T: TileFloat>(v: &mut Value) -> Result<Array2<T>> {
    let a = match v {
        Value::Array(h) => {
            std::mem::replace(h.typed_mut::<T>()?, ArcArray::from_elem(IxDyn(&[0]), <T as Element>::zero()))
        }
        _ => v.array()?.typed::<T>()?.clone(),
    };
    if a.ndim() != 2 {
        return Err(Error::invalid(format!("tile kernel: a {}-d block, expected 2-d", a.ndim())));
    }
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let out = if a.is_standard_layout() { a.into_owned() } else { a.as_standard_layout().into_owned() };
    Ok(out.into_shape_with_order((m, n)).expect("a C-order 2-d block keeps its shape"))
}

/// The input a kernel overwrites, which [`run`] took for it.
fn given<T>(taken: Option<Array2<T>>) -> Result<Array2<T>> {
    taken.ok_or_else(|| Error::invalid("tile kernel: the input it overwrites is missing"))
}

/// Copy the lower triangle of a C-order square tile onto its upper one, in 64 × 64 blocks
/// (element by element, each read walks down a column and misses the cache on every row).
fn mirror_lower<T: Copy>(out: &mut Array2<T>) {
    const B: usize = 64;
    let n = out.nrows();
    let s = out.as_slice_mut().expect("C order");
    for ib in (0..n).step_by(B) {
        for jb in (ib..n).step_by(B) {
            for i in ib..(ib + B).min(n) {
                for j in jb.max(i + 1)..(jb + B).min(n) {
                    s[i * n + j] = s[j * n + i];
                }
            }
        }
    }
}

/// `out = a · b`, or `out += a · b` when `accumulate`: OpenBLAS with the `blas` feature on
/// one core, else faer.
pub(super) fn product<T: TileFloat>(
    out: &mut Array2<T>,
    accumulate: bool,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    par: Par,
) {
    if !blas::gemm(out, accumulate, (a, false), (b, false), 1.0) {
        let beta = if accumulate { Accum::Add } else { Accum::Replace };
        matmul::matmul(mat_mut(out), beta, view(a, false), view(b, false), <T as Element>::one(), par);
    }
}

fn mat_mut<T: TileFloat>(a: &mut Array2<T>) -> MatMut<'_, T> {
    let (m, n) = a.dim();
    MatMut::from_row_major_slice_mut(a.as_slice_mut().expect("C order"), m, n)
}

fn array<T: TileFloat>(a: Array2<T>) -> Value {
    Value::Array(HostArray::new(a.into_dyn().into_shared()))
}

fn from_mat<T: TileFloat>(m: MatRef<'_, T>) -> HostArray {
    let a = Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]);
    HostArray::new(a.into_dyn().into_shared())
}
