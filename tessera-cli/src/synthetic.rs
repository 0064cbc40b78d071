//! Files of the synthetic SST cube ([`tessera::datasets::sst`]), one per year, laid out as
//! xarray writes them (`tessera generate-sst`, the example, the benchmarks).

use tessera::datasets::sst;
use tessera::{Array, Error, Result};

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
    opts: &tessera::ComputeOptions,
) -> Result<Vec<std::path::PathBuf>> {
    let (nlat, nlon) = grid;
    let lens: Vec<usize> =
        (0..years).map(|k| tessera::calendar::days_in_year(first_year + k as i32)).collect();
    let total: usize = lens.iter().sum();
    let chunk = [30, nlat.div_ceil(4), nlon.div_ceil(4)];
    let cube = sst(total, nlat, nlon, seed, chunk)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::with_capacity(years);
    let mut start = 0isize;
    for (k, &len) in lens.iter().enumerate() {
        let year = first_year + k as i32;
        let part = cube.slice(&tessera::sl![start..start + len as isize])?.rechunk(chunk)?;
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
    opts: &tessera::ComputeOptions,
) -> Result<()> {
    use tessera::io::netcdf::NetcdfWriter;
    let (days, nlat, nlon) = (part.shape()[0], part.shape()[1], part.shape()[2]);
    let w = NetcdfWriter::create(
        path,
        "sst",
        tessera::DType::F32,
        &[("time", days), ("lat", nlat), ("lon", nlon)],
    )?;
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
    opts: &tessera::ComputeOptions,
) -> Result<()> {
    use tessera::io::zarr::{ZarrMeta, create_group, write_coordinate, zarr_writer_for};
    let (days, nlat, nlon) = (part.shape()[0], part.shape()[1], part.shape()[2]);
    let mut attrs = serde_json::Map::new();
    attrs.insert("title".into(), "Synthetic daily sea surface temperature (OISST-shaped), tessera".into());
    attrs.insert("Conventions".into(), "CF-1.8".into());
    let group = create_group(path, attrs)?;
    let g = group.path();
    let (_, lat, lon) = coordinates(days, nlat, nlon);
    let time: Vec<i32> = (0..days as i32).collect();
    let time_meta = ZarrMeta::default()
        .dims(&["time"])
        .attr("units", format!("days since {year}-01-01 00:00:00"))
        .attr("calendar", "proleptic_gregorian")
        .attr("standard_name", "time")
        .attr("axis", "T");
    write_coordinate(g.join("time"), time, &time_meta)?;
    let lat: Vec<f32> = lat.iter().map(|&v| v as f32).collect();
    let lat_meta = ZarrMeta::default()
        .dims(&["lat"])
        .attr("units", "degrees_north")
        .attr("standard_name", "latitude")
        .attr("axis", "Y");
    write_coordinate(g.join("lat"), lat, &lat_meta)?;
    let lon: Vec<f32> = lon.iter().map(|&v| v as f32).collect();
    let lon_meta = ZarrMeta::default()
        .dims(&["lon"])
        .attr("units", "degrees_east")
        .attr("standard_name", "longitude")
        .attr("axis", "X");
    write_coordinate(g.join("lon"), lon, &lon_meta)?;
    let sst_meta = ZarrMeta::default()
        .zstd(1)
        .dims(&["time", "lat", "lon"])
        .attr("units", "degC")
        .attr("long_name", "Daily sea surface temperature")
        .attr("standard_name", "sea_surface_temperature");
    let (x, w) = zarr_writer_for(part, g.join("sst"), &sst_meta)?;
    x.store(&w, opts)?;
    // The year appears whole or not at all.
    group.commit()?;
    Ok(())
}
