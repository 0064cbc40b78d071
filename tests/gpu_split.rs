//! Blocks larger than one storage binding are split into pieces on the GPU (a process of its
//! own: the binding limit is lowered for the whole GPU here, so other tests are unaffected).

mod gpu_common;

use gpu_common::*;
use ndarray::{ArrayD, IxDyn};
use tessera::prelude::*;

#[test]
fn blocks_larger_than_a_binding_are_split_and_match_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    // One binding holds 4 KiB: a (50, 40) f32 block (8000 bytes) is two pieces or more,
    // its rows of 160 bytes fit.
    tessera::testing::cap_binding(0, 4096).unwrap();
    let v = floats(2 * 50 * 40, -3.0, 3.0, true, 11);
    let x = tessera::from_array(ArrayD::from_shape_vec(IxDyn(&[100, 40]), v).unwrap(), [50, 40]).unwrap();
    let y = (&x * 2.0f32 + 1.0f32).exp();
    let (a, b, on_gpu) = both(&y, &g);
    assert_close(&a, &b, 64.0, 1e-30, "split elementwise");
    assert_eq!(on_gpu, 2, "both blocks ran on the GPU, in pieces");
    // A broadcast operand (one row) is read whole by every piece.
    let row = tessera::from_array(
        ArrayD::from_shape_vec(IxDyn(&[40]), floats(40, 0.0, 1.0, false, 3)).unwrap(),
        [40],
    )
    .unwrap();
    let (a, b, _) = both(&(&x - &row), &g);
    assert_close(&a, &b, 1.0, 0.0, "split with a broadcast row");
    // Reductions over the first axis combine the pieces' partials; arg-reductions keep
    // global indices.
    let (a, b, on_gpu) = both(&x.nansum(0).unwrap(), &g);
    assert_close(&a, &b, 8.0 * 100.0, 1e-5, "nansum over axis 0");
    assert!(on_gpu >= 2);
    let (a, b, _) = both(&x.nanmean(Axes::All).unwrap(), &g);
    assert_close(&a, &b, 8.0 * 4000.0, 1e-5, "nanmean of all");
    let v = floats(100 * 40, -3.0, 3.0, false, 12);
    let clean = tessera::from_array(ArrayD::from_shape_vec(IxDyn(&[100, 40]), v).unwrap(), [50, 40]).unwrap();
    let (a, b, _) = both(&clean.argmax(Some(0)).unwrap(), &g);
    assert_eq!(a, b, "argmax over axis 0");
    // A reduction that keeps the first axis is not split: it runs on the CPU, correctly.
    let (a, b, on_gpu) = both(&x.nansum(1).unwrap(), &g);
    assert_close(&a, &b, 8.0 * 40.0, 1e-5, "nansum over axis 1");
    assert_eq!(on_gpu, 0);
    // One row larger than a binding cannot be split along the first axis: the CPU runs it.
    tessera::testing::cap_binding(0, 100).unwrap();
    let (a, b, on_gpu) = both(&(&x * 3.0f32), &g);
    assert_close(&a, &b, 0.0, 0.0, "one row over the limit");
    assert_eq!(on_gpu, 0);
    tessera::testing::cap_binding(0, 0).unwrap();
}
