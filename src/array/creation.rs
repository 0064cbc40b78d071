//! Creating arrays: from ndarray arrays and views, and generated ones (zeros, ones, full,
//! arange, linspace, eye). Random arrays live in [`crate::random`].
//!
//! Every creation function makes a source node; blocks are produced on demand, so
//! `ones(&[100_000, 100_000], …)` costs nothing until some of it is computed, and then only
//! the blocks asked for are generated.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArcArray, ArrayBase, ArrayD, Data, DataOwned, Dimension, IxDyn, Slice};

use crate::array::Array;
use crate::core::block::HostArray;
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::{DType, Element, Float, Scalar};
use crate::core::error::{Error, Result};
use crate::core::source::BlockSource;
use crate::graph::node::{Node, Op};

/// Make an array whose blocks are read from `src`.
pub fn source_array<T: Element>(src: Arc<dyn BlockSource>, chunks: ChunkSpec) -> Result<Array<T>> {
    if src.dtype() != T::DTYPE {
        return Err(Error::DTypeMismatch {
            context: format!("source {}", src.name()),
            expected: T::DTYPE,
            found: src.dtype(),
        });
    }
    let c = chunks.resolve(src.shape(), T::DTYPE)?;
    let name = src.name().to_string();
    Ok(Array::from_node(Node::new(name, T::DTYPE, c, Op::Source(src), vec![])))
}

/// A block of generated values: element `i` (C-order index into `shape`) is `f(i)`, for
/// the elements of `region`.
pub(crate) fn gen_region<T: Element>(
    shape: &[usize],
    region: &[Range<usize>],
    f: impl Fn(u64) -> T,
) -> HostArray {
    gen_indexed(shape, region, None, f)
}

