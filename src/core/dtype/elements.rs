//! The [`Element`] implementations: NumPy's scalar semantics for each of the eleven types.

use super::{DType, Element, Scalar};

/// `write_le`, `read_le` and `read_be` for a numeric type with `to/from_{le,be}_bytes`.
macro_rules! byte_order_methods {
    ($t:ty) => {
        fn write_le(self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_le_bytes());
        }
        fn read_le(b: &[u8]) -> Self {
            <$t>::from_le_bytes(b.try_into().expect("element-sized slice"))
        }
        fn read_be(b: &[u8]) -> Self {
            <$t>::from_be_bytes(b.try_into().expect("element-sized slice"))
        }
        fn write_slice_le(s: &[Self], w: &mut dyn std::io::Write) -> std::io::Result<()> {
            if cfg!(target_endian = "little") {
                return w.write_all(bytemuck::cast_slice(s));
            }
            for piece in s.chunks(8192) {
                let bytes: Vec<u8> = piece.iter().flat_map(|x| x.to_le_bytes()).collect();
                w.write_all(&bytes)?;
            }
            Ok(())
        }
        fn read_vec_le(r: &mut dyn std::io::Read, n: usize) -> std::io::Result<Vec<Self>> {
            let mut v: Vec<$t> = vec![<$t>::default(); n];
            r.read_exact(bytemuck::cast_slice_mut(&mut v))?;
            if cfg!(target_endian = "big") {
                v.iter_mut().for_each(|x| *x = <$t>::from_le_bytes(x.to_ne_bytes()));
            }
            Ok(v)
        }
    };
}

/// The methods every integer type shares (signed or not); `$signed` supplies `div`, `rem`,
/// `pow` and `abs`, which differ.
macro_rules! int_element {
    ($t:ty, $dt:ident, $sum:ty, $signed:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            type Sum = $sum;
            type Mean = f64;
            byte_order_methods!($t);
            fn zero() -> Self {
                0
            }
            fn one() -> Self {
                1
            }
            fn to_scalar(self) -> Scalar {
                Scalar::$dt(self)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[allow(clippy::unnecessary_cast)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[allow(clippy::unnecessary_cast)]
            fn cast_from<U: Element>(u: U) -> Self {
                if U::DTYPE.is_float() { u.to_f64() as $t } else { u.to_i64() as $t }
            }
            fn add(self, b: Self) -> Self {
                self.wrapping_add(b)
            }
            fn sub(self, b: Self) -> Self {
                self.wrapping_sub(b)
            }
            fn mul(self, b: Self) -> Self {
                self.wrapping_mul(b)
            }
            fn neg(self) -> Self {
                self.wrapping_neg()
            }
            fn float_fn<F: Fn(f64) -> f64, G: Fn(f32) -> f32>(self, f: F, _g: G) -> Self {
                f(self as f64) as $t
            }
            $signed!($t);
        }
    };
}

/// `div`, `rem`, `pow` and `abs` of a signed integer type, as NumPy's.
macro_rules! signed_methods {
    ($t:ty) => {
        fn div(self, b: Self) -> Self {
            if b == 0 {
                return 0;
            }
            let q = self.wrapping_div(b);
            if (self.wrapping_rem(b) != 0) && ((self < 0) != (b < 0)) { q.wrapping_sub(1) } else { q }
        }
        fn rem(self, b: Self) -> Self {
            if b == 0 {
                return 0;
            }
            let r = self.wrapping_rem(b);
            if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r }
        }
        fn pow(self, b: Self) -> Self {
            if b < 0 {
                return match self {
                    1 => 1,
                    -1 => {
                        if b % 2 == 0 {
                            1
                        } else {
                            -1
                        }
                    }
                    _ => 0,
                };
            }
            self.wrapping_pow(u32::try_from(b).unwrap_or(u32::MAX))
        }
        fn abs(self) -> Self {
            self.wrapping_abs()
        }
    };
}

