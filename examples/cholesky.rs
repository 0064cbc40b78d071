//! Blocked Cholesky of a 4000 × 4000 SPD matrix in 500² tiles, checked by reconstruction
//! and timed beside faer's factorisation of the whole matrix.
//!
//! `cargo run --release --example cholesky`

use std::time::Instant;

use tessera::linalg::{cholesky, matmul, solve_spd};
use tessera::prelude::*;

fn main() -> tessera::Result<()> {
    let n = 4000;
    // A = R Rᵀ / n + I: symmetric positive definite.
    let r = tessera::random::uniform::<f64>(1, &[n, n], [500, 500])?;
    let a =
        matmul(&r, &r.transpose())?.try_div(n as f64)?.try_add(&tessera::eye::<f64>(n, n, 0, [500, 500])?)?;
    let a = tessera::from_array(a.compute()?, [500, 500])?; // materialise the input first
    let t = Instant::now();
    let l = cholesky(&a, true)?;
    let lm = l.compute()?;
    let secs = t.elapsed().as_secs_f64();
    let err = matmul(&l, &l.transpose())?.try_sub(&a)?.abs().max(Axes::All)?.item()?;
    println!("tessera: L of {n}² in {secs:.2} s ({} tiles), max |L Lᵀ − A| = {err:.2e}", a.nblocks());
    let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| lm[[i, j]]);
    let fa = &fa * fa.transpose();
    let t = Instant::now();
    let _ = fa.llt(faer::Side::Lower).map_err(|e| Error::invalid(format!("{e:?}")))?;
    println!("faer, whole matrix: {:.2} s", t.elapsed().as_secs_f64());
    // And a solve through the factor.
    let b = tessera::ones::<f64>(&[n], [500])?;
    let x = solve_spd(&a, &b)?;
    let res = matmul(&a, &x)?.try_sub(&b)?.abs().max(Axes::All)?.item()?;
    println!("solve_spd: max |A x − b| = {res:.2e}");
    Ok(())
}