/// [`gen_region`], except that along `take.0` the elements are those at the global indices
/// `take.1` (the region's range on that axis is ignored).
pub(crate) fn gen_indexed<T: Element>(
    shape: &[usize],
    region: &[Range<usize>],
    take: Option<(usize, &[usize])>,
    f: impl Fn(u64) -> T,
) -> HostArray {
    let mut rshape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    if let Some((ax, list)) = take {
        rshape[ax] = list.len();
    }
    // Global index along axis d of local position k.
    let at = |d: usize, k: usize| match take {
        Some((ax, list)) if ax == d => list[k],
        _ => region[d].start + k,
    };
    let n: usize = rshape.iter().product();
    let mut out = Vec::with_capacity(n);
    let nd = shape.len();
    if n > 0 {
        if nd == 0 {
            out.push(f(0));
        } else {
            let mut gstride = vec![1u64; nd];
            for d in (0..nd - 1).rev() {
                gstride[d] = gstride[d + 1] * shape[d + 1] as u64;
            }
            let outer: usize = rshape[..nd - 1].iter().product();
            let last = nd - 1;
            let mut idx = vec![0usize; nd - 1];
            for _ in 0..outer {
                let mut base = 0u64;
                for (d, &i) in idx.iter().enumerate() {
                    base += at(d, i) as u64 * gstride[d];
                }
                match take {
                    Some((ax, list)) if ax == last => out.extend(list.iter().map(|&j| f(base + j as u64))),
                    _ => {
                        let start = base + region[last].start as u64;
                        out.extend((0..rshape[last] as u64).map(|j| f(start + j)));
                    }
                }
                for d in (0..nd - 1).rev() {
                    idx[d] += 1;
                    if idx[d] < rshape[d] {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
    }
    let a = ArrayD::from_shape_vec(IxDyn(&rshape), out).expect("region size matches");
    HostArray::new(a.into_shared())
}

/// An in-memory array; blocks are zero-copy views of it.
#[derive(Debug)]
pub(crate) struct MemorySource<T: Element> {
    data: ArcArray<T, IxDyn>,
}

impl<T: Element> BlockSource for MemorySource<T> {
    fn name(&self) -> &str {
        "from_array"
    }
    fn dtype(&self) -> DType {
        T::DTYPE
    }
    fn shape(&self) -> &[usize] {
        self.data.shape()
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let mut v = self.data.clone();
        v.slice_each_axis_inplace(|ax| Slice::from(region[ax.axis.index()].clone()));
        Ok(HostArray::new(v))
    }
    fn is_cheap(&self) -> bool {
        true
    }
}

/// Wrap an owned ndarray array (`Array` or `ArcArray`) without copying it.
///
/// ```
/// let a = ndarray::Array2::<f64>::eye(4);
/// let x = tessera::from_array(a.clone(), [2, 3]).unwrap();
/// assert_eq!(x.chunks().axis(1), &[3, 1]);
/// assert_eq!(x.compute().unwrap(), a.into_dyn());
/// ```
pub fn from_array<T, S, D>(a: ArrayBase<S, D>, chunks: impl Into<ChunkSpec>) -> Result<Array<T>>
where
    T: Element,
    S: DataOwned<Elem = T>,
    D: Dimension,
{
    let data = a.into_shared().into_dyn();
    source_array(Arc::new(MemorySource { data }), chunks.into())
}

/// Copy any ndarray array or view into a new tessera array.
pub fn from_view<T, S, D>(a: &ArrayBase<S, D>, chunks: impl Into<ChunkSpec>) -> Result<Array<T>>
where
    T: Element,
    S: Data<Elem = T>,
    D: Dimension,
{
    from_array(a.to_owned(), chunks)
}

/// Every element the same value.
#[derive(Debug)]
struct FillSource {
    value: Scalar,
    shape: Vec<usize>,
    name: &'static str,
}

impl BlockSource for FillSource {
    fn name(&self) -> &str {
        self.name
    }
    fn dtype(&self) -> DType {
        self.value.dtype()
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        crate::with_dtype!(self.value.dtype(), T => {
            let a = ArcArray::<T, IxDyn>::from_elem(IxDyn(&shape), self.value.get::<T>());
            Ok(HostArray::new(a))
        })
    }
}

fn fill<T: Element>(value: T, shape: &[usize], chunks: ChunkSpec, name: &'static str) -> Result<Array<T>> {
    let src = FillSource { value: value.to_scalar(), shape: shape.to_vec(), name };
    source_array(Arc::new(src), chunks)
}

/// An array of zeros.
pub fn zeros<T: Element>(shape: &[usize], chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    fill(T::zero(), shape, chunks.into(), "zeros")
}

/// An array of ones.
pub fn ones<T: Element>(shape: &[usize], chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    fill(T::one(), shape, chunks.into(), "ones")
}

/// An array with every element `value`.
pub fn full<T: Element>(shape: &[usize], value: T, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    fill(value, shape, chunks.into(), "full")
}

/// A 1-d array of elements computed from their index.
struct IndexSource<T: Element> {
    name: &'static str,
    shape: Vec<usize>,
    f: Box<dyn Fn(u64) -> T + Send + Sync>,
}

impl<T: Element> std::fmt::Debug for IndexSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.name, self.shape)
    }
}

impl<T: Element> BlockSource for IndexSource<T> {
    fn name(&self) -> &str {
        self.name
    }
    fn dtype(&self) -> DType {
        T::DTYPE
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        Ok(gen_region::<T>(&self.shape, region, &self.f))
    }
}

pub(crate) fn indexed<T: Element>(
    name: &'static str,
    shape: Vec<usize>,
    chunks: ChunkSpec,
    f: impl Fn(u64) -> T + Send + Sync + 'static,
) -> Result<Array<T>> {
    source_array(Arc::new(IndexSource { name, shape, f: Box::new(f) }), chunks)
}

/// Values from `start` to `stop` (exclusive) in steps of `step`, as NumPy's `arange`:
/// the length is `ceil((stop - start) / step)` and element `i` is `start + i * step`.
///
/// ```
/// let x = tessera::arange(0i64, 10, 3, [2]).unwrap();
/// assert_eq!(x.to_vec().unwrap(), vec![0, 3, 6, 9]);
/// ```
pub fn arange<T: Element>(start: T, stop: T, step: T, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    let (s, e, d) = (start.to_f64(), stop.to_f64(), step.to_f64());
    if d == 0.0 || !d.is_finite() || !s.is_finite() || !e.is_finite() {
        return Err(Error::invalid(format!(
            "arange({s}, {e}, {d}): step must be non-zero and bounds finite"
        )));
    }
    let n = if T::DTYPE.is_float() {
        ((e - s) / d).ceil().max(0.0) as usize
    } else {
        let (s, e, d) = (start.to_i128(), stop.to_i128(), step.to_i128());
        let span = e - s;
        if (span > 0) != (d > 0) || span == 0 { 0 } else { ((span.abs() + d.abs() - 1) / d.abs()) as usize }
    };
    indexed("arange", vec![n], chunks.into(), move |i| {
        if T::DTYPE.is_float() {
            T::cast_from(s + i as f64 * d)
        } else {
            start.add(T::cast_from(i as i64).mul(step))
        }
    })
}

/// `num` evenly spaced values from `start` to `stop` inclusive, as NumPy's `linspace`.
pub fn linspace<T: Float>(
    start: f64,
    stop: f64,
    num: usize,
    chunks: impl Into<ChunkSpec>,
) -> Result<Array<T>> {
    if !start.is_finite() || !stop.is_finite() {
        return Err(Error::invalid(format!("linspace({start}, {stop}): bounds must be finite")));
    }
    let step = if num > 1 { (stop - start) / (num - 1) as f64 } else { 0.0 };
    let last = num as u64 - 1;
    indexed("linspace", vec![num], chunks.into(), move |i| {
        T::cast_from(if num > 1 && i == last { stop } else { start + i as f64 * step })
    })
}

/// An `n × m` array with ones on diagonal `k` (0: main, > 0: above, < 0: below).
pub fn eye<T: Element>(n: usize, m: usize, k: isize, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    let cols = m.max(1) as u64;
    indexed("eye", vec![n, m], chunks.into(), move |flat| {
        let (i, j) = ((flat / cols) as i64, (flat % cols) as i64);
        if j - i == k as i64 { T::one() } else { T::zero() }
    })
}
