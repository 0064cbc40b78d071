//! Where HDF5 stores a netCDF-4 variable's bytes, asked once under the library's lock, so
//! that reads and writes can then go straight to the file from every worker.
//!
//! A netCDF-4 file is an HDF5 file. A *chunked* dataset stores each chunk as one run of
//! bytes (through its filter pipeline) at an address its chunk index knows
//! ([`chunked`], read by `netcdf_chunks`); a *contiguous* dataset without filters is one
//! run of raw elements in C order at one address ([`contiguous`], written in place by the
//! netCDF writer). Anything this module does not fully understand answers `None`, and the
//! caller goes through libnetcdf.

use std::ffi::CString;
use std::path::Path;

use hdf5_metno_sys as h5;
use hdf5_metno_sys::h5i::hid_t;

/// Where one chunk's bytes are, and which filters it skipped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored {
    pub addr: u64,
    pub size: usize,
    /// Bit `i` set: filter `i` of the pipeline was not applied to this chunk.
    pub mask: u32,
}

/// A filter of the pipeline, in the order the writer applied them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Filter {
    /// HDF5's byte shuffle over elements of this many bytes.
    Shuffle(usize),
    /// zlib-wrapped deflate.
    Deflate,
}

/// A chunked variable: its chunk shape, each chunk's place (row-major over the chunk grid;
/// `None` for a chunk never written) and its filters.
pub(crate) struct Chunked {
    pub chunk: Vec<usize>,
    pub chunks: Vec<Option<Stored>>,
    pub filters: Vec<Filter>,
    pub big_endian: bool,
}

/// A contiguous variable without filters: its elements, in C order, start at `addr`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contiguous {
    pub addr: u64,
    pub big_endian: bool,
}

/// Past this many chunks the index is not built (its lookups would cost more at open than
/// they save).
const MAX_INDEXED_CHUNKS: usize = 1 << 20;

/// Closes an HDF5 object when dropped.
struct Handle(hid_t, unsafe extern "C" fn(hid_t) -> h5::h5::herr_t);
impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a valid id of the kind this closer takes, closed once, under the lock.
        unsafe {
            (self.1)(self.0);
        }
    }
}
fn handle(id: hid_t, close: unsafe extern "C" fn(hid_t) -> h5::h5::herr_t) -> Option<Handle> {
    (id >= 0).then_some(Handle(id, close))
}

/// HDF5 prints its error stack on every failed call unless told not to; restored on drop.
struct Quiet(h5::h5e::H5E_auto2_t, *mut std::ffi::c_void);
impl Quiet {
    fn new() -> Quiet {
        let mut q = Quiet(None, std::ptr::null_mut());
        // SAFETY: reads and replaces the default stack's printer, under the lock.
        unsafe {
            h5::h5e::H5Eget_auto2(h5::h5e::H5E_DEFAULT, &mut q.0, &mut q.1);
            h5::h5e::H5Eset_auto2(h5::h5e::H5E_DEFAULT, None, std::ptr::null_mut());
        }
        q
    }
}
impl Drop for Quiet {
    fn drop(&mut self) {
        // SAFETY: puts back what `new` read.
        unsafe {
            h5::h5e::H5Eset_auto2(h5::h5e::H5E_DEFAULT, self.0, self.1);
        }
    }
}

/// An open dataset that matched what the caller expects: integer or float elements of
/// `elem` bytes in either byte order, of exactly `shape`.
struct Dataset {
    ds: Handle,
    plist: Handle,
    big_endian: bool,
}

/// Open variable `var` of the file at `path` read-only and call `f` on it, under HDF5's
/// lock with its error printing off; `None` when anything does not match.
fn with_dataset<R>(
    path: &Path,
    var: &str,
    shape: &[usize],
    elem: usize,
    f: impl FnOnce(&Dataset) -> Option<R>,
) -> Option<R> {
    use h5::h5d::*;
    use h5::h5p::*;
    use h5::h5t::*;
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let _lock = h5::LOCK.lock();
    let _quiet = Quiet::new();
    // SAFETY: HDF5 calls on ids this function opened (closed by `Handle`), with buffers of
    // the sizes the calls are told, all under the library's lock.
    unsafe {
        let file = handle(
            h5::h5f::H5Fopen(cpath.as_ptr(), h5::h5f::H5F_ACC_RDONLY, H5P_DEFAULT),
            h5::h5f::H5Fclose,
        )?;
        // netCDF stores a variable named like a dimension it is not the coordinate of under
        // this prefix; the plain name is then the dimension's scale.
        let ds = [format!("/_nc4_non_coord_{var}"), format!("/{var}")].into_iter().find_map(|name| {
            let c = CString::new(name).ok()?;
            handle(H5Dopen2(file.0, c.as_ptr(), H5P_DEFAULT), H5Dclose)
        })?;
        let ty = handle(H5Dget_type(ds.0), H5Tclose)?;
        if !matches!(H5Tget_class(ty.0), H5T_class_t::H5T_INTEGER | H5T_class_t::H5T_FLOAT)
            || H5Tget_size(ty.0) != elem
        {
            return None;
        }
        let big_endian = match H5Tget_order(ty.0) {
            H5T_order_t::H5T_ORDER_LE => false,
            H5T_order_t::H5T_ORDER_BE => true,
            _ => return None,
        };
        let space = handle(H5Dget_space(ds.0), h5::h5s::H5Sclose)?;
        let nd = shape.len();
        if h5::h5s::H5Sget_simple_extent_ndims(space.0) != nd as i32 {
            return None;
        }
        let mut dims = vec![0 as h5::h5::hsize_t; nd];
        h5::h5s::H5Sget_simple_extent_dims(space.0, dims.as_mut_ptr(), std::ptr::null_mut());
        if dims.iter().zip(shape).any(|(&d, &s)| d as usize != s) {
            return None;
        }
        let plist = handle(H5Dget_create_plist(ds.0), H5Pclose)?;
        f(&Dataset { ds, plist, big_endian })
    }
}

