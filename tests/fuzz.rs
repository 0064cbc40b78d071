//! Hostile inputs, generated: every parser of outside data meets random and mutated bytes and
//! must answer with a value or an `Error`, never a panic, an abort or a hang. (Proptest with
//! arbitrary bytes stands in for cargo-fuzz, which needs a nightly toolchain; each target's
//! case count keeps the whole file to a few seconds.) Inputs that once broke a parser are kept
//! as regression cases at the end.

use std::path::PathBuf;

use proptest::prelude::*;
use tessera::calendar::days_from_cf;
use tessera::io::npy::{open_npy, read_header};
use tessera::io::raw::{ByteOrder, Layout, RawLayout, open_raw};
use tessera::io::zarr::open_zarr;
use tessera::{ComputeOptions, DType, Progress};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-fuzz-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off).memory_budget(64 << 20)
}

/// A valid .npy file of 3 × 4 f64 values, to mutate.
fn valid_npy() -> Vec<u8> {
    let d = tmpdir("seed");
    let p = d.join("seed.npy");
    let x = tessera::arange::<f64>(0.0, 12.0, 1.0, [12]).unwrap().reshape(&[3, 4]).unwrap();
    x.to_npy(&p, &opts()).unwrap();
    std::fs::read(&p).unwrap()
}

/// Open `bytes` as a .npy file and, if that works, compute it: any outcome but a panic.
fn try_npy(bytes: &[u8], name: &str) {
    let d = tmpdir("npy");
    let p = d.join(format!("{name}.npy"));
    std::fs::write(&p, bytes).unwrap();
    let _ = read_header(&p);
    if let Ok(x) = open_npy::<f64>(&p, tessera::ChunkSpec::Auto) {
        let _ = x.sum(tessera::Axes::All).and_then(|s| s.compute_with(&opts()));
    }
    let _ = std::fs::remove_file(&p);
}

/// The .npy header dict with `shape` spliced in (a valid preamble and padding around it).
fn npy_with_shape(shape: &str, descr: &str) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(&[0u8; 96]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn npy_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        try_npy(&bytes, "random");
    }

    #[test]
    fn npy_mutated_headers(flips in prop::collection::vec((0usize..140, any::<u8>()), 1..6)) {
        let mut b = valid_npy();
        for (at, v) in flips {
            let n = b.len();
            b[at % n] = v;
        }
        try_npy(&b, "mutated");
    }

    #[test]
    fn npy_hostile_shapes(dims in prop::collection::vec(prop_oneof![
        Just(0u64), Just(1), Just(3), Just(1 << 31), Just(1 << 32), Just(1 << 61), Just(u64::MAX), any::<u64>()
    ], 0..5), descr in prop::sample::select(vec!["<f8", "<f4", "|b1", ">i8", "<u2", "O"])) {
        let tuple = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
        };
        try_npy(&npy_with_shape(&tuple, descr), "shape");
    }

    #[test]
    fn cf_time_units_and_values(
        unit in "[a-z]{0,8}",
        sep in prop::sample::select(vec![" since ", "since", " since  ", " Since "]),
        date in "[0-9-]{0,12}",
        clock in "[0-9:TZ+ .-]{0,12}",
        values in prop::collection::vec(prop_oneof![
            any::<f64>(), Just(f64::MAX), Just(-f64::MAX), Just(1e15), Just(-1e15), Just(0.5), Just(f64::NAN)
        ], 0..8),
        calendar in prop::option::of(prop::sample::select(vec![
            "standard", "noleap", "360_day", "", "GREGORIAN", "julian", "all_leap", "proleptic_gregorian", "none",
        ])),
    ) {
        let units = format!("{unit}{sep}{date}{clock}");
        let _ = days_from_cf(&values, &units, calendar);
        let _ = days_from_cf(&values, &format!("days since {date}"), calendar);
        // CDO's absolute times: the value itself is the date.
        let _ = days_from_cf(&values, "day as %Y%m%d.%f", calendar);
    }

    #[test]
    fn raw_layouts(
        dims in prop::collection::vec(prop_oneof![Just(0usize), 1usize..5, Just(usize::MAX / 2), Just(1 << 40)], 0..4),
        offset in prop_oneof![0u64..64, Just(u64::MAX - 4), Just(1 << 62)],
        file_len in 0usize..256,
        fortran in any::<bool>(),
    ) {
        let d = tmpdir("raw");
        let p = d.join("x.raw");
        std::fs::write(&p, vec![7u8; file_len]).unwrap();
        let raw = RawLayout {
            dtype: DType::F32,
            shape: dims,
            layout: if fortran { Layout::Fortran } else { Layout::C },
            byte_order: ByteOrder::Little,
            offset,
        };
        if let Ok(x) = open_raw::<f32>(&p, raw, tessera::ChunkSpec::Auto) {
            let _ = x.compute_with(&opts());
        }
    }

    #[test]
    fn zarr_metadata(text in prop_oneof![
        ".{0,200}",
        Just(r#"{"zarr_format": 3, "node_type": "array", "shape": [1000000000000, 36, 72], "data_type": "float32", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 36, 72]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": "NaN", "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}"#.to_string()),
        Just(r#"{"zarr_format": 3, "node_type": "array", "shape": [18446744073709551615], "data_type": "float64", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}"#.to_string()),
        Just(r#"{"zarr_format": 3, "node_type": "array", "shape": [4, 4], "data_type": "float64", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [0, 0]}}, "chunk_key_encoding": {"name": "default"}, "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}"#.to_string()),
    ]) {
        let d = tmpdir("zarr");
        let z = d.join("a.zarr");
        std::fs::create_dir_all(&z).unwrap();
        std::fs::write(z.join("zarr.json"), text).unwrap();
        if let Ok(x) = open_zarr::<f64>(&z, None) {
            let _ = x.sum(tessera::Axes::All).and_then(|s| s.compute_with(&opts()));
        }
        if let Ok(x) = open_zarr::<f32>(&z, None) {
            let _ = x.sum(tessera::Axes::All).and_then(|s| s.compute_with(&opts()));
        }
    }
}

/// Regression cases: each once aborted or hung the process.
#[test]
fn inputs_that_once_broke_a_parser() {
    // A shape whose byte count wrapped to 0 passed the file-length check.
    try_npy(&npy_with_shape("(2305843009213693952, 8)", "<f8"), "wrap");
    // 1e15 days hung the calendar for hours.
    assert!(days_from_cf(&[1e15], "days since 1982-01-01", None).is_err());
    // A trillion one-element blocks aborted allocating the chunk list.
    assert!(tessera::ones::<f64>(&[1_000_000_000_000], [1]).is_err());
    // An 8 TB result aborted allocating it.
    let big = tessera::zeros::<f64>(&[1_000_000, 1_000_000], [10_000, 10_000]).unwrap();
    let e = big.compute().unwrap_err().to_string();
    assert!(e.contains("more than this machine's"), "{e}");
}
