//! CPU evaluation of fused elementwise expressions.
//!
//! The expression is interpreted tile by tile: for each tile of `TILE` elements, every
//! instruction writes its tile into a small typed buffer, so temporaries stay in L1/L2 cache
//! and each op's inner loop is a tight, vectorisable loop over slices. Leaves that are not
//! contiguous blocks of the output shape (broadcast or strided views) are first laid out in
//! standard order; plain contiguous leaves are read in place.

use ndarray::{ArcArray, ArrayD, IxDyn};

use crate::core::block::HostArray;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::expr::{BinaryOp, Expr, Instr, UnaryOp};
use crate::with_dtype;

/// Elements per tile.
const TILE: usize = 1024;

/// A typed tile buffer.
enum Buf {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Typed access to [`Buf`].
trait BufElem: Element {
    fn get(b: &Buf) -> &[Self];
    fn get_mut(b: &mut Buf) -> &mut [Self];
    fn make(v: Vec<Self>) -> Buf;
}

macro_rules! buf_elem {
    ($t:ty, $v:ident) => {
        impl BufElem for $t {
            fn get(b: &Buf) -> &[Self] {
                match b {
                    Buf::$v(v) => v,
                    _ => unreachable!("tile buffer dtype checked when the expression was built"),
                }
            }
            fn get_mut(b: &mut Buf) -> &mut [Self] {
                match b {
                    Buf::$v(v) => v,
                    _ => unreachable!("tile buffer dtype checked when the expression was built"),
                }
            }
            fn make(v: Vec<Self>) -> Buf {
                Buf::$v(v)
            }
        }
    };
}
buf_elem!(bool, Bool);
buf_elem!(i8, I8);
buf_elem!(i16, I16);
buf_elem!(u8, U8);
buf_elem!(u16, U16);
buf_elem!(u32, U32);
buf_elem!(u64, U64);
buf_elem!(i32, I32);
buf_elem!(i64, I64);
buf_elem!(f32, F32);
buf_elem!(f64, F64);

/// Checks an expression's types: every operand reference is earlier, dtypes agree.
pub(crate) fn check_expr(e: &Expr, leaf_dtypes: &[DType]) -> Result<()> {
    let bad = |m: String| Err(Error::invalid(format!("malformed expression {e}: {m}")));
    for (i, ins) in e.instrs.iter().enumerate() {
        let dt = e.dtypes[i];
        let before = |a: usize| a < i;
        match *ins {
            Instr::Input(k) => {
                if leaf_dtypes.get(k) != Some(&dt) {
                    return bad(format!("input {k} has dtype {:?}, not {dt}", leaf_dtypes.get(k)));
                }
            }
            Instr::Const(c) => {
                if c.dtype() != dt {
                    return bad(format!("constant of dtype {} where {dt} is declared", c.dtype()));
                }
            }
            Instr::Unary(op, a) => {
                let want = match op {
                    UnaryOp::IsNan | UnaryOp::IsFinite => DType::Bool,
                    _ => e.dtypes[a],
                };
                if !before(a) || dt != want {
                    return bad(format!("instruction {i}"));
                }
            }
            Instr::Binary(op, a, b) => {
                let want = if op.is_comparison() { DType::Bool } else { e.dtypes[a] };
                if !before(a) || !before(b) || e.dtypes[a] != e.dtypes[b] || dt != want {
                    return bad(format!("instruction {i}"));
                }
            }
            Instr::Where(c, a, b) => {
                if !before(c) || !before(a) || !before(b) || e.dtypes[c] != DType::Bool {
                    return bad(format!("instruction {i}"));
                }
                if e.dtypes[a] != dt || e.dtypes[b] != dt {
                    return bad(format!("instruction {i}"));
                }
            }
            Instr::Cast(a) => {
                if !before(a) {
                    return bad(format!("instruction {i}"));
                }
            }
        }
    }
    Ok(())
}

/// Evaluate `expr` over `leaves` into a new block of `shape`.
pub(crate) fn eval(expr: &Expr, leaves: &[HostArray], shape: &[usize]) -> Result<HostArray> {
    let dtypes: Vec<DType> = leaves.iter().map(|l| l.dtype()).collect();
    check_expr(expr, &dtypes)?;
    // Lay out leaves contiguously in the output shape.
    let mut laid: Vec<HostArray> = Vec::with_capacity(leaves.len());
    for l in leaves {
        laid.push(layout(l, shape)?);
    }
    let n: usize = shape.iter().product();
    let out_dt = expr.dtype();
    let mut bufs: Vec<Buf> = expr
        .dtypes
        .iter()
        .map(|&dt| with_dtype!(dt, T => T::make(vec![T::zero(); TILE.min(n.max(1))])))
        .collect();
    // Constants are filled once.
    for (i, ins) in expr.instrs.iter().enumerate() {
        if let Instr::Const(c) = ins {
            with_dtype!(expr.dtypes[i], T => T::get_mut(&mut bufs[i]).fill(c.get::<T>()));
        }
    }
    with_dtype!(out_dt, O => {
        let mut out: Vec<O> = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let len = TILE.min(n - start);
            for i in 0..expr.instrs.len() {
                step(expr, i, &mut bufs, &laid, start, len);
            }
            out.extend_from_slice(&O::get(bufs.last().expect("non-empty"))[..len]);
            start += len;
        }
        let a = ArrayD::from_shape_vec(IxDyn(shape), out).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(HostArray::new(a.into_shared()))
    })
}

