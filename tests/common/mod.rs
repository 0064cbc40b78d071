//! Shared test helpers: random shapes, random irregular chunkings, random data with NaN and
//! infinities, eager ndarray references and comparisons.
#![allow(dead_code)]

pub mod order_ref;

use ndarray::{Array2, ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::{Chunks, ComputeOptions, Element, SchedulerKind};

/// Shapes with 0 to 4 axes of 0 to 40 elements each; the longest axes are shortened until
/// the total size is at most 12,000, so many cases stay cheap.
pub fn shape() -> impl Strategy<Value = Vec<usize>> {
    (0usize..=4).prop_flat_map(|nd| proptest::collection::vec(0usize..=40, nd)).prop_map(|mut s| {
        while s.iter().product::<usize>() > 12_000 {
            let (i, _) = s.iter().enumerate().max_by_key(|(_, n)| **n).unwrap();
            s[i] = s[i] * 2 / 3;
        }
        s
    })
}

/// Random chunks for `shape`: per axis either cuts at random points (irregular blocks,
/// one-element blocks) or a uniform block length, sometimes larger than the axis.
pub fn chunks_for(shape: Vec<usize>) -> impl Strategy<Value = Chunks> {
    let per_axis: Vec<BoxedStrategy<Vec<usize>>> = shape
        .iter()
        .map(|&n| {
            if n == 0 {
                Just(vec![0]).boxed()
            } else {
                prop_oneof![
                    proptest::collection::vec(1..=n, 0..=n.min(6))
                        .prop_map(move |cuts| split_at_cuts(n, cuts)),
                    (1..=n + 10).prop_map(move |c| Chunks::uniform(&[n], &[c]).unwrap().axis(0).to_vec()),
                ]
                .boxed()
            }
        })
        .collect();
    per_axis.prop_map(|axes| Chunks::new(axes).unwrap())
}

fn split_at_cuts(n: usize, mut cuts: Vec<usize>) -> Vec<usize> {
    cuts.retain(|&c| c < n);
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts.into_iter().chain(std::iter::once(n)) {
        if c > prev {
            out.push(c - prev);
        }
        prev = c;
    }
    out
}

/// f64 values, mostly ordinary, sometimes NaN or ±∞ when `special`.
pub fn values(n: usize, special: bool) -> impl Strategy<Value = Vec<f64>> {
    let v = if special {
        prop_oneof![
            8 => -100.0f64..100.0,
            1 => Just(f64::NAN),
            1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(0.0), Just(-0.0)],
        ]
        .boxed()
    } else {
        (-100.0f64..100.0).boxed()
    };
    proptest::collection::vec(v, n)
}

/// A shape, chunks for it and data.
pub fn array_case(special: bool) -> impl Strategy<Value = (ArrayD<f64>, Chunks)> {
    shape().prop_flat_map(move |s| {
        let n: usize = s.iter().product();
        (values(n, special), chunks_for(s.clone()))
            .prop_map(move |(v, c)| (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c))
    })
}

/// Bitwise equality, with all NaNs equal.
pub fn same_f64(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter().zip(b.iter()).all(|(x, y)| (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits())
}

/// Equality within a relative tolerance (NaNs equal, infinities equal).
pub fn close_f64(a: &ArrayD<f64>, b: &ArrayD<f64>, rtol: f64) -> bool {
    a.shape() == b.shape()
        && a.iter().zip(b.iter()).all(|(x, y)| {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= rtol * (1.0 + x.abs().max(y.abs()))
        })
}

/// Compute and check every block against its declared shape; assemble with both schedulers
/// and check they agree bit for bit.
pub fn compute_checked<T: Element>(x: &tessera::Array<T>) -> ArrayD<T> {
    let blocks = x.block_values(&ComputeOptions::default()).expect("compute blocks");
    assert_eq!(blocks.len(), x.nblocks());
    for (b, want) in blocks.iter().zip(x.block_shapes()) {
        assert_eq!(b.shape(), want.as_slice(), "block shape differs from its chunks");
    }
    let sync = x.compute_with(&ComputeOptions::default().scheduler(SchedulerKind::Sync)).expect("sync");
    let threaded = x
        .compute_with(&ComputeOptions::default().scheduler(SchedulerKind::Threaded).workers(3))
        .expect("threaded");
    let bits_equal = sync.iter().zip(threaded.iter()).all(|(a, b)| {
        a.to_f64().to_bits() == b.to_f64().to_bits() || (a.to_f64().is_nan() && b.to_f64().is_nan())
    });
    assert!(bits_equal && sync.shape() == threaded.shape(), "sync and threaded schedulers disagree");
    sync
}

/// Eager reference reduction: reduce `axes` of `x` lane by lane with `f`.
pub fn ref_reduce<T: Copy, U: Clone>(
    x: &ArrayD<T>,
    axes: &[usize],
    keepdims: bool,
    f: impl Fn(&[T]) -> U,
) -> ArrayD<U> {
    let nd = x.ndim();
    let kept: Vec<usize> = (0..nd).filter(|d| !axes.contains(d)).collect();
    let mut perm = kept.clone();
    perm.extend_from_slice(axes);
    let p = x.view().permuted_axes(IxDyn(&perm));
    let p = p.as_standard_layout();
    let kept_shape: Vec<usize> = kept.iter().map(|&d| x.shape()[d]).collect();
    let r: usize = axes.iter().map(|&d| x.shape()[d]).product();
    let flat = p.to_shape((kept_shape.iter().product::<usize>(), r)).unwrap();
    let vals: Vec<U> = flat.outer_iter().map(|lane| f(&lane.to_vec())).collect();
    let mut out = ArrayD::from_shape_vec(IxDyn(&kept_shape), vals).unwrap();
    if keepdims {
        for &a in axes {
            out.insert_axis_inplace(Axis(a));
        }
    }
    out
}

/// A random subset of the axes of an `nd`-dimensional array (sorted).
pub fn axes_subset(nd: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<bool>(), nd)
        .prop_map(|m| m.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i).collect())
}