/// `div`, `rem`, `pow` and `abs` of an unsigned integer type, as NumPy's (÷0 → 0).
macro_rules! unsigned_methods {
    ($t:ty) => {
        fn div(self, b: Self) -> Self {
            self.checked_div(b).unwrap_or(0)
        }
        fn rem(self, b: Self) -> Self {
            self.checked_rem(b).unwrap_or(0)
        }
        fn pow(self, b: Self) -> Self {
            self.wrapping_pow(u32::try_from(b).unwrap_or(u32::MAX))
        }
        fn abs(self) -> Self {
            self
        }
    };
}
int_element!(i8, I8, i64, signed_methods);
int_element!(i16, I16, i64, signed_methods);
int_element!(i32, I32, i64, signed_methods);
int_element!(i64, I64, i64, signed_methods);
int_element!(u8, U8, u64, unsigned_methods);
int_element!(u16, U16, u64, unsigned_methods);
int_element!(u32, U32, u64, unsigned_methods);
int_element!(u64, U64, u64, unsigned_methods);

macro_rules! float_element {
    ($t:ty, $dt:ident, $is32:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            type Sum = $t;
            type Mean = $t;
            byte_order_methods!($t);
            fn zero() -> Self {
                0.0
            }
            fn one() -> Self {
                1.0
            }
            fn to_scalar(self) -> Scalar {
                Scalar::$dt(self)
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn cast_from<U: Element>(u: U) -> Self {
                // Integers convert in one rounding (through f64 would round twice for
                // i64/u64 → f32); floats and bools through f64 exactly.
                if U::DTYPE.is_unsigned_integer() {
                    u.to_i64() as u64 as $t
                } else if U::DTYPE.is_signed_integer() {
                    u.to_i64() as $t
                } else {
                    u.to_f64() as $t
                }
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            fn add(self, b: Self) -> Self {
                self + b
            }
            fn sub(self, b: Self) -> Self {
                self - b
            }
            fn mul(self, b: Self) -> Self {
                self * b
            }
            fn div(self, b: Self) -> Self {
                self / b
            }
            fn rem(self, b: Self) -> Self {
                let m = self % b;
                if m != 0.0 && ((m < 0.0) != (b < 0.0)) { m + b } else { m }
            }
            fn pow(self, b: Self) -> Self {
                self.powf(b)
            }
            fn neg(self) -> Self {
                -self
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[allow(clippy::unnecessary_cast)]
            fn float_fn<F: Fn(f64) -> f64, G: Fn(f32) -> f32>(self, f: F, g: G) -> Self {
                if $is32 { g(self as f32) as $t } else { f(self as f64) as $t }
            }
        }
    };
}
float_element!(f32, F32, true);
float_element!(f64, F64, false);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    type Sum = i64;
    type Mean = f64;
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn read_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn read_be(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn zero() -> Self {
        false
    }
    fn one() -> Self {
        true
    }
    fn to_scalar(self) -> Scalar {
        Scalar::Bool(self)
    }
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn cast_from<U: Element>(u: U) -> Self {
        if U::DTYPE.is_float() { u.to_f64() != 0.0 } else { u.to_i64() != 0 }
    }
    fn add(self, b: Self) -> Self {
        self | b
    }
    fn sub(self, b: Self) -> Self {
        self ^ b
    }
    fn mul(self, b: Self) -> Self {
        self & b
    }
    fn div(self, b: Self) -> Self {
        self & b
    }
    fn rem(self, _b: Self) -> Self {
        false
    }
    fn pow(self, b: Self) -> Self {
        self | !b
    }
    fn neg(self) -> Self {
        !self
    }
    fn abs(self) -> Self {
        self
    }
    fn float_fn<F: Fn(f64) -> f64, G: Fn(f32) -> f32>(self, f: F, _g: G) -> Self {
        f(self as u8 as f64) != 0.0
    }
}
