//! Index arithmetic of ghost cells: which input elements make up a block extended by a halo,
//! under each boundary condition. Pure functions; the planner turns their answer into a
//! gather kernel that moves only the faces, edges and corners a block needs.

use std::ops::Range;

use crate::core::chunks::{Chunks, linear_index, unravel};
use crate::core::dtype::{DType, Scalar};
use crate::ir::kernel::{AxisRun, GatherKernel};

/// What lies beyond the edges of an array when a halo reaches past them.
///
/// | tessera | dask `boundary=` | NumPy `np.pad(mode=)` | beyond `[a b c d]` on the left |
/// |---|---|---|---|
/// | `Periodic` | `"periodic"` | `"wrap"` | `… c d \| a b c d` |
/// | `Reflect` | `"reflect"` | `"symmetric"` (edge repeated) | `… b a \| a b c d` |
/// | `Mirror` | — | `"reflect"` (edge not repeated) | `… c b \| a b c d` |
/// | `Nearest` | `"nearest"` | `"edge"` | `… a a \| a b c d` |
/// | `Constant(v)` | `v` (a number) | `"constant"` | `… v v \| a b c d` |
/// | `None` | `"none"` | — | blocks at the edge get no halo on that side |
///
/// tessera keeps dask's meaning of `Reflect` (NumPy's "symmetric"); NumPy's "reflect" is
/// `Mirror`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Boundary {
    /// Wrap around: the array is periodic.
    Periodic,
    /// Mirror including the edge element (dask's "reflect", NumPy's "symmetric").
    Reflect,
    /// Mirror excluding the edge element (NumPy's "reflect").
    Mirror,
    /// Repeat the edge element.
    Nearest,
    /// A constant value (cast to the array's dtype).
    Constant(f64),
    /// No halo beyond the array's edges.
    None,
}

impl Boundary {
    /// The input index that position `q` (possibly outside `0..n`) reads, or `None` for a
    /// constant.
    pub fn source(self, q: isize, n: usize) -> Option<usize> {
        let ni = n as isize;
        if (0..ni).contains(&q) {
            return Some(q as usize);
        }
        if n == 0 {
            return None;
        }
        match self {
            Boundary::Periodic => Some(q.rem_euclid(ni) as usize),
            Boundary::Reflect => {
                let m = q.rem_euclid(2 * ni);
                Some(if m < ni { m } else { 2 * ni - 1 - m } as usize)
            }
            Boundary::Mirror => {
                if n == 1 {
                    return Some(0);
                }
                let m = q.rem_euclid(2 * ni - 2);
                Some(if m < ni { m } else { 2 * ni - 2 - m } as usize)
            }
            Boundary::Nearest => Some(q.clamp(0, ni - 1) as usize),
            Boundary::Constant(_) | Boundary::None => None,
        }
    }
}

/// Halo widths `(left, right)` of block `i` of an axis whose block offsets are `offsets`
/// (the axis length last). With [`Boundary::None`] a halo stops at the array's edges.
pub(crate) fn halo(offsets: &[usize], i: usize, depth: usize, b: Boundary) -> (usize, usize) {
    if b == Boundary::None {
        let n = offsets[offsets.len() - 1];
        (depth.min(offsets[i]), depth.min(n - offsets[i + 1]))
    } else {
        (depth, depth)
    }
}

/// Chunks of an array extended by halos.
pub(crate) fn extended_chunks(chunks: &Chunks, depth: &[usize], boundary: &[Boundary]) -> Chunks {
    let axes = chunks
        .axes()
        .iter()
        .enumerate()
        .map(|(a, blocks)| {
            blocks
                .iter()
                .enumerate()
                .map(|(i, &len)| {
                    let (l, r) = halo(chunks.offsets(a), i, depth[a], boundary[a]);
                    len + l + r
                })
                .collect()
        })
        .collect();
    Chunks::from_axes(axes)
}

/// A run of consecutive output positions along one axis: a constant, or elements of one
/// input block read with step 1, -1 or 0.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Const(Range<usize>),
    Run { out: Range<usize>, block: usize, run: AxisRun },
}

/// The segments making up block `i` of one axis extended by its halo.
fn axis_segments(offsets: &[usize], i: usize, (left, right): (usize, usize), b: Boundary) -> Vec<Seg> {
    let n = offsets[offsets.len() - 1];
    let (s, e) = (offsets[i] as isize - left as isize, (offsets[i + 1] + right) as isize);
    let mut segs: Vec<Seg> = Vec::new();
    for (p, q) in (s..e).enumerate() {
        match b.source(q, n) {
            None => match segs.last_mut() {
                Some(Seg::Const(r)) => r.end = p + 1,
                _ => segs.push(Seg::Const(p..p + 1)),
            },
            Some(g) => {
                let blk = offsets.partition_point(|&o| o <= g) - 1;
                let local = g - offsets[blk];
                if let Some(Seg::Run { out, block, run }) = segs.last_mut()
                    && *block == blk
                {
                    let last = run.0 as isize + run.1 * (run.2 as isize - 1);
                    let step = local as isize - last;
                    if run.2 == 1 && step.abs() <= 1 {
                        run.1 = step;
                        run.2 = 2;
                        out.end = p + 1;
                        continue;
                    }
                    if step == run.1 {
                        run.2 += 1;
                        out.end = p + 1;
                        continue;
                    }
                }
                segs.push(Seg::Run { out: p..p + 1, block: blk, run: (local, 1, 1) });
            }
        }
    }
    segs
}

