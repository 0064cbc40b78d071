//! NumPy's indexing in one call: [`Array::index`] takes integers, slices, integer arrays,
//! boolean masks, new axes and an ellipsis together, as `x[...]` does in NumPy.
//!
//! Everything is composed of the lazy ops that exist: the basic items (integers, slices) are
//! one [`Array::slice`], new axes are [`Array::expand_dims`], and the advanced items (integer
//! arrays and boolean masks, whose true positions are integer arrays) are a [`Array::take`]
//! (one array), a [`Array::vindex`] (one array per axis) or, for several arrays among other
//! axes, a take of the few distinct indices per axis, a reshape merging those axes and one
//! take of the flat positions. A lazy mask ([`Idx::LazyMask`]) is [`Array::compress`], whose
//! counting pass is the only thing computed when the index is built.
//!
//! NumPy's placement rule holds: the advanced items broadcast together to a shape `B`; if
//! they sit next to each other in the index (integers count as advanced items when there is
//! an array among the items), `B`'s axes replace them in place, otherwise (a slice, an
//! ellipsis or a new axis between them) they come first.

use ndarray::{ArrayD, IxDyn};

use crate::array::Array;
use crate::array::slice::SliceArg;
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};

/// One item of a NumPy index for [`Array::index`] (build a list with the [`idx!`](crate::idx)
/// macro).
#[derive(Debug, Clone)]
pub enum Idx {
    /// An integer (negative counts from the end): the axis is removed.
    Int(isize),
    /// `start:stop:step` with Python's semantics (bounds clamped, negative steps allowed).
    Slice {
        /// First index (negative counts from the end); `None`: the step's default.
        start: Option<isize>,
        /// One past the last index (negative counts from the end); `None`: the step's default.
        stop: Option<isize>,
        /// The step, not zero.
        step: isize,
    },
    /// An integer array of any shape (negative entries count from the end).
    Ints(ArrayD<isize>),
    /// A boolean mask over as many axes as it has dimensions (their lengths must match): its
    /// true positions, in C order, index those axes.
    Mask(ArrayD<bool>),
    /// A lazy boolean mask over as many axes as it has dimensions. It is counted (computed
    /// once, keeping only its per-block counts) when the index is built; it may be combined
    /// with integers and slices, but not with other arrays.
    LazyMask(Array<bool>),
    /// A new axis of length 1 (NumPy's `None` / `np.newaxis`).
    NewAxis,
    /// As many full slices as the other items leave axes (NumPy's `...`); at most one.
    Ellipsis,
}

impl Idx {
    /// `start:stop:step`.
    pub fn slice(start: Option<isize>, stop: Option<isize>, step: isize) -> Self {
        Idx::Slice { start, stop, step }
    }
    /// The whole axis, `:`.
    pub fn full() -> Self {
        Idx::Slice { start: None, stop: None, step: 1 }
    }
    /// A 1-d integer array from a list.
    pub fn ints(list: &[isize]) -> Self {
        Idx::Ints(ArrayD::from_shape_vec(IxDyn(&[list.len()]), list.to_vec()).expect("1-d list"))
    }
    /// A 1-d boolean mask from a list.
    pub fn mask(list: &[bool]) -> Self {
        Idx::Mask(ArrayD::from_shape_vec(IxDyn(&[list.len()]), list.to_vec()).expect("1-d list"))
    }
    /// How many axes of the array this item consumes.
    fn consumes(&self) -> usize {
        match self {
            Idx::Int(_) | Idx::Slice { .. } | Idx::Ints(_) => 1,
            Idx::Mask(m) => m.ndim(),
            Idx::LazyMask(m) => m.ndim(),
            Idx::NewAxis | Idx::Ellipsis => 0,
        }
    }
    fn is_array(&self) -> bool {
        matches!(self, Idx::Ints(_) | Idx::Mask(_) | Idx::LazyMask(_))
    }
}

