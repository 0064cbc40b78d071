//! Helpers of the GPU parity tests (tests/gpu.rs, tests/gpu_linalg.rs).
#![allow(dead_code)]

use ndarray::{ArrayD, IxDyn};
use tessera::{Array, ComputeOptions, Device, Element};

pub const SIZES: [usize; 7] = [0, 1, 31, 127, 255, 257, 65537];

/// Options placing every task the GPU can run on GPU 0, or `None` (with a notice) without one.
/// The guard serialises the tests of one test binary: they read the GPU's shared counters.
pub fn gpu() -> Option<(std::sync::MutexGuard<'static, ()>, ComputeOptions)> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if tessera::gpu::devices().is_empty() {
        let required = std::env::var("TESSERA_REQUIRE_GPU").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "TESSERA_REQUIRE_GPU=1 but wgpu found no adapter (apt-get install mesa-vulkan-drivers)"
        );
        eprintln!("notice: no GPU adapter; GPU parity tests skipped");
        return None;
    }
    Some((guard, ComputeOptions::default().device(Device::Gpu(0))))
}

pub fn cpu() -> ComputeOptions {
    ComputeOptions::default().device(Device::Cpu)
}

/// The array computed on the GPU and on the CPU, and the number of GPU tasks.
pub fn both<T: Element>(x: &Array<T>, g: &ComputeOptions) -> (ArrayD<T>, ArrayD<T>, usize) {
    let (a, rep) = x.compute_report(g).expect("GPU compute");
    let b = x.compute_with(&cpu()).expect("CPU compute");
    assert_eq!(a.shape(), b.shape());
    (a, b, rep.gpu_tasks)
}

/// Deterministic xorshift values.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub const SPECIALS: [f32; 8] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e-30, -1e30, 0.5];

/// `n` floats in [lo, hi), every 7th one special when `special`.
pub fn floats(n: usize, lo: f32, hi: f32, special: bool, seed: u64) -> Vec<f32> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|i| if special && i % 7 == 3 { SPECIALS[(i / 7) % 8] } else { lo + (hi - lo) * r.unit() as f32 })
        .collect()
}

/// Irregular chunks for an axis of `n` (a 1-element block among them when n > 2).
pub fn irregular(n: usize) -> Vec<usize> {
    match n {
        0 => vec![0],
        1 | 2 => vec![n],
        _ => {
            let a = (n / 3).max(1);
            vec![a, 1, n - a - 1]
        }
    }
}

pub fn arr1<T: Element>(v: Vec<T>) -> Array<T> {
    let n = v.len();
    tessera::from_array(
        ArrayD::from_shape_vec(IxDyn(&[n]), v).unwrap(),
        tessera::Chunks::new(vec![irregular(n)]).unwrap(),
    )
    .unwrap()
}

/// `|g − c| ≤ ulps·ε·|c| + abs`, NaN where the other is NaN, infinities equal.
pub fn assert_close(g: &ArrayD<f32>, c: &ArrayD<f32>, ulps: f32, abs: f32, what: &str) {
    for (i, (&a, &b)) in g.iter().zip(c).enumerate() {
        let ok = if b.is_nan() || a.is_nan() {
            a.is_nan() && b.is_nan()
        } else if b.is_infinite() || a.is_infinite() {
            a == b
        } else {
            (a - b).abs() <= ulps * f32::EPSILON * b.abs() + abs
        };
        assert!(ok, "{what}: element {i}: GPU {a:e}, CPU {b:e}");
    }
}
