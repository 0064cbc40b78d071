//! [`Chunks`]: how an array is cut into blocks, one list of block lengths per axis.
//!
//! As in dask, chunks may be irregular (`[[3, 3, 1], [5]]`) and may hold blocks of length 0
//! (`[[2, 0, 3]]`, as dask allows); an empty axis has at least one block (of length 0). The
//! chunkings tessera makes itself (uniform, auto, rechunk) have no empty block except that of
//! an empty axis. A 0-d array has no axes and exactly one block.

use crate::core::dtype::DType;
use crate::core::error::{Error, Result};

/// Default byte target of [`Chunks::auto`]: 128 MiB.
pub const DEFAULT_CHUNK_BYTES: usize = 128 << 20;

/// Block lengths along each axis.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chunks {
    axes: Vec<Vec<usize>>,
    /// Per axis, the start offset of each block and the axis length (derived from `axes`).
    starts: Vec<Vec<usize>>,
}

fn starts_of(axes: &[Vec<usize>]) -> Vec<Vec<usize>> {
    axes.iter()
        .map(|a| {
            let mut o = Vec::with_capacity(a.len() + 1);
            let mut acc = 0;
            o.push(0);
            for &c in a {
                acc += c;
                o.push(acc);
            }
            o
        })
        .collect()
}

/// How to chunk an array at creation: a uniform block shape, explicit lists, or automatic.
///
/// Build one from a slice or array of block lengths (`&[24, 360, 360]`, a length larger than
/// the axis means one block), from [`Chunks`], or use [`ChunkSpec::Auto`].
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkSpec {
    /// Blocks near [`DEFAULT_CHUNK_BYTES`], as square as the shape allows.
    Auto,
    /// Blocks near the given number of bytes.
    AutoBytes(usize),
    /// The same block length along each axis (the last block may be shorter).
    Uniform(Vec<usize>),
    /// Explicit per-axis lists.
    Explicit(Chunks),
}

impl From<&[usize]> for ChunkSpec {
    fn from(v: &[usize]) -> Self {
        ChunkSpec::Uniform(v.to_vec())
    }
}
impl From<Vec<usize>> for ChunkSpec {
    fn from(v: Vec<usize>) -> Self {
        ChunkSpec::Uniform(v)
    }
}
impl<const N: usize> From<[usize; N]> for ChunkSpec {
    fn from(v: [usize; N]) -> Self {
        ChunkSpec::Uniform(v.to_vec())
    }
}
impl<const N: usize> From<&[usize; N]> for ChunkSpec {
    fn from(v: &[usize; N]) -> Self {
        ChunkSpec::Uniform(v.to_vec())
    }
}
impl From<Chunks> for ChunkSpec {
    fn from(c: Chunks) -> Self {
        ChunkSpec::Explicit(c)
    }
}
impl From<&Chunks> for ChunkSpec {
    fn from(c: &Chunks) -> Self {
        ChunkSpec::Explicit(c.clone())
    }
}

impl ChunkSpec {
    /// Resolve against a shape and dtype.
    pub fn resolve(&self, shape: &[usize], dtype: DType) -> Result<Chunks> {
        match self {
            ChunkSpec::Auto => Chunks::auto(shape, dtype, DEFAULT_CHUNK_BYTES),
            ChunkSpec::AutoBytes(b) => Chunks::auto(shape, dtype, *b),
            ChunkSpec::Uniform(sizes) => Chunks::uniform(shape, sizes),
            ChunkSpec::Explicit(c) => {
                c.check_shape(shape)?;
                Ok(c.clone())
            }
        }
    }
}

