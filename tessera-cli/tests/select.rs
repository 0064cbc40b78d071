//! The selections before a reduction, end to end: `--years` and `--dates` (CDO's selyear,
//! seldate) and `--lonlatbox` (sellonlatbox), run by the `tessera` binary on the synthetic
//! data set and checked against the same selection made here with ndarray.

mod common;

use common::*;

/// `--years` and `--dates` keep the steps CDO's selyear and seldate would, before the
/// reduction; a selection that keeps nothing is an error and writes nothing.
#[test]
fn years_and_dates_select_steps_before_reducing() {
    let d = tmpdir("sel");
    let x = generate(&d);
    let days = dates(1983, 1, 1, x.dim().0);
    let npy = [d.join("npy/sst.1983.npy"), d.join("npy/sst.1984.npy")];
    let only = |from: usize, to: usize| x.slice(ndarray::s![from..to, .., ..]).to_owned();
    let out = d.join("y.npy");
    let (code, _, err) = tessera(&["timmean", "--years", "1984", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 0, "{err}");
    check("timmean --years 1984", &read(&out), &over_time(&only(365, 731), nanmean));
    // 1 March to 31 May 1984 (a leap year): days 60..152 of 1984, positions 365+60 ..= 365+151.
    let out = d.join("m.npy");
    let (code, _, err) =
        tessera(&["ymonmean", "--dates", "1984-03-01,1984-05-31", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let sub = only(365 + 60, 365 + 152);
    let sub_days = &days[365 + 60..365 + 152];
    let want = per_group(&sub, &groups(sub_days, |d| d.month as i64), nanmean).into_dyn();
    assert_eq!(want.shape()[0], 3);
    check("ymonmean --dates", &read(&out), &want);
    // Two years apart: a take, not a slice.
    let out = d.join("two.npy");
    let (code, _, err) = tessera(&["timmax", "--years", "1983,1984", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 0, "{err}");
    check("timmax --years 1983,1984", &read(&out), &over_time(&x, nanmax));
    let out = d.join("none.npy");
    let (code, _, err) = tessera(&["timmean", "--years", "1990/1991", s(&npy[0]), s(&npy[1]), s(&out)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("keeps no time step"), "{err}");
    assert!(!out.exists());
    let (code, _, err) = tessera(&["timmean", "--dates", "1984-03-01", s(&npy[0]), s(&out)]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `--lonlatbox` keeps CDO's region (longitudes from LON1 east, wrapping; latitudes either
/// order) before the reduction, and the netCDF result carries the region's coordinates,
/// longitudes running east from LON1; fldmean weights the region's rows.
#[cfg(feature = "netcdf")]
#[test]
fn lonlatbox_keeps_the_region_across_the_meridian() {
    let d = tmpdir("box");
    let x = generate(&d);
    let [a, b] = generate_netcdf(&d);
    let coord = |name: &str| tessera::io::open_any::<f64>(&a, name, None).unwrap().to_vec().unwrap();
    let (lat, lon) = (coord("lat"), coord("lon"));
    let rows: Vec<usize> = (0..lat.len()).filter(|&i| lat[i].abs() <= 30.0).collect();
    let lat_kept: Vec<f64> = rows.iter().map(|&i| lat[i]).collect();
    let mut cols: Vec<(f64, usize)> =
        (0..lon.len()).map(|j| ((lon[j] + 50.0).rem_euclid(360.0), j)).filter(|c| c.0 <= 100.0).collect();
    cols.sort_by(|p, q| p.0.total_cmp(&q.0));
    assert!(cols.first().unwrap().1 > cols.last().unwrap().1, "the region wraps past 360°: {cols:?}");
    let region = ndarray::Array3::from_shape_fn((x.dim().0, rows.len(), cols.len()), |(t, i, j)| {
        x[[t, rows[i], cols[j].1]]
    });
    let out = d.join("box.nc");
    let (code, _, err) = tessera(&["timmean", "--lonlatbox", "-50,50,30,-30", s(&a), s(&b), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let want = over_time(&region, nanmean);
    let got = tessera::io::netcdf::open_netcdf::<f32>(&out, "sst", want.shape()).unwrap().compute().unwrap();
    check("timmean --lonlatbox", &got, &want);
    let out_lon = tessera::io::open_any::<f64>(&out, "lon", None).unwrap().to_vec().unwrap();
    let want_lon: Vec<f64> = cols.iter().map(|c| c.0 - 50.0).collect();
    assert_eq!(out_lon, want_lon);
    let out_lat = tessera::io::open_any::<f64>(&out, "lat", None).unwrap().to_vec().unwrap();
    assert_eq!(out_lat, lat_kept);
    let out = d.join("boxfld.npy");
    let (code, _, err) = tessera(&["fldmean", "--lonlatbox", "-50,50,-30,30", s(&a), s(&b), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let want = fldmean_reference(&region, &lat_kept);
    check("fldmean --lonlatbox", &read(&out), &want);
    let (code, _, err) = tessera(&["timmean", "--lonlatbox", "0,1,0,1", s(&a), s(&d.join("e.npy"))]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("holds no grid cell"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}
