//! A stable LSD radix sort of a line by order-preserving 64-bit keys: NumPy's sort order
//! (numbers ascending, −0.0 before 0.0 as their bits say, NaN last in index order), in
//! O(n) per line; a comparison sort of 20,000 values costs about five times more.

use crate::core::dtype::Element;

const DIGIT: u32 = 11;
const BUCKETS: usize = 1 << DIGIT;

/// The key of `v`: unsigned, in the order NumPy sorts (floats by their bits with the sign
/// flipped, NaN above everything; signed integers and bools offset by 2^63; unsigned
/// integers are their own keys).
pub(crate) fn key<T: Element>(v: T) -> u64 {
    if T::DTYPE.is_float() {
        if v.is_nan() {
            return u64::MAX;
        }
        // −0.0 equals 0.0 (a stable argsort keeps them in index order, as NumPy's).
        let f = v.to_f64();
        let b = if f == 0.0 { 0 } else { f.to_bits() };
        // Negative: all bits flipped; else the sign bit set (without a branch: the signs of
        // random data mispredict).
        b ^ (((b as i64) >> 63) as u64 | 1 << 63)
    } else if T::DTYPE.is_unsigned_integer() {
        // `to_i64` wraps a u64 above i64::MAX; `as u64` wraps it back.
        v.to_i64() as u64
    } else {
        (v.to_i64() as u64) ^ (1 << 63)
    }
}

/// The value a key stands for, as `f64` (−0.0 comes back as 0.0; NaN's key as NaN).
pub(crate) fn value<T: Element>(k: u64) -> f64 {
    if T::DTYPE.is_float() {
        if k == u64::MAX {
            return f64::NAN;
        }
        f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
    } else if T::DTYPE.is_unsigned_integer() {
        k as f64
    } else {
        ((k ^ (1 << 63)) as i64) as f64
    }
}

/// The positions of `line` in stable sorted order, left in `pairs` as `(key, position)`
/// (`pairs` and `spare` are scratch reused between lines).
pub(crate) fn sorted_positions<T: Element>(
    line: &[T],
    pairs: &mut Vec<(u64, u32)>,
    spare: &mut Vec<(u64, u32)>,
) {
    pairs.clear();
    pairs.extend(line.iter().enumerate().map(|(i, &v)| (key(v), i as u32)));
    spare.clear();
    spare.resize(pairs.len(), (0, 0));
    // Digits on which every key agrees need no pass.
    let (mut and, mut or) = (u64::MAX, 0u64);
    for &(k, _) in pairs.iter() {
        and &= k;
        or |= k;
    }
    let varying = and ^ or;
    let mut counts = [0usize; BUCKETS];
    let mut shift = 0;
    while shift < 64 {
        if (varying >> shift) & (BUCKETS as u64 - 1) == 0 {
            shift += DIGIT;
            continue;
        }
        counts.fill(0);
        for &(k, _) in pairs.iter() {
            counts[((k >> shift) as usize) & (BUCKETS - 1)] += 1;
        }
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for &p in pairs.iter() {
            let d = ((p.0 >> shift) as usize) & (BUCKETS - 1);
            spare[counts[d]] = p;
            counts[d] += 1;
        }
        std::mem::swap(pairs, spare);
        shift += DIGIT;
    }
}
