//! A `.zarr` result carries the CF metadata a `.nc` result does, as xarray reads it: a Zarr
//! v3 group holding the variable (named like the input's, with `dimension_names` and its
//! attributes), one 1-d array per coordinate (time in the input's units and calendar) and
//! `history`/`Conventions` on the group. Each verb is run twice by the `tessera` binary, into
//! .nc and into .zarr, and the two results compared: the data bit for bit, the coordinates,
//! the dimension names and the attributes. A Zarr input's own metadata is carried over, and
//! a failed run leaves an existing .zarr result as it was.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{s, tessera, tmpdir};

use tessera::io::zarr::{self, ZarrMeta, create_group, write_coordinate, zarr_writer_for};
use tessera::{ComputeOptions, from_array};

/// A (time, 4, 6) field: a seasonal cycle and a gradient, NaN on a few cells at some steps
/// and on one cell always (land).
fn field(nt: usize) -> ndarray::Array3<f32> {
    ndarray::Array3::from_shape_fn((nt, 4, 6), |(t, i, j)| {
        if (i, j) == (1, 2) || (t % 7 == 3 && (i + j) % 4 == 0) {
            f32::NAN
        } else {
            280.0 + 10.0 * (t as f32 * 0.0174).sin() + i as f32 * 1.5 - j as f32 * 0.25
        }
    })
}

/// The string attributes of a Zarr node (array or group), sorted.
fn zarr_strings(attrs: serde_json::Map<String, serde_json::Value>) -> BTreeMap<String, String> {
    attrs.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string()))).collect()
}

/// `history` with its first line's time stamp (`YYYY-MM-DD hh:mm:ss: `) taken off.
fn history_less_time(h: &str) -> String {
    let (first, rest) = h.split_once('\n').map_or((h, None), |(a, b)| (a, Some(b)));
    let first = first.get(21..).unwrap_or_else(|| panic!("no time stamp in {h:?}"));
    match rest {
        Some(r) => format!("{first}\n{r}"),
        None => first.to_string(),
    }
}

/// The `history` and `Conventions` of a Zarr result's group.
fn zarr_global(out: &Path) -> BTreeMap<String, String> {
    zarr_strings(zarr::group_attributes(out).unwrap())
}

#[cfg(feature = "netcdf")]
mod from_netcdf {
    use super::*;
    use tessera::io::netcdf::{NetcdfWriter, dimension_names, string_attributes};
    use tessera::io::open_any;

    /// The bits of each value (NaN payloads included).
    fn bits(a: &ndarray::ArrayD<f32>) -> Vec<u32> {
        a.iter().map(|v| v.to_bits()).collect()
    }

    /// Two years of a 360_day model run in one file, variable `tas` (K), time in days since
    /// 2000-01-01, with attributes and a history line of its own.
    pub fn write_360_day(path: &Path) {
        let nt = 720;
        let x = from_array(field(nt), [90, 4, 6]).unwrap();
        let w =
            NetcdfWriter::create(path, "tas", tessera::DType::F32, &[("time", nt), ("lat", 4), ("lon", 6)])
                .unwrap();
        let t: Vec<f64> = (0..nt).map(|d| d as f64 + 0.5).collect();
        let lat = [-67.5, -22.5, 22.5, 67.5];
        let lon: Vec<f64> = (0..6).map(|j| 30.0 + 60.0 * j as f64).collect();
        let time_attrs =
            [("units", "days since 2000-01-01"), ("calendar", "360_day"), ("standard_name", "time")];
        w.add_coordinate("time", &t, &time_attrs).unwrap();
        w.add_coordinate("lat", &lat, &[("units", "degrees_north"), ("standard_name", "latitude")]).unwrap();
        w.add_coordinate("lon", &lon, &[("units", "degrees_east"), ("standard_name", "longitude")]).unwrap();
        w.add_attribute("units", "K").unwrap();
        w.add_attribute("long_name", "Near-surface air temperature").unwrap();
        w.add_attribute("cell_methods", "time: point").unwrap();
        w.add_global_attribute("history", "2020-01-01 00:00:00: written by hand").unwrap();
        x.store(&w, &ComputeOptions::default()).unwrap();
    }

