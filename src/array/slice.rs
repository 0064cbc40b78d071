//! Basic slicing: ranges with steps (negative too) and integer indices, NumPy's semantics.
//!
//! A slice of an elementwise expression is pushed below it (each operand is sliced instead),
//! and a slice of a source reads only the region it selects, so `exp(ones(big))[1:100, 1:100]`
//! computes 99 × 99 elements. Any other node is sliced block by block: every output block is a
//! strided view of one input block, and the output keeps the input's block boundaries.
//! Range bounds are clamped to the axis as in NumPy; an integer index outside the axis is an
//! [`Error::IndexOutOfBounds`].

use std::ops::{Range, RangeFrom, RangeFull, RangeTo};
use std::sync::Arc;

use crate::array::Array;
use crate::array::elementwise::rebuild_over;
use crate::core::block::HostArray;
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::host::slice_view;
use crate::core::source::BlockSource;
use crate::graph::node::{Node, Op, SliceBlock, SliceSpec};

/// One axis of a slice: a range with a step, or an integer index (drops the axis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceArg {
    /// `start:stop:step` (Python semantics; `None` is the default bound for the step's sign).
    Range {
        /// First index (negative counts from the end).
        start: Option<isize>,
        /// One past the last index (negative counts from the end).
        stop: Option<isize>,
        /// Step, non-zero.
        step: isize,
    },
    /// A single index (negative counts from the end); the axis is removed.
    Index(isize),
}

impl SliceArg {
    /// `start:stop:step`, e.g. `SliceArg::new(Some(100), Some(50), -2)` for NumPy's `100:50:-2`.
    pub fn new(start: Option<isize>, stop: Option<isize>, step: isize) -> Self {
        SliceArg::Range { start, stop, step }
    }
    /// The whole axis, `:`.
    pub fn full() -> Self {
        SliceArg::Range { start: None, stop: None, step: 1 }
    }
    /// `::-1`, the axis reversed.
    pub fn reversed() -> Self {
        SliceArg::Range { start: None, stop: None, step: -1 }
    }
}

impl From<isize> for SliceArg {
    fn from(i: isize) -> Self {
        SliceArg::Index(i)
    }
}
impl From<i32> for SliceArg {
    fn from(i: i32) -> Self {
        SliceArg::Index(i as isize)
    }
}
impl From<Range<isize>> for SliceArg {
    fn from(r: Range<isize>) -> Self {
        SliceArg::new(Some(r.start), Some(r.end), 1)
    }
}
impl From<Range<i32>> for SliceArg {
    fn from(r: Range<i32>) -> Self {
        SliceArg::new(Some(r.start as isize), Some(r.end as isize), 1)
    }
}
impl From<RangeFrom<i32>> for SliceArg {
    fn from(r: RangeFrom<i32>) -> Self {
        SliceArg::new(Some(r.start as isize), None, 1)
    }
}
impl From<RangeTo<i32>> for SliceArg {
    fn from(r: RangeTo<i32>) -> Self {
        SliceArg::new(None, Some(r.end as isize), 1)
    }
}
impl From<RangeFull> for SliceArg {
    fn from(_: RangeFull) -> Self {
        SliceArg::full()
    }
}

/// Build an array of [`SliceArg`]s: `sl![1..5, .., 3]`; a step is written `(start, stop, step)` with
/// `Option` bounds: `sl![(Some(100), Some(50), -2)]`.
#[macro_export]
macro_rules! sl {
    ($($e:expr),* $(,)?) => {
        [$($crate::SliceArg::from($e)),*]
    };
}

impl From<(Option<isize>, Option<isize>, isize)> for SliceArg {
    fn from(t: (Option<isize>, Option<isize>, isize)) -> Self {
        SliceArg::new(t.0, t.1, t.2)
    }
}

/// A normalised axis selection: first index, step, count; `drop` for integer indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AxisSel {
    pub start: usize,
    pub step: isize,
    pub len: usize,
    pub drop: bool,
}

/// Python's `slice.indices` + length.
pub(crate) fn normalize(arg: SliceArg, axis: usize, n: usize) -> Result<AxisSel> {
    let ni = n as isize;
    match arg {
        SliceArg::Index(i) => {
            let j = if i < 0 { i + ni } else { i };
            if j < 0 || j >= ni {
                return Err(Error::IndexOutOfBounds { axis, index: i, len: n });
            }
            Ok(AxisSel { start: j as usize, step: 1, len: 1, drop: true })
        }
        SliceArg::Range { start, stop, step } => {
            if step == 0 {
                return Err(Error::invalid(format!("slice step 0 on axis {axis}")));
            }
            let fix = |v: isize, lo: isize, hi: isize| {
                let v = if v < 0 { v + ni } else { v };
                v.clamp(lo, hi)
            };
            let (s, e) = if step > 0 {
                (start.map_or(0, |v| fix(v, 0, ni)), stop.map_or(ni, |v| fix(v, 0, ni)))
            } else {
                (start.map_or(ni - 1, |v| fix(v, -1, ni - 1)), stop.map_or(-1, |v| fix(v, -1, ni - 1)))
            };
            let len = if step > 0 {
                if e > s { (e - s + step - 1) / step } else { 0 }
            } else if s > e {
                (s - e + (-step) - 1) / (-step)
            } else {
                0
            };
            let start = if len == 0 { 0 } else { s as usize };
            Ok(AxisSel { start, step, len: len as usize, drop: false })
        }
    }
}

