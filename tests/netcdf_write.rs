//! The netCDF writer (cargo feature `netcdf`): blocks written in place into the variable's
//! bytes, checked against libnetcdf's own reads of the file.
#![cfg(feature = "netcdf")]

use std::path::PathBuf;

use ndarray::{ArrayD, Dimension, IxDyn};
use proptest::prelude::*;
use tessera::io::BlockSink;
use tessera::io::netcdf::{NetcdfWriter, to_netcdf};
use tessera::prelude::*;
use tessera::testing::open_netcdf_through_library;
use tessera::{DType, HostArray, Progress};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-ncw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

/// Irregular blocks along an axis of `n`: the cut points `cuts` (taken modulo the length).
fn blocks(n: usize, cuts: &[usize]) -> Vec<usize> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (n + 1)).filter(|&c| c > 0 && c < n).collect();
    at.push(0);
    at.push(n);
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

fn write_and_read<T: Element>(a: ArrayD<T>, chunks: Vec<Vec<usize>>, name: &str) -> ArrayD<T> {
    let d = tmpdir(name);
    let p = d.join("x.nc");
    let x = tessera::from_array(a, tessera::Chunks::new(chunks).unwrap()).unwrap();
    to_netcdf(&x, &p, "v", None, &opts()).unwrap();
    let back = open_netcdf_through_library::<T>(&p, "v", ChunkSpec::Auto).unwrap().compute().unwrap();
    std::fs::remove_dir_all(&d).unwrap();
    back
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any shape, any irregular blocks, each element type: what libnetcdf reads back is
    /// what was written (NaN included).
    #[test]
    fn blocks_land_in_place(
        shape in prop::collection::vec(1usize..9, 1..4),
        cuts in prop::collection::vec(0usize..9, 0..6),
        kind in 0usize..4,
    ) {
        let chunks: Vec<Vec<usize>> = shape.iter().map(|&n| blocks(n, &cuts)).collect();
        let f = |i: &IxDyn| i.slice().iter().fold(0i64, |acc, &k| acc * 10 + k as i64) - 37;
        match kind {
            0 => {
                let a = ArrayD::from_shape_fn(IxDyn(&shape), |i: IxDyn| {
                    let v = f(&i) as f32 * 0.5;
                    if v == 0.5 { f32::NAN } else { v }
                });
                let back = write_and_read(a.clone(), chunks, "f32");
                prop_assert!(back.iter().zip(&a).all(|(b, w)| b == w || (b.is_nan() && w.is_nan())));
            }
            1 => {
                let a = ArrayD::from_shape_fn(IxDyn(&shape), |i: IxDyn| f(&i) as f64 / 3.0);
                prop_assert_eq!(write_and_read(a.clone(), chunks, "f64"), a);
            }
            2 => {
                let a = ArrayD::from_shape_fn(IxDyn(&shape), |i: IxDyn| f(&i) as i32 - 1_000_000);
                prop_assert_eq!(write_and_read(a.clone(), chunks, "i32"), a);
            }
            _ => {
                let a = ArrayD::from_shape_fn(IxDyn(&shape), |i: IxDyn| f(&i) << 33);
                prop_assert_eq!(write_and_read(a.clone(), chunks, "i64"), a);
            }
        }
    }
}

#[test]
fn the_first_block_closes_the_definitions() {
    // Blocks go straight into the file once the first one is written: metadata then is an
    // error naming the file, not a silent loss.
    let d = tmpdir("defs");
    let p = d.join("x.nc");
    let w = NetcdfWriter::create(&p, "v", DType::F32, &[("y", 2), ("x", 3)]).unwrap();
    w.add_attribute("units", "K").unwrap();
    let top = HostArray::new(ndarray::ArcArray::from_shape_vec(IxDyn(&[1, 3]), vec![1f32, 2., 3.]).unwrap());
    let bottom =
        HostArray::new(ndarray::ArcArray::from_shape_vec(IxDyn(&[1, 3]), vec![4f32, 5., 6.]).unwrap());
    w.write(&[1..2, 0..3], &bottom).unwrap();
    let e = w.add_attribute("long_name", "late").unwrap_err().to_string();
    assert!(e.contains("before the first block") && e.contains("x.nc"), "{e}");
    w.write(&[0..1, 0..3], &top).unwrap();
    assert!(!p.exists(), "nothing at the target before finish");
    w.finish().unwrap();
    let back = open_netcdf_through_library::<f32>(&p, "v", ChunkSpec::Auto).unwrap().compute().unwrap();
    assert_eq!(back.iter().copied().collect::<Vec<_>>(), vec![1., 2., 3., 4., 5., 6.]);
    let attrs = tessera::io::netcdf::string_attributes(&p, Some("v")).unwrap();
    assert!(attrs.iter().any(|(k, v)| k == "units" && v == "K"), "{attrs:?}");
    // A block of the wrong type is refused, not written as garbage.
    let w = NetcdfWriter::create(&p, "v", DType::F64, &[("x", 3)]).unwrap();
    let ints = HostArray::new(ndarray::ArcArray::from_shape_vec(IxDyn(&[3]), vec![1i32, 2, 3]).unwrap());
    assert!(w.write(std::slice::from_ref(&(0..3)), &ints).is_err());
    drop(w);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn empty_and_scalar_like_shapes() {
    let d = tmpdir("empty");
    let p = d.join("x.nc");
    let x = tessera::zeros::<f64>(&[0, 4], [1, 4]).unwrap();
    to_netcdf(&x, &p, "v", None, &opts()).unwrap();
    assert_eq!(open_netcdf_through_library::<f64>(&p, "v", ChunkSpec::Auto).unwrap().shape(), &[0, 4]);
    let one = tessera::full::<f32>(&[1], 2.5, [1]).unwrap();
    to_netcdf(&one, &p, "v", None, &opts()).unwrap();
    let back = open_netcdf_through_library::<f32>(&p, "v", ChunkSpec::Auto).unwrap().compute().unwrap();
    assert_eq!(back.iter().copied().collect::<Vec<_>>(), vec![2.5]);
    std::fs::remove_dir_all(&d).unwrap();
}
