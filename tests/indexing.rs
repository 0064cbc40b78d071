//! NumPy indexing in one call (`Array::index`), multi-axis flip and roll, constant pads per
//! side, n-d triangles, blocks of length 0 and `lstsq_full`: against an eager reference that
//! follows NumPy's documented rules, over random shapes and chunkings (blocks of one element
//! and of length 0 included), and fixed cases whose expected values came from NumPy 2.4.

mod common;

use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::{Axes, Chunks, Idx, idx};

// ---------------------------------------------------------------------------------------------
// The reference: NumPy's indexing rules, element by element.

/// An index item of the reference (mirrors `Idx`, built independently).
#[derive(Debug, Clone)]
enum R {
    Int(isize),
    Sl(Option<isize>, Option<isize>, isize),
    Ints(ArrayD<isize>),
    Mask(ArrayD<bool>),
    New,
    Ell,
}

fn to_idx(r: &R) -> Idx {
    match r {
        R::Int(i) => Idx::Int(*i),
        R::Sl(a, b, s) => Idx::slice(*a, *b, *s),
        R::Ints(a) => Idx::Ints(a.clone()),
        R::Mask(m) => Idx::Mask(m.clone()),
        R::New => Idx::NewAxis,
        R::Ell => Idx::Ellipsis,
    }
}

