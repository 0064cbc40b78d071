//! `fldmean` weighted by the cell areas a netCDF file carries (CF `cell_measures`, as CDO
//! reads them), end to end on small files made by `ncgen` (Debian's netcdf-bin), against
//! the weighted means computed here by hand: the areas when the data variable names them,
//! cos(latitude) when it does not or when they are in another file, the region's areas with
//! `--lonlatbox`, and errors naming the file for areas that cannot be cell areas.
#![cfg(feature = "netcdf")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use ndarray::{Array2, Array3, ArrayD};

const LAT: [f64; 4] = [-60.0, -20.0, 20.0, 60.0];
const LON: [f64; 5] = [0.0, 72.0, 144.0, 216.0, 288.0];

/// The data: 3 steps of 4 × 5, NaN at scattered cells and over all of step 2.
fn data() -> Array3<f32> {
    Array3::from_shape_fn((3, 4, 5), |(t, i, j)| {
        if t == 2 || (t * 3 + i * 5 + j) % 6 == 1 {
            f32::NAN
        } else {
            10.0 + (t * 20 + i * 5 + j) as f32 * 0.5
        }
    })
}

/// The areas (exact in f32): far from cos(latitude), one 0, one missing (NaN: `_` in the
/// file).
fn areas() -> Array2<f64> {
    let mut a = Array2::from_shape_fn((4, 5), |(i, j)| 1.0e4 * (1.0 + (i * 3) as f64 + (j * j) as f64));
    a[[0, 1]] = 0.0;
    a[[3, 4]] = f64::NAN;
    a
}

/// Values as CDL, NaN as `_` (the fill value).
fn cdl_values<'a>(v: impl Iterator<Item = &'a f64>) -> String {
    v.map(|x| if x.is_nan() { "_".to_string() } else { format!("{x:e}") }).collect::<Vec<_>>().join(", ")
}

/// A netCDF file `dir/NAME.nc` with `tos(time, lat, lon)` of [`data`] and its coordinates;
/// `tos_attrs`, `globals`: CDL attribute lines; `extra`: more variable declarations, and
/// `extra_data` their values.
fn ncfile(dir: &Path, name: &str, tos_attrs: &str, globals: &str, extra: &str, extra_data: &str) -> PathBuf {
    let x: Vec<f64> = data().iter().map(|&v| v as f64).collect();
    let cdl = format!(
        "netcdf {name} {{\ndimensions:\n  time = 3 ;\n  lat = 4 ;\n  lon = 5 ;\nvariables:\n  \
         double time(time) ;\n    time:units = \"days since 2000-01-01\" ;\n    time:calendar = \"standard\" ;\n  \
         double lat(lat) ;\n    lat:units = \"degrees_north\" ;\n  double lon(lon) ;\n    lon:units = \"degrees_east\" ;\n  \
         float tos(time, lat, lon) ;\n    tos:_FillValue = 1.e20f ;\n{tos_attrs}{extra}{globals}data:\n  \
         time = 0, 1, 2 ;\n  lat = {} ;\n  lon = {} ;\n  tos = {} ;\n{extra_data}}}\n",
        cdl_values(LAT.iter()),
        cdl_values(LON.iter()),
        cdl_values(x.iter())
    );
    let cdl_path = dir.join(format!("{name}.cdl"));
    std::fs::write(&cdl_path, cdl).unwrap();
    let nc = dir.join(format!("{name}.nc"));
    let st = Command::new("ncgen")
        .args(["-k", "nc4", "-o"])
        .arg(&nc)
        .arg(&cdl_path)
        .status()
        .expect("ncgen (Debian's netcdf-bin) is needed for this test");
    assert!(st.success(), "ncgen failed on {name}");
    nc
}

/// The declaration and values of a float area variable `name` over `dims` holding `a`.
fn area_var(name: &str, dims: &str, a: &Array2<f64>) -> (String, String) {
    (
        format!("  float {name}({dims}) ;\n    {name}:_FillValue = 1.e20f ;\n    {name}:units = \"m2\" ;\n"),
        format!("  {name} = {} ;\n", cdl_values(a.iter())),
    )
}

/// `fldmean --var tos FILE [ARGS] OUT.npy`: the result, or the run's stderr as the error.
fn fldmean(file: &Path, args: &[&str], out: &Path) -> Result<(ArrayD<f32>, String), String> {
    let (code, _, err) = tessera(&[&["fldmean", "--var", "tos", s(file)][..], args, &[s(out)][..]].concat());
    if code != 0 {
        return Err(err);
    }
    Ok((read(out), err))
}

/// The areas with their missing ones as 0: how CDO leaves those cells out.
fn missing_as_zero(a: &Array2<f64>) -> Array2<f64> {
    a.mapv(|w| if w.is_nan() { 0.0 } else { w })
}