    /// Two years (1983, 1984) of the synthetic SST, 8 × 12, proleptic_gregorian, as
    /// `generate-sst` writes them.
    pub fn generate_netcdf(dir: &Path) -> Vec<PathBuf> {
        let nc = dir.join("nc");
        let (code, _, err) = tessera(&[
            "generate-sst",
            "--out",
            s(&nc),
            "--grid",
            "8x12",
            "--years",
            "2",
            "--start-year",
            "1983",
            "--format",
            "netcdf",
        ]);
        assert_eq!(code, 0, "{err}");
        vec![nc.join("sst.1983.nc"), nc.join("sst.1984.nc")]
    }

    /// The string attributes of a netCDF variable (`None`: the file's), less `_FillValue`.
    fn nc_strings(path: &Path, var: Option<&str>) -> BTreeMap<String, String> {
        string_attributes(path, var).unwrap().into_iter().filter(|(k, _)| !k.starts_with('_')).collect()
    }

    /// Run `verb` on `inputs` into `.nc` and `.zarr` and compare the two results; returns the
    /// .zarr result.
    pub fn same_as_netcdf(
        dir: &Path,
        verb: &str,
        inputs: &[PathBuf],
        var: &str,
        want_calendar: &str,
    ) -> PathBuf {
        let name = format!("{verb}-{var}");
        let (nc, zr) = (dir.join(format!("{name}.nc")), dir.join(format!("{name}.zarr")));
        for out in [&nc, &zr] {
            let mut args = vec![verb, "--var", var];
            args.extend(inputs.iter().map(|p| s(p)));
            args.push(s(out));
            let (code, _, err) = tessera(&args);
            assert_eq!(code, 0, "{verb} → {}: {err}", out.display());
        }
        let what = format!("{verb} of {var}");
        // The data, bit for bit, read by the CLI's own reader (the group's variable).
        let want = open_any::<f32>(&nc, var, None).unwrap().compute().unwrap();
        let got = open_any::<f32>(&zr, var, None).unwrap().compute().unwrap();
        assert_eq!(got.shape(), want.shape(), "{what}: shape");
        assert_eq!(bits(&got), bits(&want), "{what}: data");
        assert!(want.iter().any(|v| !v.is_nan()), "{what}: some data");
        // The group's one data variable is what open_zarr opens.
        let whole = zarr::open_zarr::<f32>(&zr, None).unwrap().compute().unwrap();
        assert_eq!(bits(&whole), bits(&want), "{what}: open_zarr of the group");
        // Dimension names, and a coordinate array per coordinate variable, equal.
        let dims = dimension_names(&nc, var).unwrap();
        assert_eq!(zarr::dimension_names(zr.join(var)).unwrap().as_ref(), Some(&dims), "{what}: dimensions");
        for d in &dims {
            let in_nc = tessera::io::dtype_of(&nc, d).is_ok();
            assert_eq!(zr.join(d).join("zarr.json").exists(), in_nc, "{what}: coordinate '{d}'");
            if !in_nc {
                continue;
            }
            let want = open_any::<f64>(&nc, d, None).unwrap().to_vec().unwrap();
            let got = zarr::read_f64(zr.join(d)).unwrap();
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{what}: coordinate '{d}' values"
            );
            assert_eq!(
                zarr::dimension_names(zr.join(d)).unwrap(),
                Some(vec![d.clone()]),
                "{what}: '{d}' dims"
            );
            let attrs = zarr_strings(zarr::attributes(zr.join(d)).unwrap());
            assert_eq!(attrs, nc_strings(&nc, Some(d)), "{what}: attributes of '{d}'");
        }
        if dims.iter().any(|d| d == "time") {
            let t = zarr_strings(zarr::attributes(zr.join("time")).unwrap());
            assert_eq!(t.get("calendar").map(String::as_str), Some(want_calendar), "{what}: calendar");
            assert!(t.get("units").is_some_and(|u| u.starts_with("days since ")), "{what}: {t:?}");
        }
        // The variable's attributes (units, long_name, cell_methods, ...), all strings, as
        // netCDF holds them (xarray carries them over to a netCDF file it writes).
        let all = zarr::attributes(zr.join(var)).unwrap();
        assert!(all.values().all(|v| v.is_string()), "{what}: {all:?}");
        let attrs = zarr_strings(all);
        assert_eq!(attrs, nc_strings(&nc, Some(var)), "{what}: attributes");
        assert!(attrs.get("cell_methods").is_some_and(|c| c.ends_with(": mean")), "{what}: {attrs:?}");
        // History (this run's line, then the input's) and Conventions.
        let (g_nc, g_zr) = (nc_strings(&nc, None), zarr_global(&zr));
        assert_eq!(g_zr.get("Conventions"), g_nc.get("Conventions"), "{what}: Conventions");
        let h_nc =
            history_less_time(&g_nc["history"]).replace(&format!("{name}.nc"), &format!("{name}.zarr"));
        assert_eq!(history_less_time(&g_zr["history"]), h_nc, "{what}: history");
        assert!(h_nc.starts_with(&format!("tessera {verb} ")), "{h_nc}");
        zr
    }

    /// timmean, ydaymean and fldmean of a 360_day file and of two proleptic_gregorian files:
    /// the .zarr result is the .nc result, metadata and all.
    #[test]
    fn zarr_results_carry_what_netcdf_results_carry() {
        let d = tmpdir("nc");
        let model = d.join("tas_360day.nc");
        write_360_day(&model);
        let sst = generate_netcdf(&d);
        for verb in ["timmean", "ydaymean", "fldmean"] {
            let zr = same_as_netcdf(&d, verb, std::slice::from_ref(&model), "tas", "360_day");
            let h = &zarr_global(&zr)["history"];
            assert!(
                h.ends_with("\n2020-01-01 00:00:00: written by hand"),
                "{verb}: the input's history: {h}"
            );
            same_as_netcdf(&d, verb, &sst, "sst", "proleptic_gregorian");
        }
        // Spot checks of what the comparison relies on: a 360_day climatology has 360 days,
        // each dated by its last day (the second year's, at midnight), in the input's units.
        let clim = d.join("ydaymean-tas.zarr");
        assert_eq!(zarr::dimension_names(clim.join("tas")).unwrap().unwrap(), ["time", "lat", "lon"]);
        let t = zarr::read_f64(clim.join("time")).unwrap();
        assert_eq!((t.len(), t[0], t[359]), (360, 360.0, 719.0));
        let ta = zarr_strings(zarr::attributes(clim.join("time")).unwrap());
        assert_eq!(ta["units"], "days since 2000-01-01");
        let va = zarr_strings(zarr::attributes(clim.join("tas")).unwrap());
        assert_eq!((va["units"].as_str(), va["cell_methods"].as_str()), ("K", "time: point time: mean"));
        let fld = d.join("fldmean-sst.zarr");
        assert_eq!(zarr::dimension_names(fld.join("sst")).unwrap().unwrap(), ["time"]);
        assert!(!fld.join("lat").exists(), "fldmean reduces latitude away");
        assert_eq!(zarr::read_f64(fld.join("time")).unwrap().len(), 365 + 366);
        // --png draws the result back from the group.
        let png = d.join("mean.png");
        let out = d.join("again.zarr");
        let (code, _, err) = tessera(&["timmean", "--var", "tas", s(&model), s(&out), "--png", s(&png)]);
        assert_eq!(code, 0, "{err}");
        assert!(std::fs::metadata(&png).unwrap().len() > 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

/// A Zarr input as xarray writes one: the variable `ts` over `time, latitude, longitude`
/// (names a guess would not give), a noleap time in days since 2001-01-01, attributes, and a
/// `history` on the group.
fn write_zarr_input(path: &Path) {
    let nt = 730;
    let opts = ComputeOptions::default();
    let mut g_attrs = serde_json::Map::new();
    g_attrs.insert("history".into(), "2021-06-01 12:00:00: regridded".into());
    g_attrs.insert("title".into(), "hand-made".into());
    let g = create_group(path, g_attrs).unwrap();
    let time_meta = ZarrMeta::default()
        .dims(&["time"])
        .attr("units", "days since 2001-01-01")
        .attr("calendar", "noleap")
        .attr("standard_name", "time");
    write_coordinate(g.path().join("time"), (0..nt as i32).collect(), &time_meta).unwrap();
    let lat_meta = ZarrMeta::default().dims(&["latitude"]).attr("units", "degrees_north");
    write_coordinate(g.path().join("latitude"), vec![-60.0f32, -20.0, 20.0, 60.0], &lat_meta).unwrap();
    let lon_meta = ZarrMeta::default().dims(&["longitude"]).attr("units", "degrees_east");
    write_coordinate(g.path().join("longitude"), (0..6).map(|j| j as f64 * 60.0).collect(), &lon_meta)
        .unwrap();
    let meta = ZarrMeta::default()
        .zstd(1)
        .dims(&["time", "latitude", "longitude"])
        .attr("units", "K")
        .attr("long_name", "Skin temperature")
        .attr("_Secret", "not carried");
    let x = from_array(field(nt), [73, 2, 3]).unwrap();
    let (x, w) = zarr_writer_for(&x, g.path().join("ts"), &meta).unwrap();
    x.store(&w, &opts).unwrap();
    g.commit().unwrap();
}

/// Every file under `dir` and its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path().strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(e.path()).unwrap(),
                );
            }
        }
    }
    out
}

