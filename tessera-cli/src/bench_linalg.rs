//! The linear-algebra workloads of `tessera bench`: inputs are built in memory before the
//! clock starts (as benches/compare/workloads.py does for NumPy and dask), and where the
//! issue asks, faer on the whole matrix runs in the same process for the ratio.

use ndarray::Array2;
use tessera::linalg::{cholesky, matmul, svd};
use tessera::prelude::*;

use crate::bench::time_it;

/// Uniform [0, 1) values, as an in-memory matrix.
fn random(seed: u64, m: usize, n: usize) -> tessera::Result<Array2<f64>> {
    let a = tessera::random::uniform::<f64>(seed, &[m, n], [m.min(2000), n.min(2000)])?.compute()?;
    a.into_dimensionality().map_err(|e| Error::invalid(e.to_string()))
}

/// `cholesky`: an SPD 10000² f64 matrix ((R + Rᵀ)/2 + n·I, R uniform) in 1000² tiles; faer's
/// `llt` of the whole matrix, on all cores, in the same process.
pub fn cholesky_bench(repeat: usize) -> tessera::Result<(f64, String)> {
    let n = 10_000;
    let r = random(3, n, n)?;
    let a = Array2::from_shape_fn((n, n), |(i, j)| {
        0.5 * (r[[i, j]] + r[[j, i]]) + if i == j { n as f64 } else { 0.0 }
    });
    drop(r);
    let x = tessera::from_array(a.clone(), [1000, 1000])?;
    let l = cholesky(&x, true)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(l.compute()?);
        Ok(())
    })?;
    let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
    drop(a);
    let faer_secs = time_it(repeat, || {
        let t = fa.llt(faer::Side::Lower).map_err(|e| Error::invalid(format!("{e:?}")))?;
        std::hint::black_box(t);
        Ok(())
    })?;
    Ok((secs, format!(", \"faer_seconds\": {faer_secs}, \"faer_ratio\": {}", secs / faer_secs)))
}

/// `qr-square`: the thin QR (Q and R) of a random 4000² f64 matrix in 1000² chunks (block
/// Gram-Schmidt with TSQR panels), beside faer's Householder QR of the whole matrix with
/// its thin Q in the same run.
pub fn qr_square(repeat: usize) -> tessera::Result<(f64, String)> {
    let n = 4000;
    let a = random(9, n, n)?;
    let x = tessera::from_array(a.clone(), [1000, 1000])?;
    let (q, r) = tessera::linalg::qr(&x)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(tessera::compute_many(&[&q, &r], &tessera::ComputeOptions::default())?);
        Ok(())
    })?;
    let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
    drop(a);
    let faer_secs = time_it(repeat, || {
        let f = fa.qr();
        std::hint::black_box((f.compute_thin_Q(), f.thin_R().to_owned()));
        Ok(())
    })?;
    Ok((secs, format!(", \"faer_seconds\": {faer_secs}, \"faer_ratio\": {}", secs / faer_secs)))
}

/// `svd-square`: the SVD of a random 4000² f64 matrix in 1000² chunks by block Jacobi
/// (`svd_jacobi`: no task holds more than two 1000-column panels' Gram matrix or a tile
/// product), beside faer's SVD of the whole matrix in the same run. `svd-square-disk`: the
/// same under a 192 MB memory budget, so X and V (256 MB) wait on disk between sweeps
/// (no faer run).
pub fn svd_square(repeat: usize, disk: bool) -> tessera::Result<(f64, String)> {
    let n = 4000;
    let a = random(11, n, n)?;
    let x = tessera::from_array(a.clone(), [1000, 1000])?;
    let opts =
        if disk { ComputeOptions::default().memory_budget(192 << 20) } else { ComputeOptions::default() };
    let secs = time_it(repeat, || {
        let (u, s, vt) = tessera::linalg::svd_jacobi(&x, &opts)?;
        let outs: [&dyn tessera::AnyArray; 3] = [&u, &s, &vt];
        std::hint::black_box(tessera::compute_many(&outs, &opts)?);
        Ok(())
    })?;
    if disk {
        return Ok((secs, String::new()));
    }
    let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
    drop(a);
    let faer_secs = time_it(repeat, || {
        std::hint::black_box(fa.thin_svd().map_err(|e| Error::invalid(format!("{e:?}")))?);
        Ok(())
    })?;
    Ok((secs, format!(", \"faer_seconds\": {faer_secs}, \"faer_ratio\": {}", secs / faer_secs)))
}

