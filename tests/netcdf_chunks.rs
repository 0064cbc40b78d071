//! The direct storage-chunk reader of netCDF-4 variables (`src/io/netcdf_chunks.rs`)
//! against libnetcdf's own reads of the same files: every filter combination netCDF writes,
//! both byte orders, packed shorts, edge chunks, chunks never written, files from the C
//! library's own `ncgen`, and damaged files (cargo feature `netcdf`; `ncgen` is Debian's
//! netcdf-bin, which .ci/run installs).
#![cfg(feature = "netcdf")]

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::ArrayD;
use proptest::prelude::*;
use tessera::io::netcdf::open_netcdf;
use tessera::prelude::*;
use tessera::testing::{netcdf_reads_storage_chunks, open_netcdf_through_library};
use tessera::{Element, Progress};

/// The tests of this file one at a time: run side by side (files created, opened through
/// libnetcdf and HDF5, and deleted by several threads at once), an open of a file just
/// written failed now and then with "NetCDF: HDF error" (a few runs in a hundred, always
/// the uncompressed file of the first test; not understood yet, see the note).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-ncc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

/// Both readers' values of `var` in blocks `chunks`, NaN-equal.
fn same_both_ways<T: Element>(path: &Path, var: &str, chunks: Vec<usize>) {
    let direct = open_netcdf::<T>(path, var, chunks.clone()).unwrap().compute_with(&opts()).unwrap();
    let library =
        open_netcdf_through_library::<T>(path, var, chunks.clone()).unwrap().compute_with(&opts()).unwrap();
    assert_eq!(direct.shape(), library.shape());
    for (a, b) in direct.iter().zip(library.iter()) {
        let (a, b) = (a.to_f64(), b.to_f64());
        assert!(a == b || a.is_nan() && b.is_nan(), "{var} in blocks {chunks:?}: {a} vs {b}");
    }
}

/// How a test variable is stored.
#[derive(Debug, Clone, Copy)]
struct Storage {
    chunk: [usize; 3],
    deflate: Option<i32>,
    shuffle: bool,
}

const SHAPE: [usize; 3] = [9, 7, 11];

/// A file with variables `f` (f32 with NaN), `d` (f64), `i` (i32), `l` (i64) and `s`
/// (i16 packed: scale 0.01, offset 20, fill −999) stored as `st` says.
fn write(path: &Path, st: Storage) {
    let n: usize = SHAPE.iter().product();
    let mut f = netcdf::create(path).unwrap();
    for (name, len) in ["t", "y", "x"].iter().zip(SHAPE) {
        f.add_dimension(name, len).unwrap();
    }
    macro_rules! var {
        ($name:expr, $t:ty, $vals:expr) => {{
            let mut v = f.add_variable::<$t>($name, &["t", "y", "x"]).unwrap();
            v.set_chunking(&st.chunk).unwrap();
            if let Some(level) = st.deflate {
                v.set_compression(level, st.shuffle).unwrap();
            }
            v
        }};
    }
    let fv: Vec<f32> = (0..n).map(|i| if i % 13 == 0 { f32::NAN } else { (i as f32).sin() * 30.0 }).collect();
    var!("f", f32, fv).put_values(&fv, ..).unwrap();
    let dv: Vec<f64> = (0..n).map(|i| (i as f64).cos() * 1e10).collect();
    var!("d", f64, dv).put_values(&dv, ..).unwrap();
    let iv: Vec<i32> = (0..n).map(|i| i as i32 * 7919 - 300_000).collect();
    var!("i", i32, iv).put_values(&iv, ..).unwrap();
    let lv: Vec<i64> = (0..n).map(|i| (i as i64) << 40).collect();
    var!("l", i64, lv).put_values(&lv, ..).unwrap();
    let sv: Vec<i16> = (0..n).map(|i| if i % 11 == 0 { -999 } else { (i % 3000) as i16 - 1500 }).collect();
    let mut v = var!("s", i16, sv);
    v.put_attribute("scale_factor", 0.01f32).unwrap();
    v.put_attribute("add_offset", 20f32).unwrap();
    v.put_attribute("_FillValue", -999i16).unwrap();
    v.put_values(&sv, ..).unwrap();
}