/// A Zarr input's dimension names, coordinates (with their attributes), the variable's
/// attributes and the group's history go into the .zarr result.
#[test]
fn a_zarr_input_s_metadata_is_carried_over() {
    let d = tmpdir("zin");
    let input = d.join("ts.zarr");
    write_zarr_input(&input);
    let clim = d.join("clim.zarr");
    let (code, _, err) = tessera(&["ydaymean", "--var", "ts", s(&input), s(&clim)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(zarr::dimension_names(clim.join("ts")).unwrap().unwrap(), ["time", "latitude", "longitude"]);
    let lat = zarr::read_f64(clim.join("latitude")).unwrap();
    assert_eq!(lat, zarr::read_f64(input.join("latitude")).unwrap());
    assert_eq!(zarr_strings(zarr::attributes(clim.join("latitude")).unwrap())["units"], "degrees_north");
    assert_eq!(zarr::dimension_names(clim.join("longitude")).unwrap().unwrap(), ["longitude"]);
    // 365 days of a noleap year, each dated by its day in the second year, in the input's units.
    let t = zarr::read_f64(clim.join("time")).unwrap();
    assert_eq!((t.len(), t[0], t[364]), (365, 365.0, 729.0));
    let ta = zarr_strings(zarr::attributes(clim.join("time")).unwrap());
    assert_eq!((ta["units"].as_str(), ta["calendar"].as_str()), ("days since 2001-01-01", "noleap"));
    let va = zarr_strings(zarr::attributes(clim.join("ts")).unwrap());
    let want: BTreeMap<String, String> =
        [("units", "K"), ("long_name", "Skin temperature"), ("cell_methods", "time: mean")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(va, want);
    let g = zarr_global(&clim);
    assert_eq!(g["Conventions"], "CF-1.8");
    let h = history_less_time(&g["history"]);
    assert!(
        h.starts_with("tessera ydaymean ") && h.ends_with("clim.zarr\n2021-06-01 12:00:00: regridded"),
        "{h}"
    );
    // The result is itself an input the CLI reads, with its metadata.
    let again = d.join("again.zarr");
    let (code, _, err) = tessera(&["timmean", "--var", "ts", s(&clim), s(&again)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(zarr::dimension_names(again.join("ts")).unwrap().unwrap(), ["latitude", "longitude"]);
    assert!(!again.join("time").exists());
    let va = zarr_strings(zarr::attributes(again.join("ts")).unwrap());
    assert_eq!(va["cell_methods"], "time: mean time: mean");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A run that fails, before writing (a variable the input lacks) or while writing (a budget
/// too small for one block, met after the group is staged), leaves the previous .zarr result
/// byte for byte, and no temporary beside it.
#[test]
fn a_failed_run_leaves_an_existing_zarr_result_as_it_was() {
    let d = tmpdir("fail");
    let input = d.join("ts.zarr");
    write_zarr_input(&input);
    let out_dir = d.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("clim.zarr");
    let (code, _, err) = tessera(&["ymonmean", "--var", "ts", s(&input), s(&out)]);
    assert_eq!(code, 0, "{err}");
    let before = contents(&out);
    assert!(before.keys().any(|k| k.starts_with("ts")) && before.contains_key(Path::new("zarr.json")));
    let runs: [(&[&str], &str); 2] =
        [(&["--var", "tos"], "tos"), (&["--var", "ts", "--budget", "10"], "memory budget")];
    for (extra, says) in runs {
        let mut args = vec!["ydaymean"];
        args.extend_from_slice(extra);
        args.extend([s(&input), s(&out)]);
        let (code, _, err) = tessera(&args);
        assert_eq!(code, 1, "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
        assert_eq!(contents(&out), before, "{extra:?}: the previous result changed");
        let names: Vec<String> = std::fs::read_dir(&out_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["clim.zarr"], "{extra:?}: temporaries left");
    }
    std::fs::remove_dir_all(&d).unwrap();
}
