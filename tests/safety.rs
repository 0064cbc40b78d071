//! Nothing lost: an output never destroys an input, and a failed run leaves the target as it
//! was (absent, or the previous complete file) with no temporary beside it.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use tessera::io::npy::open_npy;
use tessera::io::zarr::{open_zarr, to_zarr};
use tessera::{ComputeOptions, Progress};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-safety-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts() -> ComputeOptions {
    ComputeOptions::default().progress(Progress::Off)
}

fn data(n: usize, m: usize) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(&[n, m]), (0..n * m).map(|i| i as f64 * 0.25 - 1.0).collect()).unwrap()
}

/// The names in `dir`, sorted (to see that no temporary is left).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

fn refused(e: tessera::Error, what: &str) {
    let m = e.to_string();
    assert!(m.contains("would destroy data the run reads"), "{what}: {m}");
}

#[test]
fn an_npy_output_that_is_an_input_is_refused_and_the_input_kept() {
    let d = tmpdir("npy-in-out");
    let p = d.join("x.npy");
    tessera::from_array(data(6, 4), [3, 4]).unwrap().to_npy(&p, &opts()).unwrap();
    let before = std::fs::read(&p).unwrap();
    let x = open_npy::<f64>(&p, [2, 4]).unwrap();
    let y = (&x * 2.0).sum(1).unwrap();
    refused(y.to_npy(&p, &opts()).unwrap_err(), "same path");
    // Through a symlink, and under another name of the same file (a hard link).
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&p, d.join("link.npy")).unwrap();
        refused(y.to_npy(d.join("link.npy"), &opts()).unwrap_err(), "symlink");
        std::fs::hard_link(&p, d.join("hard.npy")).unwrap();
        refused(y.to_npy(d.join("hard.npy"), &opts()).unwrap_err(), "hard link");
    }
    // Through a relative path with `..` in it.
    let odd = d.join("sub").join("..").join("x.npy");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    refused(y.to_npy(&odd, &opts()).unwrap_err(), "path with ..");
    assert_eq!(std::fs::read(&p).unwrap(), before, "the input changed");
    // Another path is fine, and the input still reads the same.
    y.to_npy(d.join("y.npy"), &opts()).unwrap();
    assert_eq!(open_npy::<f64>(&p, [6, 4]).unwrap().compute().unwrap(), data(6, 4));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_zarr_output_holding_or_inside_an_input_is_refused() {
    let d = tmpdir("zarr-in-out");
    let g = d.join("sst.1982.zarr");
    std::fs::create_dir_all(&g).unwrap();
    to_zarr(&tessera::from_array(data(8, 3), [4, 3]).unwrap(), g.join("sst"), &opts()).unwrap();
    let x = open_zarr::<f64>(g.join("sst"), None).unwrap();
    let m = x.nanmean(0).unwrap();
    refused(to_zarr(&m, g.join("sst"), &opts()).unwrap_err(), "same array");
    refused(to_zarr(&m, &g, &opts()).unwrap_err(), "the group around it");
    refused(m.to_npy(g.join("sst").join("inside.npy"), &opts()).unwrap_err(), "inside it");
    // The store is intact.
    assert_eq!(open_zarr::<f64>(g.join("sst"), None).unwrap().compute().unwrap(), data(8, 3));
    // Writers made by hand are checked too, when the run starts; their temporary goes.
    let (m2, w) = tessera::io::zarr::zarr_writer_for(&m, g.join("sst"), &Default::default()).unwrap();
    refused(tessera::io::store_many(&[(&m2, &w)], &opts()).unwrap_err(), "a writer made by hand");
    drop(w);
    assert_eq!(names(&d), ["sst.1982.zarr"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_failed_run_leaves_no_output_and_an_old_file_untouched() {
    let d = tmpdir("failed");
    let x = tessera::from_array(data(40, 40), [10, 40]).unwrap();
    let y = x.rechunk([40, 10]).unwrap().exp();
    // Refused before any task runs: the budget is below one task's need.
    let tight = opts().memory_budget(1000);
    let e = y.to_npy(d.join("y.npy"), &tight).unwrap_err();
    assert!(matches!(e, tessera::Error::MemoryBudget { .. }), "{e}");
    assert!(to_zarr(&y, d.join("y.zarr"), &tight).is_err());
    assert_eq!(names(&d), Vec::<String>::new(), "nothing left behind");
    // A task that fails midway (after other blocks were written): the old file at the target
    // stays as it was, for each format.
    let failing = x
        .map_blocks_with(x.chunks().clone(), |b, info| {
            if info.index == vec![3, 0] {
                Err(tessera::Error::invalid("block three is cursed"))
            } else {
                Ok(b.to_owned())
            }
        })
        .unwrap();
    std::fs::write(d.join("y.npy"), b"the previous result").unwrap();
    let e = failing.to_npy(d.join("y.npy"), &opts()).unwrap_err().to_string();
    assert!(e.contains("cursed"), "{e}");
    assert_eq!(std::fs::read(d.join("y.npy")).unwrap(), b"the previous result");
    assert!(to_zarr(&failing, d.join("y.zarr"), &opts()).is_err());
    // A Zarr store that was there stays whole.
    to_zarr(&x, d.join("old.zarr"), &opts()).unwrap();
    assert!(to_zarr(&failing, d.join("old.zarr"), &opts()).is_err());
    assert_eq!(open_zarr::<f64>(d.join("old.zarr"), None).unwrap().compute().unwrap(), data(40, 40));
    std::fs::remove_dir_all(d.join("old.zarr")).unwrap();
    assert_eq!(names(&d), ["y.npy"]);
    std::fs::remove_dir_all(&d).unwrap();
}