impl Chunks {
    /// Explicit block lengths per axis; every axis needs at least one block. Blocks of length
    /// 0 are allowed, as in dask (`chunks=((2, 0, 3),)`): they hold no element and every op
    /// treats them as the empty blocks they are.
    ///
    /// ```
    /// let c = tessera::Chunks::new(vec![vec![3, 3, 1], vec![5]]).unwrap();
    /// assert_eq!(c.shape(), vec![7, 5]);
    /// let z = tessera::Chunks::new(vec![vec![2, 0, 3]]).unwrap();
    /// assert_eq!((z.shape(), z.nblocks()), (vec![5], 3));
    /// ```
    pub fn new(axes: Vec<Vec<usize>>) -> Result<Self> {
        for (i, a) in axes.iter().enumerate() {
            if a.is_empty() {
                return Err(Error::InvalidChunks(format!(
                    "axis {i} has no blocks (an empty axis has one block of length 0)"
                )));
            }
        }
        Ok(Chunks::from_axes(axes))
    }

    /// Blocks of `sizes[i]` along axis `i` (the last one shorter if it does not divide).
    ///
    /// ```
    /// let c = tessera::Chunks::uniform(&[10, 4], &[4, 10]).unwrap();
    /// assert_eq!(c.axis(0), &[4, 4, 2]);
    /// assert_eq!(c.axis(1), &[4]);
    /// ```
    pub fn uniform(shape: &[usize], sizes: &[usize]) -> Result<Self> {
        if shape.len() != sizes.len() {
            return Err(Error::InvalidChunks(format!(
                "block shape {sizes:?} has {} axes but the array shape {shape:?} has {}",
                sizes.len(),
                shape.len()
            )));
        }
        check_elements(shape)?;
        let mut blocks: usize = 1;
        for (i, (&n, &c)) in shape.iter().zip(sizes).enumerate() {
            if c == 0 && n > 0 {
                return Err(Error::InvalidChunks(format!("block length 0 on axis {i} of length {n}")));
            }
            blocks = blocks.saturating_mul(n.div_ceil(c.max(1)).max(1));
        }
        if blocks > MAX_BLOCKS {
            return Err(Error::InvalidChunks(format!(
                "shape {shape:?} in blocks of {sizes:?} makes {blocks} blocks, more than the {MAX_BLOCKS} \
                 one array may have: use larger blocks"
            )));
        }
        let axes = shape.iter().zip(sizes).map(|(&n, &c)| split_axis(n, c)).collect();
        Ok(Chunks::from_axes(axes))
    }

    /// Blocks of about `target_bytes`, splitting the longest axes first so blocks stay as
    /// square as the shape allows (dask's "auto").
    pub fn auto(shape: &[usize], dtype: DType, target_bytes: usize) -> Result<Self> {
        if target_bytes == 0 {
            return Err(Error::InvalidChunks("auto chunk target of 0 bytes".into()));
        }
        if check_elements(shape)? == 0 {
            // Nothing to cut: one block per axis (however long the other axes say they are).
            return Ok(Chunks::single(shape));
        }
        let target = (target_bytes / dtype.size()).max(1);
        let mut block: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
        while block.iter().fold(1usize, |p, &b| p.saturating_mul(b)) > target {
            let (i, _) = block.iter().enumerate().max_by_key(|(_, b)| **b).expect("nonempty");
            if block[i] == 1 {
                break;
            }
            block[i] = block[i].div_ceil(2);
        }
        Chunks::uniform(shape, &block)
    }

