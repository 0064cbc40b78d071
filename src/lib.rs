//! # tessera
//!
//! Blocked, out-of-core, parallel n-dimensional arrays for Rust: an array is cut into blocks,
//! every operation builds a task graph over the blocks, and a scheduler runs the graph on all
//! cores. It is what dask.array is to NumPy, rebuilt in Rust.
//!
//! ```
//! use tessera::prelude::*;
//!
//! // A lazy 4000 × 4000 array of random numbers in 1000 × 1000 blocks.
//! let x = tessera::random::normal::<f64>(42, &[4000, 4000], [1000, 1000], 0.0, 1.0)?;
//! // Nothing runs yet: each op adds a node to the graph.
//! let y = ((&x * 2.0).exp() - 1.0).mean(0)?;
//! // compute() plans (culls and fuses: one task per block here), then runs on all cores.
//! let v = y.compute()?;
//! assert_eq!(v.shape(), &[4000]);
//! # Ok::<(), tessera::Error>(())
//! ```
//!
//! ## For NumPy and dask users
//!
//! | NumPy / dask | tessera |
//! |---|---|
//! | `da.from_array(a, chunks=(1000, 1000))` | `tessera::from_array(a, [1000, 1000])?` |
//! | `da.ones((n, m), chunks="auto")` | `tessera::ones::<f64>(&[n, m], ChunkSpec::Auto)?` |
//! | `x + y`, `x * 2` | `&x + &y`, `&x * 2.0` (or `x.try_add(&y)?`) |
//! | `np.where(c, a, b)` | `tessera::where_(&c, &a, &b)?` |
//! | `x.sum(axis=0)`, `x.sum()` | `x.sum(0)?`, `x.sum(Axes::All)?` |
//! | `x.sum(axis=(0, 2), keepdims=True)` | `x.sum_with([0, 2], &ReduceOptions::default().keepdims(true))?` |
//! | `x.std(ddof=1)` | `x.std(Axes::All, 1.0)?` |
//! | `np.sort(x, axis=0)`, `np.argsort(x, kind="stable")` | `x.sort(0)?`, `x.argsort(-1)?` |
//! | `np.nanpercentile(x, 90, axis=0)`, `np.median(x, 1)` | `x.nanpercentile(90.0, 0)?`, `x.median(1)?` |
//! | `np.quantile(x, [.1, .9], 0, method="hazen")` | `x.quantile_with(&[0.1, 0.9], 0, &QuantileOptions::default().method(QuantileMethod::Hazen))?` |
//! | flox `xarray_reduce(x, doy, func="nanquantile", q=0.9)` | `x.groupby_quantile(0, &doy, 0.9, &GroupQuantileOptions { skip_nan: true, ..Default::default() })?` |
//! | `np.histogram(x, 256, range=(0, 1))` | `x.histogram(256, Some((0.0, 1.0)))?` → (counts, edges) |
//! | `np.histogram2d(x, y, 10)`, `np.bincount(x, minlength=5)` | `tessera::histogram2d(&x, &y, &[10.into()], &Default::default(), None)?`, `x.bincount(5)?` |
//! | `np.searchsorted(a, v, "right")`, `np.digitize(x, bins)`, `np.isin(x, t)` | `tessera::searchsorted(&a, &v, Side::Right)?`, `x.digitize(&bins, false)?`, `x.isin(&t, false)?` |
//! | `np.unique(x, return_counts=True, return_inverse=True)` | `x.unique()?`, `x.unique_full()?` (computed now; the inverse lazy) |
//! | `xr.DataArray.rolling(time=11, center=True).mean()` | `x.rolling(0, 11)?.center(true).mean()?` |
//! | `np.diff(x, axis=0)`, `np.gradient(x, 0.5, axis=1)` | `x.diff(1, 0)?`, `x.gradient(1, 0.5, 1)?` |
//! | `np.average(x, 0, weights=w)`, `np.cov(m)` | `stats::average(&x, 0, Some(&w))?`, `stats::cov(&m, None, &Default::default())?` |
//! | `xr.DataArray.coarsen(lat=4, lon=4).mean()` | `x.coarsen(&[(1, 4), (2, 4)], CoarsenBoundary::Exact)?.mean()?` |
//! | `da.topk(x, 5)`, `da.argtopk(x, -5)` | `x.topk(5, -1)?`, `x.argtopk_with(5, -1, &TopkOptions { largest: false, ..Default::default() })?` |
//! | `x[10:, 100:50:-2]` | `x.slice(&sl![10.., (Some(100), Some(50), -2)])?` |
//! | `x[0, :, [1, 2]]`, `x[..., None, mask]` | `x.index(&idx![0, .., [1, 2]])?`, `x.index(&[Idx::Ellipsis, Idx::NewAxis, Idx::Mask(mask)])?` |
//! | `x.map_blocks(f)` | `x.map_blocks(f)?` |
//! | `x.compute()` | `x.compute()?` → `ndarray::ArrayD` |
//! | `dask.compute(a, b)` | `tessera::compute_many(&[&a, &b], &opts)?` |
//! | `x.visualize()` | `x.to_dot()` |
//! | CuPy / JAX on a GPU | `x.compute_with(&ComputeOptions::default().device(Device::Gpu(0)))?` (see [`gpu`]) |
//!
//! Differences worth knowing: integer `/` is NumPy's floor division (`//`), `%` follows
//! NumPy's sign rule; range bounds in slices are clamped like NumPy, integer indices out of
//! range are errors; reductions are bit-identical whatever the number of threads.
//!
//! ## Modules
//!
//! What most programs use is re-exported at the top (`Array`, the creation functions,
//! `ComputeOptions`, `Error`, …) and in [`prelude`]. The public modules:
//!
//! | module | what it holds |
//! |---|---|
//! | [`array`](mod@array) | [`Array`] and its creation functions (`tessera::ones`, `from_array`, … are re-exported at the top) |
//! | [`linalg`] | blocked linear algebra: products, Cholesky, QR (TSQR), LU, SVD and eigensolvers, solves |
//! | [`groupby`] | groupby-reduce and anomalies by integer labels (the flox algorithm) |
//! | [`delayed`] | lazy calls of any Rust function, with arrays as arguments |
//! | [`overlap`] | ghost cells and stencils (`map_overlap`) |
//! | [`random`] | reproducible random arrays (one stream per block) |
//! | [`io`] | .npy, raw binary, Zarr, netCDF (feature `netcdf`), datasets of many files |
//! | [`calendar`] | day-of-year and month labels, CF dates |
//! | [`datasets`] | the built-in sea-surface-temperature cube |
//! | [`gpu`] | the GPU adapters tessera sees, their counters, a kernel-rate probe |
//! | [`dtype`], [`error`], [`block`](mod@block) | element types, [`Error`], host blocks ([`HostArray`]) |
//!
//! Plans are inspectable without running them: [`Array::plan`] gives a [`TaskGraph`] (tasks,
//! [`PlanStats`], DOT, predicted peak memory), [`plan_many`] plans several arrays together.
//! The layers below (chunk geometry, the task IR, kernels and backends, schedulers, the
//! planner, the compute entry) are internal; ARCHITECTURE.md draws them.
//!
//! The command line (`tessera reduce`, `generate-sst`, `bench`) and PNG maps are the
//! `tessera-cli` crate of this workspace.

