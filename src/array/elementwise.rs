//! Elementwise math with NumPy broadcasting.
//!
//! Every op adds one `Elementwise` node holding a small [`Expr`]; the planner fuses chains of
//! them into one task per block. Operands broadcast as in NumPy (aligned on the right, length-1
//! axes stretch); operands chunked differently along a shared axis are rechunked to the
//! common refinement of their chunks, as dask does. Scalars become constants of the
//! expression, never arrays. The `std::ops` operators panic on a shape mismatch with the same
//! message the `try_` method returns as an error.

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::{Chunks, refine_axis};
use crate::core::dtype::{DType, Element, Float, Number, Scalar};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::ir::expr::{BinaryOp, Expr, Instr, UnaryOp};

/// An operand of an elementwise op: an array or a scalar.
#[derive(Debug, Clone)]
pub enum Operand<T: Element> {
    /// A lazy array.
    Array(Array<T>),
    /// A scalar, broadcast everywhere.
    Scalar(T),
}

/// Anything usable as an operand: `Array<T>`, `&Array<T>` or a `T`.
pub trait IntoOperand<T: Element> {
    /// Convert.
    fn into_operand(self) -> Operand<T>;
}
impl<T: Element> IntoOperand<T> for Array<T> {
    fn into_operand(self) -> Operand<T> {
        Operand::Array(self)
    }
}
impl<T: Element> IntoOperand<T> for &Array<T> {
    fn into_operand(self) -> Operand<T> {
        Operand::Array(self.clone())
    }
}
impl<T: Element> IntoOperand<T> for T {
    fn into_operand(self) -> Operand<T> {
        Operand::Scalar(self)
    }
}

/// An argument of an elementwise node under construction.
pub(crate) enum Arg {
    Node(Arc<Node>),
    Const(Scalar),
}

impl<T: Element> From<Operand<T>> for Arg {
    fn from(o: Operand<T>) -> Self {
        match o {
            Operand::Array(a) => Arg::Node(a.node().clone()),
            Operand::Scalar(s) => Arg::Const(s.to_scalar()),
        }
    }
}

/// The broadcast shape of several shapes, or a mismatch error naming `op`.
pub(crate) fn broadcast_shapes(op: &str, shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    let mut owner: Vec<Option<usize>> = vec![None; nd];
    for (k, s) in shapes.iter().enumerate() {
        let off = nd - s.len();
        for (d, &n) in s.iter().enumerate() {
            let o = &mut out[d + off];
            if n == 1 {
                continue;
            }
            if *o == 1 && owner[d + off].is_none() {
                *o = n;
                owner[d + off] = Some(k);
            } else if *o != n {
                let first = owner[d + off].unwrap_or(0);
                return Err(Error::ShapeMismatch {
                    op: op.into(),
                    left: shapes[first].to_vec(),
                    right: s.to_vec(),
                });
            }
        }
    }
    Ok(out)
}

/// A rechunk node (or the node itself when the chunks already match).
///
/// A rechunk is pushed down like a slice: a source is simply read in the new blocks (each
/// block reads its own region, so no input block is ever held), and an elementwise node is
/// rebuilt over rechunked operands. Only other nodes get an `Op::Rechunk` that assembles
/// output blocks from pieces of input blocks.
pub(crate) fn rechunk_node(node: &Arc<Node>, chunks: Chunks) -> Arc<Node> {
    if node.chunks == chunks {
        return node.clone();
    }
    match &node.op {
        Op::Source(src) => {
            return Node::new(node.name.clone(), node.dtype, chunks, Op::Source(src.clone()), vec![]);
        }
        Op::Elementwise(_) => {
            let rebuilt = rebuild_over(node, |input, off| {
                let axes: Vec<Vec<usize>> = (0..input.shape.len())
                    .map(|d| {
                        if input.shape[d] == node.shape[d + off] {
                            chunks.axis(d + off).to_vec()
                        } else {
                            input.chunks.axis(d).to_vec()
                        }
                    })
                    .collect();
                Ok(rechunk_node(input, Chunks::from_axes(axes)))
            });
            if let Ok(n) = rebuilt
                && n.chunks == chunks
            {
                return n;
            }
        }
        _ => {}
    }
    Node::new("rechunk", node.dtype, chunks, Op::Rechunk, vec![node.clone()])
}