/// The output blocks of a selection on an axis whose block offsets are `offs` (axis length last).
pub(crate) fn axis_blocks(sel: &AxisSel, offs: &[usize]) -> Vec<SliceBlock> {
    let mut out = Vec::new();
    if sel.len == 0 {
        out.push((0, 0, 1, 0));
        return out;
    }
    let nblocks = offs.len() - 1;
    let (start, step, len) = (sel.start as i128, sel.step as i128, sel.len as i128);
    let order: Vec<usize> = if step > 0 { (0..nblocks).collect() } else { (0..nblocks).rev().collect() };
    for b in order {
        let (b0, b1) = (offs[b] as i128, offs[b + 1] as i128);
        // k such that b0 <= start + k*step < b1.
        let (klo, khi) = if step > 0 {
            (ceil_div(b0 - start, step).max(0), ceil_div(b1 - start, step).min(len))
        } else {
            let s = -step;
            (floor_div(start - b1, s).saturating_add(1).max(0), (floor_div(start - b0, s) + 1).min(len))
        };
        if khi > klo {
            let first = start + klo * step;
            out.push((b, (first - b0) as usize, sel.step, (khi - klo) as usize));
        }
    }
    out
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) != 0 { q + 1 } else { q }
}
fn floor_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

/// A source seen through a selection.
#[derive(Debug)]
struct SlicedSource {
    inner: Arc<dyn BlockSource>,
    sels: Vec<AxisSel>,
    shape: Vec<usize>,
}

impl BlockSource for SlicedSource {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn dtype(&self) -> DType {
        self.inner.dtype()
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn is_cheap(&self) -> bool {
        self.inner.is_cheap()
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let mut inner_region = Vec::with_capacity(self.sels.len());
        let mut local = Vec::with_capacity(self.sels.len());
        let mut drop = Vec::new();
        let mut o = 0;
        for (ax, s) in self.sels.iter().enumerate() {
            let r = if s.drop {
                drop.push(ax);
                0..1
            } else {
                o += 1;
                region[o - 1].clone()
            };
            if r.is_empty() {
                inner_region.push(0..0);
                local.push((0, 1, 0));
                continue;
            }
            let first = s.start as isize + r.start as isize * s.step;
            let last = s.start as isize + (r.end as isize - 1) * s.step;
            let (lo, hi) = (first.min(last) as usize, first.max(last) as usize);
            inner_region.push(lo..hi + 1);
            local.push(((first as usize) - lo, s.step, r.len()));
        }
        let block = self.inner.read(&inner_region)?;
        slice_view(&block, &local, &drop)
    }
}

/// Slice a node, pushing the selection below elementwise ops and into sources.
pub(crate) fn slice_node(node: &Arc<Node>, sels: &[AxisSel]) -> Result<Arc<Node>> {
    if sels.iter().all(|s| !s.drop && s.step == 1 && s.start == 0)
        && sels.iter().zip(&node.shape).all(|(s, &n)| s.len == n)
    {
        return Ok(node.clone());
    }
    match &node.op {
        Op::Elementwise(_) => rebuild_over(node, |input, off| {
            let mut isels = Vec::with_capacity(input.shape.len());
            for (d, &n) in input.shape.iter().enumerate() {
                let s = sels[d + off];
                if n == 1 && node.shape[d + off] != 1 {
                    isels.push(AxisSel { start: 0, step: 1, len: 1, drop: s.drop });
                } else {
                    isels.push(s);
                }
            }
            slice_node(input, &isels)
        }),
        Op::Source(src) => {
            let shape: Vec<usize> = sels.iter().filter(|s| !s.drop).map(|s| s.len).collect();
            let chunks = sliced_chunks(&node.chunks, sels);
            let s = SlicedSource { inner: src.clone(), sels: sels.to_vec(), shape };
            let n = Node::new(node.name.clone(), node.dtype, chunks, Op::Source(Arc::new(s)), vec![]);
            Ok(n)
        }
        _ => {
            let axes: Vec<Vec<SliceBlock>> =
                sels.iter().enumerate().map(|(d, s)| axis_blocks(s, node.chunks.offsets(d))).collect();
            let drop: Vec<usize> = sels.iter().enumerate().filter(|(_, s)| s.drop).map(|(d, _)| d).collect();
            let chunks = sliced_chunks(&node.chunks, sels);
            Ok(Node::new(
                "slice",
                node.dtype,
                chunks,
                Op::Slice(SliceSpec { axes, drop }),
                vec![node.clone()],
            ))
        }
    }
}

fn sliced_chunks(chunks: &Chunks, sels: &[AxisSel]) -> Chunks {
    let mut axes = Vec::new();
    for (d, s) in sels.iter().enumerate() {
        if s.drop {
            continue;
        }
        axes.push(axis_blocks(s, chunks.offsets(d)).iter().map(|b| b.3).collect());
    }
    Chunks::from_axes(axes)
}

impl<T: Element> Array<T> {
    /// Select with NumPy's basic indexing: one [`SliceArg`] per leading axis (missing ones
    /// are `:`). Only the blocks the selection touches are ever computed.
    ///
    /// ```
    /// use tessera::{SliceArg, sl};
    /// let x = tessera::arange(0i64, 20, 1, [6]).unwrap();
    /// let y = x.slice(&sl![(Some(15), Some(3), -4)]).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![15, 11, 7]);
    /// ```
    pub fn slice(&self, args: &[SliceArg]) -> Result<Array<T>> {
        let nd = self.ndim();
        if args.len() > nd {
            return Err(Error::invalid(format!("{} indices for an array of {nd} dimension(s)", args.len())));
        }
        let mut sels = Vec::with_capacity(nd);
        for d in 0..nd {
            let a = args.get(d).copied().unwrap_or_else(SliceArg::full);
            sels.push(normalize(a, d, self.shape()[d])?);
        }
        Ok(Array::from_node(slice_node(self.node(), &sels)?))
    }
}