/// Where variable `var` (of `shape`, `elem`-byte elements) stores its bytes, when it is a
/// contiguous dataset without filters whose storage is allocated (written to at least
/// once), and `None` otherwise.
pub(crate) fn contiguous(path: &Path, var: &str, shape: &[usize], elem: usize) -> Option<Contiguous> {
    use h5::h5d::*;
    use h5::h5p::*;
    let bytes = shape.iter().try_fold(elem as u64, |n, &d| n.checked_mul(d as u64))?;
    with_dataset(path, var, shape, elem, |d| {
        // SAFETY: calls on the open dataset and its property list, under the lock.
        unsafe {
            if H5Pget_layout(d.plist.0) != H5D_layout_t::H5D_CONTIGUOUS || H5Pget_nfilters(d.plist.0) != 0 {
                return None;
            }
            let addr = H5Dget_offset(d.ds.0);
            (addr != h5::h5::HADDR_UNDEF && H5Dget_storage_size(d.ds.0) == bytes)
                .then_some(Contiguous { addr, big_endian: d.big_endian })
        }
    })
}

/// The chunk index of variable `var` (of `shape`, `elem`-byte elements), when it is a
/// chunked dataset whose filters are deflate and shuffle only, and `None` otherwise (or
/// when HDF5 is older than 1.10.5 and cannot say where a chunk is).
#[cfg(hdf5_chunk_info)]
pub(crate) fn chunked(path: &Path, var: &str, shape: &[usize], elem: usize) -> Option<Chunked> {
    use h5::h5d::*;
    use h5::h5p::*;
    let nd = shape.len();
    with_dataset(path, var, shape, elem, |d| {
        // SAFETY: calls on the open dataset and its property list, with buffers of the
        // sizes the calls are told, under the lock.
        unsafe {
            if H5Pget_layout(d.plist.0) != H5D_layout_t::H5D_CHUNKED {
                return None;
            }
            let mut cdims = vec![0 as h5::h5::hsize_t; nd];
            if H5Pget_chunk(d.plist.0, nd as i32, cdims.as_mut_ptr()) != nd as i32 {
                return None;
            }
            let chunk: Vec<usize> = cdims.iter().map(|&c| c as usize).collect();
            if chunk.contains(&0) {
                return None;
            }
            let mut filters = Vec::new();
            for i in 0..H5Pget_nfilters(d.plist.0).max(0) as u32 {
                let (mut flags, mut config) = (0, 0);
                let mut cd = [0u32; 8];
                let mut ncd = cd.len();
                let id = H5Pget_filter2(
                    d.plist.0,
                    i,
                    &mut flags,
                    &mut ncd,
                    cd.as_mut_ptr(),
                    0,
                    std::ptr::null_mut(),
                    &mut config,
                );
                filters.push(match id {
                    h5::h5z::H5Z_FILTER_DEFLATE => Filter::Deflate,
                    h5::h5z::H5Z_FILTER_SHUFFLE => {
                        Filter::Shuffle(if ncd > 0 { cd[0] as usize } else { elem })
                    }
                    _ => return None,
                });
            }
            let grid: Vec<usize> = shape.iter().zip(&chunk).map(|(&n, &c)| n.div_ceil(c)).collect();
            let count: usize = grid.iter().product();
            if count > MAX_INDEXED_CHUNKS {
                return None;
            }
            let mut chunks = Vec::with_capacity(count);
            let mut at = vec![0usize; nd];
            for _ in 0..count {
                let offset: Vec<h5::h5::hsize_t> =
                    at.iter().zip(&chunk).map(|(&a, &c)| (a * c) as h5::h5::hsize_t).collect();
                let (mut mask, mut addr, mut size) = (0u32, 0u64, 0 as h5::h5::hsize_t);
                let r = H5Dget_chunk_info_by_coord(d.ds.0, offset.as_ptr(), &mut mask, &mut addr, &mut size);
                chunks.push((r >= 0 && addr != h5::h5::HADDR_UNDEF && size > 0).then_some(Stored {
                    addr,
                    size: size as usize,
                    mask,
                }));
                for a in (0..nd).rev() {
                    at[a] += 1;
                    if at[a] < grid[a] {
                        break;
                    }
                    at[a] = 0;
                }
            }
            Some(Chunked { chunk, chunks, filters, big_endian: d.big_endian })
        }
    })
}

/// HDF5 before 1.10.5 cannot say where a chunk is: everything goes through libnetcdf.
#[cfg(not(hdf5_chunk_info))]
pub(crate) fn chunked(_path: &Path, _var: &str, _shape: &[usize], _elem: usize) -> Option<Chunked> {
    None
}
