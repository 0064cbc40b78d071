//! Element types: the typed front ([`Element`]) and the untyped core ([`DType`], [`Scalar`]).
//!
//! Users hold `Array<T>` with `T: Element`; below the front every node, task and block carries
//! a [`DType`] tag, so the graph, the scheduler and the backends are not monomorphised over `T`.
//! The scalar semantics of every elementwise op live here, once, as NumPy defines them.

use std::fmt;

/// The runtime tag of an element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`, for masks and comparisons.
    Bool,
    /// `i8` (NumPy's `int8`, netCDF's `byte`).
    I8,
    /// `i16` (NumPy's `int16`, netCDF's `short`).
    I16,
    /// `i32`.
    I32,
    /// `i64`, also the type of arg-reductions and counts.
    I64,
    /// `u8` (NumPy's `uint8`).
    U8,
    /// `u16` (NumPy's `uint16`).
    U16,
    /// `u32` (NumPy's `uint32`).
    U32,
    /// `u64` (NumPy's `uint64`).
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }
    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    /// Whether this is an integer type, signed or unsigned (not bool).
    pub fn is_integer(self) -> bool {
        self.is_signed_integer() || self.is_unsigned_integer()
    }
    /// Whether this is a signed integer type.
    pub fn is_signed_integer(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }
    /// Whether this is an unsigned integer type.
    pub fn is_unsigned_integer(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }
    /// Every dtype, in the order of NumPy's type hierarchy (bool, signed, unsigned, floats).
    pub const ALL: [DType; 11] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
    ];
    /// NumPy's name for the type (`"int16"`, `"uint8"`, `"float32"`, `"bool"`).
    pub fn numpy_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DType::Bool => "bool",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::F32 => "f32",
            DType::F64 => "f64",
        };
        f.write_str(s)
    }
}