/// Python's `range(*slice(start, stop, step).indices(n))`.
fn py_range(start: Option<isize>, stop: Option<isize>, step: isize, n: usize) -> Vec<usize> {
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

/// One input axis after expansion: kept with an index list, dropped at an index, indexed by
/// an array (broadcast later), or a new axis (no input axis).
enum E {
    Basic(Vec<usize>),
    Drop(usize),
    Arr(ArrayD<usize>),
    New,
}

fn broadcast(shapes: &[Vec<usize>]) -> Option<Vec<usize>> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1; nd];
    for s in shapes {
        for (d, &n) in s.iter().enumerate() {
            let o = &mut out[nd - s.len() + d];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// `x[items]` by NumPy's rules, or `None` where NumPy raises.
fn numpy_index(x: &ArrayD<f64>, items: &[R]) -> Option<ArrayD<f64>> {
    let nd = x.ndim();
    let used: usize = items
        .iter()
        .map(|r| match r {
            R::Int(_) | R::Sl(..) | R::Ints(_) => 1,
            R::Mask(m) => m.ndim(),
            R::New | R::Ell => 0,
        })
        .sum();
    if used > nd || items.iter().filter(|r| matches!(r, R::Ell)).count() > 1 {
        return None;
    }
    let has_arr = items.iter().any(|r| matches!(r, R::Ints(_) | R::Mask(_)));
    let adv: Vec<usize> = (0..items.len())
        .filter(|&p| {
            matches!(items[p], R::Ints(_) | R::Mask(_)) || (has_arr && matches!(items[p], R::Int(_)))
        })
        .collect();
    let adjacent = adv.is_empty() || adv[adv.len() - 1] - adv[0] + 1 == adv.len();
    let mut es = Vec::new();
    let mut ax = 0;
    let norm = |i: isize, n: usize| {
        let j = if i < 0 { i + n as isize } else { i };
        (0..n as isize).contains(&j).then_some(j as usize)
    };
    for r in items {
        match r {
            R::New => es.push(E::New),
            R::Ell => {
                for _ in 0..nd - used {
                    es.push(E::Basic((0..x.shape()[ax]).collect()));
                    ax += 1;
                }
            }
            R::Int(i) => {
                let j = norm(*i, x.shape()[ax])?;
                es.push(if has_arr { E::Arr(ArrayD::from_elem(IxDyn(&[]), j)) } else { E::Drop(j) });
                ax += 1;
            }
            R::Sl(a, b, s) => {
                es.push(E::Basic(py_range(*a, *b, *s, x.shape()[ax])));
                ax += 1;
            }
            R::Ints(a) => {
                let n = x.shape()[ax];
                let v: Option<Vec<usize>> = a.iter().map(|&i| norm(i, n)).collect();
                es.push(E::Arr(ArrayD::from_shape_vec(a.raw_dim(), v?).unwrap()));
                ax += 1;
            }
            R::Mask(m) => {
                if m.shape() != &x.shape()[ax..ax + m.ndim()] {
                    return None;
                }
                let hits: Vec<IxDyn> = m.indexed_iter().filter(|(_, v)| **v).map(|(i, _)| i).collect();
                for d in 0..m.ndim() {
                    let v: Vec<usize> = hits.iter().map(|i| i[d]).collect();
                    es.push(E::Arr(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap()));
                    ax += 1;
                }
            }
        }
    }
    while ax < nd {
        es.push(E::Basic((0..x.shape()[ax]).collect()));
        ax += 1;
    }
    let shapes: Vec<Vec<usize>> =
        es.iter().filter_map(|e| if let E::Arr(a) = e { Some(a.shape().to_vec()) } else { None }).collect();
    let b = broadcast(&shapes)?;
    let nb = if has_arr { b.len() } else { 0 };
    // The output position of each kept entry, and where B's axes start.
    let mut out_shape = Vec::new();
    let mut pos = vec![usize::MAX; es.len()];
    let mut b_at = if adjacent { None } else { Some(0) };
    if !adjacent {
        out_shape.extend_from_slice(&b);
    }
    for (k, e) in es.iter().enumerate() {
        match e {
            E::Basic(l) => {
                pos[k] = out_shape.len();
                out_shape.push(l.len());
            }
            E::New => {
                pos[k] = out_shape.len();
                out_shape.push(1);
            }
            E::Arr(_) if b_at.is_none() => {
                b_at = Some(out_shape.len());
                out_shape.extend_from_slice(&b);
            }
            _ => {}
        }
    }
    let b_at = b_at.unwrap_or(0);
    let views: Vec<Option<ndarray::ArrayViewD<usize>>> = es
        .iter()
        .map(|e| if let E::Arr(a) = e { Some(a.broadcast(IxDyn(&b)).unwrap()) } else { None })
        .collect();
    let mut out = ArrayD::zeros(IxDyn(&out_shape));
    for (o, v) in out.indexed_iter_mut() {
        let bi: Vec<usize> = (0..nb).map(|d| o[b_at + d]).collect();
        let mut src = Vec::with_capacity(nd);
        for (k, e) in es.iter().enumerate() {
            match e {
                E::Basic(l) => src.push(l[o[pos[k]]]),
                E::Drop(j) => src.push(*j),
                E::Arr(_) => src.push(views[k].as_ref().unwrap()[IxDyn(&bi)]),
                E::New => {}
            }
        }
        *v = x[IxDyn(&src)];
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Random cases.

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn int(&mut self, lo: isize, hi: isize) -> isize {
        lo + self.below((hi - lo + 1) as usize) as isize
    }
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

/// A random NumPy index for `shape`: integers, slices (negative steps), integer arrays of
/// one broadcast family, or one boolean mask (over one or two axes), new axes, an ellipsis,
/// and sometimes an out-of-range integer.
/// `dense`: mostly arrays and integers between slices and new axes, no masks, so that
/// NumPy's placement rule is exercised often.
fn random_index(shape: &[usize], seed: u64, dense: bool) -> Vec<R> {
    let mut g = Rng(seed | 1);
    let nd = shape.len();
    let b: Vec<usize> = (0..g.below(3)).map(|_| if g.chance(5) { 0 } else { 1 + g.below(3) }).collect();
    let use_mask = !dense && g.chance(40);
    let mut mask_done = false;
    let mut items = Vec::new();
    let mut ax = 0;
    while ax < nd {
        let n = shape[ax];
        let pick = if dense { [5, 30, 30, 60, 90][g.below(5)] } else { g.below(100) };
        if g.chance(if dense { 15 } else { 8 }) {
            items.push(R::New);
        }
        if use_mask && !mask_done && pick < 35 {
            let k = if ax + 1 < nd && g.chance(40) { 2 } else { 1 };
            let ms: Vec<usize> = shape[ax..ax + k].to_vec();
            let v: Vec<bool> = (0..ms.iter().product::<usize>()).map(|_| g.chance(50)).collect();
            items.push(R::Mask(ArrayD::from_shape_vec(IxDyn(&ms), v).unwrap()));
            mask_done = true;
            ax += k;
            continue;
        }
        if pick < 12 && n > 0 {
            let bad = g.chance(3);
            items.push(R::Int(if bad { n as isize } else { g.int(-(n as isize), n as isize - 1) }));
        } else if pick < 50 && !use_mask && (n > 0 || b.contains(&0)) {
            // An array broadcasting with `b`: trailing axes of b, some set to 1.
            let keep = g.below(b.len() + 1);
            let s: Vec<usize> =
                b[b.len() - keep..].iter().map(|&l| if g.chance(30) { 1 } else { l }).collect();
            let size: usize = s.iter().product();
            let v: Vec<isize> = (0..size).map(|_| g.int(-(n as isize), n as isize - 1)).collect();
            items.push(R::Ints(ArrayD::from_shape_vec(IxDyn(&s), v).unwrap()));
        } else if pick < 88 {
            let m = n as isize + 3;
            let bound = |g: &mut Rng| if g.chance(50) { None } else { Some(g.int(-m, m)) };
            let (s, e) = (bound(&mut g), bound(&mut g));
            let step = if g.chance(50) {
                1
            } else if g.chance(50) {
                -1
            } else {
                g.int(-3, 3)
            };
            items.push(R::Sl(s, e, if step == 0 { -1 } else { step }));
        } else {
            items.push(R::Sl(None, None, 1));
        }
        ax += 1;
    }
    if g.chance(15) {
        items.push(R::New);
    }
    // An ellipsis in place of a run of full slices (maybe empty), or trailing items dropped.
    if g.chance(35) {
        let at = g.below(items.len() + 1);
        let mut end = at;
        while end < items.len() && matches!(items[end], R::Sl(None, None, 1)) {
            end += 1;
        }
        items.splice(at..end, [R::Ell]);
    } else {
        while matches!(items.last(), Some(R::Sl(None, None, 1))) && g.chance(60) {
            items.pop();
        }
    }
    items
}

/// Chunks for `shape` with some blocks of length 0 among the others.
fn chunks_with_empty(shape: Vec<usize>) -> impl Strategy<Value = Chunks> {
    (chunks_for(shape), any::<u64>()).prop_map(|(c, seed)| {
        let mut g = Rng(seed | 1);
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

fn case_with_empty_blocks() -> impl Strategy<Value = (ArrayD<f64>, Chunks)> {
    shape().prop_flat_map(|s| {
        let n: usize = s.iter().product();
        (values(n, false), chunks_with_empty(s.clone()))
            .prop_map(move |(v, c)| (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c))
    })
}

/// The same array as a source, an elementwise node (pushdowns) and a node that is neither.
fn variants(a: &ArrayD<f64>, c: &Chunks) -> Vec<(tessera::Array<f64>, ArrayD<f64>)> {
    let x = tessera::from_array(a.clone(), c.clone()).unwrap();
    let doubled = (&x * 2.0).expand_dims(0).unwrap().squeeze(Some(&[0])).unwrap();
    vec![(x.clone(), a.clone()), (&x * 2.0, a.mapv(|v| v * 2.0)), (doubled, a.mapv(|v| v * 2.0))]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn index_matches_numpy_rules((a, c) in case_with_empty_blocks(), seed in any::<u64>(), which in 0usize..3) {
        let items = random_index(a.shape(), seed, seed % 3 == 0);
        let (x, a) = variants(&a, &c).swap_remove(which);
        let idx: Vec<Idx> = items.iter().map(to_idx).collect();
        match (numpy_index(&a, &items), x.index(&idx)) {
            (Some(want), Ok(y)) => {
                prop_assert_eq!(y.shape(), want.shape(), "items {:?}", items);
                let got = compute_checked(&y);
                prop_assert!(same_f64(&got, &want), "items {:?}: {:?} != {:?}", items, got, want);
            }
            (None, Err(e)) => prop_assert!(e.to_string().contains("index item"), "{}", e),
            (want, got) => prop_assert!(false, "items {:?}: reference {:?}, tessera {:?}", items, want.map(|w| w.shape().to_vec()), got),
        }
    }

    #[test]
    fn advanced_placement_in_random_layouts(
        (a, c) in (2usize..=4)
            .prop_flat_map(|nd| proptest::collection::vec(1usize..=6, nd))
            .prop_flat_map(|s| {
                let n: usize = s.iter().product();
                (values(n, false), chunks_with_empty(s.clone()))
                    .prop_map(move |(v, c)| (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c))
            }),
        seed in any::<u64>(),
    ) {
        let items = random_index(a.shape(), seed, true);
        let x = tessera::from_array(a.clone(), c).unwrap();
        let idx: Vec<Idx> = items.iter().map(to_idx).collect();
        match (numpy_index(&a, &items), x.index(&idx)) {
            (Some(want), Ok(y)) => {
                prop_assert_eq!(y.shape(), want.shape(), "items {:?}", items);
                prop_assert!(same_f64(&compute_checked(&y), &want), "items {:?}", items);
            }
            (None, Err(e)) => prop_assert!(e.to_string().contains("index item"), "{}", e),
            (want, got) => prop_assert!(false, "items {:?}: reference {:?}, tessera {:?}", items, want.map(|w| w.shape().to_vec()), got),
        }
    }

    #[test]
    fn lazy_mask_matches_host_mask((a, c) in array_case(false), seed in any::<u64>()) {
        prop_assume!(a.ndim() >= 1);
        let mut g = Rng(seed | 1);
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let lead = g.below(a.ndim());
        let k = if lead + 1 < a.ndim() && g.chance(50) { 2 } else { 1 };
        let ms: Vec<usize> = a.shape()[lead..lead + k].to_vec();
        let mv: Vec<bool> = (0..ms.iter().product::<usize>()).map(|_| g.chance(50)).collect();
        let m = ArrayD::from_shape_vec(IxDyn(&ms), mv).unwrap();
        let mchunks: Vec<usize> = (0..k).map(|d| 1 + g.below(ms[d])).collect();
        let lazy = tessera::from_array(m.clone(), mchunks).unwrap();
        // Leading integer on axis 0 sometimes (an advanced item, adjacent or not).
        let mut items = Vec::new();
        let mut r = Vec::new();
        for d in 0..lead {
            if d == 0 && a.shape()[0] > 0 && g.chance(50) {
                items.push(Idx::Int(0));
                r.push(R::Int(0));
            } else {
                items.push(Idx::full());
                r.push(R::Sl(None, None, 1));
            }
        }
        items.push(Idx::LazyMask(lazy));
        r.push(R::Mask(m));
        let want = numpy_index(&a, &r).unwrap();
        let got = compute_checked(&x.index(&items).unwrap());
        prop_assert!(same_f64(&got, &want), "{:?} != {:?}", got, want);
    }

    #[test]
    fn roll_and_flip_over_axes((a, c) in case_with_empty_blocks(), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        let mut g = Rng(seed | 1);
        // Flip a random subset of axes (negative spellings too).
        let axes: Vec<usize> = (0..nd).filter(|_| g.chance(50)).collect();
        let spelled: Vec<isize> = axes.iter().map(|&d| if g.chance(50) { d as isize - nd as isize } else { d as isize }).collect();
        let mut want = a.clone();
        for &d in &axes {
            want.invert_axis(Axis(d));
        }
        prop_assert!(same_f64(&compute_checked(&x.flip_axes(Axes::List(spelled)).unwrap()), &want));
        let mut all = a.clone();
        for d in 0..nd {
            all.invert_axis(Axis(d));
        }
        prop_assert!(same_f64(&compute_checked(&x.flip_axes(Axes::All).unwrap()), &all));
        // Roll with repeated axes and shifts of any sign.
        if nd > 0 {
            let k = 1 + g.below(3);
            let raxes: Vec<isize> = (0..k).map(|_| g.below(nd) as isize).collect();
            let shifts: Vec<isize> = (0..k).map(|_| g.int(-50, 50)).collect();
            let mut want = a.clone();
            for (&ax, &s) in raxes.iter().zip(&shifts) {
                want = roll_ref(&want, s, Some(ax as usize));
            }
            prop_assert!(same_f64(&compute_checked(&x.roll_axes(&shifts, Some(&raxes)).unwrap()), &want));
        }
        let s = g.int(-30, 30);
        prop_assert!(same_f64(&compute_checked(&x.roll_axes(&[s], None).unwrap()), &roll_ref(&a, s, None)));
    }

    #[test]
    fn pad_with_constants_per_side((a, c) in case_with_empty_blocks(), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        let mut g = Rng(seed | 1);
        let width: Vec<(usize, usize)> = (0..nd).map(|_| (g.below(3), g.below(3))).collect();
        let values: Vec<(f64, f64)> = (0..nd).map(|_| (g.int(-9, 9) as f64, g.int(-9, 9) as f64)).collect();
        let got = compute_checked(&x.pad_constants(&width, &values).unwrap());
        prop_assert!(same_f64(&got, &pad_ref(&a, &width, &values)));
    }

    #[test]
    fn triangles_of_stacks((a, c) in array_case(false), k in -4isize..5) {
        prop_assume!(a.ndim() >= 2);
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        let tri = |upper: bool| {
            let mut w = a.clone();
            for (i, v) in w.indexed_iter_mut() {
                let d = i[nd - 1] as isize - i[nd - 2] as isize;
                if (upper && d < k) || (!upper && d > k) {
                    *v = 0.0;
                }
            }
            w
        };
        prop_assert!(same_f64(&compute_checked(&tessera::linalg::triu(&x, k).unwrap()), &tri(true)));
        prop_assert!(same_f64(&compute_checked(&tessera::linalg::tril(&x, k).unwrap()), &tri(false)));
    }

    #[test]
    fn common_ops_over_empty_blocks((a, c) in case_with_empty_blocks(), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        prop_assert_eq!(x.chunks(), &c);
        prop_assert!(same_f64(&compute_checked(&x), &a));
        // Elementwise, with another operand of other chunks (empty blocks too).
        let y = (&x * 3.0 + 1.0).exp();
        prop_assert!(close_f64(&compute_checked(&y), &a.mapv(|v| (v * 3.0 + 1.0).exp()), 1e-12));
        let nd = a.ndim();
        if nd == 0 {
            return Ok(());
        }
        let mut g = Rng(seed | 1);
        // Reductions over every axis, over one axis, and arg-reductions.
        let s = x.sum(Axes::All).unwrap().compute().unwrap();
        prop_assert!((s[IxDyn(&[])] - a.sum()).abs() <= 1e-9 * (1.0 + a.iter().map(|v| v.abs()).sum::<f64>()));
        let ax = g.below(nd);
        let got = compute_checked(&x.sum(ax as isize).unwrap());
        prop_assert!(close_f64(&got, &a.sum_axis(Axis(ax)), 1e-12));
        if a.shape()[ax] > 0 {
            let got = compute_checked(&x.max(ax as isize).unwrap());
            let want = a.fold_axis(Axis(ax), f64::NEG_INFINITY, |m, &v| m.max(v));
            prop_assert!(same_f64(&got, &want));
            let got = compute_checked(&x.argmin(ax as isize).unwrap());
            let want = a.map_axis(Axis(ax), |l| {
                l.iter().enumerate().fold(0, |b, (i, &v)| if v < l[b] { i } else { b }) as i64
            });
            prop_assert_eq!(got, want);
        }
        // Slices with negative steps; rechunk to and from empty blocks; concatenate.
        let args: Vec<tessera::SliceArg> = (0..nd).map(|_| tessera::SliceArg::new(None, None, if g.chance(50) { -1 } else { 2 })).collect();
        let sl = compute_checked(&x.slice(&args).unwrap());
        let mut want = a.clone();
        for (d, arg) in args.iter().enumerate() {
            if let tessera::SliceArg::Range { step, .. } = arg {
                want = want.select(Axis(d), &py_range(None, None, *step, a.shape()[d]));
            }
        }
        prop_assert!(same_f64(&sl, &want));
        // A rechunk of a node that is not pushed into its input (a relayout), to and from
        // chunkings with empty blocks.
        let other = chunks_with_empty_fixed(a.shape(), &mut g);
        let viewed = x.expand_dims(0).unwrap().squeeze(Some(&[0])).unwrap();
        let r = viewed.rechunk(other.clone()).unwrap();
        prop_assert_eq!(r.chunks(), &other);
        prop_assert!(same_f64(&compute_checked(&r), &a));
        let back = r.expand_dims(0).unwrap().squeeze(Some(&[0])).unwrap().rechunk(c.clone()).unwrap();
        prop_assert!(same_f64(&compute_checked(&back), &a));
        let cat = tessera::concatenate(&[&x, &r], ax as isize).unwrap();
        let want = ndarray::concatenate(Axis(ax), &[a.view(), a.view()]).unwrap();
        prop_assert!(same_f64(&compute_checked(&cat), &want));
        let sum2 = compute_checked(&x.try_add(&r).unwrap());
        prop_assert!(same_f64(&sum2, &a.mapv(|v| v + v)));
    }
}

/// Random chunks with empty blocks, from a generator (for a second chunking in one case).
fn chunks_with_empty_fixed(shape: &[usize], g: &mut Rng) -> Chunks {
    let axes: Vec<Vec<usize>> = shape
        .iter()
        .map(|&n| {
            let mut v = Vec::new();
            let mut left = n;
            while left > 0 {
                let l = (1 + g.below(left.min(5))).min(left);
                v.push(l);
                left -= l;
                if g.chance(25) {
                    v.push(0);
                }
            }
            if v.is_empty() || g.chance(20) {
                v.insert(0, 0);
            }
            v
        })
        .collect();
    Chunks::new(axes).unwrap()
}

/// NumPy's roll of one axis (or of the flattened array with `None`).
fn roll_ref(a: &ArrayD<f64>, shift: isize, axis: Option<usize>) -> ArrayD<f64> {
    match axis {
        None => {
            let flat: Vec<f64> = a.iter().copied().collect();
            let n = flat.len() as isize;
            let v: Vec<f64> = (0..n).map(|i| flat[(i - shift).rem_euclid(n.max(1)) as usize]).collect();
            ArrayD::from_shape_vec(a.raw_dim(), v).unwrap()
        }
        Some(ax) => {
            let n = a.shape()[ax] as isize;
            let idx: Vec<usize> = (0..n).map(|i| (i - shift).rem_euclid(n.max(1)) as usize).collect();
            a.select(Axis(ax), &idx)
        }
    }
}

/// NumPy's constant pad: axes in order, each pad covering the earlier axes' pads too.
fn pad_ref(a: &ArrayD<f64>, width: &[(usize, usize)], values: &[(f64, f64)]) -> ArrayD<f64> {
    let mut x = a.clone();
    for (d, (&(b, e), &(vb, ve))) in width.iter().zip(values).enumerate() {
        let mut sb = x.shape().to_vec();
        sb[d] = b;
        let mut se = x.shape().to_vec();
        se[d] = e;
        let before = ArrayD::from_elem(IxDyn(&sb), vb);
        let after = ArrayD::from_elem(IxDyn(&se), ve);
        x = ndarray::concatenate(Axis(d), &[before.view(), x.view(), after.view()]).unwrap();
    }
    x
}

// ---------------------------------------------------------------------------------------------
// Fixed cases: expected values printed by NumPy 2.4.

fn x4() -> (tessera::Array<i64>, ArrayD<f64>) {
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4, 5]), (0..120).collect::<Vec<i64>>()).unwrap();
    let x = tessera::from_array(
        a.clone(),
        Chunks::new(vec![vec![1, 1], vec![2, 0, 1], vec![3, 1], vec![2, 3]]).unwrap(),
    )
    .unwrap();
    (x, a.mapv(|v| v as f64))
}

fn check(y: tessera::Array<i64>, shape: &[usize], values: &[i64]) {
    assert_eq!(y.shape(), shape);
    let got = compute_checked(&y);
    assert_eq!(got.shape(), shape);
    assert_eq!(got.iter().copied().collect::<Vec<_>>(), values);
}

#[test]
fn advanced_index_placement_as_numpy() {
    let (x, _) = x4();
    // x[:, [0, 1], :, [1, 2]]: separated by a slice, so B's axis comes first.
    check(
        x.index(&idx![.., [0, 1], .., [1, 2]]).unwrap(),
        &[2, 2, 4],
        &[1, 6, 11, 16, 61, 66, 71, 76, 22, 27, 32, 37, 82, 87, 92, 97],
    );
    // x[0, :, [1, 2]]: an integer is an advanced item when arrays are present.
    check(
        x.index(&idx![0, .., [1, 2]]).unwrap(),
        &[2, 3, 5],
        &[
            5, 6, 7, 8, 9, 25, 26, 27, 28, 29, 45, 46, 47, 48, 49, 10, 11, 12, 13, 14, 30, 31, 32, 33, 34,
            50, 51, 52, 53, 54,
        ],
    );
    // x[:, 0, [1, 2]]: adjacent, in place.
    check(
        x.index(&idx![.., 0, [1, 2]]).unwrap(),
        &[2, 2, 5],
        &[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74],
    );
    // x[[[0], [1]], :, [0, 2], 1:3]: 2-d broadcast, separated.
    let col = ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![0isize, 1]).unwrap();
    check(
        x.index(&[Idx::Ints(col), Idx::full(), Idx::ints(&[0, 2]), Idx::from(1..3)]).unwrap(),
        &[2, 2, 3, 2],
        &[1, 2, 21, 22, 41, 42, 11, 12, 31, 32, 51, 52, 61, 62, 81, 82, 101, 102, 71, 72, 91, 92, 111, 112],
    );
    // x[..., [2, 0], None, [[1], [3]]]: the new axis separates them.
    let col = ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![1isize, 3]).unwrap();
    check(
        x.index(&[Idx::Ellipsis, Idx::ints(&[2, 0]), Idx::NewAxis, Idx::Ints(col)]).unwrap(),
        &[2, 2, 2, 3, 1],
        &[11, 31, 51, 71, 91, 111, 1, 21, 41, 61, 81, 101, 13, 33, 53, 73, 93, 113, 3, 23, 43, 63, 83, 103],
    );
    // x[1, None, [True, False, True], ::-2]
    check(
        x.index(&idx![1, Idx::NewAxis, [true, false, true], (None, None, -2)]).unwrap(),
        &[2, 1, 2, 5],
        &[75, 76, 77, 78, 79, 65, 66, 67, 68, 69, 115, 116, 117, 118, 119, 105, 106, 107, 108, 109],
    );
    // A 2-d mask over axes 1 and 2: x[:, m, 4] and x[1, m].
    let m =
        ndarray::array![[true, false, true, false], [false, false, true, true], [true, true, false, false]]
            .into_dyn();
    check(
        x.index(&[Idx::full(), Idx::Mask(m.clone()), Idx::Int(4)]).unwrap(),
        &[2, 6],
        &[4, 14, 34, 39, 44, 49, 64, 74, 94, 99, 104, 109],
    );
    let want_h: Vec<i64> = vec![
        60, 61, 62, 63, 64, 70, 71, 72, 73, 74, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103,
        104, 105, 106, 107, 108, 109,
    ];
    check(x.index(&[Idx::Int(1), Idx::Mask(m.clone())]).unwrap(), &[6, 5], &want_h);
    // The same with a lazy mask.
    let lazy = tessera::from_array(m, [2, 3]).unwrap();
    check(x.index(&[Idx::Int(1), Idx::LazyMask(lazy)]).unwrap(), &[6, 5], &want_h);
    // x[-1, ..., [4, -5]]
    check(
        x.index(&idx![-1, Idx::Ellipsis, [4, -5]]).unwrap(),
        &[2, 3, 4],
        &[
            64, 69, 74, 79, 84, 89, 94, 99, 104, 109, 114, 119, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105,
            110, 115,
        ],
    );
}

#[test]
fn index_errors_name_the_item() {
    let (x, _) = x4();
    let msg = |r: tessera::Result<tessera::Array<i64>>| r.unwrap_err().to_string();
    let e = msg(x.index(&idx![.., 3]));
    assert!(e.contains("index item 1") && e.contains("out of bounds") && e.contains("length 3"), "{e}");
    let e = msg(x.index(&idx![.., .., [0, 4, -5]]));
    assert!(e.contains("index item 2") && e.contains("index 4"), "{e}");
    let e = msg(x.index(&idx![.., [true, false]]));
    assert!(e.contains("index item 1") && e.contains("mask"), "{e}");
    let e = msg(x.index(&[Idx::Ellipsis, Idx::Int(0), Idx::Ellipsis]));
    assert!(e.contains("index item 2") && e.contains("ellipsis"), "{e}");
    let e = msg(x.index(&idx![0, 0, 0, 0, 0]));
    assert!(e.contains("too many indices"), "{e}");
    let e = msg(x.index(&idx![[0, 1], [0, 1, 2]]));
    assert!(e.contains("index item 1") && e.contains("broadcast"), "{e}");
    let e = msg(x.index(&idx![.., .., (None, None, 0)]));
    assert!(e.contains("index item 2") && e.contains("step 0"), "{e}");
    let lazy = tessera::from_array(ndarray::arr1(&[true, false, true]).into_dyn(), [2]).unwrap();
    let e = msg(x.index(&[Idx::ints(&[0, 1]), Idx::LazyMask(lazy)]));
    assert!(e.contains("index item 1") && e.contains("lazy"), "{e}");
}

#[test]
fn index_of_basic_items_only_is_a_slice() {
    let (x, a) = x4();
    let y = x.index(&idx![1, Idx::NewAxis, (None, None, -1), Idx::Ellipsis, 2..4]).unwrap();
    let want =
        numpy_index(&a, &[R::Int(1), R::New, R::Sl(None, None, -1), R::Ell, R::Sl(Some(2), Some(4), 1)])
            .unwrap();
    assert_eq!(y.shape(), &[1, 3, 4, 2]);
    assert!(same_f64(&compute_checked(&y).mapv(|v| v as f64), &want));
    // Nothing but an ellipsis: the array itself.
    assert_eq!(compute_checked(&x.index(&[Idx::Ellipsis]).unwrap()).mapv(|v| v as f64), a);
}

#[test]
fn rolls_pads_and_flips_as_numpy() {
    let x = tessera::from_array(ndarray::array![[0i64, 1, 2], [3, 4, 5]].into_dyn(), [1, 2]).unwrap();
    check(x.roll_axes(&[1, -2], Some(&[0, 1])).unwrap(), &[2, 3], &[5, 3, 4, 2, 0, 1]);
    check(x.roll_axes(&[1], Some(&[0, 1])).unwrap(), &[2, 3], &[5, 3, 4, 2, 0, 1]);
    check(x.roll_axes(&[1], None).unwrap(), &[2, 3], &[5, 0, 1, 2, 3, 4]);
    check(x.roll_axes(&[1, 1], Some(&[0, 0])).unwrap(), &[2, 3], &[0, 1, 2, 3, 4, 5]);
    assert!(x.roll_axes(&[1, 2], None).is_err());
    assert!(x.roll_axes(&[1, 2, 3], Some(&[0, 1])).is_err());
    assert!(x.flip_axes([0, -2]).is_err());
    check(
        x.pad_constants(&[(1, 2), (0, 3)], &[(7, 8), (9, 10)]).unwrap(),
        &[5, 6],
        &[
            7, 7, 7, 10, 10, 10, 0, 1, 2, 10, 10, 10, 3, 4, 5, 10, 10, 10, 8, 8, 8, 10, 10, 10, 8, 8, 8, 10,
            10, 10,
        ],
    );
    assert!(x.pad_constants(&[(1, 1)], &[(0, 0)]).is_err());
    let s = tessera::from_array(
        ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24).collect::<Vec<i64>>()).unwrap(),
        [1, 2, 3],
    )
    .unwrap();
    check(
        tessera::linalg::triu(&s, -1).unwrap(),
        &[2, 3, 4],
        &[0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 21, 22, 23],
    );
    check(
        tessera::linalg::tril(&s, 1).unwrap(),
        &[2, 3, 4],
        &[0, 1, 0, 0, 4, 5, 6, 0, 8, 9, 10, 11, 12, 13, 0, 0, 16, 17, 18, 0, 20, 21, 22, 23],
    );
}

