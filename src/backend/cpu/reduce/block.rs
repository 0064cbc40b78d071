//! The per-block partial of a reduction: which axis first, contiguous lanes or row tiles.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Ix2, IxDyn, Zip};

use crate::backend::cpu::reduce::Reducer;
use crate::ir::kernel::PartialStep;

/// Reduce `step.axes` of one block to states, keeping the reduced axes with length 1.
pub(crate) fn partial<R: Reducer>(r: &R, x: ArrayViewD<R::In>, step: &PartialStep) -> ArrayD<R::State> {
    let axes = &step.axes[..];
    if x.is_empty() && !axes.is_empty() {
        // No element: every state is the initial one. (Looping over the other axes instead
        // would take as long as they are long, which an empty array's need not bound.)
        let shape: Vec<usize> =
            x.shape().iter().enumerate().map(|(d, &n)| if axes.contains(&d) { 1 } else { n }).collect();
        return ArrayD::from_elem(IxDyn(&shape), r.init());
    }
    if axes.is_empty() {
        return x.map(|&v| {
            let mut s = r.init();
            r.accumulate(&mut s, v, 0);
            s
        });
    }
    if R::NEEDS_INDEX && axes.len() > 1 {
        // Flat C-order index in the whole array.
        let mut s = r.init();
        let gs = &step.global_shape;
        for (idx, &v) in x.indexed_iter() {
            let mut flat = 0i64;
            for d in 0..gs.len() {
                flat = flat * gs[d] as i64 + (step.offset[d] + idx[d]) as i64;
            }
            r.accumulate(&mut s, v, flat);
        }
        let shape: Vec<usize> = vec![1; x.ndim()];
        return ArrayD::from_elem(IxDyn(&shape), s);
    }
    let last = *axes.last().expect("non-empty");
    let base = step.offset.get(last).copied().unwrap_or(0) as i64;
    let mut states = first_pass(r, x, last, base).insert_axis(Axis(last));
    for &ax in axes[..axes.len() - 1].iter().rev() {
        states = merge_axis(r, states, ax);
    }
    states
}

/// Reduce one axis of the data to states (the axis removed).
fn first_pass<R: Reducer>(r: &R, x: ArrayViewD<R::In>, ax: usize, base: i64) -> ArrayD<R::State> {
    let mut out_shape = x.shape().to_vec();
    let n = out_shape.remove(ax);
    let mut out = ArrayD::from_elem(IxDyn(&out_shape), r.init());
    if ax == x.ndim() - 1 {
        Zip::from(&mut out).and(x.lanes(Axis(ax))).for_each(|s, lane| {
            *s = match lane.as_slice() {
                Some(sl) => r.reduce_slice(sl, base),
                None => {
                    let mut st = r.init();
                    for (i, &v) in lane.iter().enumerate() {
                        r.accumulate(&mut st, v, base + i as i64);
                    }
                    st
                }
            }
        });
        return out;
    }
    // Move the reduced axis next to the last one, then accumulate row by row: each output
    // row stays in L1 while all `n` input rows are added to it.
    let nd = x.ndim();
    let mut perm: Vec<usize> = (0..nd).filter(|&d| d != ax).collect();
    perm.insert(nd - 2, ax);
    let xp = x.permuted_axes(IxDyn(&perm));
    debug_assert_eq!(n, xp.shape()[nd - 2]);
    accumulate_into(r, out.view_mut(), xp, base);
    out
}

/// Add every row of `x` (shape `[outer.., n, L]`) into the matching row of `out`
/// (`[outer.., L]`).
///
/// The innermost three axes `(K, n, L)` are walked in tiles of output rows small enough for
/// the tile's states to stay in L2: for each tile, input plane `i` is read row after row (a
/// constant stride the prefetcher follows), and each row is folded into its output row.
fn accumulate_into<R: Reducer>(r: &R, mut out: ArrayViewMutD<R::State>, x: ArrayViewD<R::In>, base: i64) {
    if x.ndim() > 3 {
        for k in 0..x.shape()[0] {
            accumulate_into(r, out.index_axis_mut(Axis(0), k), x.index_axis(Axis(0), k), base);
        }
        return;
    }
    if x.ndim() == 2 {
        let x = x.insert_axis(Axis(0));
        let out = out.insert_axis(Axis(0));
        return accumulate_into(r, out, x.into_dyn(), base);
    }
    let mut o = out.into_dimensionality::<Ix2>().expect("rows of states");
    let x = x.into_dimensionality::<ndarray::Ix3>().expect("planes of rows");
    let (kk, n, l) = x.dim();
    let tile = (L2_TILE_BYTES / (l.max(1) * 8)).clamp(1, kk.max(1));
    let mut rows: Vec<&[R::In]> = Vec::with_capacity(n * tile);
    let mut k0 = 0;
    while k0 < kk {
        let k1 = (k0 + tile).min(kk);
        rows.clear();
        for i in 0..n {
            for k in k0..k1 {
                match x.slice_move(ndarray::s![k, i, ..]).to_slice() {
                    Some(r) => rows.push(r),
                    None => break,
                }
            }
        }
        let mut ot = o.slice_mut(ndarray::s![k0..k1, ..]);
        match ot.as_slice_mut() {
            Some(os) if rows.len() == n * (k1 - k0) => r.accumulate_tile(os, &rows, l, base),
            _ => {
                for i in 0..n {
                    let idx = base + i as i64;
                    let xi = x.slice(ndarray::s![k0..k1, i, ..]);
                    Zip::from(&mut ot).and(&xi).for_each(|st, &v| r.accumulate(st, v, idx));
                }
            }
        }
        k0 = k1;
    }
}

/// Bytes of reduction states kept hot while rows are folded into them.
const L2_TILE_BYTES: usize = 64 << 10;

/// Merge the states along `ax` into one (the axis kept with length 1).
fn merge_axis<R: Reducer>(r: &R, states: ArrayD<R::State>, ax: usize) -> ArrayD<R::State> {
    let n = states.len_of(Axis(ax));
    if n == 0 {
        let mut shape = states.shape().to_vec();
        shape[ax] = 1;
        return ArrayD::from_elem(IxDyn(&shape), r.init());
    }
    let mut acc = states.index_axis(Axis(ax), 0).to_owned();
    for i in 1..n {
        Zip::from(&mut acc).and(states.index_axis(Axis(ax), i)).for_each(|a, b| r.merge(a, b));
    }
    acc.insert_axis(Axis(ax))
}