    /// Blocks of about `target_bytes` made of whole storage chunks (`storage`: one length
    /// per axis, as a file stores the array): every block is a whole number of storage chunks
    /// along each axis (or the whole axis), so each stored chunk is read and decompressed by
    /// one task, as dask's auto-chunking respects a file's "previous chunks". From one storage
    /// chunk, the axis whose block covers the smallest share of its length doubles its count
    /// of chunks while the block stays within the target; a storage chunk larger than the
    /// target is a block of its own. Without a usable `storage` (another rank, a zero) this is
    /// [`Chunks::auto`].
    ///
    /// ```
    /// use tessera::{Chunks, DType};
    /// // A year of daily 720 × 1440 f32 maps stored one day per chunk, in blocks near 128 MiB:
    /// let c = Chunks::auto_aligned(&[365, 720, 1440], DType::F32, 128 << 20, &[1, 720, 1440])?;
    /// assert_eq!(c.max_block_shape(), [32, 720, 1440]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn auto_aligned(
        shape: &[usize],
        dtype: DType,
        target_bytes: usize,
        storage: &[usize],
    ) -> Result<Self> {
        if storage.len() != shape.len() || storage.contains(&0) {
            return Chunks::auto(shape, dtype, target_bytes);
        }
        if target_bytes == 0 {
            return Err(Error::InvalidChunks("auto chunk target of 0 bytes".into()));
        }
        if check_elements(shape)? == 0 {
            return Ok(Chunks::single(shape));
        }
        let target = (target_bytes / dtype.size()).max(1);
        let mut block: Vec<usize> = shape.iter().zip(storage).map(|(&n, &c)| c.min(n).max(1)).collect();
        loop {
            let share = |a: usize| block[a] as f64 / shape[a] as f64;
            let grow = (0..shape.len())
                .filter(|&a| block[a] < shape[a])
                .min_by(|&a, &b| share(a).total_cmp(&share(b)));
            let Some(a) = grow else { break };
            let grown = block[a].saturating_mul(2).min(shape[a]);
            let others = block
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != a)
                .fold(1usize, |p, (_, &b)| p.saturating_mul(b));
            if others.saturating_mul(grown) > target {
                break;
            }
            block[a] = grown;
        }
        Chunks::uniform(shape, &block)
    }

    /// One block covering the whole shape.
    pub fn single(shape: &[usize]) -> Self {
        Chunks::from_axes(shape.iter().map(|&n| vec![n]).collect())
    }

    /// Checks that the chunks add up to `shape`.
    pub fn check_shape(&self, shape: &[usize]) -> Result<()> {
        if self.axes.len() != shape.len() {
            return Err(Error::InvalidChunks(format!(
                "chunks have {} axes but the shape {shape:?} has {}",
                self.axes.len(),
                shape.len()
            )));
        }
        for (i, (a, &n)) in self.axes.iter().zip(shape).enumerate() {
            let s: usize = a.iter().sum();
            if s != n {
                return Err(Error::InvalidChunks(format!(
                    "blocks {a:?} on axis {i} add up to {s}, not the axis length {n}"
                )));
            }
        }
        Ok(())
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.axes.len()
    }
    /// Block lengths along `axis`.
    pub fn axis(&self, axis: usize) -> &[usize] {
        &self.axes[axis]
    }
    /// All axes' block lengths.
    pub fn axes(&self) -> &[Vec<usize>] {
        &self.axes
    }
    /// The array shape these chunks cover.
    pub fn shape(&self) -> Vec<usize> {
        self.starts.iter().map(|s| *s.last().expect("starts has the axis length")).collect()
    }
    /// Number of blocks along each axis.
    pub fn numblocks(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.len()).collect()
    }
    /// Total number of blocks.
    pub fn nblocks(&self) -> usize {
        self.axes.iter().map(|a| a.len()).product()
    }
    /// Shape of the block at a block index.
    pub fn block_shape(&self, idx: &[usize]) -> Vec<usize> {
        self.axes.iter().zip(idx).map(|(a, &i)| a[i]).collect()
    }
    /// Start offsets of the blocks along `axis` (one more entry than blocks: the axis length).
    pub fn offsets(&self, axis: usize) -> &[usize] {
        &self.starts[axis]
    }
    /// Global element ranges covered by a block.
    pub fn block_region(&self, idx: &[usize]) -> Vec<std::ops::Range<usize>> {
        self.starts.iter().zip(idx).map(|(s, &i)| s[i]..s[i + 1]).collect()
    }
    /// The largest block's shape.
    pub fn max_block_shape(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.iter().copied().max().unwrap_or(0)).collect()
    }
    /// Chunks from already-valid lists (internal: callers guarantee the invariants).
    pub(crate) fn from_axes(axes: Vec<Vec<usize>>) -> Self {
        let starts = starts_of(&axes);
        Chunks { axes, starts }
    }
}

/// The most blocks one array may have (each becomes at least one task; a graph of more would
/// not fit in memory to plan anyway).
pub const MAX_BLOCKS: usize = 1 << 22;

