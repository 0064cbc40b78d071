//! Weighted statistics: NumPy's `average`, `cov` and `corrcoef` (in `stats/moments.rs`),
//! NaN-aware weighted averages, and the area-weighted field mean of
//! climate data (CDO's `fldmean`), by cos(latitude) or by the grid's cell areas.

use ndarray::ArrayView2;

mod moments;
pub use moments::{CovOptions, average, average_returned, corrcoef, cov};

use crate::array::{Array, Axes, where_};
use crate::core::chunks::Chunks;
use crate::core::dtype::{Element, Float};
use crate::core::error::{Error, Result};

/// The weighted average of `x` over `axes`, skipping NaN values: Σ w·x / Σ w over the
/// elements that are not NaN (NumPy's `average(x, weights=w)` restricted to them; NaN where
/// none is left, or where their weights sum to 0). `weights` broadcast against `x` as NumPy
/// broadcasts (cos(latitude) for a (time, lat, lon) field: shape `[nlat, 1]`). Sums in f64.
/// `x` is read once: both sums take its blocks.
///
/// ```
/// use tessera::prelude::*;
/// let x = tessera::from_array(ndarray::array![[1.0f64, f64::NAN], [3.0, 5.0]].into_dyn(), [1, 2])?;
/// let w = tessera::from_array(ndarray::array![[1.0f64], [3.0]].into_dyn(), [2, 1])?;
/// let m = tessera::stats::nanaverage(&x, &w, vec![0usize, 1])?.compute()?;
/// assert_eq!(m.into_raw_vec_and_offset().0, vec![(1.0 + 9.0 + 15.0) / 7.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn nanaverage<T: Float>(x: &Array<T>, weights: &Array<f64>, axes: impl Into<Axes>) -> Result<Array<f64>> {
    let axes = axes.into();
    let nan = x.isnan();
    let wx = x.astype::<f64>().try_mul(weights)?;
    // The weights as large as x (broadcast through the product with x's mask).
    let w = nan.astype::<f64>().try_mul(0.0)?.try_add(weights)?;
    let num = where_(&nan, 0.0, &wx)?.sum(axes.clone())?;
    let den = where_(&nan, 0.0, &w)?.sum(axes)?;
    num.try_div(&den)
}

/// The area-weighted mean over the last two axes (latitude, longitude) of a field whose
/// latitudes (in degrees, cell centres, any order) are `lat`: weights cos(lat) per row,
/// NaN (land, missing) skipped, as CDO's `fldmean` on a regular grid. One value per
/// leading index (per time step of a (time, lat, lon) field), in f64.
pub fn field_mean<T: Float>(x: &Array<T>, lat: &[f64]) -> Result<Array<f64>> {
    let (nlat, _) = grid("field_mean", x)?;
    let nd = x.ndim();
    if lat.len() != nlat {
        return Err(Error::invalid(format!(
            "field_mean: {} latitudes for a field of {nlat} rows",
            lat.len()
        )));
    }
    if let Some(bad) = lat.iter().find(|l| !(-90.0..=90.0).contains(*l)) {
        return Err(Error::invalid(format!("field_mean: latitude {bad} is not in [-90, 90]")));
    }
    // The weights vary along latitude only: reduce each row first (a sum and a count per
    // row, one pass over x), then weight the rows. The same number as `nanaverage` with
    // weights [nlat, 1] (the sums in another order).
    let w: Vec<f64> = lat.iter().map(|l| l.to_radians().cos().max(0.0)).collect();
    let w = crate::from_array(
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[nlat]), w)
            .map_err(|e| Error::invalid(e.to_string()))?,
        [nlat],
    )?;
    let rows = x.astype::<f64>().nansum(nd as isize - 1)?;
    let counts = x.count(nd as isize - 1)?.astype::<f64>();
    let num = rows.try_mul(&w)?.sum(nd as isize - 2)?;
    let den = counts.try_mul(&w)?.sum(nd as isize - 2)?;
    num.try_div(&den)
}

