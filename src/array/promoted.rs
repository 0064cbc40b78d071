//! Elementwise ops, `where`, `concatenate` and `stack` over operands of different element
//! types, promoted as NumPy 2 does (see [`crate::core::promote`]).
//!
//! The plain forms (`a.add(&b)`, `&a + 3`, [`where_`](crate::where_),
//! [`concatenate`](crate::concatenate)) keep one element type, as Rust's own operators do.
//! The forms here promote:
//!
//! - `a.add_promoted(&b)` with `a: Array<A>`, `b: Array<B>` gives
//!   `Array<<A as Promote<B>>::Output>` (`Array<u8>` with `Array<i8>` gives `Array<i16>`);
//!   the same for `sub`, `mul`, `div`, `rem`, `pow`, `minimum`, `maximum`, and comparisons
//!   (`lt_promoted` …) compare in the promoted type, except `u64` with a signed integer,
//!   compared exactly (NumPy 2's mixed loops), not through the `f64` they promote to.
//! - `a.add_scalar(s)` with a Rust scalar `s` treats it as NumPy 2 treats a Python scalar
//!   (weak): `Array<u8>.add_scalar(3)` is `Array<u8>`, `Array<i32>.add_scalar(2.5)` is
//!   `Array<f64>`, `Array<f32>.add_scalar(2.5)` is `Array<f32>`. An integer the array's
//!   integer type cannot hold is an error, as NumPy's `OverflowError` (`Array<u8>` plus
//!   300); comparisons with it are exact (`Array<u8>.lt_scalar(300)` is all true). The
//!   `r…_scalar` forms put the scalar on the left (`rsub_scalar(1)` is `1 - a`).
//! - [`where_promoted`] and [`concatenate_promoted`]/[`stack_promoted`] promote their array
//!   operands; the concatenations take arrays of any element types (`&dyn AnyArray`) and
//!   the caller names the result type, which must be NumPy's `result_type` of the inputs.
//!
//! Integer `div` is NumPy's `floor_divide` here too (tessera's `div` of integers), not
//! `true_divide`: promote to a float first for true division.

use std::sync::Arc;

use crate::array::compute::node_of;
use crate::array::elementwise::{Arg, elementwise};
use crate::array::{AnyArray, Array, concatenate, stack};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::promote::{Promote, ScalarKind, WeakPromote, WeakScalar, integer_range, result_type_of};
use crate::graph::node::Node;
use crate::ir::expr::{BinaryOp, Instr};

/// An elementwise node computing `op` on `a` and `b`, each cast to `common` first.
fn promoted_node(name: &str, op: BinaryOp, a: Arg, b: Arg, common: DType) -> Result<Arc<Node>> {
    elementwise(name, vec![a, b], |p, dt| {
        let mut tail = Vec::new();
        let mut at = [p[0], p[1]];
        for k in 0..2 {
            if dt[k] != common {
                at[k] = p.len() + tail.len();
                tail.push((Instr::Cast(p[k]), common));
            }
        }
        let out = if op.is_comparison() { DType::Bool } else { common };
        tail.push((Instr::Binary(op, at[0], at[1]), out));
        tail
    })
}

/// `node` cast to `to` (the node itself when it already is).
fn cast_node(node: &Arc<Node>, to: DType) -> Result<Arc<Node>> {
    if node.dtype == to {
        return Ok(node.clone());
    }
    elementwise("astype", vec![Arg::Node(node.clone())], |p, _| vec![(Instr::Cast(p[0]), to)])
}