/// An error when `shape` has more elements than any array can (its bytes would overflow).
pub(crate) fn check_elements(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |p, &n| p.checked_mul(n))
        .filter(|&n| n <= isize::MAX as usize / 8)
        .ok_or_else(|| {
            Error::InvalidArgument(format!("shape {shape:?} has more elements than an array can hold"))
        })
}

/// Split an axis of length `n` into blocks of `c`.
pub(crate) fn split_axis(n: usize, c: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let c = c.min(n);
    let mut v = vec![c; n / c];
    if !n.is_multiple_of(c) {
        v.push(n % c);
    }
    v
}

/// The common refinement of two chunkings of one axis: every boundary of either.
pub(crate) fn refine_axis(a: &[usize], b: &[usize]) -> Vec<usize> {
    if a == b {
        return a.to_vec();
    }
    let mut bounds: Vec<usize> = Vec::new();
    for blocks in [a, b] {
        let mut acc = 0;
        for &c in blocks {
            acc += c;
            bounds.push(acc);
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut out = Vec::with_capacity(bounds.len());
    let mut prev = 0;
    for b in bounds {
        if b > prev {
            out.push(b - prev);
        }
        prev = b;
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

/// Linear (C-order) index of a block index in a grid.
pub(crate) fn linear_index(idx: &[usize], grid: &[usize]) -> usize {
    idx.iter().zip(grid).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Block index from a linear (C-order) index.
pub(crate) fn unravel(mut lin: usize, grid: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; grid.len()];
    for d in (0..grid.len()).rev() {
        idx[d] = lin % grid[d];
        lin /= grid[d];
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_ragged() {
        let c = Chunks::uniform(&[10, 0, 3], &[4, 2, 5]).unwrap();
        assert_eq!(c.axes(), &[vec![4, 4, 2], vec![0], vec![3]]);
        assert_eq!(c.nblocks(), 3);
        assert!(Chunks::uniform(&[3], &[0]).is_err());
        assert!(Chunks::uniform(&[3], &[1, 1]).is_err());
    }

    #[test]
    fn explicit_must_add_up() {
        let c = Chunks::new(vec![vec![2, 2]]).unwrap();
        let e = c.check_shape(&[5]).unwrap_err().to_string();
        assert!(e.contains("add up to 4"), "{e}");
        assert!(Chunks::new(vec![vec![2, 0, 1]]).is_ok());
        assert!(Chunks::new(vec![vec![]]).is_err());
    }

    #[test]
    fn auto_hits_target() {
        let c = Chunks::auto(&[365, 720, 1440], DType::F32, 16 << 20).unwrap();
        let bytes: usize = c.max_block_shape().iter().product::<usize>() * 4;
        assert!(bytes <= 16 << 20 && bytes > 2 << 20, "{bytes}");
    }

    #[test]
    fn refine() {
        assert_eq!(refine_axis(&[3, 3], &[2, 4]), vec![2, 1, 3]);
        assert_eq!(refine_axis(&[0], &[0]), vec![0]);
    }

    #[test]
    fn huge_shapes_and_block_counts_are_errors_not_aborts() {
        let e = Chunks::uniform(&[1_000_000_000_000], &[1]).unwrap_err().to_string();
        assert!(e.contains("blocks") && e.contains("larger blocks"), "{e}");
        let e = Chunks::uniform(&[1 << 40, 1 << 40], &[1 << 30, 1 << 30]).unwrap_err().to_string();
        assert!(e.contains("more elements"), "{e}");
        assert!(Chunks::auto(&[usize::MAX, 2], DType::F64, 1 << 20).is_err());
        // An empty array is one block, whatever its other axes.
        assert_eq!(Chunks::auto(&[0, 1 << 61], DType::F64, 1 << 20).unwrap().nblocks(), 1);
        // Large but sane: 1e12 elements in 1e9-element blocks.
        assert_eq!(Chunks::uniform(&[1_000_000, 1_000_000], &[100_000, 10_000]).unwrap().nblocks(), 1000);
    }
}