/// A leaf as a standard-layout array of exactly `shape` (broadcast and copied if needed).
fn layout(l: &HostArray, shape: &[usize]) -> Result<HostArray> {
    crate::map_host!(l, a => {
        if a.shape() == shape && a.is_standard_layout() {
            return Ok(l.clone());
        }
        let b = a.broadcast(IxDyn(shape)).ok_or_else(|| Error::ShapeMismatch {
            op: "broadcast".into(),
            left: a.shape().to_vec(),
            right: shape.to_vec(),
        })?;
        Ok(HostArray::new(ArcArray::from(b.as_standard_layout().into_owned())))
    })
}

/// Compute instruction `i` for the tile `[start, start + len)`.
fn step(expr: &Expr, i: usize, bufs: &mut [Buf], leaves: &[HostArray], start: usize, len: usize) {
    let (before, rest) = bufs.split_at_mut(i);
    let out = &mut rest[0];
    let dt = expr.dtypes[i];
    match expr.instrs[i] {
        Instr::Const(_) => {}
        Instr::Input(k) => crate::map_host!(&leaves[k], a => {
            let src = a.as_slice().expect("leaves are laid out contiguously");
            copy_into(&src[start..start + len], out);
        }),
        Instr::Unary(op, a) => {
            let src_dt = expr.dtypes[a];
            with_dtype!(src_dt, T => {
                let x = &T::get(&before[a])[..len];
                match op {
                    UnaryOp::IsNan => map_into(x, &mut bool::get_mut(out)[..len], |v| v.is_nan()),
                    UnaryOp::IsFinite => map_into(x, &mut bool::get_mut(out)[..len], |v| v.is_finite()),
                    _ => unary(op, x, &mut T::get_mut(out)[..len]),
                }
            })
        }
        Instr::Binary(op, a, b) => {
            let src_dt = expr.dtypes[a];
            with_dtype!(src_dt, T => {
                let x = &T::get(&before[a])[..len];
                let y = &T::get(&before[b])[..len];
                if op.is_comparison() {
                    compare(op, x, y, &mut bool::get_mut(out)[..len]);
                } else {
                    binary(op, x, y, &mut T::get_mut(out)[..len]);
                }
            })
        }
        Instr::Where(c, a, b) => with_dtype!(dt, T => {
            let c = &bool::get(&before[c])[..len];
            let x = &T::get(&before[a])[..len];
            let y = &T::get(&before[b])[..len];
            for (((o, &c), &x), &y) in T::get_mut(out)[..len].iter_mut().zip(c).zip(x).zip(y) {
                *o = if c { x } else { y };
            }
        }),
        Instr::Cast(a) => with_dtype!(expr.dtypes[a], S => {
            let x = &S::get(&before[a])[..len];
            with_dtype!(dt, T => map_into(x, &mut T::get_mut(out)[..len], T::cast_from))
        }),
    }
}