/// A weak scalar as a constant of dtype `common`, or NumPy's overflow error when an integer
/// does not fit an integer `common`.
fn weak_constant<S: WeakScalar, R: Element>(op: &str, s: S) -> Result<Arg> {
    let value = match S::KIND {
        ScalarKind::Int if R::DTYPE.is_integer() => {
            let v = s.as_i128();
            let (lo, hi) = integer_range(R::DTYPE).expect("an integer dtype");
            if v < lo || v > hi {
                return Err(Error::invalid(format!(
                    "{op}: the integer {v} is out of bounds for {} (NumPy: OverflowError)",
                    R::DTYPE
                )));
            }
            if v < 0 { R::cast_from(v as i64) } else { R::cast_from(v as u64) }
        }
        ScalarKind::Bool => R::cast_from(s.as_i128() != 0),
        _ => R::cast_from(s.as_f64()),
    };
    Ok(Arg::Const(value.to_scalar()))
}

macro_rules! promoted_methods {
    ($($(#[$doc:meta])* $name:ident, $op:ident;)*) => {
        impl<T: Element> Array<T> {
            $(
                $(#[$doc])*
                pub fn $name<U: Element>(&self, rhs: &Array<U>) -> Result<Array<<T as Promote<U>>::Output>>
                where
                    T: Promote<U>,
                {
                    let common = <<T as Promote<U>>::Output as Element>::DTYPE;
                    let n = promoted_node(stringify!($name), BinaryOp::$op, Arg::Node(self.node().clone()), Arg::Node(rhs.node().clone()), common)?;
                    Ok(Array::from_node(n))
                }
            )*
        }
    };
}
promoted_methods! {
    /// `self + rhs` in NumPy's promoted type (integers wrap).
    add_promoted, Add;
    /// `self - rhs` in the promoted type.
    sub_promoted, Sub;
    /// `self * rhs` in the promoted type.
    mul_promoted, Mul;
    /// `self / rhs` in the promoted type: true division for floats, `floor_divide` for
    /// integers (÷0 → 0).
    div_promoted, Div;
    /// NumPy's `remainder` in the promoted type.
    rem_promoted, Rem;
    /// `self ** rhs` in the promoted type.
    pow_promoted, Pow;
    /// NumPy's `minimum` in the promoted type (NaN propagates).
    minimum_promoted, Minimum;
    /// NumPy's `maximum` in the promoted type (NaN propagates).
    maximum_promoted, Maximum;
}

/// `op` with its operands swapped (`a < b` is `b > a`).
fn mirrored(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

/// A comparison of a `u64` with a signed integer, exact as NumPy 2's mixed loops (`Qq->?`),
/// not through the f64 both promote to: `u < s` is `s >= 0 && u < s as u64`, `u > s` is
/// `s < 0 || u > s as u64`, and so on.
fn exact_mixed_compare(name: &str, op: BinaryOp, a: Arg, b: Arg, a_unsigned: bool) -> Result<Arc<Node>> {
    elementwise(name, vec![a, b], |p, dt| {
        let (u, s, op) = if a_unsigned { (p[0], p[1], op) } else { (p[1], p[0], mirrored(op)) };
        let mut tail: Vec<(Instr, DType)> = Vec::new();
        let at = |tail: &Vec<(Instr, DType)>| p.len() + tail.len();
        let s64 = if dt[s] == DType::I64 {
            s
        } else {
            tail.push((Instr::Cast(s), DType::I64));
            at(&tail) - 1
        };
        tail.push((Instr::Const(crate::core::dtype::Scalar::I64(0)), DType::I64));
        let zero = at(&tail) - 1;
        // `u op s` holds when s < 0 for >, >=, != (`any`), and needs s >= 0 for <, <=, ==.
        let any = matches!(op, BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Ne);
        let sign = if any { BinaryOp::Lt } else { BinaryOp::Ge };
        tail.push((Instr::Binary(sign, s64, zero), DType::Bool));
        let sign_ok = at(&tail) - 1;
        tail.push((Instr::Cast(s64), DType::U64));
        let as_u = at(&tail) - 1;
        tail.push((Instr::Binary(op, u, as_u), DType::Bool));
        let unsigned_ok = at(&tail) - 1;
        let join = if any { BinaryOp::Or } else { BinaryOp::And };
        tail.push((Instr::Binary(join, sign_ok, unsigned_ok), DType::Bool));
        tail
    })
}

macro_rules! promoted_compare {
    ($($(#[$doc:meta])* $name:ident, $op:ident;)*) => {
        impl<T: Element> Array<T> {
            $(
                $(#[$doc])*
                pub fn $name<U: Element>(&self, rhs: &Array<U>) -> Result<Array<bool>>
                where
                    T: Promote<U>,
                {
                    let common = <<T as Promote<U>>::Output as Element>::DTYPE;
                    let (a, b) = (Arg::Node(self.node().clone()), Arg::Node(rhs.node().clone()));
                    let mixed = T::DTYPE.is_integer() && U::DTYPE.is_integer() && common.is_float();
                    let n = if mixed {
                        exact_mixed_compare(stringify!($name), BinaryOp::$op, a, b, T::DTYPE == DType::U64)?
                    } else {
                        promoted_node(stringify!($name), BinaryOp::$op, a, b, common)?
                    };
                    Ok(Array::from_node(n))
                }
            )*
        }
    };
}
promoted_compare! {
    /// `self == rhs`, compared in the promoted type (`u64` with a signed integer: exactly).
    equal_promoted, Eq;
    /// `self != rhs`, compared in the promoted type.
    not_equal_promoted, Ne;
    /// `self < rhs`, compared in the promoted type.
    lt_promoted, Lt;
    /// `self <= rhs`, compared in the promoted type.
    le_promoted, Le;
    /// `self > rhs`, compared in the promoted type.
    gt_promoted, Gt;
    /// `self >= rhs`, compared in the promoted type.
    ge_promoted, Ge;
}

impl<T: Element> Array<T> {
    /// `op` between this array and a weak scalar (on the left when `scalar_left`).
    fn weak_op<S: WeakScalar>(
        &self,
        name: &str,
        op: BinaryOp,
        s: S,
        scalar_left: bool,
    ) -> Result<Array<<T as WeakPromote<S::Kind>>::Output>>
    where
        T: WeakPromote<S::Kind>,
    {
        let common = <<T as WeakPromote<S::Kind>>::Output as Element>::DTYPE;
        let c = weak_constant::<S, <T as WeakPromote<S::Kind>>::Output>(name, s)?;
        let me = Arg::Node(self.node().clone());
        let (a, b) = if scalar_left { (c, me) } else { (me, c) };
        Ok(Array::from_node(promoted_node(name, op, a, b, common)?))
    }

    /// Compare with a weak scalar, exactly: an integer outside an integer array's range
    /// makes the answer the same everywhere (NumPy 2).
    fn weak_compare<S: WeakScalar>(&self, name: &str, op: BinaryOp, s: S) -> Result<Array<bool>>
    where
        T: WeakPromote<S::Kind>,
    {
        let common = <<T as WeakPromote<S::Kind>>::Output as Element>::DTYPE;
        if let (ScalarKind::Int, Some((lo, hi))) = (S::KIND, integer_range(common)) {
            let v = s.as_i128();
            // Every element is below v (v > hi) or above it (v < lo): compare with the
            // bound itself, which gives the same answer for every element.
            let (bound, all_below) = if v > hi {
                (hi, true)
            } else if v < lo {
                (lo, false)
            } else {
                return self.weak_cmp_in_range(name, op, s);
            };
            let holds = match op {
                BinaryOp::Lt | BinaryOp::Le => all_below,
                BinaryOp::Gt | BinaryOp::Ge => !all_below,
                BinaryOp::Eq => false,
                _ => true,
            };
            // `x <= hi` and `x >= lo` hold everywhere; `x > hi` and `x < lo` nowhere.
            let cmp = match (all_below, holds) {
                (true, true) => BinaryOp::Le,
                (true, false) => BinaryOp::Gt,
                (false, true) => BinaryOp::Ge,
                (false, false) => BinaryOp::Lt,
            };
            let arg = weak_constant::<i128, <T as WeakPromote<S::Kind>>::Output>(name, bound)?;
            let n = promoted_node(name, cmp, Arg::Node(self.node().clone()), arg, common)?;
            return Ok(Array::from_node(n));
        }
        self.weak_cmp_in_range(name, op, s)
    }

    /// Compare with a weak scalar that the promoted type holds.
    fn weak_cmp_in_range<S: WeakScalar>(&self, name: &str, op: BinaryOp, s: S) -> Result<Array<bool>>
    where
        T: WeakPromote<S::Kind>,
    {
        let common = <<T as WeakPromote<S::Kind>>::Output as Element>::DTYPE;
        let c = weak_constant::<S, <T as WeakPromote<S::Kind>>::Output>(name, s)?;
        Ok(Array::from_node(promoted_node(name, op, Arg::Node(self.node().clone()), c, common)?))
    }
}

macro_rules! weak_methods {
    ($($(#[$doc:meta])* $name:ident, $op:ident, $left:expr;)*) => {
        impl<T: Element> Array<T> {
            $(
                $(#[$doc])*
                pub fn $name<S: WeakScalar>(&self, s: S) -> Result<Array<<T as WeakPromote<S::Kind>>::Output>>
                where
                    T: WeakPromote<S::Kind>,
                {
                    self.weak_op(stringify!($name), BinaryOp::$op, s, $left)
                }
            )*
        }
    };
}
weak_methods! {
    /// `self + s`, `s` a weak scalar (module docs): `Array<u8>.add_scalar(3)` is `Array<u8>`.
    add_scalar, Add, false;
    /// `self - s`, `s` a weak scalar.
    sub_scalar, Sub, false;
    /// `s - self`, `s` a weak scalar.
    rsub_scalar, Sub, true;
    /// `self * s`, `s` a weak scalar.
    mul_scalar, Mul, false;
    /// `self / s`, `s` a weak scalar (integers: `floor_divide`).
    div_scalar, Div, false;
    /// `s / self`, `s` a weak scalar (integers: `floor_divide`).
    rdiv_scalar, Div, true;
    /// NumPy's `remainder(self, s)`, `s` a weak scalar.
    rem_scalar, Rem, false;
    /// NumPy's `remainder(s, self)`, `s` a weak scalar.
    rrem_scalar, Rem, true;
    /// `self ** s`, `s` a weak scalar.
    pow_scalar, Pow, false;
    /// `s ** self`, `s` a weak scalar.
    rpow_scalar, Pow, true;
    /// NumPy's `minimum(self, s)`, `s` a weak scalar.
    minimum_scalar, Minimum, false;
    /// NumPy's `maximum(self, s)`, `s` a weak scalar.
    maximum_scalar, Maximum, false;
}

macro_rules! weak_compare_methods {
    ($($(#[$doc:meta])* $name:ident, $op:ident;)*) => {
        impl<T: Element> Array<T> {
            $(
                $(#[$doc])*
                pub fn $name<S: WeakScalar>(&self, s: S) -> Result<Array<bool>>
                where
                    T: WeakPromote<S::Kind>,
                {
                    self.weak_compare(stringify!($name), BinaryOp::$op, s)
                }
            )*
        }
    };
}
weak_compare_methods! {
    /// `self == s`, `s` a weak scalar, exact (an integer out of the array's range: all false).
    equal_scalar, Eq;
    /// `self != s`, `s` a weak scalar, exact.
    not_equal_scalar, Ne;
    /// `self < s`, `s` a weak scalar, exact (`Array<u8>.lt_scalar(300)`: all true).
    lt_scalar, Lt;
    /// `self <= s`, `s` a weak scalar, exact.
    le_scalar, Le;
    /// `self > s`, `s` a weak scalar, exact.
    gt_scalar, Gt;
    /// `self >= s`, `s` a weak scalar, exact.
    ge_scalar, Ge;
}

/// `cond ? a : b`, elementwise with broadcasting, in NumPy's promoted type of `a` and `b`
/// (`np.where` with arrays of two dtypes).
///
/// ```
/// let c = tessera::arange(0i32, 4, 1, [4]).unwrap().lt(2).unwrap();
/// let a = tessera::full(&[4], 200u8, [4]).unwrap();
/// let b = tessera::full(&[4], -1i8, [2]).unwrap();
/// let w: tessera::Array<i16> = tessera::where_promoted(&c, &a, &b).unwrap();
/// assert_eq!(w.to_vec().unwrap(), vec![200, 200, -1, -1]);
/// ```
pub fn where_promoted<A, B>(
    cond: &Array<bool>,
    a: &Array<A>,
    b: &Array<B>,
) -> Result<Array<<A as Promote<B>>::Output>>
where
    A: Promote<B>,
    B: Element,
{
    let to = <<A as Promote<B>>::Output as Element>::DTYPE;
    let args = vec![Arg::Node(cond.node().clone()), Arg::Node(a.node().clone()), Arg::Node(b.node().clone())];
    let n = elementwise("where", args, |p, dt| {
        let mut tail = Vec::new();
        let mut at = [p[1], p[2]];
        for k in 0..2 {
            if dt[k + 1] != to {
                at[k] = p.len() + tail.len();
                tail.push((Instr::Cast(p[k + 1]), to));
            }
        }
        tail.push((Instr::Where(p[0], at[0], at[1]), to));
        tail
    })?;
    Ok(Array::from_node(n))
}

/// The inputs cast to `T`, after checking that `T` is NumPy's `result_type` of them.
fn cast_all<T: Element>(op: &str, arrays: &[&dyn AnyArray]) -> Result<Vec<Array<T>>> {
    let dtypes: Vec<DType> = arrays.iter().map(|a| node_of(*a).dtype).collect();
    let want = result_type_of(&dtypes).ok_or_else(|| Error::invalid(format!("{op} of no arrays")))?;
    if want != T::DTYPE {
        return Err(Error::DTypeMismatch {
            context: format!("{op}: NumPy's result_type of the inputs ({dtypes:?})"),
            expected: want,
            found: T::DTYPE,
        });
    }
    arrays.iter().map(|a| Ok(Array::from_node(cast_node(node_of(*a), T::DTYPE)?))).collect()
}

/// [`concatenate`] of arrays of any element types, promoted as `np.concatenate` does. `T`
/// must be NumPy's `result_type` of the inputs (an error names it otherwise): the
/// conversion is never narrower than NumPy's.
///
/// ```
/// use tessera::{Array, AnyArray};
/// let a = tessera::full(&[2], 255u8, [1]).unwrap();
/// let b = tessera::full(&[1], -1i8, [1]).unwrap();
/// let c: Array<i16> = tessera::concatenate_promoted(&[&a as &dyn AnyArray, &b], 0).unwrap();
/// assert_eq!(c.to_vec().unwrap(), vec![255, 255, -1]);
/// assert!(tessera::concatenate_promoted::<u8>(&[&a as &dyn AnyArray, &b], 0).is_err());
/// ```
pub fn concatenate_promoted<T: Element>(arrays: &[&dyn AnyArray], axis: isize) -> Result<Array<T>> {
    let cast = cast_all::<T>("concatenate", arrays)?;
    concatenate(&cast.iter().collect::<Vec<_>>(), axis)
}

/// [`stack`] of arrays of any element types, promoted as `np.stack` does (`T` as in
/// [`concatenate_promoted`]).
pub fn stack_promoted<T: Element>(arrays: &[&dyn AnyArray], axis: isize) -> Result<Array<T>> {
    let cast = cast_all::<T>("stack", arrays)?;
    stack(&cast.iter().collect::<Vec<_>>(), axis)
}