impl From<SliceArg> for Idx {
    fn from(s: SliceArg) -> Self {
        match s {
            SliceArg::Index(i) => Idx::Int(i),
            SliceArg::Range { start, stop, step } => Idx::Slice { start, stop, step },
        }
    }
}
impl From<isize> for Idx {
    fn from(i: isize) -> Self {
        Idx::Int(i)
    }
}
impl From<i32> for Idx {
    fn from(i: i32) -> Self {
        Idx::Int(i as isize)
    }
}
impl From<std::ops::Range<i32>> for Idx {
    fn from(r: std::ops::Range<i32>) -> Self {
        SliceArg::from(r).into()
    }
}
impl From<std::ops::Range<isize>> for Idx {
    fn from(r: std::ops::Range<isize>) -> Self {
        SliceArg::from(r).into()
    }
}
impl From<std::ops::RangeFrom<i32>> for Idx {
    fn from(r: std::ops::RangeFrom<i32>) -> Self {
        SliceArg::from(r).into()
    }
}
impl From<std::ops::RangeTo<i32>> for Idx {
    fn from(r: std::ops::RangeTo<i32>) -> Self {
        SliceArg::from(r).into()
    }
}
impl From<std::ops::RangeFull> for Idx {
    fn from(_: std::ops::RangeFull) -> Self {
        Idx::full()
    }
}
impl From<(Option<isize>, Option<isize>, isize)> for Idx {
    fn from(t: (Option<isize>, Option<isize>, isize)) -> Self {
        Idx::slice(t.0, t.1, t.2)
    }
}
impl From<&[isize]> for Idx {
    fn from(l: &[isize]) -> Self {
        Idx::ints(l)
    }
}
impl From<Vec<isize>> for Idx {
    fn from(l: Vec<isize>) -> Self {
        Idx::ints(&l)
    }
}
impl<const N: usize> From<[isize; N]> for Idx {
    fn from(l: [isize; N]) -> Self {
        Idx::ints(&l)
    }
}
impl<const N: usize> From<[i32; N]> for Idx {
    fn from(l: [i32; N]) -> Self {
        Idx::ints(&l.map(|i| i as isize))
    }
}
impl From<Vec<i32>> for Idx {
    fn from(l: Vec<i32>) -> Self {
        Idx::ints(&l.iter().map(|&i| i as isize).collect::<Vec<_>>())
    }
}
impl From<ArrayD<isize>> for Idx {
    fn from(a: ArrayD<isize>) -> Self {
        Idx::Ints(a)
    }
}
impl From<ArrayD<i64>> for Idx {
    fn from(a: ArrayD<i64>) -> Self {
        Idx::Ints(a.mapv(|i| i as isize))
    }
}
impl From<&[bool]> for Idx {
    fn from(l: &[bool]) -> Self {
        Idx::mask(l)
    }
}
impl From<Vec<bool>> for Idx {
    fn from(l: Vec<bool>) -> Self {
        Idx::mask(&l)
    }
}
impl<const N: usize> From<[bool; N]> for Idx {
    fn from(l: [bool; N]) -> Self {
        Idx::mask(&l)
    }
}
impl From<ArrayD<bool>> for Idx {
    fn from(a: ArrayD<bool>) -> Self {
        Idx::Mask(a)
    }
}
impl From<Array<bool>> for Idx {
    fn from(a: Array<bool>) -> Self {
        Idx::LazyMask(a)
    }
}
impl From<&Array<bool>> for Idx {
    fn from(a: &Array<bool>) -> Self {
        Idx::LazyMask(a.clone())
    }
}

/// Build an array of [`Idx`] items for [`Array::index`]: integers, ranges (`1..5`, `..`),
/// `(start, stop, step)` tuples of `Option` bounds, integer and boolean lists or arrays,
/// `Idx::NewAxis`, `Idx::Ellipsis`: `idx![.., [0, 2], Idx::NewAxis, -1]`.
#[macro_export]
macro_rules! idx {
    ($($e:expr),* $(,)?) => {
        [$($crate::Idx::from($e)),*]
    };
}

/// An advanced item after expansion: the axis of the (expanded) input it indexes.
enum Adv {
    /// Normalised indices (in range), on input axis `axis`.
    Ints { pos: usize, axis: usize, idx: ArrayD<usize> },
    /// A lazy mask over `mask.ndim()` axes from `axis`.
    Lazy { axis: usize, mask: Array<bool> },
}

fn item_err(pos: usize, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("index item {pos}: {msg}"))
}

/// NumPy's broadcast of index shapes, naming the items that disagree.
fn broadcast_index_shapes(shapes: &[(usize, Vec<usize>)]) -> Result<Vec<usize>> {
    let nd = shapes.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    let mut from = vec![None::<usize>; nd];
    for (pos, s) in shapes {
        let off = nd - s.len();
        for (d, &n) in s.iter().enumerate() {
            let o = &mut out[off + d];
            if n == *o || n == 1 {
                continue;
            }
            if *o == 1 {
                *o = n;
                from[off + d] = Some(*pos);
            } else {
                let other = from[off + d].map_or(String::new(), |p| format!(" (item {p})"));
                return Err(item_err(
                    *pos,
                    format!("index array of shape {s:?} does not broadcast with shape {out:?}{other}"),
                ));
            }
        }
    }
    Ok(out)
}

