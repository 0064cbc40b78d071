//! Type promotion as NumPy 2 does it (NEP 50): [`result_type`] for two dtypes, the same
//! table at the type level ([`Promote`]), and Python-scalar "weak" typing for Rust literals
//! ([`WeakScalar`], [`result_type_weak`]).
//!
//! Promotion picks the smallest type that can hold every value of both operands, NumPy's
//! rules: `bool` gives way to anything; signed with signed or unsigned with unsigned is the
//! wider; a signed with an unsigned type is a signed type wider than the unsigned one
//! (`u8 + i8 → i16`, `u32 + i32 → i64`), and `u64` with any signed type is `f64` (no
//! integer holds both); an integer with a float is the float when it holds every value of
//! the integer exactly (`i16 + f32 → f32`), else `f64` (`i32 + f32 → f64`).
//!
//! A Rust literal is *weak*, as a Python scalar is in NumPy 2: it takes the array's type
//! when its kind allows (`Array<u8> + 3 → u8`, `Array<f32> + 2.5 → f32`), and only its kind
//! can widen the result (`Array<i32> + 2.5 → f64`, `Array<bool> + 3 → i64`). An integer
//! literal that the array's integer type cannot hold is an error in arithmetic (NumPy's
//! `OverflowError`) and compares correctly in comparisons.

use crate::core::dtype::{DType, Element};

/// The dtype NumPy 2 gives a binary op, `where` or `concatenate` over arrays of dtypes `a`
/// and `b` (`np.result_type(a, b)`); symmetric.
///
/// ```
/// use tessera::{DType, result_type};
/// assert_eq!(result_type(DType::U8, DType::I8), DType::I16);
/// assert_eq!(result_type(DType::U64, DType::I64), DType::F64);
/// assert_eq!(result_type(DType::I16, DType::F32), DType::F32);
/// assert_eq!(result_type(DType::I32, DType::F32), DType::F64);
/// ```
pub fn result_type(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    match (a, b) {
        (Bool, t) | (t, Bool) => t,
        (F64, _) | (_, F64) => F64,
        (F32, t) | (t, F32) => {
            if t.size() <= 2 {
                F32
            } else {
                F64
            }
        }
        _ if a.is_signed_integer() == b.is_signed_integer() => {
            if a.size() >= b.size() {
                a
            } else {
                b
            }
        }
        _ => {
            let (s, u) = if a.is_signed_integer() { (a, b) } else { (b, a) };
            if u.size() < s.size() {
                s
            } else {
                match u {
                    U8 => I16,
                    U16 => I32,
                    U32 => I64,
                    _ => F64,
                }
            }
        }
    }
}

/// [`result_type`] folded over several dtypes (`None` for none).
pub fn result_type_of(dtypes: &[DType]) -> Option<DType> {
    dtypes.iter().copied().reduce(result_type)
}

/// The kind of a weak (Python-like) scalar: what NEP 50 looks at instead of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// A Rust `bool` (Python's `True`/`False`).
    Bool,
    /// A Rust integer of any type (Python's `int`).
    Int,
    /// A Rust `f32` or `f64` (Python's `float`).
    Float,
}

/// The dtype of an op between an array of dtype `array` and a weak scalar of kind `kind`
/// (NEP 50): the array's dtype unless the scalar's kind is higher (`bool < int < float`),
/// then that kind's default type (`i64`, `f64`).
///
/// ```
/// use tessera::{DType, ScalarKind, result_type_weak};
/// assert_eq!(result_type_weak(DType::U8, ScalarKind::Int), DType::U8);
/// assert_eq!(result_type_weak(DType::I32, ScalarKind::Float), DType::F64);
/// assert_eq!(result_type_weak(DType::F32, ScalarKind::Float), DType::F32);
/// assert_eq!(result_type_weak(DType::Bool, ScalarKind::Int), DType::I64);
/// ```
pub fn result_type_weak(array: DType, kind: ScalarKind) -> DType {
    match kind {
        ScalarKind::Bool => array,
        ScalarKind::Int if array == DType::Bool => DType::I64,
        ScalarKind::Int => array,
        ScalarKind::Float if array.is_float() => array,
        ScalarKind::Float => DType::F64,
    }
}

/// Type-level [`result_type`]: `<A as Promote<B>>::Output` is the element type NumPy 2 gives
/// an op between arrays of `A` and `B` (`u8` with `i8` is `i16`).
pub trait Promote<B: Element>: Element {
    /// The promoted element type.
    type Output: Element;
}