fn check_all(path: &Path, chunks: Vec<usize>) {
    same_both_ways::<f32>(path, "f", chunks.clone());
    same_both_ways::<f64>(path, "d", chunks.clone());
    same_both_ways::<i32>(path, "i", chunks.clone());
    same_both_ways::<i64>(path, "l", chunks.clone());
    same_both_ways::<f32>(path, "s", chunks);
}

#[test]
fn every_filter_combination_reads_as_the_library_does() {
    let _serial = serial();
    let d = tmpdir("filters");
    let storages = [
        Storage { chunk: [1, 7, 11], deflate: Some(1), shuffle: false },
        Storage { chunk: [1, 7, 11], deflate: Some(4), shuffle: true },
        // Edge chunks stick out of the variable on every axis.
        Storage { chunk: [4, 3, 5], deflate: Some(1), shuffle: true },
        Storage { chunk: [2, 5, 4], deflate: None, shuffle: false },
        Storage { chunk: [9, 7, 11], deflate: Some(9), shuffle: true },
    ];
    for (k, st) in storages.into_iter().enumerate() {
        let p = d.join(format!("v{k}.nc"));
        write(&p, st);
        for var in ["f", "d", "i", "l", "s"] {
            assert!(netcdf_reads_storage_chunks(&p, var).unwrap(), "{st:?} {var}");
        }
        for chunks in [vec![9, 7, 11], vec![1, 1, 1], vec![2, 3, 4], vec![5, 7, 2]] {
            check_all(&p, chunks);
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Any storage chunks, any blocks: the same values as through the library.
    #[test]
    fn any_blocks_over_any_storage_chunks(
        chunk in (1usize..=9, 1usize..=7, 1usize..=11),
        blocks in (1usize..=10, 1usize..=8, 1usize..=12),
        shuffle in any::<bool>(),
    ) {
        let _serial = serial();
        let d = tmpdir(&format!("prop-{}-{}-{}-{}", chunk.0, chunk.1, chunk.2, shuffle));
        let p = d.join("x.nc");
        write(&p, Storage { chunk: [chunk.0, chunk.1, chunk.2], deflate: Some(1), shuffle });
        check_all(&p, vec![blocks.0, blocks.1, blocks.2]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

/// Run `ncgen` on a CDL text; the test fails when netcdf-bin is missing.
fn ncgen(dir: &Path, name: &str, cdl: &str) -> PathBuf {
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

fn cdl(attrs: &str, data: &str) -> String {
    format!(
        "netcdf t {{\ndimensions:\n  time = 4 ;\n  lat = 3 ;\n  lon = 5 ;\nvariables:\n  float sst(time, lat, lon) ;\n    \
         sst:_FillValue = -9.f ;\n{attrs}data:\n  sst = {data} ;\n}}\n"
    )
}

#[test]
fn files_from_ncgen_read_back_in_every_storage() {
    let _serial = serial();
    let d = tmpdir("ncgen");
    let vals: Vec<String> =
        (0..60).map(|i| if i % 7 == 3 { "_".into() } else { format!("{}.25", i) }).collect();
    let data = vals.join(", ");
    let want: Vec<f32> = (0..60).map(|i| if i % 7 == 3 { f32::NAN } else { i as f32 + 0.25 }).collect();
    let want = ArrayD::from_shape_vec(ndarray::IxDyn(&[4, 3, 5]), want).unwrap();
    let chunked = "    sst:_Storage = \"chunked\" ;\n    sst:_ChunkSizes = 1, 2, 5 ;\n";
    let cases = [
        (
            "deflate-shuffle",
            format!("{chunked}    sst:_DeflateLevel = 1 ;\n    sst:_Shuffle = \"true\" ;\n"),
            true,
        ),
        (
            "big-endian",
            format!("{chunked}    sst:_DeflateLevel = 2 ;\n    sst:_Endianness = \"big\" ;\n"),
            true,
        ),
        ("plain-chunks", chunked.to_string(), true),
        // A checksum this reader does not verify: read through libnetcdf.
        ("fletcher32", format!("{chunked}    sst:_Fletcher32 = \"true\" ;\n"), false),
        // Raw elements in one run: read by region with pread, in either byte order.
        ("contiguous", "    sst:_Storage = \"contiguous\" ;\n".to_string(), true),
        (
            "contiguous-big-endian",
            "    sst:_Storage = \"contiguous\" ;\n    sst:_Endianness = \"big\" ;\n".to_string(),
            true,
        ),
    ];
    for (name, attrs, direct) in cases {
        let p = ncgen(&d, name, &cdl(&attrs, &data));
        assert_eq!(netcdf_reads_storage_chunks(&p, "sst").unwrap(), direct, "{name}");
        for blocks in [vec![4, 3, 5], vec![3, 2, 2], vec![1, 1, 1]] {
            let got = open_netcdf::<f32>(&p, "sst", blocks.clone()).unwrap().compute_with(&opts()).unwrap();
            for (a, b) in got.iter().zip(want.iter()) {
                assert!(a == b || a.is_nan() && b.is_nan(), "{name} {blocks:?}: {got} vs {want}");
            }
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// Chunks never written hold fill values; libnetcdf knows them, so regions that touch one
/// are read through it.
#[test]
fn chunks_never_written_read_as_fill_values() {
    let _serial = serial();
    let d = tmpdir("unwritten");
    let p = d.join("sparse.nc");
    {
        let mut f = netcdf::create(&p).unwrap();
        f.add_dimension("t", 6).unwrap();
        f.add_dimension("x", 8).unwrap();
        let mut v = f.add_variable::<f32>("v", &["t", "x"]).unwrap();
        v.set_chunking(&[2, 4]).unwrap();
        v.set_compression(1, true).unwrap();
        v.put_attribute("_FillValue", -1f32).unwrap();
        // Only the first two rows: the chunks of rows 2..6 are never written.
        v.put_values(&(0..16).map(|i| i as f32).collect::<Vec<_>>(), (0..2, 0..8)).unwrap();
    }
    assert!(netcdf_reads_storage_chunks(&p, "v").unwrap());
    let got = open_netcdf::<f32>(&p, "v", [3, 3]).unwrap().compute_with(&opts()).unwrap();
    for (i, &v) in got.indexed_iter() {
        let (t, x) = (i[0], i[1]);
        if t < 2 {
            assert_eq!(v, (t * 8 + x) as f32);
        } else {
            assert!(v.is_nan(), "({t}, {x}) = {v}");
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// A file damaged after it was opened: an error naming the file, not a panic or garbage.
#[test]
fn damaged_chunks_are_errors_naming_the_file() {
    let _serial = serial();
    let d = tmpdir("damaged");
    let p = d.join("x.nc");
    write(&p, Storage { chunk: [1, 7, 11], deflate: Some(1), shuffle: true });
    let x = open_netcdf::<f64>(&p, "d", [9, 7, 11]).unwrap();
    let len = std::fs::metadata(&p).unwrap().len();
    let original = std::fs::read(&p).unwrap();
    // Chunk data follows the metadata: overwrite the file's second half.
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.write_all_at(&vec![0xA5; (len / 2) as usize], len / 2).unwrap();
    }
    let e = x.compute_with(&opts()).unwrap_err().to_string();
    assert!(e.contains("x.nc") && e.contains("chunk"), "{e}");
    // Truncated: the chunks past the end cannot be read.
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len / 3).unwrap();
    let e = x.compute_with(&opts()).unwrap_err().to_string();
    assert!(e.contains("x.nc"), "{e}");
    // The file whole again before libnetcdf, which still has it open, closes it: HDF5 fails
    // to close a file whose metadata is damaged and keeps it in its table of open files by
    // device and inode, so a later file given the same inode number could not be opened.
    std::fs::write(&p, &original).unwrap();
    drop(x);
    std::fs::remove_dir_all(&d).unwrap();
}
