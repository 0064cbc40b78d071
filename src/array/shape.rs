//! Shape ops that move no data within blocks: transpose and friends, expand_dims, squeeze,
//! flip, broadcast_to, concatenate and stack.
//!
//! Transposes and axis insertions/removals are views of each block (`Op::Relayout`); a block
//! of a concatenation *is* a block of one input (no task of its own); `flip` is a slice with
//! step −1; `broadcast_to` is an elementwise identity whose input broadcasts.

use std::sync::Arc;

use crate::array::elementwise::{broadcast_shapes, rechunk_node};
use crate::array::slice::SliceArg;
use crate::array::{Array, norm_axis};
use crate::core::chunks::{Chunks, refine_axis};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::graph::halo::Boundary;
use crate::graph::node::{Node, Op};
use crate::ir::expr::Expr;

fn relayout<T: Element>(
    x: &Array<T>,
    name: &str,
    drop: Vec<usize>,
    perm: Vec<usize>,
    insert: Vec<usize>,
) -> Array<T> {
    let c = x.chunks();
    let remaining: Vec<&Vec<usize>> =
        (0..x.ndim()).filter(|a| !drop.contains(a)).map(|a| &c.axes()[a]).collect();
    let mut axes: Vec<Vec<usize>> = perm.iter().map(|&p| remaining[p].clone()).collect();
    for &ins in &insert {
        axes.insert(ins, vec![1]);
    }
    if drop.is_empty() && insert.is_empty() && perm.iter().enumerate().all(|(i, &p)| i == p) {
        return x.clone();
    }
    let op = Op::Relayout { drop, perm, insert };
    Array::from_node(Node::new(name, T::DTYPE, Chunks::from_axes(axes), op, vec![x.node().clone()]))
}

impl<T: Element> Array<T> {
    /// The axes reversed (NumPy's `x.T`).
    pub fn transpose(&self) -> Array<T> {
        relayout(self, "transpose", vec![], (0..self.ndim()).rev().collect(), vec![])
    }
    /// The axes in the given order: output axis `d` is input axis `axes[d]` (negative counts
    /// from the end).
    pub fn permute_axes(&self, axes: &[isize]) -> Result<Array<T>> {
        let nd = self.ndim();
        if axes.len() != nd {
            return Err(Error::invalid(format!(
                "permute_axes: {} axes for an array of {nd} dimension(s)",
                axes.len()
            )));
        }
        let perm: Vec<usize> =
            axes.iter().map(|&a| norm_axis("permute_axes", a, nd)).collect::<Result<_>>()?;
        let mut seen = vec![false; nd];
        for &p in &perm {
            if std::mem::replace(&mut seen[p], true) {
                return Err(Error::InvalidAxis {
                    op: "permute_axes (repeated axis)".into(),
                    axis: p as isize,
                    ndim: nd,
                });
            }
        }
        Ok(relayout(self, "transpose", vec![], perm, vec![]))
    }
    /// Axes `a` and `b` swapped.
    pub fn swapaxes(&self, a: isize, b: isize) -> Result<Array<T>> {
        let nd = self.ndim();
        let (a, b) = (norm_axis("swapaxes", a, nd)?, norm_axis("swapaxes", b, nd)?);
        let mut perm: Vec<usize> = (0..nd).collect();
        perm.swap(a, b);
        Ok(relayout(self, "swapaxes", vec![], perm, vec![]))
    }
    /// Axis `src` moved to position `dst`, the others keeping their order.
    pub fn moveaxis(&self, src: isize, dst: isize) -> Result<Array<T>> {
        let nd = self.ndim();
        let (s, d) = (norm_axis("moveaxis", src, nd)?, norm_axis("moveaxis", dst, nd)?);
        let mut perm: Vec<usize> = (0..nd).filter(|&a| a != s).collect();
        perm.insert(d, s);
        Ok(relayout(self, "moveaxis", vec![], perm, vec![]))
    }
    /// A new axis of length 1 at position `axis` of the result (`-1`: last).
    pub fn expand_dims(&self, axis: isize) -> Result<Array<T>> {
        let ax = norm_axis("expand_dims", axis, self.ndim() + 1)?;
        Ok(relayout(self, "expand_dims", vec![], (0..self.ndim()).collect(), vec![ax]))
    }
    /// Length-1 axes removed: the given ones (an error if one is longer), or all with `None`.
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array<T>> {
        let nd = self.ndim();
        let drop: Vec<usize> = match axes {
            None => (0..nd).filter(|&a| self.shape()[a] == 1).collect(),
            Some(list) => {
                let mut v: Vec<usize> =
                    list.iter().map(|&a| norm_axis("squeeze", a, nd)).collect::<Result<_>>()?;
                v.sort_unstable();
                v.dedup();
                if let Some(&a) = v.iter().find(|&&a| self.shape()[a] != 1) {
                    return Err(Error::invalid(format!(
                        "squeeze: axis {a} has length {}, not 1 (shape {:?})",
                        self.shape()[a],
                        self.shape()
                    )));
                }
                v
            }
        };
        let keep = nd - drop.len();
        Ok(relayout(self, "squeeze", drop, (0..keep).collect(), vec![]))
    }
    /// The elements of `axis` in reverse order (a slice with step −1).
    pub fn flip(&self, axis: isize) -> Result<Array<T>> {
        let ax = norm_axis("flip", axis, self.ndim())?;
        let mut args = vec![SliceArg::full(); self.ndim()];
        args[ax] = SliceArg::reversed();
        self.slice(&args)
    }
    /// A read-only broadcast to `shape` (NumPy rules). New and stretched axes are one block.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array<T>> {
        let out = broadcast_shapes("broadcast_to", &[self.shape(), shape])?;
        if out != shape {
            return Err(Error::ShapeMismatch {
                op: "broadcast_to".into(),
                left: self.shape().to_vec(),
                right: shape.to_vec(),
            });
        }
        let off = shape.len() - self.ndim();
        let axes: Vec<Vec<usize>> = (0..shape.len())
            .map(|d| {
                if d >= off && self.shape()[d - off] == shape[d] {
                    self.chunks().axis(d - off).to_vec()
                } else {
                    vec![shape[d]]
                }
            })
            .collect();
        let expr = Arc::new(Expr::input(T::DTYPE));
        let node = Node::new(
            "broadcast_to",
            T::DTYPE,
            Chunks::from_axes(axes),
            Op::Elementwise(expr),
            vec![self.node().clone()],
        );
        Ok(Array::from_node(node))
    }
}