#[test]
fn lstsq_full_as_numpy() {
    use tessera::linalg::{lstsq, lstsq_full};
    let a = ndarray::array![[1., 2., 0.5], [3., -1., 2.], [0., 1., 1.], [2., 2., -1.], [1., 0., 3.]];
    let b = ndarray::array![[1., 0.], [2., 1.], [0., -1.], [3., 2.], [1., 1.]];
    let close = |got: &ArrayD<f64>, want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{got:?} vs {want:?}");
        }
    };
    let ta = tessera::from_array(a.clone(), [2, 3]).unwrap();
    let sv = [4.760761736107197, 3.5379899917465125, 2.2511718082632215];
    // Full rank, m > n: residuals per column.
    let r = lstsq_full(&ta, &tessera::from_array(b.clone(), [3, 2]).unwrap(), None).unwrap();
    close(
        &r.solution,
        &[
            0.9389671361502346,
            0.6291079812206571,
            0.29264475743348994,
            -0.025039123630672816,
            -0.1283255086071988,
            -0.18153364632237848,
        ],
    );
    close(&r.residuals, &[0.6760563380281683, 2.3802816901408455]);
    assert_eq!(r.rank, 3);
    close(&r.singular_values, &sv);
    // A vector b: residuals of shape (1,); the solution equals lstsq's.
    let bv = tessera::from_array(b.column(0).to_owned(), [4]).unwrap();
    let r = lstsq_full(&ta, &bv, None).unwrap();
    assert_eq!(r.residuals.shape(), &[1]);
    close(&r.residuals, &[0.6760563380281683]);
    close(
        &r.solution,
        &lstsq(&ta, &bv, None).unwrap().compute().unwrap().iter().copied().collect::<Vec<_>>(),
    );
    // Rank-deficient (third column = first + second): no residuals, rank 2.
    let mut d = a.clone();
    let c = &a.column(0) + &a.column(1);
    d.column_mut(2).assign(&c);
    let r =
        lstsq_full(&tessera::from_array(d, [5, 3]).unwrap(), &tessera::from_array(b, [5, 2]).unwrap(), None)
            .unwrap();
    assert_eq!(r.rank, 2);
    assert_eq!(r.residuals.shape(), &[0]);
    close(
        &r.solution,
        &[
            0.4633569739952721,
            0.33569739952718675,
            -0.06146572104018938,
            -0.14657210401891263,
            0.4018912529550828,
            0.18912529550827423,
        ],
    );
    assert!((r.singular_values[0] - 6.855654600401046).abs() < 1e-12 && r.singular_values[2].abs() < 1e-12);
}

#[test]
fn empty_blocks_in_explicit_chunks() {
    let a = ArrayD::from_shape_vec(IxDyn(&[5, 3]), (0..15).map(f64::from).collect()).unwrap();
    let c = Chunks::new(vec![vec![2, 0, 3], vec![0, 3, 0]]).unwrap();
    let x = tessera::from_array(a.clone(), c).unwrap();
    assert_eq!(x.numblocks(), vec![3, 3]);
    assert_eq!(x.block_shape(&[1, 1]).unwrap(), vec![0, 3]);
    assert!(same_f64(&compute_checked(&x), &a));
    assert_eq!(x.sum(Axes::All).unwrap().item().unwrap(), 105.0);
    assert_eq!(
        compute_checked(&x.max(0).unwrap()).iter().copied().collect::<Vec<_>>(),
        vec![12.0, 13.0, 14.0]
    );
    assert_eq!(
        compute_checked(&x.mean(1).unwrap()).iter().copied().collect::<Vec<_>>(),
        vec![1., 4., 7., 10., 13.]
    );
    assert!(Chunks::new(vec![vec![]]).is_err());
}
