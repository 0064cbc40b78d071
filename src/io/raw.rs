//! Raw binary files: a dtype, a shape, C or Fortran order, an offset and a byte order. The
//! reader behind .npy, and a source of its own ([`open_raw`]).
//!
//! A region is read with positioned reads (`pread`), one per contiguous run of the file: a
//! block of whole rows is one read, a block of partial rows one read per row. Nothing is
//! memory-mapped, so the pages read count only while the block they fill is alive.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArcArray, IxDyn};

use crate::array::Array;
use crate::array::creation::source_array;
use crate::core::block::HostArray;
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::file_at::read_exact_at;
use crate::io::BlockSource;

/// Order of the elements in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Row-major: the last axis varies fastest (NumPy's default).
    #[default]
    C,
    /// Column-major: the first axis varies fastest.
    Fortran,
}

/// Byte order of the elements in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ByteOrder {
    /// Little-endian (x86, ARM; NumPy's `<`).
    #[default]
    Little,
    /// Big-endian (NumPy's `>`, netCDF classic).
    Big,
}

/// Where an array lies in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLayout {
    /// Element type.
    pub dtype: DType,
    /// Shape of the array.
    pub shape: Vec<usize>,
    /// Element order.
    pub layout: Layout,
    /// Byte order.
    pub byte_order: ByteOrder,
    /// Offset of the first element in bytes.
    pub offset: u64,
}

impl RawLayout {
    /// Bytes the array occupies after the offset (`None` when that overflows: a corrupt or
    /// hostile shape).
    pub fn data_bytes(&self) -> Option<u64> {
        self.shape.iter().try_fold(self.dtype.size() as u64, |n, &d| n.checked_mul(d as u64))
    }
}

/// A file read region by region.
#[derive(Debug)]
pub(crate) struct RawSource {
    name: String,
    path: PathBuf,
    file: File,
    raw: RawLayout,
}

impl RawSource {
    /// Open `path` and check that it is long enough for `raw`.
    pub(crate) fn open(path: &Path, raw: RawLayout, name: &str) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let want = raw.data_bytes().and_then(|d| d.checked_add(raw.offset)).ok_or_else(|| {
            Error::format(
                path,
                format!(
                    "a {} array of shape {:?} has more bytes than any file can hold",
                    raw.dtype, raw.shape
                ),
            )
        })?;
        crate::core::chunks::check_elements(&raw.shape).map_err(|e| Error::format(path, e.to_string()))?;
        if len < want {
            return Err(Error::format(
                path,
                format!(
                    "file is {len} bytes, but a {} array of shape {:?} at offset {} needs {want} \
                     (truncated?)",
                    raw.dtype, raw.shape, raw.offset
                ),
            ));
        }
        Ok(RawSource { name: name.to_string(), path: path.to_path_buf(), file, raw })
    }

    fn read_typed<T: Element>(&self, region: &[Range<usize>]) -> Result<HostArray> {
        // Work in C order: a Fortran file is the C-order file of the reversed shape.
        let fortran = self.raw.layout == Layout::Fortran;
        let (shape, reg): (Vec<usize>, Vec<Range<usize>>) = if fortran {
            (self.raw.shape.iter().rev().copied().collect(), region.iter().rev().cloned().collect())
        } else {
            (self.raw.shape.clone(), region.to_vec())
        };
        let size = T::DTYPE.size();
        let rshape: Vec<usize> = reg.iter().map(|r| r.len()).collect();
        let mut out: Vec<T> = Vec::with_capacity(rshape.iter().product());
        let big = self.raw.byte_order == ByteOrder::Big;
        let mut buf = Vec::new();
        for_each_run(&shape, &reg, |first, run| {
            // Long runs are read in pieces, so the block is not held twice.
            let piece = run.min((PIECE_BYTES / size).max(1));
            buf.resize(piece * size, 0);
            let mut done = 0;
            while done < run {
                let k = piece.min(run - done);
                let pos = self.raw.offset + ((first + done) * size) as u64;
                let b = &mut buf[..k * size];
                read_exact_at(&self.file, b, pos).map_err(|e| Error::io(&self.path, e))?;
                if big {
                    out.extend(b.chunks_exact(size).map(T::read_be));
                } else {
                    out.extend(b.chunks_exact(size).map(T::read_le));
                }
                done += k;
            }
            Ok(())
        })?;
        let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&rshape), out)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let a = if fortran { a.reversed_axes() } else { a };
        Ok(HostArray::new(a))
    }
}

