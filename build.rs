//! Build script: one cfg, `hdf5_chunk_info`, when the HDF5 library found by `hdf5-metno-sys`
//! (feature `netcdf`) has `H5Dget_chunk_info_by_coord` (HDF5 1.10.5 and later): the netCDF
//! reader then decompresses storage chunks outside the library's lock
//! (`src/io/netcdf_chunks.rs`).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(hdf5_chunk_info)");
    // hdf5-metno-sys (`links = "hdf5"`) reports each HDF5 version it is at least as
    // `DEP_HDF5_VERSION_<major>_<minor>_<micro>`.
    let has = std::env::vars().any(|(k, _)| {
        let Some(v) = k.strip_prefix("DEP_HDF5_VERSION_") else { return false };
        let n: Vec<u32> = v.split('_').filter_map(|p| p.parse().ok()).collect();
        n.len() == 3 && (n[0], n[1], n[2]) >= (1, 10, 5)
    });
    if has {
        println!("cargo::rustc-cfg=hdf5_chunk_info");
    }
}