#[test]
fn cell_measures_areas_weight_the_mean_and_cos_latitude_stands_in_for_them() {
    let d = tmpdir("areas");
    let (x, a) = (data(), areas());
    let (decl, vals) = area_var("areacello", "lat, lon", &a);
    let measured = "    tos:cell_measures = \"area: areacello\" ;\n";
    let by_areas = weighted_field_mean(&x, &missing_as_zero(&a));
    let by_cos = fldmean_reference(&x, &LAT);
    // The two differ: the test tells them apart. Step 2 is NaN alone: NaN either way.
    assert!((by_areas[0] - by_cos[0]).abs() > 0.1 && by_areas[2].is_nan(), "{by_areas} {by_cos}");

    let f = ncfile(&d, "measured", measured, "", &decl, &vals);
    let (got, err) = fldmean(&f, &[], &d.join("a.npy")).unwrap();
    check("fldmean by areacello", &got, &by_areas);
    assert!(err.is_empty(), "{err}");
    // The same into netCDF.
    let (code, _, err) = tessera(&["fldmean", "--var", "tos", s(&f), s(&d.join("a.nc"))]);
    assert_eq!(code, 0, "{err}");
    let back =
        tessera::io::netcdf::open_netcdf::<f32>(d.join("a.nc"), "tos", [3]).unwrap().compute().unwrap();
    check("fldmean by areacello (netCDF)", &back, &by_areas);
    // The result holds no areacello: it names none (CF: a named variable is in the file).
    let attrs = tessera::io::netcdf::string_attributes(&d.join("a.nc"), Some("tos")).unwrap();
    assert!(!attrs.iter().any(|(k, _)| k == "cell_measures"), "{attrs:?}");
    assert!(attrs.iter().any(|(k, v)| k == "cell_methods" && v.contains("mean")), "{attrs:?}");

    // CDI's own example names `cell_area`.
    let (decl2, vals2) = area_var("cell_area", "lat, lon", &a);
    let f = ncfile(&d, "cell_area", "    tos:cell_measures = \"area: cell_area\" ;\n", "", &decl2, &vals2);
    check("fldmean by cell_area", &fldmean(&f, &[], &d.join("c.npy")).unwrap().0, &by_areas);

    // The same variable that no cell_measures names: not used (CDO does not either).
    let f = ncfile(&d, "unnamed", "", "", &decl, &vals);
    check("fldmean without cell_measures", &fldmean(&f, &[], &d.join("u.npy")).unwrap().0, &by_cos);

    // Areas kept in another file (CMIP's external_variables): cos(latitude), with a note.
    let ext = ncfile(&d, "external", measured, "  :external_variables = \"areacello\" ;\n", "", "");
    let (got, err) = fldmean(&ext, &[], &d.join("e.npy")).unwrap();
    check("fldmean with external areas", &got, &by_cos);
    assert!(
        err.contains("note") && err.contains("external_variables") && err.contains("cos(latitude)"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn lonlatbox_weights_by_the_regions_areas() {
    let d = tmpdir("areas-box");
    let (x, a) = (data(), areas());
    let (decl, vals) = area_var("areacello", "lat, lon", &a);
    let f = ncfile(&d, "measured", "    tos:cell_measures = \"area: areacello\" ;\n", "", &decl, &vals);
    // From 260°E east to 80°E (across the meridian: 288, 0, 72), latitudes -30 to 70.
    let (rows, cols) = ([1, 2, 3], [4, 0, 1]);
    let region = Array3::from_shape_fn((3, 3, 3), |(t, i, j)| x[[t, rows[i], cols[j]]]);
    let w = Array2::from_shape_fn((3, 3), |(i, j)| a[[rows[i], cols[j]]]);
    let want = weighted_field_mean(&region, &missing_as_zero(&w));
    let (got, _) = fldmean(&f, &["--lonlatbox", "-100,80,-30,70"], &d.join("box.npy")).unwrap();
    check("fldmean --lonlatbox by areacello", &got, &want);
    // Not the whole grid's areas, nor the region's cos(latitude).
    let whole = weighted_field_mean(&x, &missing_as_zero(&a));
    let lat: Vec<f64> = rows.iter().map(|&i| LAT[i]).collect();
    let cos = fldmean_reference(&region, &lat);
    assert!((want[0] - whole[0]).abs() > 0.1 && (want[0] - cos[0]).abs() > 0.1, "{want} {whole} {cos}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn areas_that_cannot_be_the_grids_are_errors_naming_the_file() {
    let d = tmpdir("areas-bad");
    let measured = "    tos:cell_measures = \"area: areacello\" ;\n";
    // One area per latitude: not the grid's shape.
    let rows = Array2::from_shape_fn((1, 4), |(_, i)| 1.0 + i as f64);
    let (decl, _) = area_var("areacello", "lat", &rows);
    let vals = format!("  areacello = {} ;\n", cdl_values(rows.iter()));
    let f = ncfile(&d, "by-row", measured, "", &decl, &vals);
    let err = fldmean(&f, &[], &d.join("r.npy")).unwrap_err();
    assert!(err.contains("by-row.nc") && err.contains("areacello") && err.contains("[4]"), "{err}");
    assert!(!d.join("r.npy").exists());
    // A negative area.
    let mut a = areas();
    a[[2, 3]] = -5.0;
    let (decl, vals) = area_var("areacello", "lat, lon", &a);
    let f = ncfile(&d, "negative", measured, "", &decl, &vals);
    let err = fldmean(&f, &[], &d.join("n.npy")).unwrap_err();
    assert!(err.contains("negative.nc") && err.contains("areacello") && err.contains("[2, 3]"), "{err}");
    assert!(!d.join("n.npy").exists());
    std::fs::remove_dir_all(&d).unwrap();
}
