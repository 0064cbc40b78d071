//! Thin SVD of a tall-skinny matrix by TSQR, and a rank-10 randomized SVD of a wide one.
//!
//! `cargo run --release --example svd`

use std::time::Instant;

use tessera::linalg::{matmul, svd, svd_compressed};
use tessera::prelude::*;

fn main() -> tessera::Result<()> {
    let x = tessera::random::uniform::<f64>(3, &[400_000, 50], [50_000, 50])?;
    let t = Instant::now();
    let (u, s, vt) = svd(&x)?;
    let outs: [&dyn tessera::AnyArray; 3] = [&u, &s, &vt];
    let r = tessera::compute_many(&outs, &ComputeOptions::default())?;
    let s0 = r[1].typed::<f64>()?;
    println!(
        "svd of 400000 × 50 in {:.2} s: largest singular value {:.3}, smallest {:.3}",
        t.elapsed().as_secs_f64(),
        s0[[0]],
        s0[[49]]
    );
    // A rank-10 matrix plus a little noise: the sketch finds its ten values.
    let l = tessera::random::normal::<f64>(4, &[1000, 10], [250, 10], 0.0, 1.0)?;
    let rr = tessera::random::normal::<f64>(5, &[10, 8000], [10, 2000], 0.0, 1.0)?;
    let noise = tessera::random::normal::<f64>(6, &[1000, 8000], [250, 2000], 0.0, 1e-6)?;
    let a = matmul(&l, &rr)?.try_add(&noise)?;
    let t = Instant::now();
    let (_, s, _) = svd_compressed(&a, 12, 8, 2, 7)?;
    let s = s.to_vec()?;
    println!("svd_compressed (k = 12) of 1000 × 8000 in {:.2} s:", t.elapsed().as_secs_f64());
    println!("  {:?}", s.iter().map(|v| format!("{v:.3e}")).collect::<Vec<_>>());
    println!("  ten large values, then the noise floor: {}", s[9] / s[10] > 1e3);
    Ok(())
}