/// A reproducible `m × n` matrix of values in [-1, 1) (xorshift from `seed`).
pub fn arr2(seed: u64, m: usize, n: usize) -> Array2<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_fn((m, n), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

/// Chunk sizes of an axis of length `n` cut at `cuts` (taken mod `n`; zeros and repeats
/// ignored): irregular chunks for a proptest.
pub fn split(n: usize, cuts: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = cuts.iter().map(|&x| x % n.max(1)).filter(|&x| x > 0).collect();
    c.sort_unstable();
    c.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for x in c.into_iter().chain([n]) {
        out.push(x - prev);
        prev = x;
    }
    out
}

/// A reproducible `m × n` matrix of standard normals (tessera's counter-based generator).
pub fn normal2(seed: u64, m: usize, n: usize) -> Array2<f64> {
    let x = tessera::random::normal::<f64>(seed, &[m, n], [m.max(1), n.max(1)], 0.0, 1.0).unwrap();
    x.compute().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap()
}

/// A small xorshift generator for test cases built by hand.
pub struct XorShift(pub u64);
impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn int(&mut self, lo: isize, hi: isize) -> isize {
        lo + self.below((hi - lo + 1) as usize) as isize
    }
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// Chunks for `shape` with some blocks of length 0 among the others.
pub fn chunks_with_empty(shape: Vec<usize>) -> impl Strategy<Value = Chunks> {
    (chunks_for(shape), any::<u64>()).prop_map(|(c, seed)| {
        let mut g = XorShift(seed | 1);
        let axes: Vec<Vec<usize>> = c
            .axes()
            .iter()
            .map(|a| {
                let mut a = a.clone();
                if g.chance(40) {
                    let at = g.below(a.len() + 1);
                    a.insert(at, 0);
                }
                a
            })
            .collect();
        Chunks::new(axes).unwrap()
    })
}

pub fn case_with_empty_blocks() -> impl Strategy<Value = (ArrayD<f64>, Chunks)> {
    shape().prop_flat_map(|s| {
        let n: usize = s.iter().product();
        (values(n, false), chunks_with_empty(s.clone()))
            .prop_map(move |(v, c)| (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c))
    })
}

/// Python's `range(*slice(start, stop, step).indices(n))`.
pub fn py_range(start: Option<isize>, stop: Option<isize>, step: isize, n: usize) -> Vec<usize> {
    let ni = n as isize;
    let norm = |v: isize| if v < 0 { v + ni } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let (s, e) = (start.map_or(0, |v| norm(v).clamp(0, ni)), stop.map_or(ni, |v| norm(v).clamp(0, ni)));
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let s = start.map_or(ni - 1, |v| norm(v).clamp(-1, ni - 1));
        let e = stop.map_or(-1, |v| norm(v).clamp(-1, ni - 1));
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

/// `y` has `shape` and, in C order, `values` (computed through `compute_checked`).
pub fn check(y: tessera::Array<i64>, shape: &[usize], values: &[i64]) {
    assert_eq!(y.shape(), shape);
    let got = compute_checked(&y);
    assert_eq!(got.shape(), shape);
    assert_eq!(got.iter().copied().collect::<Vec<_>>(), values);
}