/// `xxT-sum`: `(a @ a.T).sum(axis=0)`, `a = arange(9e6).reshape(3000, 3000)` in 750² chunks.
pub fn xxt_sum(repeat: usize) -> tessera::Result<(f64, String)> {
    let a = tessera::arange(0.0f64, 9e6, 1.0, [750 * 3000])?.reshape(&[3000, 3000])?.rechunk([750, 750])?;
    let a = tessera::from_array(a.compute()?, [750, 750])?;
    let y = matmul(&a, &a.transpose())?.sum(0)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(y.compute()?);
        Ok(())
    })?;
    Ok((secs, String::new()))
}

/// `compound`: `(x @ (x.T + 1) - x.mean()).std()`, x uniform 10000² f64 in 1000² chunks.
pub fn compound(repeat: usize) -> tessera::Result<(f64, String)> {
    let x = tessera::from_array(random(5, 10_000, 10_000)?, [1000, 1000])?;
    let y = matmul(&x, &x.transpose().try_add(1.0)?)?.try_sub(&x.mean(Axes::All)?)?.std(Axes::All, 0.0)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(y.item()?);
        Ok(())
    })?;
    Ok((secs, String::new()))
}

/// `tsqr-svd`: thin SVD of a uniform 2,000,000 × 100 f64 matrix in 100,000 × 100 blocks,
/// generated block by block inside the graph (as `dask.array.random` would; NumPy must hold
/// it), `U`, `s` and `Vᵀ` returned in memory.
pub fn tsqr_svd(repeat: usize) -> tessera::Result<(f64, String)> {
    let x = tessera::random::uniform::<f64>(9, &[2_000_000, 100], [100_000, 100])?;
    let (u, s, vt) = svd(&x)?;
    let secs = time_it(repeat, || {
        let outs: [&dyn tessera::AnyArray; 3] = [&u, &s, &vt];
        std::hint::black_box(tessera::compute_many(&outs, &ComputeOptions::default())?);
        Ok(())
    })?;
    Ok((secs, String::new()))
}

/// `gemm-tile`: one 1000² f64 tile product, as each gemm task of the blocked algorithms
/// runs it (sequential faer), against faer on all cores; GFLOP/s for both.
pub fn gemm_tile(repeat: usize) -> tessera::Result<(f64, String)> {
    let n = 1000;
    let a = faer::Mat::<f64>::from_fn(n, n, |i, j| ((i * 7 + j * 3) % 11) as f64);
    let mut c = faer::Mat::<f64>::zeros(n, n);
    let mut run = |par| {
        time_it(repeat, || {
            faer::linalg::matmul::matmul(c.as_mut(), faer::Accum::Replace, a.as_ref(), a.as_ref(), 1.0, par);
            Ok(())
        })
    };
    let seq = run(faer::Par::Seq)?;
    let all = run(faer::Par::rayon(0))?;
    let gf = |s: f64| 2.0 * (n as f64).powi(3) / s / 1e9;
    Ok((seq, format!(", \"gflops_one_core\": {:.1}, \"gflops_all_cores\": {:.1}", gf(seq), gf(all))))
}

/// `lu-solve`: `solve(A, b)`, A uniform 8000² f64 in 1000² tiles, b 8000 × 10; faer's
/// partial-pivoting LU solve of the whole matrix, on all cores, in the same process.
pub fn lu_solve(repeat: usize) -> tessera::Result<(f64, String)> {
    let n = 8000;
    let a = random(21, n, n)?;
    let bm = random(22, n, 10)?;
    let x = tessera::linalg::solve(
        &tessera::from_array(a.clone(), [1000, 1000])?,
        &tessera::from_array(bm.clone(), [1000, 10])?,
    )?;
    let secs = time_it(repeat, || {
        std::hint::black_box(x.compute()?);
        Ok(())
    })?;
    let fa = faer::Mat::<f64>::from_fn(n, n, |i, j| a[[i, j]]);
    let fb = faer::Mat::<f64>::from_fn(n, 10, |i, j| bm[[i, j]]);
    drop(a);
    let faer_secs = time_it(repeat, || {
        use faer::linalg::solvers::Solve;
        std::hint::black_box(fa.partial_piv_lu().solve(&fb));
        Ok(())
    })?;
    Ok((secs, format!(", \"faer_seconds\": {faer_secs}, \"faer_ratio\": {}", secs / faer_secs)))
}