impl<T: Element> Array<T> {
    /// Padded by `width[a] = (before, after)` elements along each axis, the new elements
    /// given by `mode` as `numpy.pad` does: `Constant(v)` = "constant", `Nearest` = "edge",
    /// `Mirror` = "reflect", `Reflect` = "symmetric", `Periodic` = "wrap". Only the first and
    /// last blocks of an axis grow.
    ///
    /// ```
    /// use tessera::overlap::Boundary;
    /// let x = tessera::arange(1i64, 4, 1, [2]).unwrap();
    /// let y = x.pad(&[(2, 1)], Boundary::Mirror).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![3, 2, 1, 2, 3, 2]);
    /// ```
    pub fn pad(&self, width: &[(usize, usize)], mode: Boundary) -> Result<Array<T>> {
        let nd = self.ndim();
        if width.len() != nd {
            return Err(Error::invalid(format!(
                "pad: {} widths for an array of {nd} dimension(s)",
                width.len()
            )));
        }
        if mode == Boundary::None {
            return Err(Error::invalid(
                "pad: Boundary::None adds nothing; use Constant, Nearest, Mirror, Reflect or Periodic",
            ));
        }
        if !matches!(mode, Boundary::Constant(_))
            && let Some(a) = (0..nd).find(|&a| self.shape()[a] == 0 && width[a] != (0, 0))
        {
            return Err(Error::invalid(format!("pad: cannot extend the empty axis {a} with {mode:?}")));
        }
        let axes: Vec<Vec<usize>> = (0..nd)
            .map(|a| {
                let mut v = self.chunks().axis(a).to_vec();
                let last = v.len() - 1;
                v[0] += width[a].0;
                v[last] += width[a].1;
                v
            })
            .collect();
        let op = Op::Pad { width: width.to_vec(), boundary: vec![mode; nd] };
        Ok(Array::from_node(Node::new(
            "pad",
            T::DTYPE,
            Chunks::from_axes(axes),
            op,
            vec![self.node().clone()],
        )))
    }

