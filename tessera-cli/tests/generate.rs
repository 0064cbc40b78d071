//! Files of the synthetic data set (`tessera_cli::synthetic`), netCDF against Zarr (cargo
//! feature `netcdf`; .ci/run installs libnetcdf-dev and runs these with it).
#![cfg(feature = "netcdf")]

use std::path::PathBuf;

use tessera::Progress;
use tessera::prelude::*;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

#[test]
fn generated_years_reduce_like_zarr() {
    let d = tmpdir("years");
    let o = opts();
    let nc = tessera_cli::synthetic::write_sst_years(
        &d.join("nc"),
        1990,
        2,
        (8, 16),
        3,
        tessera_cli::synthetic::FileFormat::Netcdf,
        &o,
    )
    .unwrap();
    let zr = tessera_cli::synthetic::write_sst_years(
        &d.join("zr"),
        1990,
        2,
        (8, 16),
        3,
        tessera_cli::synthetic::FileFormat::Zarr,
        &o,
    )
    .unwrap();
    let (a, days) = tessera::io::open_daily::<f32>(&nc, "sst", 0, None, None).unwrap();
    let (b, zdays) = tessera::io::open_daily::<f32>(&zr, "sst", 0, None, None).unwrap();
    assert_eq!(days.len(), 730);
    // Both carry a CF time coordinate, and it agrees with the calendar.
    assert_eq!(days, zdays);
    let t = tessera::io::time_days(&nc[1]).unwrap().expect("a time coordinate");
    let pg = tessera::calendar::Calendar::ProlepticGregorian;
    assert_eq!(t[0], pg.from_ymd(1991, 1, 1).unwrap(), "written as proleptic_gregorian, read back so");
    assert_eq!(t.len(), 365);
    let (ma, mb) = (a.nanmean(0).unwrap().compute().unwrap(), b.nanmean(0).unwrap().compute().unwrap());
    assert!(ma.iter().zip(mb.iter()).all(|(p, q)| (p - q).abs() < 1e-5 || (p.is_nan() && q.is_nan())));
    std::fs::remove_dir_all(&d).unwrap();
}
