//! Criterion benches of the spine's workloads at sizes that run in seconds. The full-size
//! workloads, side by side with NumPy and dask, are in `benches/compare/run.sh`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tessera::datasets::sst;
use tessera::prelude::*;

fn workloads(c: &mut Criterion) {
    let mut g = c.benchmark_group("spine");
    g.sample_size(10);
    g.bench_function("tiny-tasks 10k blocks", |b| {
        b.iter(|| {
            let x = tessera::ones::<f64>(&[100_000], [10]).unwrap();
            black_box((&x + 1.0).sum(Axes::All).unwrap().item().unwrap())
        })
    });
    g.bench_function("lazy-slice", |b| {
        b.iter(|| {
            let x = tessera::ones::<f64>(&[10_000, 10_000], [1000, 1000]).unwrap();
            black_box(x.exp().slice(&sl![1..100, 1..100]).unwrap().compute().unwrap())
        })
    });
    let cube = sst(48, 720, 1440, 1, [24, 360, 360]).unwrap().compute().unwrap();
    let x = tessera::from_array(cube, [24, 360, 360]).unwrap();
    let m = x.nanmean(0).unwrap();
    g.bench_function("sst-nanmean 48 days in memory", |b| b.iter(|| black_box(m.compute().unwrap())));
    let y = tessera::random::normal::<f64>(1, &[2000, 2000], [500, 500], 0.0, 1.0).unwrap();
    let z = ((&y * 2.0).exp() + &y).sqrt().sum(0).unwrap();
    g.bench_function("fused chain + reduction 2000²", |b| b.iter(|| black_box(z.compute().unwrap())));
    g.finish();
}

/// The GPU variants, on the first hardware adapter (else the first, a software one only
/// proving the path) at sizes a software adapter runs in seconds; skipped without one. The
/// full sizes are `tessera bench sst-nanmean-gpu | xxT-sum-gpu | matmul-f32-gpu`.
fn gpu_workloads(c: &mut Criterion) {
    let devices = tessera::gpu::devices();
    let Some(d) = devices.iter().find(|d| d.kind != tessera::gpu::DeviceKind::Software).or(devices.first())
    else {
        eprintln!("notice: no GPU adapter; GPU benches skipped");
        return;
    };
    let opts = ComputeOptions::default().device(Device::Gpu(d.index));
    let mut g = c.benchmark_group(format!("gpu ({})", d.name));
    g.sample_size(10);
    let cube = sst(48, 720, 1440, 1, [24, 360, 360]).unwrap().compute().unwrap();
    let x = tessera::from_array(cube, [24, 360, 360]).unwrap();
    let m = x.nanmean(0).unwrap();
    g.bench_function("sst-nanmean 48 days in memory", |b| {
        b.iter(|| black_box(m.compute_with(&opts).unwrap()))
    });
    let a = tessera::random::uniform::<f32>(1, &[1024, 1024], [512, 512]).unwrap();
    let a = tessera::from_array(a.compute().unwrap(), [512, 512]).unwrap();
    let xxt = tessera::linalg::matmul(&a, &a.transpose()).unwrap().sum(0).unwrap();
    g.bench_function("xxT-sum f32 1024²", |b| b.iter(|| black_box(xxt.compute_with(&opts).unwrap())));
    let mm = tessera::linalg::matmul(&a, &a).unwrap();
    g.bench_function("matmul f32 1024²", |b| b.iter(|| black_box(mm.compute_with(&opts).unwrap())));
    g.finish();
}

criterion_group!(benches, workloads, gpu_workloads);
criterion_main!(benches);