/// The gather kernel of block `idx` of `chunks` extended by halos, and the input blocks it
/// reads (in the order of its input positions).
pub(crate) fn gather_block(
    chunks: &Chunks,
    dtype: DType,
    idx: &[usize],
    depth: &[usize],
    boundary: &[Boundary],
) -> (GatherKernel, Vec<Vec<usize>>) {
    let ext: Vec<(usize, usize)> =
        (0..chunks.ndim()).map(|a| halo(chunks.offsets(a), idx[a], depth[a], boundary[a])).collect();
    gather_extended(chunks, dtype, idx, &ext, boundary)
}

/// Pad widths `(before, after)` of block `i` of an axis with `nblocks` blocks padded by
/// `(before, after)`: only the outer blocks grow.
pub(crate) fn pad_extent(i: usize, nblocks: usize, (before, after): (usize, usize)) -> (usize, usize) {
    (if i == 0 { before } else { 0 }, if i + 1 == nblocks { after } else { 0 })
}

/// The gather kernel of block `idx` extended by `ext[a] = (left, right)` elements per axis,
/// with `boundary[a]` beyond the array's edges.
pub(crate) fn gather_extended(
    chunks: &Chunks,
    dtype: DType,
    idx: &[usize],
    ext: &[(usize, usize)],
    boundary: &[Boundary],
) -> (GatherKernel, Vec<Vec<usize>>) {
    let nd = chunks.ndim();
    let per_axis: Vec<Vec<Seg>> =
        (0..nd).map(|a| axis_segments(chunks.offsets(a), idx[a], ext[a], boundary[a])).collect();
    let out_shape: Vec<usize> = per_axis
        .iter()
        .map(|segs| {
            segs.last().map_or(0, |s| match s {
                Seg::Const(r) => r.end,
                Seg::Run { out, .. } => out.end,
            })
        })
        .collect();
    let fill = boundary
        .iter()
        .find_map(|b| if let Boundary::Constant(v) = b { Some(Scalar::F64(*v)) } else { None })
        .unwrap_or(Scalar::F64(0.0));
    let counts: Vec<usize> = per_axis.iter().map(|s| s.len()).collect();
    let grid = chunks.numblocks();
    let mut inputs: Vec<Vec<usize>> = Vec::new();
    let mut input_pos: std::collections::HashMap<usize, usize> = Default::default();
    let mut pieces = Vec::new();
    let total: usize = counts.iter().product();
    'combos: for lin in 0..total {
        let c = unravel(lin, &counts);
        let mut block = Vec::with_capacity(nd);
        let mut runs = Vec::with_capacity(nd);
        let mut dst = Vec::with_capacity(nd);
        for (a, &k) in c.iter().enumerate() {
            match &per_axis[a][k] {
                Seg::Const(_) => continue 'combos,
                Seg::Run { out, block: b, run } => {
                    block.push(*b);
                    runs.push(*run);
                    dst.push(out.clone());
                }
            }
        }
        let key = linear_index(&block, &grid);
        let pos = *input_pos.entry(key).or_insert_with(|| {
            inputs.push(block.clone());
            inputs.len() - 1
        });
        pieces.push((pos, runs, dst));
    }
    let covered = per_axis.iter().all(|segs| segs.iter().all(|s| matches!(s, Seg::Run { .. })));
    (GatherKernel { dtype, out_shape, fill, covered, pieces }, inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_match_numpy_pad_modes() {
        // np.pad(np.arange(4), 3, mode=...) on the left: indices of the padded elements.
        let left = |b: Boundary| (-3..0).map(|q| b.source(q, 4)).collect::<Vec<_>>();
        assert_eq!(left(Boundary::Periodic), vec![Some(1), Some(2), Some(3)]); // wrap
        assert_eq!(left(Boundary::Reflect), vec![Some(2), Some(1), Some(0)]); // symmetric
        assert_eq!(left(Boundary::Mirror), vec![Some(3), Some(2), Some(1)]); // reflect
        assert_eq!(left(Boundary::Nearest), vec![Some(0), Some(0), Some(0)]); // edge
        assert_eq!(left(Boundary::Constant(1.0)), vec![None, None, None]);
    }

    #[test]
    fn segments_cover_the_extended_block() {
        let offsets = [0, 3, 6, 7];
        for b in [
            Boundary::Periodic,
            Boundary::Reflect,
            Boundary::Mirror,
            Boundary::Nearest,
            Boundary::Constant(2.0),
            Boundary::None,
        ] {
            for depth in [0, 1, 2, 5, 9] {
                for i in 0..3 {
                    let segs = axis_segments(&offsets, i, halo(&offsets, i, depth, b), b);
                    let mut p = 0;
                    for s in &segs {
                        let r = match s {
                            Seg::Const(r) => r.clone(),
                            Seg::Run { out, .. } => out.clone(),
                        };
                        assert_eq!(r.start, p);
                        p = r.end;
                    }
                    let (l, r) = halo(&offsets, i, depth, b);
                    assert_eq!(p, offsets[i + 1] - offsets[i] + l + r, "{b:?} depth {depth} block {i}");
                    assert!(b != Boundary::None || segs.iter().all(|s| matches!(s, Seg::Run { .. })));
                }
            }
        }
    }
}
