//! Synthetic data sets for examples, tests and benchmarks (what `xarray.tutorial` is to
//! xarray). Files of them are written by the `tessera generate-sst` command.
//!
//! [`sst`] is an OISST-shaped daily sea-surface-temperature cube: `(days, 720, 1440)` `f32`
//! on a quarter-degree grid, about 30 % of the cells land (NaN on every day), a warm equator,
//! a seasonal cycle whose sign flips between hemispheres, and day-to-day noise. Values are a
//! pure function of `(seed, day, lat, lon)`, so any block can be generated on its own and the
//! same seed gives the same cube whatever the chunking.

use std::ops::Range;
use std::sync::Arc;

use crate::array::Array;
use crate::array::creation::{gen_region, source_array};
use crate::core::block::HostArray;
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::DType;
use crate::core::error::{Error, Result};
use crate::core::source::BlockSource;
use crate::random::bits;

/// Grid rows of the OISST quarter-degree grid.
pub const SST_LAT: usize = 720;
/// Grid columns of the OISST quarter-degree grid.
pub const SST_LON: usize = 1440;

#[derive(Debug)]
struct SstSource {
    seed: u64,
    shape: Vec<usize>,
    /// Per cell: climatological mean temperature, or NaN on land.
    base: Vec<f32>,
    /// Per latitude row: amplitude of the seasonal cycle (negative in the south).
    amp: Vec<f32>,
    /// Per day of year: cos of the seasonal phase.
    season: Vec<f32>,
}

impl SstSource {
    fn new(days: usize, nlat: usize, nlon: usize, seed: u64) -> Self {
        let mut base = Vec::with_capacity(nlat * nlon);
        let mut amp = Vec::with_capacity(nlat);
        for i in 0..nlat {
            let lat = -90.0 + (i as f64 + 0.5) * 180.0 / nlat as f64;
            let phi = lat.to_radians();
            amp.push((4.0 * phi.sin()) as f32);
            for j in 0..nlon {
                let lon = (j as f64 + 0.5) * 360.0 / nlon as f64;
                let th = lon.to_radians();
                // Smooth "continents": a few low harmonics above a threshold, plus polar caps.
                let c = (2.0 * th).sin() * (1.5 * phi).cos()
                    + 0.6 * (3.0 * th + 1.0).sin() * (2.0 * phi + 0.5).cos()
                    + 0.4 * (5.0 * th - 2.0 * phi).cos();
                let land = c > 0.55 || !(-78.0..=80.0).contains(&lat);
                base.push(if land { f32::NAN } else { (28.0 - 30.0 * (phi.sin() * phi.sin())) as f32 });
            }
        }
        let season =
            (0..366).map(|d| (std::f64::consts::TAU * (d as f64 - 200.0) / 365.25).cos() as f32).collect();
        SstSource { seed, shape: vec![days, nlat, nlon], base, amp, season }
    }
}

impl BlockSource for SstSource {
    fn name(&self) -> &str {
        "synthetic-sst"
    }
    fn dtype(&self) -> DType {
        DType::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let (nlat, nlon) = (self.shape[1] as u64, self.shape[2] as u64);
        let plane = nlat * nlon;
        Ok(gen_region::<f32>(&self.shape, region, |flat| {
            let day = flat / plane;
            let cell = (flat % plane) as usize;
            let b = self.base[cell];
            let lat = cell / nlon as usize;
            let noise = (bits(self.seed, 0, flat) >> 40) as f32 * (1.0 / (1u64 << 24) as f32) - 0.5;
            b + self.amp[lat] * self.season[(day % 365) as usize] + noise
        }))
    }
}

/// A synthetic daily SST cube of `days` days on an `nlat × nlon` grid (OISST: 720 × 1440).
///
/// ```
/// let x = tessera::datasets::sst(2, 36, 72, 0, [1, 36, 72]).unwrap();
/// let v = x.compute().unwrap();
/// let land = v.iter().filter(|t| t.is_nan()).count() as f64 / v.len() as f64;
/// assert!(land > 0.2 && land < 0.45, "{land}");
/// ```
pub fn sst(
    days: usize,
    nlat: usize,
    nlon: usize,
    seed: u64,
    chunks: impl Into<ChunkSpec>,
) -> Result<Array<f32>> {
    if nlat == 0 || nlon == 0 {
        return Err(Error::invalid(format!("sst grid {nlat} × {nlon} is empty")));
    }
    source_array(Arc::new(SstSource::new(days, nlat, nlon, seed)), chunks.into())
}