    /// Elements rolled by `shift` along `axis` (NumPy's `roll`): element `i` moves to
    /// `(i + shift) mod n`.
    pub fn roll(&self, shift: isize, axis: isize) -> Result<Array<T>> {
        let ax = norm_axis("roll", axis, self.ndim())?;
        let n = self.shape()[ax] as isize;
        if n == 0 || shift.rem_euclid(n) == 0 {
            return Ok(self.clone());
        }
        let s = shift.rem_euclid(n);
        let mut head = vec![SliceArg::full(); self.ndim()];
        let mut tail = head.clone();
        head[ax] = SliceArg::new(Some(n - s), None, 1);
        tail[ax] = SliceArg::new(None, Some(n - s), 1);
        concatenate(&[&self.slice(&head)?, &self.slice(&tail)?], ax as isize)
    }
}

/// Arrays joined along `axis` (they must agree on every other axis; their chunks there are
/// unified). Each block of the result is a block of one input.
///
/// ```
/// let a = tessera::ones::<i32>(&[2, 3], [1, 3]).unwrap();
/// let b = tessera::zeros::<i32>(&[1, 3], [1, 2]).unwrap();
/// let c = tessera::concatenate(&[&a, &b], 0).unwrap();
/// assert_eq!(c.shape(), &[3, 3]);
/// assert_eq!(c.to_vec().unwrap(), vec![1, 1, 1, 1, 1, 1, 0, 0, 0]);
/// ```
pub fn concatenate<T: Element>(arrays: &[&Array<T>], axis: isize) -> Result<Array<T>> {
    let first = arrays.first().ok_or_else(|| Error::invalid("concatenate of no arrays"))?;
    let nd = first.ndim();
    if nd == 0 {
        return Err(Error::invalid("concatenate: 0-d arrays have no axis to join along"));
    }
    let ax = norm_axis("concatenate", axis, nd)?;
    for a in arrays {
        let ok = a.ndim() == nd && (0..nd).all(|d| d == ax || a.shape()[d] == first.shape()[d]);
        if !ok {
            return Err(Error::ShapeMismatch {
                op: format!("concatenate along axis {ax}"),
                left: first.shape().to_vec(),
                right: a.shape().to_vec(),
            });
        }
    }
    let mut common: Vec<Vec<usize>> = first.chunks().axes().to_vec();
    for a in &arrays[1..] {
        for d in (0..nd).filter(|&d| d != ax) {
            common[d] = refine_axis(&common[d], a.chunks().axis(d));
        }
    }
    let nonempty: Vec<&&Array<T>> = arrays.iter().filter(|a| a.shape()[ax] > 0).collect();
    let mut inputs = Vec::new();
    let mut along = Vec::new();
    for a in if nonempty.is_empty() { vec![&arrays[0]] } else { nonempty } {
        let mut want = common.clone();
        want[ax] = a.chunks().axis(ax).to_vec();
        along.extend_from_slice(a.chunks().axis(ax));
        inputs.push(rechunk_node(a.node(), Chunks::from_axes(want)));
    }
    if inputs.len() == 1 && arrays.len() == 1 {
        return Ok((*arrays[0]).clone());
    }
    let mut axes = common;
    axes[ax] = along;
    Ok(Array::from_node(Node::new(
        "concatenate",
        T::DTYPE,
        Chunks::from_axes(axes),
        Op::Concat { axis: ax },
        inputs,
    )))
}