/// The area-weighted mean over the last two axes (latitude, longitude) of a field, each cell
/// weighted by `weights` (lat × lon: the grid's cell areas, in any unit): Σ w·x / Σ w over
/// the cells of each field that are not NaN, as CDO's `fldmean` on a grid that carries its
/// cell areas. A field of NaN alone, or whose cells left have weights summing to 0, gives
/// NaN (CDO: a missing value). A NaN weight (a missing area) counts as 0: that cell is left
/// out, as CDO leaves out a cell whose weight is missing; a negative or infinite weight is
/// an error. One value per leading index, in f64; `x` is read once ([`nanaverage`]).
///
/// ```
/// use tessera::prelude::*;
/// // One step of a 2 × 2 field; the cell with NaN is left out of both sums.
/// let x = tessera::from_array(ndarray::array![[[1.0f64, f64::NAN], [3.0, 5.0]]].into_dyn(), [1, 2, 2])?;
/// let areas = ndarray::array![[1.0, 2.0], [3.0, 0.5]];
/// let m = tessera::stats::field_mean_weighted(&x, areas.view())?.compute()?;
/// assert_eq!(m[[0]], (1.0 + 9.0 + 2.5) / 4.5);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn field_mean_weighted<T: Float>(x: &Array<T>, weights: ArrayView2<'_, f64>) -> Result<Array<f64>> {
    let (nlat, nlon) = grid("field_mean_weighted", x)?;
    if weights.dim() != (nlat, nlon) {
        return Err(Error::invalid(format!(
            "field_mean_weighted: weights of shape {:?} for a field of {nlat} × {nlon} cells",
            weights.shape()
        )));
    }
    if let Some(((i, j), w)) = weights.indexed_iter().find(|(_, w)| **w < 0.0 || w.is_infinite()) {
        return Err(Error::invalid(format!(
            "field_mean_weighted: the weight at row {i}, column {j} is {w}; cell areas are finite and \
             not negative"
        )));
    }
    let nd = x.ndim();
    // Chunked as the field's grid, so the product with x needs no rechunk.
    let chunks = Chunks::new(vec![x.chunks().axis(nd - 2).to_vec(), x.chunks().axis(nd - 1).to_vec()])?;
    let w = crate::from_array(weights.mapv(|w| if w.is_nan() { 0.0 } else { w }), chunks)?;
    nanaverage(x, &w, vec![nd - 2, nd - 1])
}

