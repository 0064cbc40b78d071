//! Arrays computed once and kept on disk (`compute::persist_on_disk`): read back in any
//! chunking, bit for bit, with nothing left in the directory.

mod common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use tessera::ChunkSpec;
use tessera::array::creation::source_array;

/// Persist `x` (chunked as `a`) under `dir`, then read it back chunked as `b`.
fn round_trip(
    x: &ndarray::ArrayD<f64>,
    a: tessera::Chunks,
    b: tessera::Chunks,
    dir: &std::path::Path,
) -> tessera::Result<ndarray::ArrayD<f64>> {
    let arr = tessera::from_array(x.clone(), ChunkSpec::Explicit(a))?;
    let expr = (&arr * 2.0 + 1.0).exp();
    let opts = tessera::ComputeOptions::default();
    let mut srcs = tessera::testing::persist_on_disk(&[&expr], dir, &opts)?;
    let src: Arc<dyn tessera::io::BlockSource> = srcs.pop().expect("one source");
    let back = source_array::<f64>(src, ChunkSpec::Explicit(b))?;
    back.compute()
}

fn left_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Regions of other chunkings (spanning several stored blocks, or parts of one) read the
    /// stored values exactly.
    #[test]
    fn read_back_in_any_chunking(
        (x, a, b) in shape().prop_flat_map(|s| {
            let n: usize = s.iter().product();
            (values(n, true), chunks_for(s.clone()), chunks_for(s.clone()), Just(s))
        }).prop_map(|(v, a, b, s)| (ndarray::ArrayD::from_shape_vec(s, v).unwrap(), a, b))
    ) {
        let dir = std::env::temp_dir().join(format!("tessera-persist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let got = round_trip(&x, a, b, &dir).unwrap();
        let want = x.mapv(|v| (v * 2.0 + 1.0).exp());
        prop_assert!(same_f64(&got, &want));
        prop_assert_eq!(left_in(&dir), 0, "block files are unlinked once made");
    }
}

#[test]
fn an_unwritable_directory_is_an_error_naming_it() {
    let dir = std::path::Path::new("/nonexistent/tessera-persist");
    let x = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[4, 4]), 1.0);
    let a = tessera::Chunks::uniform(&[4, 4], &[2, 2]).unwrap();
    let err = round_trip(&x, a.clone(), a, dir).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/tessera-persist"), "{err}");
}
