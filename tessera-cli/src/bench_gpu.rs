//! GPU variants of the workloads (`tessera bench sst-nanmean-gpu | xxT-sum-gpu |
//! matmul-f32-gpu`, and `matmul-f32` on the CPU beside it), on the first hardware adapter, else
//! the first adapter (a software one only proves the path). Each reports its rate: GB/s of
//! input for the reduction, GFLOP/s for the products, and the adapter's name.

use tessera::datasets::{SST_LAT, SST_LON, sst};
use tessera::linalg::matmul;
use tessera::prelude::*;

use crate::bench::time_it;

/// The first hardware adapter, else the first adapter.
fn adapter() -> tessera::Result<tessera::gpu::DeviceInfo> {
    let devices = tessera::gpu::devices();
    let hardware = devices.iter().find(|d| d.kind != tessera::gpu::DeviceKind::Software);
    hardware
        .or(devices.first())
        .cloned()
        .ok_or_else(|| Error::BackendUnavailable("no GPU adapter for the GPU benchmarks".into()))
}

/// Options placing every task the GPU can run on the chosen adapter, and its description.
fn gpu() -> tessera::Result<(ComputeOptions, String)> {
    let d = adapter()?;
    let what = format!("{} ({}, {:?})", d.name, d.backend, d.kind);
    Ok((ComputeOptions::default().device(Device::Gpu(d.index)), what))
}

fn extra(rate: f64, unit: &str, device: &str) -> String {
    format!(", \"rate\": {rate:.2}, \"unit\": \"{unit}\", \"device\": \"{}\"", device.replace('"', "'"))
}

/// sst-nanmean with every task on the GPU: nanmean over time of the (365, 720, 1440) f32 cube
/// in (24, 360, 360) blocks, uploaded block by block from host memory.
pub fn sst_nanmean(repeat: usize) -> tessera::Result<(f64, String)> {
    let (opts, device) = gpu()?;
    let data = sst(365, SST_LAT, SST_LON, 2026, [24, 360, 360])?.compute()?;
    let bytes = (data.len() * 4) as f64;
    let x = tessera::from_array(data, [24, 360, 360])?;
    let m = x.nanmean(0)?;
    let secs = time_it(repeat, || {
        let (r, report) = m.compute_report(&opts)?;
        assert!(report.gpu_tasks > 0, "the reduction ran on the CPU");
        std::hint::black_box(r);
        Ok(())
    })?;
    Ok((secs, extra(bytes / secs / 1e9, "GB/s", &device)))
}

/// xxT-sum with the gemm/syrk tiles and the sum on the GPU (f64 where the adapter has it, as
/// the CPU workload; else f32).
pub fn xxt_sum(repeat: usize) -> tessera::Result<(f64, String)> {
    let (opts, device) = gpu()?;
    let a = tessera::arange(0.0f64, 9e6, 1.0, [750 * 3000])?.reshape(&[3000, 3000])?.rechunk([750, 750])?;
    let a = tessera::from_array(a.compute()?, [750, 750])?;
    let f64_ok = tessera::gpu::devices().iter().any(|d| d.shader_f64);
    let secs = if f64_ok {
        let y = matmul(&a, &a.transpose())?.sum(0)?;
        time_it(repeat, || {
            std::hint::black_box(y.compute_with(&opts)?);
            Ok(())
        })?
    } else {
        let a = a.astype::<f32>();
        let y = matmul(&a, &a.transpose())?.sum(0)?;
        time_it(repeat, || {
            std::hint::black_box(y.compute_with(&opts)?);
            Ok(())
        })?
    };
    let flops = 2.0 * 3000f64.powi(3);
    let dt = if f64_ok { "f64" } else { "f32" };
    Ok((secs, extra(flops / secs / 1e9, &format!("GFLOP/s ({dt}, counted as a full product)"), &device)))
}

/// An f32 matmul 4096² @ 4096² in 1024² tiles, on the GPU (`gpu`) or the CPU.
pub fn matmul_f32(repeat: usize, on_gpu: bool) -> tessera::Result<(f64, String)> {
    let (opts, device) =
        if on_gpu { gpu()? } else { (ComputeOptions::default().device(Device::Cpu), "cpu".into()) };
    let n = 4096;
    let a = tessera::from_array(
        tessera::random::uniform::<f32>(1, &[n, n], [1024, 1024])?.compute()?,
        [1024, 1024],
    )?;
    let b = tessera::from_array(
        tessera::random::uniform::<f32>(2, &[n, n], [1024, 1024])?.compute()?,
        [1024, 1024],
    )?;
    let y = matmul(&a, &b)?;
    let secs = time_it(repeat, || {
        std::hint::black_box(y.compute_with(&opts)?);
        Ok(())
    })?;
    Ok((secs, extra(2.0 * (n as f64).powi(3) / secs / 1e9, "GFLOP/s", &device)))
}

/// Kernel-only rates on the chosen adapter (data already in GPU memory; on the GPU's clock
/// where it has timestamp queries, with the wall-clock time of back-to-back tasks beside): the device's own
/// ceilings (buffer copy, a WGSL copy kernel, an FMA loop) beside tessera's fused elementwise,
/// reduction and gemm kernels. `TESSERA_PROBE_ELEMENTS` (default 2²⁶ f32) and
/// `TESSERA_PROBE_GEMM` (default 4096) set the sizes; `TESSERA_PROBE_KERNELS` picks groups
/// (`copy,fma,fused,reduce,gemm`, or `placement`: a few kernels on several fresh allocations
/// of one input, `TESSERA_PROBE_BUFFERS` of them).
#[cfg(feature = "gpu")]
pub fn kernels(repeat: usize, json: bool) -> tessera::Result<()> {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let d = adapter()?;
    let rates = tessera::gpu::kernel_rates(
        d.index,
        env("TESSERA_PROBE_ELEMENTS", 1 << 26),
        env("TESSERA_PROBE_GEMM", 4096),
        repeat,
    )?;
    println!("{} ({}, {:?}, driver {})", d.name, d.backend, d.kind, d.driver);
    for r in rates {
        if json {
            println!(
                "{{\"workload\": \"gpu-kernels\", \"kernel\": \"{}\", \"seconds\": {}, \"wall_seconds\": {}, \"gb_per_s\": {:.1}, \"gflop_per_s\": {:.1}}}",
                r.name,
                r.seconds,
                r.wall_seconds,
                r.gb_per_s(),
                r.gflop_per_s()
            );
        } else {
            println!(
                "{:<44} {:>10.3} ms (wall {:>8.3} ms) {:>9.1} GB/s {:>10.1} GFLOP/s",
                r.name,
                r.seconds * 1e3,
                r.wall_seconds * 1e3,
                r.gb_per_s(),
                r.gflop_per_s()
            );
        }
    }
    Ok(())
}

/// Without the `gpu` feature there is nothing to measure.
#[cfg(not(feature = "gpu"))]
pub fn kernels(_repeat: usize, _json: bool) -> tessera::Result<()> {
    Err(Error::BackendUnavailable("built without the `gpu` feature".into()))
}