/// Broadcast `nodes` against each other; rechunk them to common chunks on shared axes.
/// Returns the (possibly rechunked) nodes and the output chunks.
pub(crate) fn unify(op: &str, nodes: &[Arc<Node>]) -> Result<(Vec<Arc<Node>>, Chunks)> {
    let shapes: Vec<&[usize]> = nodes.iter().map(|n| n.shape.as_slice()).collect();
    let out = broadcast_shapes(op, &shapes)?;
    let nd = out.len();
    let mut axes: Vec<Vec<usize>> = Vec::with_capacity(nd);
    for (d, &n) in out.iter().enumerate() {
        let mut acc: Option<Vec<usize>> = None;
        for node in nodes {
            let off = nd - node.shape.len();
            if d < off || node.shape[d - off] != n {
                continue;
            }
            let c = node.chunks.axis(d - off);
            acc = Some(match acc {
                None => c.to_vec(),
                Some(a) => refine_axis(&a, c),
            });
        }
        axes.push(acc.unwrap_or_else(|| vec![n]));
    }
    let chunks = Chunks::from_axes(axes);
    let mut out_nodes = Vec::with_capacity(nodes.len());
    for node in nodes {
        let off = nd - node.shape.len();
        let mut want: Vec<Vec<usize>> = Vec::with_capacity(node.shape.len());
        for (d, &n) in node.shape.iter().enumerate() {
            if n == out[d + off] {
                want.push(chunks.axis(d + off).to_vec());
            } else {
                want.push(node.chunks.axis(d).to_vec());
            }
        }
        out_nodes.push(rechunk_node(node, Chunks::from_axes(want)));
    }
    Ok((out_nodes, chunks))
}

/// A new elementwise node: `args` become inputs or constants (instructions `0..args.len()`),
/// then `tail` appends the instructions computing the result from them.
pub(crate) fn elementwise(
    name: &str,
    args: Vec<Arg>,
    tail: impl FnOnce(&[usize], &[DType]) -> Vec<(Instr, DType)>,
) -> Result<Arc<Node>> {
    let mut inputs = Vec::new();
    let mut instrs = Vec::new();
    let mut dtypes = Vec::new();
    for a in args {
        match a {
            Arg::Node(n) => {
                instrs.push(Instr::Input(inputs.len()));
                dtypes.push(n.dtype);
                inputs.push(n);
            }
            Arg::Const(c) => {
                instrs.push(Instr::Const(c));
                dtypes.push(c.dtype());
            }
        }
    }
    if inputs.is_empty() {
        return Err(Error::invalid(format!("{name}: at least one operand must be an array")));
    }
    let pos: Vec<usize> = (0..instrs.len()).collect();
    for (ins, dt) in tail(&pos, &dtypes) {
        instrs.push(ins);
        dtypes.push(dt);
    }
    let out_dtype = *dtypes.last().expect("non-empty");
    let (inputs, chunks) = unify(name, &inputs)?;
    let expr = Expr { instrs, dtypes };
    Ok(Node::new(name, out_dtype, chunks, Op::Elementwise(Arc::new(expr)), inputs))
}

/// Rebuild an elementwise node over new inputs (used when slices are pushed below it).
pub(crate) fn rebuild(node: &Node, inputs: Vec<Arc<Node>>) -> Result<Arc<Node>> {
    let Op::Elementwise(expr) = &node.op else {
        return Err(Error::invalid("rebuild of a non-elementwise node"));
    };
    let (inputs, chunks) = unify(&node.name, &inputs)?;
    Ok(Node::new(node.name.clone(), node.dtype, chunks, Op::Elementwise(expr.clone()), inputs))
}

/// `node` (elementwise) rebuilt over `f(input, lead)` for each of its inputs, `lead` being
/// the leading axes of `node` the input lacks (inputs broadcast from the right): how
/// slices, rechunks and takes are pushed through elementwise ops.
pub(crate) fn rebuild_over(
    node: &Node,
    mut f: impl FnMut(&Arc<Node>, usize) -> Result<Arc<Node>>,
) -> Result<Arc<Node>> {
    let nd = node.shape.len();
    let inputs = node.inputs.iter().map(|i| f(i, nd - i.shape.len())).collect::<Result<Vec<_>>>()?;
    rebuild(node, inputs)
}

fn binary_node(name: &str, op: BinaryOp, a: Arg, b: Arg) -> Result<Arc<Node>> {
    elementwise(name, vec![a, b], |p, dt| {
        let out = if op.is_comparison() { DType::Bool } else { dt[0] };
        vec![(Instr::Binary(op, p[0], p[1]), out)]
    })
}

fn unary_node(name: &str, op: UnaryOp, a: Arg) -> Result<Arc<Node>> {
    elementwise(name, vec![a], |p, dt| {
        let out = match op {
            UnaryOp::IsNan | UnaryOp::IsFinite => DType::Bool,
            _ => dt[0],
        };
        vec![(Instr::Unary(op, p[0]), out)]
    })
}

