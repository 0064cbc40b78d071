//! Weighted statistics: NaN-aware weighted averages, and the area-weighted field mean of
//! climate data (CDO's `fldmean`).

use crate::array::{Array, Axes, where_};
use crate::core::dtype::Float;
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
    let nd = x.ndim();
    if nd < 2 {
        return Err(Error::invalid(format!("field_mean needs (…, lat, lon) data; this has {nd} dimensions")));
    }
    let nlat = x.shape()[nd - 2];
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
}
