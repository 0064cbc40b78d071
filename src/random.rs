//! Counter-based random arrays: each value is a hash of `(seed, global element index)`, so the
//! same seed gives the same array whatever the chunking, the order of tasks or the number of
//! threads, and any block can be generated on its own.
//!
//! ```
//! let a = tessera::random::uniform::<f64>(7, &[100], [10]).unwrap().compute().unwrap();
//! let b = tessera::random::uniform::<f64>(7, &[100], [33]).unwrap().compute().unwrap();
//! assert_eq!(a, b);
//! ```

use std::ops::Range;
use std::sync::Arc;

use crate::array::Array;
use crate::array::creation::{gen_indexed, source_array};
use crate::core::block::HostArray;
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::{DType, Element, Float, Number};
use crate::core::error::{Error, Result};
use crate::core::source::BlockSource;

/// SplitMix64's finaliser: a bijective 64-bit mix.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 64 random bits for element `index` of stream `stream` under `seed`.
pub fn bits(seed: u64, stream: u64, index: u64) -> u64 {
    keyed_bits(stream_key(seed, stream), index)
}

/// The key of a (seed, stream) pair: computed once per source, not per element.
fn stream_key(seed: u64, stream: u64) -> u64 {
    mix(seed ^ mix(stream.wrapping_add(0x632b_e59b_d9b4_e019)))
}

/// [`bits`] with the stream's key already computed.
#[inline]
fn keyed_bits(key: u64, index: u64) -> u64 {
    mix(key ^ mix(index.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(key)))
}

/// A uniform f64 in `[0, 1)` with 53 random bits.
fn unit(b: u64) -> f64 {
    (b >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[derive(Debug, Clone, Copy)]
enum Dist {
    Uniform(f64, f64),
    Normal(f64, f64),
    Integers(i64, i64),
}

#[derive(Debug)]
struct RandomSource {
    /// Keys of streams 0 and 1 (normals use two).
    keys: [u64; 2],
    dist: Dist,
    dtype: DType,
    shape: Vec<usize>,
}

impl RandomSource {
    fn value(&self, i: u64) -> f64 {
        match self.dist {
            Dist::Uniform(lo, hi) => lo + (hi - lo) * unit(keyed_bits(self.keys[0], i)),
            Dist::Normal(mu, sigma) => {
                let u1 = 1.0 - unit(keyed_bits(self.keys[0], i));
                let u2 = unit(keyed_bits(self.keys[1], i));
                mu + sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            }
            Dist::Integers(..) => unreachable!("integers are drawn in integer arithmetic"),
        }
    }
}

impl BlockSource for RandomSource {
    fn name(&self) -> &str {
        match self.dist {
            Dist::Uniform(..) => "random-uniform",
            Dist::Normal(..) => "random-normal",
            Dist::Integers(..) => "random-integers",
        }
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        self.generate(region, None)
    }
    /// Each picked slab is generated directly (every element is a function of its index).
    fn read_take(&self, region: &[Range<usize>], axis: usize, indices: &[usize]) -> Result<HostArray> {
        self.generate(region, Some((axis, indices)))
    }
}

impl RandomSource {
    fn generate(&self, region: &[Range<usize>], take: Option<(usize, &[usize])>) -> Result<HostArray> {
        crate::with_dtype!(self.dtype, T => Ok(match self.dist {
            Dist::Integers(lo, hi) => {
                let span = (hi - lo) as u64 as u128;
                gen_indexed::<T>(&self.shape, region, take, |i| {
                    let r = ((keyed_bits(self.keys[0], i) as u128 * span) >> 64) as i64;
                    T::cast_from(lo + r)
                })
            }
            _ => gen_indexed::<T>(&self.shape, region, take, |i| T::cast_from(self.value(i))),
        }))
    }
}

fn random<T: Element>(seed: u64, dist: Dist, shape: &[usize], chunks: ChunkSpec) -> Result<Array<T>> {
    let keys = [stream_key(seed, 0), stream_key(seed, 1)];
    let src = RandomSource { keys, dist, dtype: T::DTYPE, shape: shape.to_vec() };
    source_array(Arc::new(src), chunks)
}

/// Uniform values in `[0, 1)`.
pub fn uniform<T: Float>(seed: u64, shape: &[usize], chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    uniform_range(seed, shape, chunks, 0.0, 1.0)
}

/// Uniform values in `[lo, hi)`.
pub fn uniform_range<T: Float>(
    seed: u64,
    shape: &[usize],
    chunks: impl Into<ChunkSpec>,
    lo: f64,
    hi: f64,
) -> Result<Array<T>> {
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(Error::invalid(format!("uniform range [{lo}, {hi}) is not a finite interval")));
    }
    random(seed, Dist::Uniform(lo, hi), shape, chunks.into())
}

/// Normally distributed values with the given mean and standard deviation (Box–Muller).
pub fn normal<T: Float>(
    seed: u64,
    shape: &[usize],
    chunks: impl Into<ChunkSpec>,
    mean: f64,
    std: f64,
) -> Result<Array<T>> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(Error::invalid(format!(
            "normal(mean={mean}, std={std}) needs finite values and std >= 0"
        )));
    }
    random(seed, Dist::Normal(mean, std), shape, chunks.into())
}

/// Integers drawn uniformly from `[lo, hi)`.
pub fn integers<T: Number>(
    seed: u64,
    shape: &[usize],
    chunks: impl Into<ChunkSpec>,
    lo: i64,
    hi: i64,
) -> Result<Array<T>> {
    if lo >= hi {
        return Err(Error::invalid(format!("integers: empty range [{lo}, {hi})")));
    }
    random(seed, Dist::Integers(lo, hi), shape, chunks.into())
}