macro_rules! binary_methods {
    ($($(#[$doc:meta])* $name:ident, $try:ident, $op:ident;)*) => {
        impl<T: Element> Array<T> {
            $(
                $(#[$doc])*
                pub fn $try(&self, rhs: impl IntoOperand<T>) -> Result<Array<T>> {
                    let n = binary_node(stringify!($name), BinaryOp::$op, Arg::Node(self.node().clone()), rhs.into_operand().into())?;
                    Ok(Array::from_node(n))
                }
            )*
        }
    };
}
binary_methods! {
    /// `self + rhs` (integers wrap).
    add, try_add, Add;
    /// `self - rhs`.
    sub, try_sub, Sub;
    /// `self * rhs`.
    mul, try_mul, Mul;
    /// `self / rhs`: true division for floats, NumPy's `floor_divide` for integers.
    div, try_div, Div;
    /// NumPy's `remainder` (`%`): the result has the sign of the divisor.
    rem, try_rem, Rem;
    /// `self ** rhs`.
    pow, pow, Pow;
    /// Elementwise minimum; NaN propagates (NumPy's `minimum`).
    minimum, minimum, Minimum;
    /// Elementwise maximum; NaN propagates (NumPy's `maximum`).
    maximum, maximum, Maximum;
}

macro_rules! compare_methods {
    ($($(#[$doc:meta])* $name:ident, $op:ident;)*) => {
        impl<T: Element> Array<T> {
            $(
                $(#[$doc])*
                pub fn $name(&self, rhs: impl IntoOperand<T>) -> Result<Array<bool>> {
                    let n = binary_node(stringify!($name), BinaryOp::$op, Arg::Node(self.node().clone()), rhs.into_operand().into())?;
                    Ok(Array::from_node(n))
                }
            )*
        }
    };
}
compare_methods! {
    /// `self == rhs`, elementwise.
    equal, Eq;
    /// `self != rhs`, elementwise.
    not_equal, Ne;
    /// `self < rhs`, elementwise.
    lt, Lt;
    /// `self <= rhs`, elementwise.
    le, Le;
    /// `self > rhs`, elementwise.
    gt, Gt;
    /// `self >= rhs`, elementwise.
    ge, Ge;
}

macro_rules! float_unary {
    ($($(#[$doc:meta])* $name:ident, $op:ident;)*) => {
        impl<T: Float> Array<T> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Array<T> {
                    Array::from_node(unary_node(stringify!($name), UnaryOp::$op, Arg::Node(self.node().clone())).expect("a unary op cannot fail"))
                }
            )*
        }
    };
}
float_unary! {
    /// Square root.
    sqrt, Sqrt;
    /// eˣ.
    exp, Exp;
    /// Natural logarithm.
    ln, Log;
    /// ln(1 + x), accurate near 0.
    ln_1p, Log1p;
    /// eˣ − 1, accurate near 0.
    exp_m1, Expm1;
    /// Sine.
    sin, Sin;
    /// Cosine.
    cos, Cos;
    /// Tangent.
    tan, Tan;
    /// Hyperbolic tangent.
    tanh, Tanh;
    /// Round down.
    floor, Floor;
    /// Round up.
    ceil, Ceil;
    /// Round half to even (NumPy's `round`).
    round, Round;
}

impl<T: Float> Array<T> {
    /// Natural logarithm (NumPy's name for [`Array::ln`]).
    pub fn log(&self) -> Array<T> {
        self.ln()
    }
    /// NumPy's `log1p`.
    pub fn log1p(&self) -> Array<T> {
        self.ln_1p()
    }
    /// NumPy's `expm1`.
    pub fn expm1(&self) -> Array<T> {
        self.exp_m1()
    }
    /// Whether each element is NaN.
    pub fn isnan(&self) -> Array<bool> {
        Array::from_node(unary_node("isnan", UnaryOp::IsNan, Arg::Node(self.node().clone())).expect("unary"))
    }
    /// Whether each element is finite (not NaN, not ±∞).
    pub fn isfinite(&self) -> Array<bool> {
        Array::from_node(
            unary_node("isfinite", UnaryOp::IsFinite, Arg::Node(self.node().clone())).expect("unary"),
        )
    }
}

impl<T: Number> Array<T> {
    /// Absolute value.
    pub fn abs(&self) -> Array<T> {
        Array::from_node(unary_node("abs", UnaryOp::Abs, Arg::Node(self.node().clone())).expect("unary"))
    }
    /// Clip to `[lo, hi]` (NaN stays NaN).
    pub fn clip(&self, lo: T, hi: T) -> Result<Array<T>> {
        if lo > hi {
            return Err(Error::invalid(format!("clip: lower bound {lo:?} above upper bound {hi:?}")));
        }
        let n = elementwise("clip", vec![Arg::Node(self.node().clone())], |p, dt| {
            let k = p.len();
            vec![
                (Instr::Const(lo.to_scalar()), dt[0]),
                (Instr::Binary(BinaryOp::Maximum, p[0], k), dt[0]),
                (Instr::Const(hi.to_scalar()), dt[0]),
                (Instr::Binary(BinaryOp::Minimum, k + 1, k + 2), dt[0]),
            ]
        })?;
        Ok(Array::from_node(n))
    }
}

impl<T: Element> Array<T> {
    /// Convert to another element type, as NumPy's `astype` (`casting="unsafe"`).
    ///
    /// - integers → narrower integers keep the low bits (wrap: `300i32 → 44u8`,
    ///   `-1i8 → 255u8`), as NumPy's C casts; integers → floats round to nearest once;
    /// - floats → integers truncate toward zero (`-2.7 → -2`, `2.7 → 2`), as NumPy;
    /// - anything → `bool` is `!= 0` (NaN is `true`); `bool` → numbers is 0 or 1.
    ///
    /// A float outside the target's range, ±∞ or NaN has no defined value in C, and
    /// NumPy 2 gives whatever the platform's instructions give, with a RuntimeWarning. What
    /// NumPy 2.4 gives on x86-64 (measured, from `float64`) and what tessera gives instead
    /// (Rust's saturating `as`: the same on every platform):
    ///
    /// | value        | to    | NumPy 2.4, x86-64 | tessera |
    /// |--------------|-------|-------------------|---------|
    /// | NaN          | i64   | −2⁶³              | 0       |
    /// | NaN          | i32   | −2³¹              | 0       |
    /// | NaN          | i8, u8, i16, u16 | 0      | 0       |
    /// | NaN          | u64   | 2⁶³               | 0       |
    /// | +∞, 1e30     | i64   | −2⁶³              | 2⁶³ − 1 |
    /// | +∞, 1e30     | i32   | −2³¹              | 2³¹ − 1 |
    /// | +∞, 1e30     | i8    | 0                 | 127     |
    /// | −∞, −1e30    | i64   | −2⁶³              | −2⁶³    |
    /// | 300.7        | i8    | 44 (wraps)        | 127     |
    /// | 200.5        | i8    | −56 (wraps)       | 127     |
    /// | −1.5         | u8    | 255 (wraps)       | 0       |
    /// | −1.5         | u64   | 2⁶⁴ − 1           | 0       |
    /// | 5e9          | u32   | 0 or 705 032 704  | 2³² − 1 |
    /// | 2⁶⁴          | u64   | 0                 | 2⁶⁴ − 1 |
    ///
    /// NumPy's values there depend on the instruction set and even on the array's length
    /// (its SIMD and scalar loops disagree: 5e9 → u32 gives both answers above), so no
    /// program can rely on them; tessera saturates to the nearest representable value
    /// and sends NaN to 0. Every in-range value is converted exactly as NumPy converts it.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[2.7f64, -2.7, 300.0, f64::NAN]), [2]).unwrap();
    /// assert_eq!(x.astype::<i8>().to_vec().unwrap(), vec![2, -2, 127, 0]);
    /// let y = tessera::from_array(ndarray::arr1(&[300i32, -1]), [2]).unwrap();
    /// assert_eq!(y.astype::<u8>().to_vec().unwrap(), vec![44, 255]);
    /// ```
    pub fn astype<U: Element>(&self) -> Array<U> {
        if T::DTYPE == U::DTYPE {
            return Array::from_node(self.node().clone());
        }
        let n = elementwise("astype", vec![Arg::Node(self.node().clone())], |p, _| {
            vec![(Instr::Cast(p[0]), U::DTYPE)]
        })
        .expect("a cast cannot fail");
        Array::from_node(n)
    }
    fn scalar_left(&self, name: &str, op: BinaryOp, lhs: T) -> Array<T> {
        binary_node(name, op, Arg::Const(lhs.to_scalar()), Arg::Node(self.node().clone()))
            .map(Array::from_node)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Array<bool> {
    /// Elementwise logical and.
    pub fn logical_and(&self, rhs: impl IntoOperand<bool>) -> Result<Array<bool>> {
        let n = binary_node("and", BinaryOp::And, Arg::Node(self.node().clone()), rhs.into_operand().into())?;
        Ok(Array::from_node(n))
    }
    /// Elementwise logical or.
    pub fn logical_or(&self, rhs: impl IntoOperand<bool>) -> Result<Array<bool>> {
        let n = binary_node("or", BinaryOp::Or, Arg::Node(self.node().clone()), rhs.into_operand().into())?;
        Ok(Array::from_node(n))
    }
    /// Elementwise logical not.
    pub fn logical_not(&self) -> Array<bool> {
        Array::from_node(unary_node("not", UnaryOp::Not, Arg::Node(self.node().clone())).expect("unary"))
    }
}

/// `cond ? a : b`, elementwise, with broadcasting over all three.
///
/// ```
/// let x = tessera::arange(0.0f64, 6.0, 1.0, [4]).unwrap();
/// let y = tessera::where_(&x.lt(3.0).unwrap(), &x, -1.0).unwrap();
/// assert_eq!(y.to_vec().unwrap(), vec![0.0, 1.0, 2.0, -1.0, -1.0, -1.0]);
/// ```
pub fn where_<T: Element>(
    cond: &Array<bool>,
    a: impl IntoOperand<T>,
    b: impl IntoOperand<T>,
) -> Result<Array<T>> {
    let args = vec![Arg::Node(cond.node().clone()), a.into_operand().into(), b.into_operand().into()];
    let n = elementwise("where", args, |p, _| vec![(Instr::Where(p[0], p[1], p[2]), T::DTYPE)])?;
    Ok(Array::from_node(n))
}

macro_rules! ops_trait {
    ($Trait:ident, $method:ident, $try:ident, $op:ident) => {
        impl<T: Element, R: IntoOperand<T>> std::ops::$Trait<R> for &Array<T> {
            type Output = Array<T>;
            fn $method(self, rhs: R) -> Array<T> {
                self.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl<T: Element, R: IntoOperand<T>> std::ops::$Trait<R> for Array<T> {
            type Output = Array<T>;
            fn $method(self, rhs: R) -> Array<T> {
                self.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        ops_trait!(@left $Trait, $method, $op, f32 f64 i8 i16 i32 i64 u8 u16 u32 u64);
    };
    (@left $Trait:ident, $method:ident, $op:ident, $($t:ty)*) => {
        $(
            impl std::ops::$Trait<&Array<$t>> for $t {
                type Output = Array<$t>;
                fn $method(self, rhs: &Array<$t>) -> Array<$t> {
                    rhs.scalar_left(stringify!($method), BinaryOp::$op, self)
                }
            }
            impl std::ops::$Trait<Array<$t>> for $t {
                type Output = Array<$t>;
                fn $method(self, rhs: Array<$t>) -> Array<$t> {
                    rhs.scalar_left(stringify!($method), BinaryOp::$op, self)
                }
            }
        )*
    };
}
ops_trait!(Add, add, try_add, Add);
ops_trait!(Sub, sub, try_sub, Sub);
ops_trait!(Mul, mul, try_mul, Mul);
ops_trait!(Div, div, try_div, Div);
ops_trait!(Rem, rem, try_rem, Rem);

impl<T: Element> std::ops::Neg for &Array<T> {
    type Output = Array<T>;
    fn neg(self) -> Array<T> {
        Array::from_node(unary_node("neg", UnaryOp::Neg, Arg::Node(self.node().clone())).expect("unary"))
    }
}
impl<T: Element> std::ops::Neg for Array<T> {
    type Output = Array<T>;
    fn neg(self) -> Array<T> {
        -&self
    }
}
impl std::ops::Not for &Array<bool> {
    type Output = Array<bool>;
    fn not(self) -> Array<bool> {
        self.logical_not()
    }
}
impl std::ops::Not for Array<bool> {
    type Output = Array<bool>;
    fn not(self) -> Array<bool> {
        self.logical_not()
    }
}
macro_rules! logical_trait {
    ($Trait:ident, $method:ident, $call:ident) => {
        impl<R: IntoOperand<bool>> std::ops::$Trait<R> for &Array<bool> {
            type Output = Array<bool>;
            fn $method(self, rhs: R) -> Array<bool> {
                self.$call(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
        impl<R: IntoOperand<bool>> std::ops::$Trait<R> for Array<bool> {
            type Output = Array<bool>;
            fn $method(self, rhs: R) -> Array<bool> {
                self.$call(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }
    };
}
logical_trait!(BitAnd, bitand, logical_and);
logical_trait!(BitOr, bitor, logical_or);
