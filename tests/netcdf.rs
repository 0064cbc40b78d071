//! netCDF sources and sinks (cargo feature `netcdf`; .ci/run installs libnetcdf-dev and runs
//! these with `cargo test --features netcdf`).
#![cfg(feature = "netcdf")]

use std::path::PathBuf;

use ndarray::{ArrayD, IxDyn};
use tessera::io::netcdf::{open_netcdf, to_netcdf};
use tessera::prelude::*;
use tessera::{Error, Progress};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-nc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

#[test]
fn round_trips_in_any_chunks() {
    let d = tmpdir("rt");
    let p = d.join("x.nc");
    let a = ArrayD::from_shape_fn(IxDyn(&[7, 5, 6]), |i| (i[0] * 100 + i[1] * 10 + i[2]) as f64 - 250.5);
    let x = tessera::from_array(a.clone(), [3, 2, 4]).unwrap();
    to_netcdf(&x, &p, "t", Some(&["time", "lat", "lon"]), &opts()).unwrap();
    for chunks in [vec![7, 5, 6], vec![2, 3, 5], vec![1, 1, 1]] {
        let y = open_netcdf::<f64>(&p, "t", chunks).unwrap();
        assert_eq!(y.compute_with(&opts()).unwrap(), a);
    }
    let i = tessera::arange::<i32>(0, 24, 1, [5]).unwrap().reshape(&[4, 6]).unwrap();
    to_netcdf(&i, &p, "n", None, &opts()).unwrap();
    assert_eq!(open_netcdf::<i32>(&p, "n", [3, 3]).unwrap().compute().unwrap(), i.compute().unwrap());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn packed_shorts_are_unpacked_as_cf_says() {
    // As NOAA's OISST stores sst: short, scale_factor 0.01, _FillValue -999 (land).
    let d = tmpdir("packed");
    let p = d.join("oisst-like.nc");
    {
        let mut f = netcdf::create(&p).unwrap();
        f.add_dimension("lat", 2).unwrap();
        f.add_dimension("lon", 3).unwrap();
        let mut v = f.add_variable::<i16>("sst", &["lat", "lon"]).unwrap();
        v.put_attribute("_FillValue", -999i16).unwrap();
        v.put_attribute("scale_factor", 0.01f32).unwrap();
        v.put_attribute("add_offset", 0.0f32).unwrap();
        v.put_values(&[1234i16, -999, 2871, -180, 0, -999], (0..2, 0..3)).unwrap();
    }
    assert_eq!(tessera::io::dtype_of(&p, "sst").unwrap(), DType::F32);
    let x = open_netcdf::<f32>(&p, "sst", [1, 2]).unwrap().compute().unwrap();
    let v: Vec<f32> = x.iter().copied().collect();
    let want = [12.34f32, f32::NAN, 28.71, -1.8, 0.0, f32::NAN];
    for (g, w) in v.iter().zip(want) {
        assert!((g.is_nan() && w.is_nan()) || (g - w).abs() < 1e-5, "{v:?}");
    }
    // Through the generic opener too.
    let y = tessera::io::open_any::<f32>(&p, "sst", None).unwrap();
    let m = y.nanmean(Axes::All).unwrap().item().unwrap();
    assert!((m - (12.34 + 28.71 - 1.8 + 0.0) / 4.0).abs() < 1e-5, "{m}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn errors_name_the_file_and_the_variable() {
    let d = tmpdir("errors");
    let p = d.join("x.nc");
    let x = tessera::ones::<f32>(&[3, 4], [3, 4]).unwrap();
    to_netcdf(&x, &p, "sst", None, &opts()).unwrap();
    let msg = open_netcdf::<f32>(&p, "temperature", [3, 4]).unwrap_err().to_string();
    assert!(msg.contains("temperature") && msg.contains("sst"), "{msg}");
    let msg = open_netcdf::<f64>(&p, "sst", [3, 4]).unwrap_err().to_string();
    assert!(msg.contains("f32") && msg.contains("f64"), "{msg}");
    std::fs::write(&p, b"CDF\x01 but then garbage").unwrap();
    assert!(matches!(open_netcdf::<f32>(&p, "sst", [3, 4]), Err(Error::Format { .. })));
    let msg = open_netcdf::<f32>(d.join("none.nc"), "sst", [3, 4]).unwrap_err().to_string();
    assert!(msg.contains("none.nc"), "{msg}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Daily means stamped at the end of their day, with CF cell bounds (`time:bounds`), in a
/// noleap calendar: each is dated by its bounds' middle, its own day, as xarray does.
#[test]
fn time_bounds_and_calendars_date_the_cells() {
    let d = tmpdir("bounds");
    let p = d.join("model.1999.nc");
    {
        let mut f = netcdf::create(&p).unwrap();
        f.add_dimension("time", 3).unwrap();
        f.add_dimension("nv", 2).unwrap();
        f.add_dimension("x", 2).unwrap();
        let mut t = f.add_variable::<f64>("time", &["time"]).unwrap();
        t.put_attribute("units", "days since 2000-02-27").unwrap();
        t.put_attribute("calendar", "noleap").unwrap();
        t.put_attribute("bounds", "time_bnds").unwrap();
        t.put_values(&[1.0, 2.0, 3.0], ..).unwrap();
        let mut b = f.add_variable::<f64>("time_bnds", &["time", "nv"]).unwrap();
        b.put_values(&[0.0, 1.0, 1.0, 2.0, 2.0, 3.0], ..).unwrap();
        let mut v = f.add_variable::<f32>("tas", &["time", "x"]).unwrap();
        v.put_values(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], ..).unwrap();
    }
    let days = tessera::io::time_days(&p).unwrap().unwrap();
    let shown: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    // noleap: no 29 February 2000; the cells are 27 and 28 February and 1 March.
    assert_eq!(shown, ["2000-02-27", "2000-02-28", "2000-03-01"]);
    let (x, days) = tessera::io::open_daily::<f32>(std::slice::from_ref(&p), "tas", 0, None, None).unwrap();
    let months = tessera::calendar::labels(&days, tessera::calendar::GroupBy::Month);
    assert_eq!(months, [1, 1, 2]);
    let g = x.groupby_reduce(0, &months, "mean".parse::<tessera::Reduction>().unwrap()).unwrap();
    assert_eq!(g.array.to_vec().unwrap(), [2.0, 3.0, 5.0, 6.0]);
    std::fs::remove_dir_all(&d).unwrap();
}

/// A compressed netCDF-4 variable stored in chunks: automatic blocks are whole storage
/// chunks (each decompressed by one task), and the values are the file's.
#[test]
fn automatic_blocks_are_whole_storage_chunks() {
    let d = tmpdir("storage");
    let p = d.join("chunked.nc");
    let (nt, ny, nx) = (37, 10, 12);
    let vals: Vec<f32> = (0..nt * ny * nx).map(|i| (i % 1000) as f32 * 0.5).collect();
    {
        let mut f = netcdf::create(&p).unwrap();
        f.add_dimension("time", nt).unwrap();
        f.add_dimension("y", ny).unwrap();
        f.add_dimension("x", nx).unwrap();
        let mut v = f.add_variable::<f32>("sst", &["time", "y", "x"]).unwrap();
        v.set_chunking(&[1, 5, 12]).unwrap();
        v.set_compression(1, true).unwrap();
        v.put_values(&vals, ..).unwrap();
    }
    let want =
        ArrayD::from_shape_vec(IxDyn(&[nt, ny, nx]), vals.iter().map(|&v| v as f64).collect()).unwrap();
    for target in [1usize, 4 * 60, 4 * 60 * 3, 4 * 120 * 8, 1 << 30] {
        let x = open_netcdf::<f32>(&p, "sst", ChunkSpec::AutoBytes(target)).unwrap();
        let c = x.chunks();
        for (axis, storage) in [(0, 1), (1, 5), (2, 12)] {
            let n = c.axis(axis).len();
            for (k, &len) in c.axis(axis).iter().enumerate() {
                assert!(
                    len % storage == 0 || k + 1 == n,
                    "target {target}: axis {axis} blocks {:?}",
                    c.axis(axis)
                );
            }
        }
        let got = x.compute_with(&opts()).unwrap().mapv(|v| v as f64);
        assert_eq!(got, want, "target {target}");
    }
    // Blocks near the target (960 values): time grows first, the smallest share of its axis,
    // from one chunk of 1 × 5 × 12 to 16; 32 would pass the target.
    let x = open_netcdf::<f32>(&p, "sst", ChunkSpec::AutoBytes(4 * 120 * 8)).unwrap();
    assert_eq!(x.chunks().max_block_shape(), [16, 5, 12]);
    std::fs::remove_dir_all(&d).unwrap();
}