impl<T: Element> Array<T> {
    /// NumPy's indexing in one call, `x[items]`: integers, slices, integer arrays (any
    /// shape), boolean masks over one or more axes, new axes and one ellipsis. Missing
    /// trailing items are full slices.
    ///
    /// The advanced items (integer arrays and masks, and integers when there is an array
    /// among the items) broadcast together to a shape `B`; when they are next to each other
    /// in `items`, `B`'s axes replace them in place, otherwise they come first (NumPy's rule:
    /// `x[:, [0, 1], :, [1, 2]]` of a `(A, B, C, D)` array has shape `(2, A, C)`). Everything
    /// is lazy except a [`Idx::LazyMask`], whose blocks are counted now (as
    /// [`Array::compress`] does). Errors name the index item: an integer out of range, a mask
    /// whose shape differs from the axes it covers, two ellipses, more items than axes.
    ///
    /// ```
    /// use tessera::{Idx, idx};
    /// let x = tessera::arange(0i64, 24, 1, [5]).unwrap().reshape(&[2, 3, 4]).unwrap();
    /// // x[1, ::-1, [0, 3]]: the integer and the list are advanced items apart, so B comes first
    /// let y = x.index(&idx![1, (None, None, -1), [0, 3]]).unwrap();
    /// assert_eq!(y.shape(), &[2, 3]);
    /// assert_eq!(y.to_vec().unwrap(), vec![20, 16, 12, 23, 19, 15]);
    /// // x[1][::-1, [0, 3]]: one advanced item, in place
    /// let w = x.index(&idx![1]).unwrap().index(&idx![(None, None, -1), [0, 3]]).unwrap();
    /// assert_eq!(w.shape(), &[3, 2]);
    /// // x[:, None, [True, False, True], ...]: the mask's result replaces it in place
    /// let z = x.index(&idx![.., Idx::NewAxis, [true, false, true], Idx::Ellipsis]).unwrap();
    /// assert_eq!(z.shape(), &[2, 1, 2, 4]);
    /// ```
    pub fn index(&self, items: &[Idx]) -> Result<Array<T>> {
        let nd = self.ndim();
        // Checks on the items as given.
        let mut ellipsis = None;
        for (p, it) in items.iter().enumerate() {
            match it {
                Idx::Ellipsis => {
                    if let Some(first) = ellipsis {
                        return Err(item_err(p, format!("a second ellipsis (the first is item {first})")));
                    }
                    ellipsis = Some(p);
                }
                Idx::Mask(m) if m.ndim() == 0 => {
                    return Err(item_err(p, "a 0-d boolean mask is not supported"));
                }
                Idx::LazyMask(m) if m.ndim() == 0 => {
                    return Err(item_err(p, "a 0-d boolean mask is not supported"));
                }
                Idx::Slice { step: 0, .. } => return Err(item_err(p, "slice step 0")),
                _ => {}
            }
        }
        let used: usize = items.iter().map(Idx::consumes).sum();
        if used > nd {
            return Err(Error::invalid(format!(
                "too many indices: the items index {used} axes of an array of {nd} dimension(s)"
            )));
        }
        let has_array = items.iter().any(Idx::is_array);
        let adv_pos: Vec<usize> = (0..items.len())
            .filter(|&p| items[p].is_array() || (has_array && matches!(items[p], Idx::Int(_))))
            .collect();
        let adjacent = adv_pos.last().is_none_or(|&l| l + 1 - adv_pos[0] == adv_pos.len());

        // Expand new axes (inserted into the input) and the ellipsis; collect the basic slice.
        let mut x = self.clone();
        let mut args: Vec<SliceArg> = Vec::new();
        let mut advs: Vec<Adv> = Vec::new();
        let mut lazy_pos = None;
        for (p, it) in items.iter().enumerate() {
            let ax = args.len();
            match it {
                Idx::NewAxis => {
                    x = x.expand_dims(ax as isize)?;
                    args.push(SliceArg::full());
                }
                Idx::Ellipsis => args.extend(std::iter::repeat_n(SliceArg::full(), nd - used)),
                Idx::Int(i) => {
                    let n = x.shape()[ax];
                    norm_index(*i, n).ok_or_else(|| out_of_bounds(p, *i, ax, n))?;
                    args.push(SliceArg::Index(*i));
                }
                Idx::Slice { start, stop, step } => args.push(SliceArg::new(*start, *stop, *step)),
                Idx::Ints(a) => {
                    let n = x.shape()[ax];
                    let mut bad = None;
                    let idx = a.mapv(|i| {
                        norm_index(i, n).unwrap_or_else(|| {
                            bad.get_or_insert(i);
                            0
                        })
                    });
                    if let Some(i) = bad {
                        return Err(out_of_bounds(p, i, ax, n));
                    }
                    advs.push(Adv::Ints { pos: p, axis: ax, idx });
                    args.push(SliceArg::full());
                }
                Idx::Mask(m) => {
                    check_mask(p, m.shape(), &x.shape()[ax..ax + m.ndim()], ax)?;
                    let k = m.ndim();
                    let mut coords: Vec<Vec<usize>> = vec![Vec::new(); k];
                    for (i, &v) in m.indexed_iter() {
                        if v {
                            for (d, c) in coords.iter_mut().enumerate() {
                                c.push(i[d]);
                            }
                        }
                    }
                    for (d, c) in coords.into_iter().enumerate() {
                        let idx = ArrayD::from_shape_vec(IxDyn(&[c.len()]), c).expect("1-d");
                        advs.push(Adv::Ints { pos: p, axis: ax + d, idx });
                        args.push(SliceArg::full());
                    }
                }
                Idx::LazyMask(m) => {
                    check_mask(p, m.shape(), &x.shape()[ax..ax + m.ndim()], ax)?;
                    lazy_pos = Some(p);
                    advs.push(Adv::Lazy { axis: ax, mask: m.clone() });
                    args.extend(std::iter::repeat_n(SliceArg::full(), m.ndim()));
                }
            }
        }
        // The basic part: one slice (integers drop their axes).
        let y = x.slice(&args)?;
        let dropped_before = |a: usize| args[..a].iter().filter(|s| matches!(s, SliceArg::Index(_))).count();
        if advs.is_empty() {
            return Ok(y);
        }
        if let Some(p) = lazy_pos
            && advs.len() > 1
        {
            return Err(item_err(
                p,
                "a lazy mask (Array<bool>) combines with integers and slices only; pass the \
                 computed mask (an ndarray) to combine it with other arrays",
            ));
        }
        let (r, pos, bdims) = match &advs[0] {
            Adv::Lazy { axis, mask } => {
                let q = axis - dropped_before(*axis);
                let k = mask.ndim();
                let (y, mask) = if k > 1 {
                    let mut shape: Vec<isize> = y.shape().iter().map(|&n| n as isize).collect();
                    let len: usize = y.shape()[q..q + k].iter().product();
                    shape.splice(q..q + k, [len as isize]);
                    (y.reshape(&shape)?, mask.reshape(&[len as isize])?)
                } else {
                    (y, mask.clone())
                };
                (y.compress(&mask, q as isize)?, q, 1)
            }
            _ => {
                let arrays: Vec<(usize, usize, &ArrayD<usize>)> = advs
                    .iter()
                    .filter_map(|a| match a {
                        Adv::Ints { pos, axis, idx } => Some((*pos, axis - dropped_before(*axis), idx)),
                        Adv::Lazy { .. } => None,
                    })
                    .collect();
                advanced(&y, &arrays)?
            }
        };
        // NumPy's placement: in place when the advanced items are adjacent, else first.
        if adjacent || pos == 0 {
            return Ok(r);
        }
        let n = r.ndim();
        let mut perm: Vec<isize> = (pos..pos + bdims).map(|a| a as isize).collect();
        perm.extend((0..n).filter(|a| !(pos..pos + bdims).contains(a)).map(|a| a as isize));
        r.permute_axes(&perm)
    }
}