/// Call `f(first, len)` for each contiguous run of elements of `region` in a C-order array
/// of `shape`, in C order: `first` is the flat index of the run's first element. Runs are
/// as long as the region allows (a region of whole rows is one run).
pub(crate) fn for_each_run(
    shape: &[usize],
    region: &[Range<usize>],
    mut f: impl FnMut(usize, usize) -> Result<()>,
) -> Result<()> {
    let nd = shape.len();
    let rshape: Vec<usize> = region.iter().map(|r| r.len()).collect();
    if rshape.iter().product::<usize>() == 0 {
        return Ok(());
    }
    let mut strides = vec![1usize; nd];
    for a in (0..nd.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    // The run: the innermost axes the region covers whole, plus the first one it does not.
    let mut inner = nd;
    let mut run = 1usize;
    while inner > 0 {
        run *= rshape[inner - 1];
        inner -= 1;
        if region[inner].len() != shape[inner] {
            break;
        }
    }
    let n_runs: usize = rshape[..inner].iter().product();
    let mut idx = vec![0usize; inner];
    let base: usize = (inner..nd).map(|a| region[a].start * strides[a]).sum();
    for _ in 0..n_runs {
        let first = base + (0..inner).map(|a| (region[a].start + idx[a]) * strides[a]).sum::<usize>();
        f(first, run)?;
        for a in (0..inner).rev() {
            idx[a] += 1;
            if idx[a] < rshape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Ok(())
}

/// Largest single read.
const PIECE_BYTES: usize = 4 << 20;

impl BlockSource for RawSource {
    fn file(&self) -> Option<&Path> {
        Some(&self.path)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn dtype(&self) -> DType {
        self.raw.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.raw.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        crate::with_dtype!(self.raw.dtype, T => self.read_typed::<T>(region))
    }
}

/// A lazy array over a raw binary file laid out as `raw`; blocks are read when computed.
///
/// ```
/// use tessera::io::raw::{open_raw, RawLayout, Layout, ByteOrder};
/// let path = std::env::temp_dir().join("tessera-doc-raw.bin");
/// let bytes: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
/// std::fs::write(&path, bytes).unwrap();
/// let raw = RawLayout { dtype: tessera::DType::F32, shape: vec![2, 3], layout: Layout::C,
///                       byte_order: ByteOrder::Little, offset: 0 };
/// let x = open_raw::<f32>(&path, raw, [1, 3])?;
/// assert_eq!(x.compute()?.into_raw_vec_and_offset().0, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn open_raw<T: Element>(
    path: impl AsRef<Path>,
    raw: RawLayout,
    chunks: impl Into<ChunkSpec>,
) -> Result<Array<T>> {
    let src = RawSource::open(path.as_ref(), raw, "raw")?;
    source_array(Arc::new(src), chunks.into())
}

/// Write `block`, the elements of `region`, into their places in a file that holds a
/// C-order array of `dtype` and `shape` starting at byte `offset`, little-endian, one
/// `pwrite` per contiguous run (from any thread: the file's cursor is not used). A block of
/// another type is an error, not garbage in the file.
pub(crate) fn write_block(
    file: &File,
    path: &Path,
    offset: u64,
    dtype: DType,
    shape: &[usize],
    region: &[Range<usize>],
    block: &HostArray,
) -> Result<()> {
    if block.dtype() != dtype {
        return Err(Error::DTypeMismatch {
            context: format!("writing {}", path.display()),
            expected: dtype,
            found: block.dtype(),
        });
    }
    crate::map_host!(block, a => {
        let c = a.as_standard_layout();
        let elems = c.as_slice().expect("standard layout");
        write_region(file, path, offset, shape, region, elems)
    })
}

/// [`write_block`] for a slice of the block's own element type.
fn write_region<T: Element>(
    file: &File,
    path: &Path,
    offset: u64,
    shape: &[usize],
    region: &[Range<usize>],
    elems: &[T],
) -> Result<()> {
    /// A `Write` that writes at a position of the file and moves the position on.
    struct At<'a>(&'a File, u64);
    impl std::io::Write for At<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            crate::core::file_at::write_all_at(self.0, buf, self.1)?;
            self.1 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let size = T::DTYPE.size();
    let mut at = 0usize;
    for_each_run(shape, region, |first, run| {
        let mut w = At(file, offset + (first * size) as u64);
        T::write_slice_le(&elems[at..at + run], &mut w).map_err(|e| Error::io(path, e))?;
        at += run;
        Ok(())
    })
}