/// The rows and columns of the grid of `x`, a (…, lat, lon) field; an error naming `op`
/// when it has fewer than two dimensions.
fn grid<T: Element>(op: &str, x: &Array<T>) -> Result<(usize, usize)> {
    match x.shape() {
        [.., nlat, nlon] => Ok((*nlat, *nlon)),
        _ => Err(Error::invalid(format!("{op} needs (…, lat, lon) data; this has {} dimensions", x.ndim()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn field_mean_weights_rows_by_cos_lat_and_skips_nan() {
        // 2 steps of a 3 × 2 field at latitudes −60, 0, 60: weights 0.5, 1, 0.5.
        let v = vec![
            1.0f32,
            2.0,
            3.0,
            f32::NAN,
            5.0,
            6.0,
            f32::NAN,
            f32::NAN,
            f32::NAN,
            f32::NAN,
            f32::NAN,
            f32::NAN,
        ];
        let x = crate::from_array(ArrayD::from_shape_vec(IxDyn(&[2, 3, 2]), v).unwrap(), [1, 2, 2]).unwrap();
        let m = field_mean(&x, &[-60.0, 0.0, 60.0]).unwrap().compute().unwrap();
        let c60 = 60f64.to_radians().cos();
        let want = (c60 * (1.0 + 2.0) + 3.0 + c60 * (5.0 + 6.0)) / (2.0 * c60 + 1.0 + 2.0 * c60);
        assert!((m[[0]] - want).abs() < 1e-12, "{} vs {want}", m[[0]]);
        // A step of NaN alone: NaN.
        assert!(m[[1]].is_nan());
        assert!(field_mean(&x, &[0.0, 1.0]).is_err());
        assert!(field_mean(&x, &[0.0, 1.0, 91.0]).is_err());
    }

    /// Σ w·x / Σ w over the cells of each step that are not NaN, NaN weights as 0, by hand.
    fn weighted_reference(x: &ndarray::Array3<f64>, w: &ndarray::Array2<f64>) -> Vec<f64> {
        let (nt, ny, nx) = x.dim();
        (0..nt)
            .map(|t| {
                let (mut num, mut den) = (0.0, 0.0);
                for i in 0..ny {
                    for j in 0..nx {
                        let (v, wij) = (x[[t, i, j]], if w[[i, j]].is_nan() { 0.0 } else { w[[i, j]] });
                        if !v.is_nan() {
                            num += wij * v;
                            den += wij;
                        }
                    }
                }
                num / den
            })
            .collect()
    }

    #[test]
    fn field_mean_weighted_matches_the_eager_mean_with_nan_cells_and_zero_or_missing_areas() {
        let (nt, ny, nx) = (5, 7, 9);
        let mut x = ndarray::Array3::from_shape_fn((nt, ny, nx), |(t, i, j)| {
            let v = ((t * 31 + i * 7 + j * 3) as f64 * 0.37).sin() * 10.0 + 15.0;
            if (t + i * 2 + j) % 4 == 0 { f64::NAN } else { v }
        });
        // Step 3: NaN everywhere (→ NaN). Step 4: values only where the area is 0 (→ NaN).
        x.index_axis_mut(ndarray::Axis(0), 3).fill(f64::NAN);
        let mut w =
            ndarray::Array2::from_shape_fn((ny, nx), |(i, j)| 1.0 + ((i * nx + j) as f64 * 0.61).cos());
        w[[0, 0]] = 0.0;
        w[[2, 5]] = 0.0;
        w[[4, 1]] = f64::NAN; // a missing area: the cell is left out
        for ((i, j), v) in x.index_axis_mut(ndarray::Axis(0), 4).indexed_iter_mut() {
            *v = if (i, j) == (0, 0) || (i, j) == (2, 5) { 4.0 } else { f64::NAN };
        }
        let want = weighted_reference(&x, &w);
        assert!(want[..3].iter().all(|v| v.is_finite()) && want[3].is_nan() && want[4].is_nan());
        let xd = x.clone().into_dyn();
        for chunks in [[5, 7, 9], [2, 3, 4], [1, 7, 2]] {
            let a = crate::from_array(xd.clone(), chunks).unwrap();
            let got = field_mean_weighted(&a, w.view()).unwrap().compute().unwrap();
            assert_eq!(got.shape(), [nt]);
            for (t, (g, r)) in got.iter().zip(&want).enumerate() {
                let ok = if r.is_nan() { g.is_nan() } else { (g - r).abs() <= 1e-12 * r.abs() };
                assert!(ok, "chunks {chunks:?}, step {t}: {g} vs {r}");
            }
            // f32 data: the same sums in f64.
            let a32 = crate::from_array(xd.mapv(|v| v as f32), chunks).unwrap();
            let got32 = field_mean_weighted(&a32, w.view()).unwrap().compute().unwrap();
            assert!((got32[[0]] - want[0]).abs() < 1e-5 * want[0].abs(), "{} vs {}", got32[[0]], want[0]);
        }
    }

    #[test]
    fn field_mean_weighted_by_cos_lat_is_field_mean_and_bad_weights_are_errors() {
        let lat = [-75.0, -30.0, 10.0, 60.0];
        let x = ArrayD::from_shape_fn(IxDyn(&[3, 4, 5]), |i| {
            if (i[0] + i[1] + i[2]) % 3 == 0 { f64::NAN } else { (i[0] * 20 + i[1] * 5 + i[2]) as f64 }
        });
        let a = crate::from_array(x, [2, 3, 5]).unwrap();
        let w = ndarray::Array2::from_shape_fn((4, 5), |(i, _)| f64::to_radians(lat[i]).cos());
        let by_areas = field_mean_weighted(&a, w.view()).unwrap().compute().unwrap();
        let by_rows = field_mean(&a, &lat).unwrap().compute().unwrap();
        for (p, q) in by_areas.iter().zip(by_rows.iter()) {
            assert!((p - q).abs() < 1e-12, "{by_areas} vs {by_rows}");
        }
        let mut bad = w.clone();
        bad[[1, 2]] = -1.0;
        let e = field_mean_weighted(&a, bad.view()).unwrap_err().to_string();
        assert!(e.contains("row 1, column 2") && e.contains("-1"), "{e}");
        bad[[1, 2]] = f64::INFINITY;
        assert!(field_mean_weighted(&a, bad.view()).is_err());
        let e = field_mean_weighted(&a, w.t()).unwrap_err().to_string();
        assert!(e.contains("[5, 4]") && e.contains("4 × 5"), "{e}");
        let one_d = crate::from_array(ArrayD::<f64>::zeros(IxDyn(&[5])), [5]).unwrap();
        assert!(field_mean_weighted(&one_d, w.view()).is_err());
    }
}