/// Arrays of one shape stacked along a new axis at position `axis` of the result.
pub fn stack<T: Element>(arrays: &[&Array<T>], axis: isize) -> Result<Array<T>> {
    let first = arrays.first().ok_or_else(|| Error::invalid("stack of no arrays"))?;
    if let Some(a) = arrays.iter().find(|a| a.shape() != first.shape()) {
        return Err(Error::ShapeMismatch {
            op: "stack".into(),
            left: first.shape().to_vec(),
            right: a.shape().to_vec(),
        });
    }
    let ax = norm_axis("stack", axis, first.ndim() + 1)? as isize;
    let expanded: Vec<Array<T>> = arrays.iter().map(|a| a.expand_dims(ax)).collect::<Result<_>>()?;
    let refs: Vec<&Array<T>> = expanded.iter().collect();
    concatenate(&refs, ax)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

/// Rechunked input chunks and output chunks for a blockwise reshape, dask's way: axes are
/// grouped where the running products of the two shapes meet; within a group the inner axes
/// (all but the first, on both sides) become single blocks and the first input axis is cut
/// into blocks that hold whole rows of the output's inner axes (its own blocks are kept
/// when they already do: a pure merge, or an axis mapping to itself).
fn reshape_chunks(
    input: &Chunks,
    in_shape: &[usize],
    out_shape: &[usize],
) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut in_axes: Vec<Vec<usize>> = Vec::new();
    let mut out_axes: Vec<Vec<usize>> = Vec::new();
    let (nin, nout) = (in_shape.len(), out_shape.len());
    let (mut i, mut j) = (0, 0);
    while i < nin || j < nout {
        let (i0, j0) = (i, j);
        if i == nin || j == nout {
            // Only length-1 axes are left on one side: each is its own group.
            if i < nin {
                in_axes.push(vec![in_shape[i]]);
                i += 1;
            } else {
                out_axes.push(vec![out_shape[j]]);
                j += 1;
            }
            continue;
        }
        let (mut pi, mut pj) = (in_shape[i], out_shape[j]);
        i += 1;
        j += 1;
        while pi != pj {
            if pi < pj {
                pi *= in_shape[i];
                i += 1;
            } else {
                pj *= out_shape[j];
                j += 1;
            }
        }
        let ins = &in_shape[i0..i];
        let outs = &out_shape[j0..j];
        // Inner axes of the group become single blocks; the first input axis is cut into
        // blocks whose element counts are whole rows of the output's inner axes.
        let inner_in: usize = ins[1..].iter().product();
        let inner_out: usize = outs[1..].iter().product();
        let m = inner_out / gcd(inner_in, inner_out);
        let first: Vec<usize> = if m == 1 {
            input.axis(i0).to_vec()
        } else {
            let c = input.axis(i0).iter().copied().max().unwrap_or(1).div_ceil(m).max(1) * m;
            crate::core::chunks::split_axis(ins[0], c)
        };
        out_axes.push(first.iter().map(|&c| c * inner_in / inner_out).collect());
        for &n in &outs[1..] {
            out_axes.push(vec![n]);
        }
        in_axes.push(first);
        for &n in &ins[1..] {
            in_axes.push(vec![n]);
        }
    }
    (in_axes, out_axes)
}

impl<T: Element> Array<T> {
    /// The same elements (C order) in a new shape; one entry may be `-1` (inferred), as in
    /// NumPy. Every reshape NumPy allows is allowed: where a reshape crosses block boundaries
    /// the input is first rechunked (dask's rule: merged inner axes and split inner axes
    /// become single blocks), then every block is reshaped on its own.
    ///
    /// ```
    /// let x = tessera::arange(0i64, 24, 1, [5]).unwrap();
    /// let y = x.reshape(&[2, -1, 4]).unwrap();
    /// assert_eq!(y.shape(), &[2, 3, 4]);
    /// assert_eq!(y.to_vec().unwrap(), (0..24).collect::<Vec<i64>>());
    /// ```
    pub fn reshape(&self, shape: &[isize]) -> Result<Array<T>> {
        let size = self.size();
        let known: usize = shape.iter().filter(|&&s| s >= 0).map(|&s| s as usize).product();
        let infer = shape.iter().filter(|&&s| s == -1).count();
        if infer > 1 || shape.iter().any(|&s| s < -1) {
            return Err(Error::invalid(format!("reshape: invalid shape {shape:?}")));
        }
        let out: Vec<usize> = shape
            .iter()
            .map(|&s| if s == -1 { size.checked_div(known).unwrap_or(0) } else { s as usize })
            .collect();
        if out.iter().product::<usize>() != size {
            return Err(Error::ShapeMismatch {
                op: "reshape (sizes differ)".into(),
                left: self.shape().to_vec(),
                right: out,
            });
        }
        if out == self.shape() {
            return Ok(self.clone());
        }
        let one_block = || -> Result<(Array<T>, Chunks)> {
            Ok((self.rechunk(Chunks::single(self.shape()))?, Chunks::single(&out)))
        };
        let (x, out_chunks) = if size == 0 || self.nblocks() == 1 {
            one_block()?
        } else {
            let (in_axes, out_axes) = reshape_chunks(self.chunks(), self.shape(), &out);
            let x = self.rechunk(Chunks::new(in_axes)?)?;
            let out_chunks = Chunks::new(out_axes)?;
            // Should the grouping ever give grids that differ, one block is always right.
            if out_chunks.nblocks() == x.nblocks() { (x, out_chunks) } else { one_block()? }
        };
        let node = Node::new("reshape", T::DTYPE, out_chunks, Op::ReshapeBlocks, vec![x.node().clone()]);
        Ok(Array::from_node(node))
    }
}

