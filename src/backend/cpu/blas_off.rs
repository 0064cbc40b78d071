//! Without the `blas` feature every tile product runs on faer: these say "not done".

use ndarray::{ArcArray, Array2, IxDyn};

use crate::backend::cpu::tiles::TileFloat;

/// Whether gemm and syrk tiles run on OpenBLAS (not in this build).
pub(crate) const ENABLED: bool = false;

/// Always false: faer runs the product.
pub(crate) fn gemm<T: TileFloat>(
    _out: &mut Array2<T>,
    _accumulate: bool,
    _a: (&ArcArray<T, IxDyn>, bool),
    _b: (&ArcArray<T, IxDyn>, bool),
    _alpha: f64,
) -> bool {
    false
}

/// Always false: faer runs the product.
pub(crate) fn syrk_lower<T: TileFloat>(
    _out: &mut Array2<T>,
    _accumulate: bool,
    _a: &ArcArray<T, IxDyn>,
    _alpha: f64,
) -> bool {
    false
}