/// A scalar of any dtype, as carried by the untyped core (constants in expressions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An `i8`.
    I8(i8),
    /// An `i16`.
    I16(i16),
    /// A `u8`.
    U8(u8),
    /// A `u16`.
    U16(u16),
    /// A `u32`.
    U32(u32),
    /// A `u64`.
    U64(u64),
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`.
    F32(f32),
    /// An `f64`.
    F64(f64),
}

impl Scalar {
    /// The dtype of this scalar.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I8(_) => DType::I8,
            Scalar::I16(_) => DType::I16,
            Scalar::U8(_) => DType::U8,
            Scalar::U16(_) => DType::U16,
            Scalar::U32(_) => DType::U32,
            Scalar::U64(_) => DType::U64,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }
    /// The value as `T`, converted with [`Element::cast_from`] semantics.
    pub fn get<T: Element>(self) -> T {
        match self {
            Scalar::Bool(v) => T::cast_from(v),
            Scalar::I8(v) => T::cast_from(v),
            Scalar::I16(v) => T::cast_from(v),
            Scalar::U8(v) => T::cast_from(v),
            Scalar::U16(v) => T::cast_from(v),
            Scalar::U32(v) => T::cast_from(v),
            Scalar::U64(v) => T::cast_from(v),
            Scalar::I32(v) => T::cast_from(v),
            Scalar::I64(v) => T::cast_from(v),
            Scalar::F32(v) => T::cast_from(v),
            Scalar::F64(v) => T::cast_from(v),
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for bool {}
    impl Sealed for i8 {}
    impl Sealed for i16 {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for u32 {}
    impl Sealed for u64 {}
    impl Sealed for i32 {}
    impl Sealed for i64 {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// An element type tessera can hold: `f32`, `f64`, the signed integers `i8`, `i16`, `i32`,
/// `i64`, the unsigned `u8`, `u16`, `u32`, `u64`, or `bool`.
///
/// The methods are the scalar semantics of the elementwise ops (NumPy's, documented per
/// method); kernels apply them over blocks. Ops that make no sense for a type (`sqrt` of a
/// `bool`) are never generated by the typed front and fall back to a cast through `f64`.
pub trait Element:
    sealed::Sealed
    + crate::core::block::HostElement
    + Copy
    + Send
    + Sync
    + PartialEq
    + PartialOrd
    + Default
    + fmt::Debug
    + 'static
{
    /// The runtime tag.
    const DTYPE: DType;
    /// Type of `sum`, `prod` and `cumsum` results (NumPy on 64-bit Linux: signed integers and
    /// bools sum to `i64`, unsigned integers to `u64`, floats to themselves).
    type Sum: Element;
    /// Type of `mean`, `var` and `std` results (NumPy: integers average to `f64`).
    type Mean: Element;
    /// Zero of the type (`false` for bool).
    fn zero() -> Self;
    /// One of the type (`true` for bool).
    fn one() -> Self;
    /// Wrap as an untyped scalar.
    fn to_scalar(self) -> Scalar;
    /// Lossy view as f64 (exact for every value of f32, i32 and bool).
    fn to_f64(self) -> f64;
    /// View as i64 (floats truncate toward zero and saturate, NaN → 0; a `u64` above
    /// `i64::MAX` wraps to its two's-complement value, so `u64 → i64 → u64` is the identity).
    fn to_i64(self) -> i64;
    /// The exact value of an integer or bool as i128 (floats as [`Element::to_i64`]).
    fn to_i128(self) -> i128 {
        if Self::DTYPE.is_unsigned_integer() { self.to_i64() as u64 as i128 } else { self.to_i64() as i128 }
    }
    /// Convert from another element type as NumPy's `astype` does (floats → ints truncate and
    /// saturate; anything → bool is `!= 0`).
    fn cast_from<U: Element>(u: U) -> Self;
    /// Append the value's bytes, little-endian (bool: one byte, 0 or 1).
    fn write_le(self, out: &mut Vec<u8>);
    /// The value from its little-endian bytes (`DTYPE.size()` of them).
    fn read_le(b: &[u8]) -> Self;
    /// The value from its big-endian bytes.
    fn read_be(b: &[u8]) -> Self;
    /// Write `s` as little-endian bytes (numbers on a little-endian machine: one write of
    /// the slice's own bytes; otherwise converted in pieces, never a second full copy).
    fn write_slice_le(s: &[Self], w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(64 * 1024);
        for piece in s.chunks(64 * 1024 / Self::DTYPE.size()) {
            buf.clear();
            for &x in piece {
                x.write_le(&mut buf);
            }
            w.write_all(&buf)?;
        }
        Ok(())
    }
    /// Read `n` values written by [`Element::write_slice_le`].
    fn read_vec_le(r: &mut dyn std::io::Read, n: usize) -> std::io::Result<Vec<Self>> {
        let size = Self::DTYPE.size();
        let mut out = Vec::with_capacity(n);
        let mut buf = vec![0u8; 64 * 1024 / size * size];
        let mut left = n;
        while left > 0 {
            let k = left.min(buf.len() / size);
            r.read_exact(&mut buf[..k * size])?;
            out.extend(buf[..k * size].chunks_exact(size).map(Self::read_le));
            left -= k;
        }
        Ok(out)
    }
    /// Whether the value is NaN (never, for integers and bools).
    fn is_nan(self) -> bool {
        false
    }
    /// Whether the value is finite (always, for integers and bools).
    fn is_finite(self) -> bool {
        true
    }
    /// `a + b` (integers wrap, bool is or).
    fn add(self, b: Self) -> Self;
    /// `a - b` (integers wrap, bool is xor).
    fn sub(self, b: Self) -> Self;
    /// `a * b` (integers wrap, bool is and).
    fn mul(self, b: Self) -> Self;
    /// `a / b`: true division for floats; NumPy's `floor_divide` for integers (÷0 → 0).
    fn div(self, b: Self) -> Self;
    /// NumPy's `remainder`: the result has the sign of the divisor (integer ÷0 → 0).
    fn rem(self, b: Self) -> Self;
    /// `a ** b` (integers: negative exponents give 0 unless the base is ±1).
    fn pow(self, b: Self) -> Self;
    /// `-a` (integers wrap; bool is not).
    fn neg(self) -> Self;
    /// `|a|` (integers wrap at MIN, as NumPy).
    fn abs(self) -> Self;
    /// Apply a float function through f64 (used for f64; f32 overrides with f32 math).
    fn float_fn<F: Fn(f64) -> f64, G: Fn(f32) -> f32>(self, f: F, g: G) -> Self;
    /// NumPy's `minimum`: NaN propagates.
    fn minimum(self, b: Self) -> Self {
        if self.is_nan() || b.is_nan() {
            if self.is_nan() { self } else { b }
        } else if b < self {
            b
        } else {
            self
        }
    }
    /// NumPy's `maximum`: NaN propagates.
    fn maximum(self, b: Self) -> Self {
        if self.is_nan() || b.is_nan() {
            if self.is_nan() { self } else { b }
        } else if b > self {
            b
        } else {
            self
        }
    }
}

/// The floating-point element types, `f32` and `f64`: the ones with NaN, transcendental
/// functions and the `nan`-reductions.
pub trait Float: Element {}
impl Float for f32 {}
impl Float for f64 {}

/// The numeric (non-bool) element types.
pub trait Number: Element {}
impl Number for f32 {}
impl Number for f64 {}
impl Number for i32 {}
impl Number for i64 {}
impl Number for i8 {}
impl Number for i16 {}
impl Number for u8 {}
impl Number for u16 {}
impl Number for u32 {}
impl Number for u64 {}

/// The integer element types, signed and unsigned (not bool).
pub trait Integer: Number {}
impl Integer for i8 {}
impl Integer for i16 {}
impl Integer for i32 {}
impl Integer for i64 {}
impl Integer for u8 {}
impl Integer for u16 {}
impl Integer for u32 {}
impl Integer for u64 {}

mod elements;