/// Assemble an array from a grid of arrays (NumPy's `np.block` for two levels of nesting):
/// each row of `rows` is concatenated along the last axis, then the rows along the
/// second-to-last. Arrays of fewer than two dimensions are treated as having leading length-1
/// axes, as in NumPy. Deeper nesting: [`block_nested`].
///
/// ```
/// let a = tessera::ones::<i32>(&[2, 2], [1, 2]).unwrap();
/// let b = tessera::zeros::<i32>(&[2, 1], [2, 1]).unwrap();
/// let c = tessera::full::<i32>(&[1, 3], 7, [1, 3]).unwrap();
/// let m = tessera::block(&[&[&a, &b], &[&c]]).unwrap();
/// assert_eq!(m.shape(), &[3, 3]);
/// assert_eq!(m.to_vec().unwrap(), vec![1, 1, 0, 1, 1, 0, 7, 7, 7]);
/// ```
pub fn block<T: Element>(rows: &[&[&Array<T>]]) -> Result<Array<T>> {
    let tree = Nested::List(
        rows.iter().map(|r| Nested::List(r.iter().map(|&a| Nested::Array(a)).collect())).collect(),
    );
    block_nested(&tree)
}

/// A nested list of arrays for [`block_nested`] (NumPy's nested lists in `np.block`).
#[derive(Debug)]
pub enum Nested<'a, T: Element> {
    /// An array (a leaf).
    Array(&'a Array<T>),
    /// A list of nested lists, all of the same depth.
    List(Vec<Nested<'a, T>>),
}

impl<T: Element> Nested<'_, T> {
    /// List depth to the leaves, if every leaf is at the same depth.
    fn depth(&self) -> Result<usize> {
        match self {
            Nested::Array(_) => Ok(0),
            Nested::List(items) => {
                let mut d = None;
                for it in items {
                    let k = it.depth()?;
                    if d.is_some_and(|d| d != k) {
                        return Err(Error::invalid("block: list depths are mismatched"));
                    }
                    d = Some(k);
                }
                d.map(|d| d + 1).ok_or_else(|| Error::invalid("block: an empty list"))
            }
        }
    }
    fn max_ndim(&self) -> usize {
        match self {
            Nested::Array(a) => a.ndim(),
            Nested::List(items) => items.iter().map(Nested::max_ndim).max().unwrap_or(0),
        }
    }
}

/// NumPy's `np.block` for any depth of nesting: with lists nested `d` deep, the innermost
/// lists are concatenated along the last axis, the next level along the second-to-last, and
/// so on; the result has `max(d, largest ndim)` dimensions, and arrays with fewer get leading
/// length-1 axes. Every leaf must be at the same depth.
///
/// ```
/// use tessera::Nested::{Array as A, List as L};
/// let a = tessera::ones::<i32>(&[1, 1, 2], [1, 1, 2]).unwrap();
/// let b = tessera::zeros::<i32>(&[1, 1, 2], [1, 1, 1]).unwrap();
/// // Depth 3: [[[a, b]], [[b, a]]] → shape (2, 1, 4).
/// let t = L(vec![L(vec![L(vec![A(&a), A(&b)])]), L(vec![L(vec![A(&b), A(&a)])])]);
/// let m = tessera::block_nested(&t).unwrap();
/// assert_eq!(m.shape(), &[2, 1, 4]);
/// assert_eq!(m.to_vec().unwrap(), vec![1, 1, 0, 0, 0, 0, 1, 1]);
/// ```
pub fn block_nested<T: Element>(tree: &Nested<'_, T>) -> Result<Array<T>> {
    let depth = tree.depth()?;
    let nd = depth.max(tree.max_ndim());
    fn join<T: Element>(t: &Nested<'_, T>, level: usize, depth: usize, nd: usize) -> Result<Array<T>> {
        match t {
            Nested::Array(a) => {
                let mut a = (*a).clone();
                while a.ndim() < nd {
                    a = a.expand_dims(0)?;
                }
                Ok(a)
            }
            Nested::List(items) => {
                let parts: Vec<Array<T>> =
                    items.iter().map(|it| join(it, level + 1, depth, nd)).collect::<Result<_>>()?;
                let refs: Vec<&Array<T>> = parts.iter().collect();
                // The outermost list (level 0) joins along axis -depth, the innermost along -1.
                concatenate(&refs, level as isize - depth as isize)
            }
        }
    }
    join(tree, 0, depth, nd)
}
