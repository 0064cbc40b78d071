//! The integer dtypes in files: .npy (written and read by ndarray-npy as the independent
//! side), Zarr (the metadata's `data_type` checked), netCDF (written and read by the
//! `netcdf` crate, `_Unsigned` bytes, packing still unpacked to floats).

use std::path::PathBuf;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::{ReadableElement, WritableElement, read_npy, write_npy};
use tessera::io::npy::open_npy;
use tessera::io::zarr::{open_zarr, to_zarr};
use tessera::prelude::*;
use tessera::{DType, Element, Progress};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-dtio-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

/// Values spanning the range of `T` (its extremes included), shape [3, 5].
fn sample<T: Element>(lo: T, hi: T) -> ArrayD<T> {
    let mut v: Vec<T> = (0..13).map(|i| T::cast_from(i * 7 - 40)).collect();
    v.push(lo);
    v.push(hi);
    ArrayD::from_shape_vec(IxDyn(&[3, 5]), v).unwrap()
}

fn npy_both_ways<T: Element + ReadableElement + WritableElement>(lo: T, hi: T, descr: &str) {
    let d = tmpdir(&format!("npy-{descr}"));
    let (p, q) = (d.join("in.npy"), d.join("out.npy"));
    let a = sample(lo, hi);
    write_npy(&p, &a).unwrap();
    let header = String::from_utf8_lossy(&std::fs::read(&p).unwrap()[..64]).to_string();
    assert!(header.contains(descr), "ndarray-npy wrote {header}");
    let x = open_npy::<T>(&p, [2, 3]).unwrap();
    assert_eq!(x.dtype(), T::DTYPE);
    assert_eq!(x.compute().unwrap(), a);
    x.to_npy(&q, &opts()).unwrap();
    let back: ArrayD<T> = read_npy(&q).unwrap();
    assert_eq!(back, a);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn npy_reads_and_writes_every_integer_type() {
    npy_both_ways(i8::MIN, i8::MAX, "i1");
    npy_both_ways(i16::MIN, i16::MAX, "<i2");
    npy_both_ways(u8::MIN, u8::MAX, "u1");
    npy_both_ways(u16::MIN, u16::MAX, "<u2");
    npy_both_ways(u32::MIN, u32::MAX, "<u4");
    npy_both_ways(u64::MIN, u64::MAX, "<u8");
}

fn zarr_round_trip<T: Element>(lo: T, hi: T, name: &str) {
    let d = tmpdir(&format!("zarr-{name}"));
    let p = d.join("x.zarr");
    let a = sample(lo, hi);
    to_zarr(&tessera::from_array(a.clone(), [2, 2]).unwrap(), &p, &opts()).unwrap();
    let meta = std::fs::read_to_string(p.join("zarr.json")).unwrap();
    assert!(meta.contains(&format!("\"{name}\"")), "{meta}");
    let y = open_zarr::<T>(&p, None).unwrap();
    assert_eq!(y.compute().unwrap(), a);
    assert!(open_zarr::<f64>(&p, None).is_err(), "opened as the wrong type");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn zarr_stores_every_integer_type() {
    zarr_round_trip(i8::MIN, i8::MAX, "int8");
    zarr_round_trip(i16::MIN, i16::MAX, "int16");
    zarr_round_trip(u8::MIN, u8::MAX, "uint8");
    zarr_round_trip(u16::MIN, u16::MAX, "uint16");
    zarr_round_trip(u32::MIN, u32::MAX, "uint32");
    zarr_round_trip(u64::MIN, u64::MAX, "uint64");
    assert_eq!(DType::ALL.len(), 11);
}

#[test]
fn raw_big_endian_unsigned_and_signed_shorts() {
    use tessera::io::raw::{ByteOrder, Layout, RawLayout, open_raw};
    let d = tmpdir("raw");
    let p = d.join("x.bin");
    let u: Vec<u16> = vec![0, 1, 258, 65535, 32768, 7];
    let mut bytes = vec![0xAB; 3];
    bytes.extend(u.iter().flat_map(|v| v.to_be_bytes()));
    std::fs::write(&p, &bytes).unwrap();
    let raw = |dtype| RawLayout {
        dtype,
        shape: vec![2, 3],
        layout: Layout::C,
        byte_order: ByteOrder::Big,
        offset: 3,
    };
    let x = open_raw::<u16>(&p, raw(DType::U16), [1, 2]).unwrap();
    assert_eq!(x.to_vec().unwrap(), u);
    // The same bytes as i16: two's complement.
    let y = open_raw::<i16>(&p, raw(DType::I16), [2, 2]).unwrap();
    assert_eq!(y.to_vec().unwrap(), vec![0, 1, 258, -1, -32768, 7]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[cfg(feature = "netcdf")]
mod netcdf_files {
    use super::*;
    use tessera::io::netcdf::{open_netcdf, to_netcdf};
    use tessera::testing::open_netcdf_through_library;

    /// Write `a` as a variable of the file's own type with the `netcdf` crate; read it with
    /// tessera both ways (storage chunks and libnetcdf); write it back with tessera and
    /// read that with the crate.
    fn netcdf_both_ways<T: Element + netcdf::NcTypeDescriptor>(lo: T, hi: T, name: &str) {
        let d = tmpdir(&format!("nc-{name}"));
        let (p, q) = (d.join("in.nc"), d.join("out.nc"));
        let a = sample(lo, hi);
        {
            let mut f = netcdf::create(&p).unwrap();
            f.add_dimension("y", 3).unwrap();
            f.add_dimension("x", 5).unwrap();
            let mut v = f.add_variable::<T>("v", &["y", "x"]).unwrap();
            v.set_chunking(&[2, 2]).unwrap();
            v.put_values(a.as_slice().unwrap(), (0..3, 0..5)).unwrap();
        }
        assert_eq!(tessera::io::dtype_of(&p, "v").unwrap(), T::DTYPE, "{name}");
        assert_eq!(open_netcdf::<T>(&p, "v", [2, 3]).unwrap().compute().unwrap(), a, "{name}");
        assert_eq!(
            open_netcdf_through_library::<T>(&p, "v", [3, 1]).unwrap().compute().unwrap(),
            a,
            "{name}"
        );
        to_netcdf(&tessera::from_array(a.clone(), [2, 4]).unwrap(), &q, "w", None, &opts()).unwrap();
        let f = netcdf::open(&q).unwrap();
        let v = f.variable("w").unwrap();
        assert_eq!(v.get_values::<T, _>(..).unwrap(), a.as_slice().unwrap().to_vec(), "{name}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn netcdf_reads_and_writes_every_integer_type() {
        netcdf_both_ways(i8::MIN, i8::MAX, "byte");
        netcdf_both_ways(i16::MIN, i16::MAX, "short");
        netcdf_both_ways(u8::MIN, u8::MAX, "ubyte");
        netcdf_both_ways(u16::MIN, u16::MAX, "ushort");
        netcdf_both_ways(u32::MIN, u32::MAX, "uint");
        netcdf_both_ways(u64::MIN, u64::MAX, "uint64");
    }

    #[test]
    fn unsigned_attribute_makes_bytes_unsigned() {
        // CF: a netCDF-3 byte or short with `_Unsigned = "true"` holds unsigned values.
        let d = tmpdir("unsigned");
        let p = d.join("u.nc");
        {
            let mut f = netcdf::create(&p).unwrap();
            f.add_dimension("x", 4).unwrap();
            let mut v = f.add_variable::<i8>("b", &["x"]).unwrap();
            v.put_attribute("_Unsigned", "true").unwrap();
            v.put_values(&[-1i8, -128, 0, 127], ..).unwrap();
            let mut s = f.add_variable::<i16>("s", &["x"]).unwrap();
            s.put_attribute("_Unsigned", "true").unwrap();
            s.put_values(&[-1i16, -32768, 1, 2], ..).unwrap();
            // Packed unsigned bytes unpack from their unsigned values.
            let mut k = f.add_variable::<i8>("k", &["x"]).unwrap();
            k.put_attribute("_Unsigned", "true").unwrap();
            k.put_attribute("scale_factor", 0.5f32).unwrap();
            k.put_values(&[-1i8, -128, 0, 2], ..).unwrap();
        }
        assert_eq!(tessera::io::dtype_of(&p, "b").unwrap(), DType::U8);
        let b = open_netcdf::<u8>(&p, "b", [3]).unwrap().to_vec().unwrap();
        assert_eq!(b, vec![255, 128, 0, 127]);
        let b = open_netcdf_through_library::<u8>(&p, "b", [3]).unwrap().to_vec().unwrap();
        assert_eq!(b, vec![255, 128, 0, 127]);
        let s = open_netcdf::<u16>(&p, "s", [4]).unwrap().to_vec().unwrap();
        assert_eq!(s, vec![65535, 32768, 1, 2]);
        assert_eq!(tessera::io::dtype_of(&p, "k").unwrap(), DType::F32);
        let k = open_netcdf::<f32>(&p, "k", [2]).unwrap().to_vec().unwrap();
        assert_eq!(k, vec![127.5, 64.0, 0.0, 1.0]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn packed_and_plain_shorts() {
        // Packed (scale_factor/add_offset): unpacked to floats, as CF says; plain: int16.
        let d = tmpdir("shorts");
        let p = d.join("s.nc");
        {
            let mut f = netcdf::create(&p).unwrap();
            f.add_dimension("x", 3).unwrap();
            let mut v = f.add_variable::<i16>("packed", &["x"]).unwrap();
            v.put_attribute("scale_factor", 0.01f64).unwrap();
            v.put_attribute("add_offset", 273.15f64).unwrap();
            v.put_values(&[0i16, -100, 1000], ..).unwrap();
            let mut w = f.add_variable::<i16>("plain", &["x"]).unwrap();
            w.put_values(&[i16::MIN, -1, i16::MAX], ..).unwrap();
        }
        assert_eq!(tessera::io::dtype_of(&p, "packed").unwrap(), DType::F64);
        let x = open_netcdf::<f64>(&p, "packed", [2]).unwrap().to_vec().unwrap();
        for (g, w) in x.iter().zip([273.15, 272.15, 283.15]) {
            assert!((g - w).abs() < 1e-9, "{x:?}");
        }
        assert_eq!(tessera::io::dtype_of(&p, "plain").unwrap(), DType::I16);
        assert_eq!(
            open_netcdf::<i16>(&p, "plain", [2]).unwrap().to_vec().unwrap(),
            vec![i16::MIN, -1, i16::MAX]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