#![warn(missing_docs)]

pub mod array;
pub(crate) mod backend;
pub mod calendar;
pub mod climate;
pub(crate) mod compute;
pub(crate) mod core;
pub mod datasets;
pub use crate::core::{block, dtype, error};
pub mod delayed;
pub(crate) mod graph;
pub mod groupby;
pub mod io;
pub(crate) mod ir;
pub mod linalg;
pub mod overlap;
pub mod random;
pub(crate) mod runtime;
pub(crate) mod scheduler;
pub mod stats;
#[cfg(feature = "testing")]
pub mod testing;

/// The GPU adapters tessera sees, their counters, and a probe of kernel rates. Choose a GPU
/// for a compute with [`ComputeOptions::device`].
///
/// ```
/// for d in tessera::gpu::devices() {
///     println!("{}: {:?}, f64 shaders: {}", d.name, d.kind, d.shader_f64);
/// }
/// ```
pub mod gpu {
    pub use crate::backend::gpu::{GpuStats, devices, stats};
    #[cfg(feature = "gpu")]
    pub use crate::backend::gpu::{KernelRate, kernel_rates};
    pub use crate::runtime::{DEFAULT_GPU_BUDGET, DeviceInfo, DeviceKind};
}

pub use crate::core::block::HostArray;
pub use crate::core::chunks::{ChunkSpec, Chunks, DEFAULT_CHUNK_BYTES};
pub use crate::core::dtype::{DType, Element, Float, Integer, Number};
pub use crate::core::error::{Error, Result};
pub use crate::core::promote::{
    Promote, ScalarKind, WeakPromote, WeakScalar, result_type, result_type_of, result_type_weak,
};
pub use array::creation::{arange, eye, from_array, from_view, full, linspace, ones, zeros};
pub use array::plan_many;
pub use array::{
    AnyArray, Array, Axes, Bins, GroupQuantileOptions, HistogramOptions, Idx, IntoOperand, LineLimits,
    Nested, Operand, QuantileOptions, ReduceOptions, SliceArg, SortOptions, TopkOptions, block, block_nested,
    compute_many, compute_many_report, concatenate, concatenate_promoted, stack, stack_promoted, where_,
    where_promoted,
};
pub use array::{BinLength, HistogramDdOptions, Side, Unique, histogram2d, histogramdd, searchsorted};
pub use ir::order::QuantileMethod;
pub use ir::reduce::{ReduceKind, ReduceOp, Reduction};
pub use ir::task::{PlanStats, Task, TaskGraph, TaskId};
pub use runtime::{
    ComputeOptions, Device, Progress, SchedulerKind, clear_interrupt, default_memory_budget, interrupt,
    max_workers, physical_memory, set_default_options,
};
pub use scheduler::{Profile, RunReport, TaskRecord};

/// The names most programs need.
pub mod prelude {
    pub use crate::{
        Array, Axes, ChunkSpec, Chunks, ComputeOptions, DType, Device, Element, Error, Idx, ReduceOptions,
        Result, SchedulerKind, SliceArg, idx, sl,
    };
}