/// `Promote` from rows of NumPy 2.4's `np.result_type` table (columns in the row type's
/// order: bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64).
macro_rules! promote_table {
    ($($a:ty => $($out:ty),*;)*) => {
        $( promote_table!(@row $a; bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64; $($out),*); )*
    };
    (@row $a:ty; $($b:ty)*; $($out:ty),*) => {
        $( impl Promote<$b> for $a { type Output = $out; } )*
    };
}
promote_table! {
    bool => bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64;
    i8 => i8, i8, i16, i32, i64, i16, i32, i64, f64, f32, f64;
    i16 => i16, i16, i16, i32, i64, i16, i32, i64, f64, f32, f64;
    i32 => i32, i32, i32, i32, i64, i32, i32, i64, f64, f64, f64;
    i64 => i64, i64, i64, i64, i64, i64, i64, i64, f64, f64, f64;
    u8 => u8, i16, i16, i32, i64, u8, u16, u32, u64, f32, f64;
    u16 => u16, i32, i32, i32, i64, u16, u16, u32, u64, f32, f64;
    u32 => u32, i64, i64, i64, i64, u32, u32, u32, u64, f64, f64;
    u64 => u64, f64, f64, f64, f64, u64, u64, u64, u64, f64, f64;
    f32 => f32, f32, f32, f64, f64, f32, f32, f64, f64, f32, f64;
    f64 => f64, f64, f64, f64, f64, f64, f64, f64, f64, f64, f64;
}

/// Marker types for the kinds of weak scalars, for [`WeakPromote`].
pub mod kind {
    /// A `bool` literal.
    #[derive(Debug, Clone, Copy)]
    pub struct BoolKind;
    /// An integer literal.
    #[derive(Debug, Clone, Copy)]
    pub struct IntKind;
    /// A float literal.
    #[derive(Debug, Clone, Copy)]
    pub struct FloatKind;
}

/// A Rust scalar used as NumPy 2 uses a Python scalar: weakly typed (see the module docs).
pub trait WeakScalar: Copy + std::fmt::Debug {
    /// Its kind, as a type ([`kind::IntKind`] …).
    type Kind;
    /// Its kind, as a value.
    const KIND: ScalarKind;
    /// The value as `i128` (integers and bools; floats truncate, unused).
    fn as_i128(self) -> i128;
    /// The value as `f64`.
    fn as_f64(self) -> f64;
}

macro_rules! weak_int {
    ($($t:ty)*) => {$(
        impl WeakScalar for $t {
            type Kind = kind::IntKind;
            const KIND: ScalarKind = ScalarKind::Int;
            fn as_i128(self) -> i128 {
                self as i128
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
weak_int!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 usize);
macro_rules! weak_float {
    ($($t:ty)*) => {$(
        impl WeakScalar for $t {
            type Kind = kind::FloatKind;
            const KIND: ScalarKind = ScalarKind::Float;
            fn as_i128(self) -> i128 {
                self as i128
            }
            #[allow(clippy::unnecessary_cast)]
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
weak_float!(f32 f64);
impl WeakScalar for bool {
    type Kind = kind::BoolKind;
    const KIND: ScalarKind = ScalarKind::Bool;
    fn as_i128(self) -> i128 {
        self as i128
    }
    fn as_f64(self) -> f64 {
        self as u8 as f64
    }
}

/// Type-level [`result_type_weak`]: `<A as WeakPromote<K>>::Output` is the element type of an
/// op between an array of `A` and a weak scalar of kind `K`.
pub trait WeakPromote<K>: Element {
    /// The promoted element type.
    type Output: Element;
}
macro_rules! weak_promote {
    ($($a:ty => $int:ty, $float:ty;)*) => {$(
        impl WeakPromote<kind::BoolKind> for $a { type Output = $a; }
        impl WeakPromote<kind::IntKind> for $a { type Output = $int; }
        impl WeakPromote<kind::FloatKind> for $a { type Output = $float; }
    )*};
}
weak_promote! {
    bool => i64, f64;
    i8 => i8, f64;
    i16 => i16, f64;
    i32 => i32, f64;
    i64 => i64, f64;
    u8 => u8, f64;
    u16 => u16, f64;
    u32 => u32, f64;
    u64 => u64, f64;
    f32 => f32, f32;
    f64 => f64, f64;
}

/// The smallest and largest value of an integer dtype, as `i128` (`None` for bool and floats).
pub fn integer_range(d: DType) -> Option<(i128, i128)> {
    Some(match d {
        DType::I8 => (i8::MIN as i128, i8::MAX as i128),
        DType::I16 => (i16::MIN as i128, i16::MAX as i128),
        DType::I32 => (i32::MIN as i128, i32::MAX as i128),
        DType::I64 => (i64::MIN as i128, i64::MAX as i128),
        DType::U8 => (0, u8::MAX as i128),
        DType::U16 => (0, u16::MAX as i128),
        DType::U32 => (0, u32::MAX as i128),
        DType::U64 => (0, u64::MAX as i128),
        _ => return None,
    })
}
