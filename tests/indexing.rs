//! NumPy indexing in one call (`Array::index`), multi-axis flip and roll, constant pads per
//! side, n-d triangles, blocks of length 0 and `lstsq_full`: against an eager reference that
//! follows NumPy's documented rules, over random shapes and chunkings (blocks of one element
//! and of length 0 included), and fixed cases whose expected values came from NumPy 2.4.

mod common;

use common::*;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use tessera::{Chunks, Idx, idx};

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

/// A random NumPy index for `shape`: integers, slices (negative steps), integer arrays of
/// one broadcast family, or one boolean mask (over one or two axes), new axes, an ellipsis,
/// and sometimes an out-of-range integer.
/// `dense`: mostly arrays and integers between slices and new axes, no masks, so that
/// NumPy's placement rule is exercised often.
fn random_index(shape: &[usize], seed: u64, dense: bool) -> Vec<R> {
    let mut g = XorShift(seed | 1);
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
            let bound = |g: &mut XorShift| if g.chance(50) { None } else { Some(g.int(-m, m)) };
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
        let mut g = XorShift(seed | 1);
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