fn copy_into<T: BufElem>(src: &[T], out: &mut Buf) {
    T::get_mut(out)[..src.len()].copy_from_slice(src);
}

#[inline]
fn map_into<S: Copy, T>(x: &[S], out: &mut [T], f: impl Fn(S) -> T) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

fn unary<T: Element>(op: UnaryOp, x: &[T], out: &mut [T]) {
    match op {
        UnaryOp::Neg => map_into(x, out, T::neg),
        UnaryOp::Abs => map_into(x, out, T::abs),
        UnaryOp::Not => map_into(x, out, |v| T::cast_from(v == T::zero())),
        UnaryOp::Sqrt => map_into(x, out, |v| v.float_fn(f64::sqrt, f32::sqrt)),
        UnaryOp::Exp => map_into(x, out, |v| v.float_fn(f64::exp, f32::exp)),
        UnaryOp::Log => map_into(x, out, |v| v.float_fn(f64::ln, f32::ln)),
        UnaryOp::Log1p => map_into(x, out, |v| v.float_fn(f64::ln_1p, f32::ln_1p)),
        UnaryOp::Expm1 => map_into(x, out, |v| v.float_fn(f64::exp_m1, f32::exp_m1)),
        UnaryOp::Sin => map_into(x, out, |v| v.float_fn(f64::sin, f32::sin)),
        UnaryOp::Cos => map_into(x, out, |v| v.float_fn(f64::cos, f32::cos)),
        UnaryOp::Tan => map_into(x, out, |v| v.float_fn(f64::tan, f32::tan)),
        UnaryOp::Tanh => map_into(x, out, |v| v.float_fn(f64::tanh, f32::tanh)),
        UnaryOp::Floor => map_into(x, out, |v| v.float_fn(f64::floor, f32::floor)),
        UnaryOp::Ceil => map_into(x, out, |v| v.float_fn(f64::ceil, f32::ceil)),
        UnaryOp::Round => map_into(x, out, |v| v.float_fn(f64::round_ties_even, f32::round_ties_even)),
        UnaryOp::IsNan | UnaryOp::IsFinite => unreachable!("bool-valued ops handled by caller"),
    }
}

fn binary<T: Element>(op: BinaryOp, x: &[T], y: &[T], out: &mut [T]) {
    let z = out.iter_mut().zip(x.iter().zip(y));
    macro_rules! each {
        ($f:expr) => {
            for (o, (&a, &b)) in z {
                *o = $f(a, b);
            }
        };
    }
    match op {
        BinaryOp::Add => each!(T::add),
        BinaryOp::Sub => each!(T::sub),
        BinaryOp::Mul => each!(T::mul),
        BinaryOp::Div => each!(T::div),
        BinaryOp::Rem => each!(T::rem),
        BinaryOp::Pow => each!(T::pow),
        BinaryOp::Minimum => each!(T::minimum),
        BinaryOp::Maximum => each!(T::maximum),
        BinaryOp::And => each!(|a: T, b: T| T::cast_from(a != T::zero() && b != T::zero())),
        BinaryOp::Or => each!(|a: T, b: T| T::cast_from(a != T::zero() || b != T::zero())),
        _ => unreachable!("comparisons handled by caller"),
    }
}

fn compare<T: Element>(op: BinaryOp, x: &[T], y: &[T], out: &mut [bool]) {
    let z = out.iter_mut().zip(x.iter().zip(y));
    macro_rules! each {
        ($f:expr) => {
            for (o, (a, b)) in z {
                *o = $f(a, b);
            }
        };
    }
    match op {
        BinaryOp::Eq => each!(|a: &T, b: &T| a == b),
        BinaryOp::Ne => each!(|a: &T, b: &T| a != b),
        BinaryOp::Lt => each!(|a: &T, b: &T| a < b),
        BinaryOp::Le => each!(|a: &T, b: &T| a <= b),
        BinaryOp::Gt => each!(|a: &T, b: &T| a > b),
        BinaryOp::Ge => each!(|a: &T, b: &T| a >= b),
        _ => unreachable!("arithmetic handled by caller"),
    }
}
