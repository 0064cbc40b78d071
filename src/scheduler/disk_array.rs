//! Arrays computed once and kept on disk for later graphs to read: one spill file per block.
//!
//! A [`DiskArray`] is an output sink while its array is computed (each block goes to its own
//! file in the spill directory as soon as it exists) and a [`BlockSource`] afterwards (any
//! region is read back from the block files it overlaps). Each file is unlinked as soon as it
//! is created: the array holds it open, its space goes when the array is dropped, and a
//! killed process leaves nothing behind. Block files use the store's spill format.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayD, IxDyn, Slice};

use crate::core::block::{HostArray, Value};
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::source::BlockSource;
use crate::scheduler::OutputSink;
use crate::scheduler::store::{read_block_from, write_block_to};
use crate::with_dtype;

/// An array whose blocks wait on disk, each in an unlinked spill file.
#[derive(Debug)]
pub struct DiskArray {
    dtype: DType,
    shape: Vec<usize>,
    chunks: Chunks,
    /// Where the block files are made (for error messages; the files have no names left).
    dir: PathBuf,
    /// One file per block, in C order of the block grid, once written.
    files: Vec<Mutex<Option<File>>>,
}

impl DiskArray {
    /// An empty disk array of `dtype` cut into `chunks`, its block files to be made in `dir`.
    pub fn new(dir: &Path, dtype: DType, chunks: &Chunks) -> Self {
        DiskArray {
            dtype,
            shape: chunks.shape(),
            chunks: chunks.clone(),
            dir: dir.to_path_buf(),
            files: (0..chunks.nblocks()).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// Write block `block` (C order of the grid) to a new file, unlinked once made.
    fn put(&self, block: usize, a: &HostArray) -> Result<()> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("tessera-disk-{}-{k}.blk", std::process::id()));
        let err = |e: std::io::Error| Error::io(&path, format!("cannot write spill file: {e}"));
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(err)?;
        std::fs::remove_file(&path).map_err(err)?;
        let mut w = BufWriter::new(&file);
        write_block_to(&mut w, a).and_then(|_| w.flush()).map_err(err)?;
        drop(w);
        *self.files[block].lock().map_err(|_| poisoned())? = Some(file);
        Ok(())
    }

    /// Block `block` read back whole.
    fn block(&self, block: usize) -> Result<HostArray> {
        let g = self.files[block].lock().map_err(|_| poisoned())?;
        let f =
            g.as_ref().ok_or_else(|| Error::internal(format!("disk array block {block} never written")))?;
        let mut r = std::io::BufReader::new(f.try_clone().map_err(|e| Error::io(&self.dir, e))?);
        std::io::Seek::rewind(&mut r).map_err(|e| Error::io(&self.dir, e))?;
        read_block_from(&mut r, &self.dir)
    }
}

impl BlockSource for DiskArray {
    fn name(&self) -> &str {
        "disk_array"
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        let grid = self.chunks.numblocks();
        let out_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        with_dtype!(self.dtype, T => {
            let mut out = ArrayD::<T>::from_elem(IxDyn(&out_shape), T::zero());
            for lin in 0..self.chunks.nblocks() {
                let breg = self.chunks.block_region(&unravel(lin, &grid));
                let meet: Vec<Range<usize>> = breg
                    .iter()
                    .zip(region)
                    .map(|(b, r)| b.start.max(r.start)..b.end.min(r.end))
                    .collect();
                if meet.iter().any(|m| m.start >= m.end) {
                    continue;
                }
                let b = self.block(lin)?;
                let b = b.typed::<T>()?;
                let src = b.slice_each_axis(|d| {
                    let (m, o) = (&meet[d.axis.index()], breg[d.axis.index()].start);
                    Slice::from(m.start - o..m.end - o)
                });
                out.slice_each_axis_mut(|d| {
                    let (m, o) = (&meet[d.axis.index()], region[d.axis.index()].start);
                    Slice::from(m.start - o..m.end - o)
                })
                .assign(&src);
            }
            Ok(HostArray::new(out.into_shared()))
        })
    }
}

/// Writes the output blocks of a run into disk arrays (output `i` into `arrays[i]`).
pub struct DiskSink<'a>(pub &'a [DiskArray]);

impl OutputSink for DiskSink<'_> {
    fn put(&self, output: usize, block: usize, value: &Value) -> Result<()> {
        let a = self
            .0
            .get(output)
            .ok_or_else(|| Error::internal(format!("no disk array for output {output}")))?;
        a.put(block, value.array()?)
    }
}

fn poisoned() -> Error {
    Error::internal("disk array poisoned by a panic")
}
