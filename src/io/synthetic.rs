//! Synthetic data sets for examples, tests and benchmarks.
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
use crate::io::BlockSource;
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
/// let x = tessera::io::synthetic::sst(2, 36, 72, 0, [1, 36, 72]).unwrap();
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

/// File format of a generated data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// One Zarr v3 group per year (`sst.YYYY.zarr`) as xarray writes it: the array `sst`
    /// over dimensions `time, lat, lon` (zstd level 1) and the CF coordinates `time` (days
    /// since 1 January of the year), `lat` and `lon`. `xarray.open_mfdataset(files,
    /// engine="zarr")` opens the set.
    Zarr,
    /// One .npy file per year (`sst.YYYY.npy`).
    Npy,
    /// One netCDF-4 file per year (`sst.YYYY.nc`, variable `sst` over `time, lat, lon`).
    #[cfg(feature = "netcdf")]
    Netcdf,
}

/// Write `years` years of the synthetic SST cube from 1 January `first_year`, one file per
/// year (`dir/sst.YYYY.zarr` or `.npy`, 365 or 366 days each), in chunks of 30 days and a
/// quarter of the grid per side. Returns the files in date order.
pub fn write_sst_years(
    dir: &std::path::Path,
    first_year: i32,
    years: usize,
    grid: (usize, usize),
    seed: u64,
    format: FileFormat,
    opts: &crate::ComputeOptions,
) -> Result<Vec<std::path::PathBuf>> {
    let (nlat, nlon) = grid;
    let lens: Vec<usize> = (0..years).map(|k| crate::calendar::days_in_year(first_year + k as i32)).collect();
    let total: usize = lens.iter().sum();
    let chunk = [30, nlat.div_ceil(4), nlon.div_ceil(4)];
    let cube = sst(total, nlat, nlon, seed, chunk)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::with_capacity(years);
    let mut start = 0isize;
    for (k, &len) in lens.iter().enumerate() {
        let year = first_year + k as i32;
        let part = cube.slice(&crate::sl![start..start + len as isize])?.rechunk(chunk)?;
        let path = match format {
            FileFormat::Zarr => {
                let p = dir.join(format!("sst.{year}.zarr"));
                write_zarr_year(&part, &p, year, opts)?;
                p
            }
            FileFormat::Npy => {
                let p = dir.join(format!("sst.{year}.npy"));
                part.to_npy(&p, opts)?;
                p
            }
            #[cfg(feature = "netcdf")]
            FileFormat::Netcdf => {
                let p = dir.join(format!("sst.{year}.nc"));
                write_netcdf_year(&part, &p, year, opts)?;
                p
            }
        };
        files.push(path);
        start += len as isize;
    }
    Ok(files)
}

/// The coordinates of a year: days since 1 January, and the cell-centre latitudes and
/// longitudes.
fn coordinates(days: usize, nlat: usize, nlon: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let time = (0..days).map(|d| d as f64).collect();
    let lat = (0..nlat).map(|i| -90.0 + (i as f64 + 0.5) * 180.0 / nlat as f64).collect();
    let lon = (0..nlon).map(|j| (j as f64 + 0.5) * 360.0 / nlon as f64).collect();
    (time, lat, lon)
}

/// One year as a netCDF-4 file with CF coordinates.
#[cfg(feature = "netcdf")]
fn write_netcdf_year(
    part: &Array<f32>,
    path: &std::path::Path,
    year: i32,
    opts: &crate::ComputeOptions,
) -> Result<()> {
    use crate::io::netcdf::NetcdfWriter;
    let (days, nlat, nlon) = (part.shape()[0], part.shape()[1], part.shape()[2]);
    let w = NetcdfWriter::create(path, "sst", DType::F32, &[("time", days), ("lat", nlat), ("lon", nlon)])?;
    let (time, lat, lon) = coordinates(days, nlat, nlon);
    let units = format!("days since {year}-01-01 00:00:00");
    w.add_coordinate(
        "time",
        &time,
        &[("units", &units), ("calendar", "proleptic_gregorian"), ("standard_name", "time")],
    )?;
    w.add_coordinate("lat", &lat, &[("units", "degrees_north"), ("standard_name", "latitude")])?;
    w.add_coordinate("lon", &lon, &[("units", "degrees_east"), ("standard_name", "longitude")])?;
    w.add_attribute("units", "degC")?;
    w.add_attribute("long_name", "Daily sea surface temperature")?;
    part.store(&w, opts)?;
    Ok(())
}

/// One year as a Zarr group: `sst` with its dimensions and CF attributes, and the coordinates.
fn write_zarr_year(
    part: &Array<f32>,
    path: &std::path::Path,
    year: i32,
    opts: &crate::ComputeOptions,
) -> Result<()> {
    use crate::io::zarr::{ZarrMeta, create_group, write_coordinate, zarr_writer_for};
    let (days, nlat, nlon) = (part.shape()[0], part.shape()[1], part.shape()[2]);
    let mut attrs = serde_json::Map::new();
    attrs.insert("title".into(), "Synthetic daily sea surface temperature (OISST-shaped), tessera".into());
    attrs.insert("Conventions".into(), "CF-1.8".into());
    create_group(path, attrs)?;
    let (_, lat, lon) = coordinates(days, nlat, nlon);
    let time: Vec<i32> = (0..days as i32).collect();
    let time_meta = ZarrMeta::default()
        .dims(&["time"])
        .attr("units", format!("days since {year}-01-01 00:00:00"))
        .attr("calendar", "proleptic_gregorian")
        .attr("standard_name", "time")
        .attr("axis", "T");
    write_coordinate(path.join("time"), time, &time_meta)?;
    let lat: Vec<f32> = lat.iter().map(|&v| v as f32).collect();
    let lat_meta = ZarrMeta::default()
        .dims(&["lat"])
        .attr("units", "degrees_north")
        .attr("standard_name", "latitude")
        .attr("axis", "Y");
    write_coordinate(path.join("lat"), lat, &lat_meta)?;
    let lon: Vec<f32> = lon.iter().map(|&v| v as f32).collect();
    let lon_meta = ZarrMeta::default()
        .dims(&["lon"])
        .attr("units", "degrees_east")
        .attr("standard_name", "longitude")
        .attr("axis", "X");
    write_coordinate(path.join("lon"), lon, &lon_meta)?;
    let sst_meta = ZarrMeta::default()
        .zstd(1)
        .dims(&["time", "lat", "lon"])
        .attr("units", "degC")
        .attr("long_name", "Daily sea surface temperature")
        .attr("standard_name", "sea_surface_temperature");
    let (x, w) = zarr_writer_for(part, path.join("sst"), &sst_meta)?;
    x.store(&w, opts)?;
    Ok(())
}
