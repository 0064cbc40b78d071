//! Files: .npy and raw binary sources and sinks, many files joined, damaged files.

mod common;

use std::path::PathBuf;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::{read_npy, write_npy};
use proptest::prelude::*;
use tessera::io::npy::{open_npy, read_header};
use tessera::io::raw::{ByteOrder, Layout, RawLayout, open_raw};
use tessera::io::{expand, open_many};
use tessera::prelude::*;
use tessera::{Error, Progress};

/// A fresh directory for one test.
fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

fn data(shape: &[usize]) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| (i as f64) * 0.5 - 3.0).collect()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn npy_regions_read_back_exactly((shape, chunks) in common::shape().prop_flat_map(|s| (Just(s.clone()), common::chunks_for(s))),
                                     fortran in any::<bool>()) {
        let dir = tmpdir("prop");
        let path = dir.join("x.npy");
        let a = data(&shape);
        if fortran {
            // ndarray-npy writes an array in Fortran layout with fortran_order: True.
            let mut f = ArrayD::<f64>::zeros(IxDyn(&shape).f());
            f.assign(&a);
            write_npy(&path, &f).unwrap();
        } else {
            write_npy(&path, &a).unwrap();
        }
        let x = open_npy::<f64>(&path, tessera::ChunkSpec::Explicit(chunks)).unwrap();
        prop_assert_eq!(x.compute_with(&opts()).unwrap(), a.clone());
        // And back out through the block-by-block writer, read by ndarray-npy.
        let out = dir.join("y.npy");
        (&x * 2.0).to_npy(&out, &opts()).unwrap();
        let b: ArrayD<f64> = read_npy(&out).unwrap();
        prop_assert_eq!(b, a.mapv(|v| v * 2.0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn every_dtype_round_trips() {
    let dir = tmpdir("dtypes");
    let p = dir.join("a.npy");
    let i = tessera::arange::<i32>(-5, 7, 1, [5]).unwrap();
    i.to_npy(&p, &opts()).unwrap();
    assert_eq!(read_npy::<_, ArrayD<i32>>(&p).unwrap(), i.compute().unwrap());
    assert_eq!(open_npy::<i32>(&p, [4]).unwrap().compute().unwrap(), i.compute().unwrap());
    let l = i.astype::<i64>();
    l.to_npy(&p, &opts()).unwrap();
    assert_eq!(open_npy::<i64>(&p, [3]).unwrap().compute().unwrap(), l.compute().unwrap());
    let f = &i.astype::<f32>() / 3.0f32;
    f.to_npy(&p, &opts()).unwrap();
    assert_eq!(read_npy::<_, ArrayD<f32>>(&p).unwrap(), f.compute().unwrap());
    let b = i.gt(0).unwrap();
    b.to_npy(&p, &opts()).unwrap();
    assert_eq!(read_npy::<_, ArrayD<bool>>(&p).unwrap(), b.compute().unwrap());
    assert_eq!(open_npy::<bool>(&p, [5]).unwrap().compute().unwrap(), b.compute().unwrap());
    // 0-d.
    let s = tessera::full::<f64>(&[], 2.5, ChunkSpec::Auto).unwrap();
    s.to_npy(&p, &opts()).unwrap();
    assert_eq!(read_header(&p).unwrap().shape, Vec::<usize>::new());
    assert_eq!(open_npy::<f64>(&p, ChunkSpec::Auto).unwrap().item().unwrap(), 2.5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_result_larger_than_the_budget_is_written_block_by_block() {
    let dir = tmpdir("budget");
    let p = dir.join("big.npy");
    let x = tessera::random::uniform::<f64>(3, &[1000, 500], [100, 100]).unwrap();
    let y = (&x + 1.0).sqrt();
    let report = y.to_npy(&p, &opts().memory_budget(400_000)).unwrap();
    assert!(report.peak_bytes <= 400_000, "{report:?}");
    let back: ArrayD<f64> = read_npy(&p).unwrap();
    assert_eq!(back, y.compute().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let dir = tmpdir("damaged");
    let p = dir.join("x.npy");
    write_npy(&p, &data(&[10, 10])).unwrap();
    // Truncated data.
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
    match open_npy::<f64>(&p, [5, 5]) {
        Err(Error::Format { path, reason }) => {
            assert!(path.ends_with("x.npy"));
            assert!(reason.contains("truncated"), "{reason}");
        }
        r => panic!("expected a format error, got {r:?}"),
    }
    // Truncated header, garbage, wrong dtype, unsupported dtype, missing file.
    std::fs::write(&p, &bytes[..20]).unwrap();
    assert!(matches!(open_npy::<f64>(&p, [5, 5]), Err(Error::Format { .. })));
    std::fs::write(&p, b"hello, this is not numpy at all").unwrap();
    let msg = open_npy::<f64>(&p, [5, 5]).unwrap_err().to_string();
    assert!(msg.contains("magic"), "{msg}");
    std::fs::write(&p, &bytes).unwrap();
    let msg = open_npy::<f32>(&p, [5, 5]).unwrap_err().to_string();
    assert!(msg.contains("f64") && msg.contains("f32"), "{msg}");
    // Half floats (`<f2`): a dtype tessera does not read.
    write_npy(&p, &ndarray::arr1(&[1u16, 2, 3])).unwrap();
    let mut half = std::fs::read(&p).unwrap();
    let at = half.windows(3).position(|w| w == b"<u2").expect("the descr");
    half[at + 1] = b'f';
    std::fs::write(&p, &half).unwrap();
    let msg = open_npy::<f64>(&p, [3]).unwrap_err().to_string();
    assert!(msg.contains("<f2"), "{msg}");
    let missing = dir.join("nope.npy");
    let msg = open_npy::<f64>(&missing, [3]).unwrap_err().to_string();
    assert!(msg.contains("nope.npy"), "{msg}");
    // A file that shrinks after it was opened: the read fails as a task error, no panic.
    write_npy(&p, &data(&[10, 10])).unwrap();
    let x = open_npy::<f64>(&p, [5, 5]).unwrap();
    std::fs::write(&p, &bytes[..200]).unwrap();
    let err = x.compute_with(&opts()).unwrap_err();
    assert!(matches!(err, Error::TaskFailed { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn raw_files_in_either_byte_order_and_layout() {
    let dir = tmpdir("raw");
    let p = dir.join("x.bin");
    let a = data(&[3, 4, 5]);
    // Big-endian, Fortran order, after a 16-byte preamble.
    let mut bytes = vec![7u8; 16];
    let f = a.t();
    for v in f.iter() {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    // `a.t()` iterates the transpose in its C order, which is `a` in Fortran order.
    std::fs::write(&p, &bytes).unwrap();
    let raw = RawLayout {
        dtype: DType::F64,
        shape: vec![3, 4, 5],
        layout: Layout::Fortran,
        byte_order: ByteOrder::Big,
        offset: 16,
    };
    let x = open_raw::<f64>(&p, raw.clone(), [2, 3, 2]).unwrap();
    assert_eq!(x.compute().unwrap(), a);
    // Too short for the layout.
    std::fs::write(&p, &bytes[..100]).unwrap();
    assert!(matches!(open_raw::<f64>(&p, raw, [2, 3, 2]), Err(Error::Format { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn many_files_join_along_an_axis() {
    let dir = tmpdir("many");
    let mut parts = Vec::new();
    for (k, days) in [365usize, 366, 365].into_iter().enumerate() {
        let a = data(&[days, 3, 4]).mapv(|v| v + k as f64 * 1000.0);
        write_npy(dir.join(format!("sst.{}.npy", 2000 + k)), &a).unwrap();
        parts.push(a);
    }
    let files = expand(dir.join("sst.*.npy").to_str().unwrap()).unwrap();
    assert_eq!(files.len(), 3);
    assert!(files.windows(2).all(|w| w[0] < w[1]));
    let x = open_many(&files, 0, |p| open_npy::<f64>(p, [100, 3, 4])).unwrap();
    assert_eq!(x.shape(), &[1096, 3, 4]);
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    let want = ndarray::concatenate(ndarray::Axis(0), &views).unwrap();
    assert_eq!(x.compute().unwrap(), want);
    assert_eq!(x.mean(Axes::All).unwrap().item().unwrap(), want.mean().unwrap());
    // One file of another grid is named.
    write_npy(dir.join("sst.2003.npy"), &data(&[365, 3, 5])).unwrap();
    let files = expand(dir.join("sst.*.npy").to_str().unwrap()).unwrap();
    let msg = open_many(&files, 0, |p| open_npy::<f64>(p, [100, 3, 4])).unwrap_err().to_string();
    assert!(msg.contains("sst.2003.npy") && msg.contains("[365, 3, 5]"), "{msg}");
    let msg = expand(dir.join("nothing.*.npy").to_str().unwrap()).unwrap_err().to_string();
    assert!(msg.contains("no file matches"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

mod zarr {
    use super::*;
    use tessera::io::zarr::{info, open_zarr, to_zarr, to_zarr_with};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn zarr_round_trips((shape, chunks) in common::shape().prop_flat_map(|s| (Just(s.clone()), common::chunks_for(s))),
                            zstd in any::<bool>(), regroup in any::<bool>()) {
            let dir = tmpdir("zarr-prop");
            let p = dir.join("x.zarr");
            let a = data(&shape);
            let x = tessera::from_array(a.clone(), ChunkSpec::Explicit(chunks)).unwrap();
            to_zarr_with(&x, &p, zstd.then_some(3), &opts()).unwrap();
            let spec = regroup.then(|| ChunkSpec::Uniform(vec![3; shape.len()]));
            let y = open_zarr::<f64>(&p, spec).unwrap();
            prop_assert_eq!(y.compute_with(&opts()).unwrap(), a);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn zarr_dtypes_chunks_and_errors() {
        let dir = tmpdir("zarr");
        let p = dir.join("a.zarr");
        let i = tessera::arange::<i64>(0, 100, 1, [30]).unwrap().reshape(&[10, 10]).unwrap();
        to_zarr(&i, &p, &opts()).unwrap();
        let (shape, dtype, chunk) = info(&p).unwrap();
        assert_eq!((shape, dtype), (vec![10, 10], DType::I64));
        assert_eq!(chunk.len(), 2);
        assert_eq!(open_zarr::<i64>(&p, None).unwrap().compute().unwrap(), i.compute().unwrap());
        let b = i.gt(40).unwrap();
        to_zarr(&b, &p, &opts()).unwrap();
        assert_eq!(open_zarr::<bool>(&p, None).unwrap().compute().unwrap(), b.compute().unwrap());
        let msg = open_zarr::<f32>(&p, None).unwrap_err().to_string();
        assert!(msg.contains("bool") && msg.contains("f32"), "{msg}");
        // Not a Zarr array, or a damaged one.
        let msg = open_zarr::<f32>(dir.join("missing.zarr"), None).unwrap_err().to_string();
        assert!(msg.contains("missing.zarr"), "{msg}");
        std::fs::write(p.join("zarr.json"), b"{ not json").unwrap();
        assert!(matches!(open_zarr::<bool>(&p, None), Err(Error::Format { .. })));
        // A damaged compressed chunk fails its task, naming the file.
        let f = tessera::random::uniform::<f32>(1, &[64, 64], [32, 32]).unwrap();
        to_zarr_with(&f, &p, Some(1), &opts()).unwrap();
        let mut hit = false;
        for e in walk(&p) {
            if e.file_name().unwrap() != "zarr.json" {
                std::fs::write(&e, b"garbage").unwrap();
                hit = true;
            }
        }
        assert!(hit);
        let err = open_zarr::<f32>(&p, None).unwrap().compute_with(&opts()).unwrap_err();
        assert!(err.to_string().contains("a.zarr"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A group as xarray writes one: the data array with dimension names and a CF `time`
    /// coordinate, whose dates win over the year in the file name.
    #[test]
    fn zarr_groups_with_a_time_coordinate() {
        use tessera::calendar::Day;
        use tessera::io::zarr::{
            ZarrMeta, attributes, create_group, read_f64, write_coordinate, zarr_writer_for,
        };
        let dir = tmpdir("zarr-group");
        let write = |name: &str, t0: i64, n: usize, units: &str| {
            let group = create_group(dir.join(name), Default::default()).unwrap();
            let g = group.path();
            let time: Vec<i64> = (0..n as i64).map(|k| t0 + 24 * k).collect();
            write_coordinate(g.join("time"), time, &ZarrMeta::default().dims(&["time"]).attr("units", units))
                .unwrap();
            let x = tessera::full::<f32>(&[n, 2], 1.0, [7, 2]).unwrap();
            let meta = ZarrMeta::default().dims(&["time", "x"]).attr("units", "K");
            let (x, w) = zarr_writer_for(&x, g.join("v"), &meta).unwrap();
            x.store(&w, &opts()).unwrap();
            group.commit().unwrap();
            dir.join(name)
        };
        // Hourly units, starting on 28 February 1984 (a leap year), in a file named 1990.
        let a = write("a.1990.zarr", 0, 3, "hours since 1984-02-28 00:00:00");
        let b = write("b.zarr", 24 * 3, 2, "hours since 1984-02-28");
        assert_eq!(attributes(a.join("v")).unwrap()["units"], "K");
        assert_eq!(read_f64(a.join("time")).unwrap(), [0.0, 24.0, 48.0]);
        let meta = std::fs::read_to_string(a.join("v").join("zarr.json")).unwrap();
        assert!(meta.contains("dimension_names"), "{meta}");
        let (x, days) = tessera::io::open_daily::<f32>(&[a.clone(), b.clone()], "v", 0, None, None).unwrap();
        assert_eq!(x.shape(), [5, 2]);
        let doys: Vec<usize> = days.iter().map(|d| d.doy).collect();
        assert_eq!(doys, [58, 59, 60, 61, 62]);
        assert!(days.iter().all(|d| d.year == 1984));
        // Out of order, or a group without the variable, are errors naming the file.
        let msg = tessera::io::open_daily::<f32>(&[b.clone(), a.clone()], "v", 0, None, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("a.1990.zarr") && msg.contains("date order"), "{msg}");
        let msg = tessera::io::open_daily::<f32>(std::slice::from_ref(&a), "sst", 0, None, None)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("no array named 'sst'"), "{msg}");
        // A start date overrides the files' own dates.
        let (_, days) =
            tessera::io::open_daily::<f32>(&[a.clone(), b.clone()], "v", 0, Some(Day::new(2001, 0)), None)
                .unwrap();
        assert_eq!(days[4], Day::new(2001, 4));
        // A model's noleap file: its days and months follow its calendar; joined after files
        // of another calendar it is refused, naming both.
        let c = {
            let group = create_group(dir.join("c.zarr"), Default::default()).unwrap();
            let g = group.path();
            let meta = ZarrMeta::default()
                .dims(&["time"])
                .attr("units", "days since 1984-01-01")
                .attr("calendar", "noleap");
            write_coordinate(g.join("time"), vec![58i64, 59], &meta).unwrap();
            let x = tessera::full::<f32>(&[2, 2], 1.0, [2, 2]).unwrap();
            let (x, w) = zarr_writer_for(&x, g.join("v"), &ZarrMeta::default().dims(&["time", "x"])).unwrap();
            x.store(&w, &opts()).unwrap();
            group.commit().unwrap();
            dir.join("c.zarr")
        };
        let (_, days) = tessera::io::open_daily::<f32>(std::slice::from_ref(&c), "v", 0, None, None).unwrap();
        let shown: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        assert_eq!(shown, ["1984-02-28", "1984-03-01"], "no 29 February in a noleap 1984");
        assert_eq!(tessera::calendar::labels(&days, tessera::calendar::GroupBy::Month), [1, 2]);
        let msg = tessera::io::open_daily::<f32>(&[a, b, c], "v", 0, None, None).unwrap_err().to_string();
        assert!(msg.contains("c.zarr") && msg.contains("noleap") && msg.contains("standard"), "{msg}");
        // Daily means stamped at their day's end with CF cell bounds (an array named by the
        // time's `bounds` attribute): dated by the middle of their bounds, their own day.
        let e = {
            let group = create_group(dir.join("e.zarr"), Default::default()).unwrap();
            let g = group.path();
            let meta = ZarrMeta::default()
                .dims(&["time"])
                .attr("units", "days since 1984-02-27")
                .attr("bounds", "time_bnds");
            write_coordinate(g.join("time"), vec![1i64, 2, 3], &meta).unwrap();
            let bnds = tessera::from_array(
                ndarray::arr2(&[[0.0f64, 1.0], [1.0, 2.0], [2.0, 3.0]]).into_dyn(),
                [3, 2],
            )
            .unwrap();
            let (bnds, w) =
                zarr_writer_for(&bnds, g.join("time_bnds"), &ZarrMeta::default().dims(&["time", "nv"]))
                    .unwrap();
            bnds.store(&w, &opts()).unwrap();
            let x = tessera::full::<f32>(&[3, 2], 1.0, [3, 2]).unwrap();
            let (x, w) = zarr_writer_for(&x, g.join("v"), &ZarrMeta::default().dims(&["time", "x"])).unwrap();
            x.store(&w, &opts()).unwrap();
            group.commit().unwrap();
            dir.join("e.zarr")
        };
        let days = tessera::io::time_days(&e).unwrap().unwrap();
        let shown: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        assert_eq!(shown, ["1984-02-27", "1984-02-28", "1984-02-29"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn walk(p: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap().path();
            if e.is_dir() { out.extend(walk(&e)) } else { out.push(e) }
        }
        out
    }
}

/// `@list.txt`: paths and globs one per line, in the order listed, comments and blank
/// lines skipped, relative to the list; what matches nothing is named with its line.
#[test]
fn lists_of_files() {
    let dir = tmpdir("list");
    for name in ["a.1.npy", "a.2.npy", "b.npy"] {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    let list = dir.join("files.txt");
    std::fs::write(&list, "# inputs\nb.npy\n\n  a.*.npy\n").unwrap();
    let got = tessera::io::expand(&format!("@{}", list.display())).unwrap();
    assert_eq!(got, [dir.join("b.npy"), dir.join("a.1.npy"), dir.join("a.2.npy")]);
    std::fs::write(&list, "b.npy\nmissing.npy\n").unwrap();
    let e = tessera::io::expand(&format!("@{}", list.display())).unwrap_err().to_string();
    assert!(e.contains("files.txt") && e.contains("line 2") && e.contains("missing.npy"), "{e}");
    std::fs::write(&list, "# nothing\n").unwrap();
    assert!(tessera::io::expand(&format!("@{}", list.display())).is_err());
    assert!(tessera::io::expand(&format!("@{}", dir.join("nope.txt").display())).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