fn norm_index(i: isize, n: usize) -> Option<usize> {
    let j = if i < 0 { i + n as isize } else { i };
    (0..n as isize).contains(&j).then_some(j as usize)
}

fn out_of_bounds(pos: usize, i: isize, axis: usize, n: usize) -> Error {
    item_err(pos, format!("index {i} is out of bounds for axis {axis} of length {n}"))
}

fn check_mask(pos: usize, mask: &[usize], axes: &[usize], first: usize) -> Result<()> {
    if mask != axes {
        return Err(item_err(
            pos,
            format!(
                "boolean mask of shape {mask:?} does not match the indexed axes {first}.. of lengths {axes:?}"
            ),
        ));
    }
    Ok(())
}

/// Index `y` by integer arrays `(item, axis, indices)` (axes ascending, indices in range); the
/// result has the broadcast shape's axes at the returned position (the first array's axis,
/// or 0 when the arrays' axes were moved to the front), and that many axes.
fn advanced<T: Element>(
    y: &Array<T>,
    arrays: &[(usize, usize, &ArrayD<usize>)],
) -> Result<(Array<T>, usize, usize)> {
    let shapes: Vec<(usize, Vec<usize>)> = arrays.iter().map(|(p, _, a)| (*p, a.shape().to_vec())).collect();
    let b = broadcast_index_shapes(&shapes)?;
    let len: usize = b.iter().product();
    let flat: Vec<Vec<usize>> = arrays
        .iter()
        .map(|(_, _, a)| a.broadcast(IxDyn(&b)).expect("shapes broadcast").iter().copied().collect())
        .collect();
    let axes: Vec<usize> = arrays.iter().map(|(_, a, _)| *a).collect();
    let consecutive = axes.windows(2).all(|w| w[1] == w[0] + 1);
    let a0 = axes[0];
    let (r, pos) = if axes.len() == 1 {
        let list: Vec<isize> = flat[0].iter().map(|&i| i as isize).collect();
        (y.take(&list, a0 as isize)?, a0)
    } else if axes.len() == y.ndim() {
        let lists: Vec<Vec<isize>> = flat.iter().map(|l| l.iter().map(|&i| i as isize).collect()).collect();
        let refs: Vec<&[isize]> = lists.iter().map(|l| l.as_slice()).collect();
        (y.vindex(&refs)?, 0)
    } else if len == 0 {
        // Nothing is picked: the result is empty, only its shape matters.
        let mut shape: Vec<usize> = y.shape().to_vec();
        for &a in axes[1..].iter().rev() {
            shape.remove(a);
        }
        let pos = if consecutive { a0 } else { 0 };
        if !consecutive {
            let rest: Vec<usize> =
                (0..y.ndim()).filter(|a| !axes.contains(a)).map(|a| y.shape()[a]).collect();
            shape = std::iter::once(0).chain(rest).collect();
        } else {
            shape[a0] = 0;
        }
        let chunks: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
        (crate::array::creation::zeros::<T>(&shape, chunks)?, pos)
    } else {
        // Keep only the distinct indices of each axis, merge the axes into one and take the
        // flat positions.
        let mut z = y.clone();
        let mut sizes = Vec::with_capacity(axes.len());
        let mut remapped = Vec::with_capacity(axes.len());
        for (j, &a) in axes.iter().enumerate() {
            let mut uniq = flat[j].clone();
            uniq.sort_unstable();
            uniq.dedup();
            let map: Vec<usize> = flat[j].iter().map(|i| uniq.binary_search(i).expect("present")).collect();
            if uniq.len() != z.shape()[a] {
                let list: Vec<isize> = uniq.iter().map(|&i| i as isize).collect();
                z = z.take(&list, a as isize)?;
            }
            sizes.push(uniq.len());
            remapped.push(map);
        }
        let merged_len: usize = sizes.iter().product();
        let (merged, pos) = if consecutive {
            let mut shape: Vec<isize> = z.shape().iter().map(|&n| n as isize).collect();
            shape.splice(a0..a0 + axes.len(), [merged_len as isize]);
            (z.reshape(&shape)?, a0)
        } else {
            let mut perm: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
            perm.extend((0..z.ndim()).filter(|a| !axes.contains(a)).map(|a| a as isize));
            let t = z.permute_axes(&perm)?;
            let mut shape: Vec<isize> = vec![merged_len as isize];
            shape.extend(t.shape()[axes.len()..].iter().map(|&n| n as isize));
            (t.reshape(&shape)?, 0)
        };
        let positions: Vec<isize> = (0..len)
            .map(|k| remapped.iter().zip(&sizes).fold(0usize, |acc, (m, &s)| acc * s + m[k]) as isize)
            .collect();
        (merged.take(&positions, pos as isize)?, pos)
    };
    if b.len() == 1 {
        return Ok((r, pos, 1));
    }
    let mut shape: Vec<isize> = r.shape().iter().map(|&n| n as isize).collect();
    shape.splice(pos..pos + 1, b.iter().map(|&n| n as isize));
    Ok((r.reshape(&shape)?, pos, b.len()))
}
