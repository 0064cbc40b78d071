//! netCDF-4 variables read storage chunk by storage chunk, with the decompression on every
//! worker.
//!
//! libnetcdf and the HDF5 library under it are not thread-safe: every call goes through one
//! process-wide lock, so reading a compressed variable through them inflates one chunk at a
//! time, whatever the number of workers. A netCDF-4 file is an HDF5 file, and a chunked
//! HDF5 dataset stores each chunk as one run of bytes (compressed by its filter pipeline) at
//! an address its chunk index knows. So when a variable is opened, tessera asks HDF5 (under
//! the lock, once) for the address, size and filter mask of every chunk, and a read then
//! does without the library: it `pread`s each chunk's bytes from its own file handle and
//! undoes the filters itself (deflate through libdeflate, HDF5's byte shuffle by hand), on
//! whichever worker runs the task.
//!
//! Only what this reader fully understands takes this path: integer or float elements of
//! the expected size in either byte order, chunked with filters `deflate` and `shuffle`
//! (the two netCDF writes, and what NOAA's OISST files and CDO's output use) or contiguous
//! without filters (read by region with `pread`, as a .npy file). Anything else (compact
//! storage, Fletcher-32 checksums, szip, plugin filters, chunks never written, a contiguous
//! variable never written, an HDF5 older than 1.10.5 for chunks) is read through libnetcdf
//! as before; the two paths give the same values (tested).

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytemuck::Pod;

use crate::core::error::{Error, Result};
use crate::io::hdf5_layout::{self, Filter, Stored};

/// The chunk index of one variable: enough to read any region without libnetcdf.
pub(crate) struct ChunkIndex {
    path: PathBuf,
    file: File,
    shape: Vec<usize>,
    chunk: Vec<usize>,
    grid: Vec<usize>,
    /// Row-major over `grid`; `None` for a chunk never written (its values are fill values,
    /// which the caller reads through libnetcdf).
    chunks: Vec<Option<Stored>>,
    filters: Vec<Filter>,
    /// A contiguous variable (no chunks, no filters): where its elements start.
    contiguous: Option<u64>,
    elem: usize,
    /// Stored big-endian: bytes are swapped after the filters.
    swap: bool,
}

impl std::fmt::Debug for ChunkIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkIndex({} chunks of {:?}, {:?})", self.chunks.len(), self.chunk, self.filters)
    }
}

impl ChunkIndex {
    /// The chunk index of variable `var` (of `shape`, `elem`-byte elements) in the netCDF-4
    /// file at `path`, or `None` when the variable is not one this reader handles.
    pub(crate) fn open(path: &Path, var: &str, shape: &[usize], elem: usize) -> Option<ChunkIndex> {
        if shape.is_empty() || shape.contains(&0) {
            return None;
        }
        let file = File::open(path).ok()?;
        if let Some(c) = hdf5_layout::contiguous(path, var, shape, elem) {
            // One run of raw elements: as one chunk of the whole shape, read by region.
            return Some(ChunkIndex {
                path: path.to_path_buf(),
                file,
                shape: shape.to_vec(),
                chunk: shape.to_vec(),
                grid: vec![1; shape.len()],
                chunks: Vec::new(),
                filters: Vec::new(),
                contiguous: Some(c.addr),
                elem,
                swap: c.big_endian != cfg!(target_endian = "big"),
            });
        }
        let layout = hdf5_layout::chunked(path, var, shape, elem)?;
        let grid: Vec<usize> = shape.iter().zip(&layout.chunk).map(|(&n, &c)| n.div_ceil(c)).collect();
        Some(ChunkIndex {
            path: path.to_path_buf(),
            file,
            shape: shape.to_vec(),
            chunk: layout.chunk,
            grid,
            chunks: layout.chunks,
            filters: layout.filters,
            contiguous: None,
            elem,
            swap: layout.big_endian != cfg!(target_endian = "big"),
        })
    }

    /// The values of `region` in row-major order, as stored (`S` is the stored element
    /// type), or `None` when a chunk it touches was never written.
    pub(crate) fn read<S: Pod>(&self, region: &[Range<usize>]) -> Result<Option<Vec<S>>> {
        debug_assert_eq!(std::mem::size_of::<S>(), self.elem);
        let nd = self.shape.len();
        let out_shape: Vec<usize> = region.iter().map(|r| r.len()).collect();
        let mut out = vec![S::zeroed(); out_shape.iter().product()];
        if out.is_empty() {
            return Ok(Some(out));
        }
        if let Some(addr) = self.contiguous {
            self.read_runs(addr, region, &mut out)?;
            return Ok(Some(out));
        }
        let first: Vec<usize> = (0..nd).map(|a| region[a].start / self.chunk[a]).collect();
        let last: Vec<usize> = (0..nd).map(|a| region[a].end.div_ceil(self.chunk[a])).collect();
        let mut at = first.clone();
        let (mut buf, mut scratch, mut whole) = (Vec::new(), Vec::new(), Vec::new());
        let mut inflater = libdeflater::Decompressor::new();
        let n: usize = self.chunk.iter().product();
        loop {
            let linear = at.iter().zip(&self.grid).fold(0, |acc, (&c, &g)| acc * g + c);
            let Some(stored) = self.chunks[linear] else { return Ok(None) };
            let start: Vec<usize> = (0..nd).map(|a| at[a] * self.chunk[a]).collect();
            match self.contiguous_in(region, &start) {
                // The chunk is one run of the region's buffer: decode straight into it.
                Some(o) => {
                    self.decode(&at, stored, &mut inflater, &mut buf, &mut scratch, &mut out[o..o + n])?
                }
                None => {
                    whole.resize(n, S::zeroed());
                    self.decode(&at, stored, &mut inflater, &mut buf, &mut scratch, &mut whole)?;
                    copy_box(&whole, &self.chunk, &start, &mut out, &out_shape, region);
                }
            }
            // Next chunk coordinate in the region's box, last axis fastest.
            let mut a = nd;
            loop {
                if a == 0 {
                    return Ok(Some(out));
                }
                a -= 1;
                at[a] += 1;
                if at[a] < last[a] {
                    break;
                }
                at[a] = first[a];
            }
        }
    }

    /// Read `region` of a contiguous variable whose elements start at `addr`: one `pread`
    /// per run of the region that is contiguous in the file.
    fn read_runs<S: Pod>(&self, addr: u64, region: &[Range<usize>], out: &mut [S]) -> Result<()> {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(out);
        let mut at = 0usize;
        crate::io::raw::for_each_run(&self.shape, region, |first, run| {
            let n = run * self.elem;
            self.file
                .read_exact_at(&mut bytes[at..at + n], addr + (first * self.elem) as u64)
                .map_err(|e| Error::io(&self.path, format!("reading {region:?}: {e}")))?;
            at += n;
            Ok(())
        })?;
        if self.swap {
            for e in bytes.chunks_exact_mut(self.elem) {
                e.reverse();
            }
        }
        Ok(())
    }

    /// Where the chunk starting at `start` begins in `region`'s row-major buffer, when the
    /// whole chunk lies inside the region and fills its rows (every axis but the first as
    /// long as the region's), so that its elements are one run there.
    fn contiguous_in(&self, region: &[Range<usize>], start: &[usize]) -> Option<usize> {
        let nd = start.len();
        let inside =
            (0..nd).all(|a| start[a] >= region[a].start && start[a] + self.chunk[a] <= region[a].end);
        let rows = (1..nd).all(|a| self.chunk[a] == region[a].len());
        (inside && rows).then(|| {
            let plane: usize = region[1..].iter().map(|r| r.len()).product();
            (start[0] - region[0].start) * plane
        })
    }

    /// Decode one chunk (the whole chunk, padding of edge chunks included) into `dst`.
    fn decode<S: Pod>(
        &self,
        at: &[usize],
        stored: Stored,
        inflater: &mut libdeflater::Decompressor,
        buf: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
        dst: &mut [S],
    ) -> Result<()> {
        let nbytes = std::mem::size_of_val(dst);
        buf.resize(stored.size, 0);
        self.file
            .read_exact_at(buf, stored.addr)
            .map_err(|e| Error::io(&self.path, format!("reading the chunk at {at:?}: {e}")))?;
        let active: Vec<Filter> = self
            .filters
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| stored.mask & (1 << i) == 0)
            .map(|(_, f)| *f)
            .collect();
        let bad = |what: String| Error::format(&self.path, format!("chunk at {at:?}: {what}"));
        let dst: &mut [u8] = bytemuck::cast_slice_mut(dst);
        // Each stage reads `src` and writes the next buffer; the last writes `dst`.
        let mut src: &[u8] = buf;
        for (k, f) in active.iter().enumerate() {
            let last = k + 1 == active.len();
            let out: &mut [u8] = if last {
                &mut *dst
            } else {
                scratch.resize(nbytes, 0);
                &mut scratch[..]
            };
            match f {
                Filter::Deflate => inflate(inflater, src, out).map_err(bad)?,
                Filter::Shuffle(size) => unshuffle(src, out, *size).map_err(bad)?,
            }
            if last {
                break;
            }
            // The stage's output becomes the next stage's input.
            std::mem::swap(buf, scratch);
            src = buf;
        }
        if active.is_empty() {
            if buf.len() != nbytes {
                return Err(bad(format!("{} bytes stored, {nbytes} expected", buf.len())));
            }
            dst.copy_from_slice(buf);
        }
        if self.swap {
            for e in dst.chunks_exact_mut(self.elem) {
                e.reverse();
            }
        }
        Ok(())
    }
}

/// Inflate a zlib stream into exactly `out`.
fn inflate(d: &mut libdeflater::Decompressor, src: &[u8], out: &mut [u8]) -> std::result::Result<(), String> {
    match d.zlib_decompress(src, out) {
        Ok(n) if n == out.len() => Ok(()),
        Ok(n) => Err(format!("deflate stream of {n} bytes, {} expected", out.len())),
        Err(libdeflater::DecompressionError::InsufficientSpace) => {
            Err(format!("deflate stream longer than the chunk's {} bytes", out.len()))
        }
        Err(e) => Err(format!("corrupt deflate stream: {e}")),
    }
}

/// Undo HDF5's shuffle: byte `b` of element `i` was stored at `b * n + i`; a tail of
/// `len % size` bytes is stored as is.
fn unshuffle(src: &[u8], out: &mut [u8], size: usize) -> std::result::Result<(), String> {
    if src.len() != out.len() {
        return Err(format!("shuffled data of {} bytes, {} expected", src.len(), out.len()));
    }
    if size <= 1 {
        out.copy_from_slice(src);
        return Ok(());
    }
    let n = src.len() / size;
    for b in 0..size {
        let plane = &src[b * n..(b + 1) * n];
        for (i, &byte) in plane.iter().enumerate() {
            out[i * size + b] = byte;
        }
    }
    out[n * size..].copy_from_slice(&src[n * size..]);
    Ok(())
}

/// Copy the part of a chunk (shape `cshape`, first element at `cstart`) that lies in
/// `region` into `out` (the region's row-major buffer, shape `oshape`).
fn copy_box<S: Copy>(
    chunk: &[S],
    cshape: &[usize],
    cstart: &[usize],
    out: &mut [S],
    oshape: &[usize],
    region: &[Range<usize>],
) {
    let nd = cshape.len();
    let lo: Vec<usize> = (0..nd).map(|a| region[a].start.max(cstart[a])).collect();
    let hi: Vec<usize> = (0..nd).map(|a| region[a].end.min(cstart[a] + cshape[a])).collect();
    if (0..nd).any(|a| lo[a] >= hi[a]) {
        return;
    }
    let strides = |shape: &[usize]| -> Vec<usize> {
        let mut s = vec![1; nd];
        for a in (0..nd.saturating_sub(1)).rev() {
            s[a] = s[a + 1] * shape[a + 1];
        }
        s
    };
    let (cs, os) = (strides(cshape), strides(oshape));
    let run = hi[nd - 1] - lo[nd - 1];
    let mut i = lo.clone();
    loop {
        let c: usize = (0..nd).map(|a| (i[a] - cstart[a]) * cs[a]).sum();
        let o: usize = (0..nd).map(|a| (i[a] - region[a].start) * os[a]).sum();
        out[o..o + run].copy_from_slice(&chunk[c..c + run]);
        // Next row: every axis but the last, last-but-one fastest.
        let mut a = nd - 1;
        loop {
            if a == 0 {
                return;
            }
            a -= 1;
            i[a] += 1;
            if i[a] < hi[a] {
                break;
            }
            i[a] = lo[a];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unshuffle_inverts_shuffle() {
        // Three 4-byte elements and a 2-byte tail.
        let plain: Vec<u8> = (0..14).collect();
        let n = 3;
        let mut shuffled = vec![0u8; 14];
        for i in 0..n {
            for b in 0..4 {
                shuffled[b * n + i] = plain[i * 4 + b];
            }
        }
        shuffled[12..].copy_from_slice(&plain[12..]);
        let mut back = vec![0u8; 14];
        unshuffle(&shuffled, &mut back, 4).unwrap();
        assert_eq!(back, plain);
        assert!(unshuffle(&shuffled, &mut back[..10], 4).is_err());
    }

    #[test]
    fn copy_box_takes_the_overlap() {
        // A 2x3 chunk at (2, 3) into the region [1..4, 2..5].
        let chunk: Vec<i32> = (0..6).collect();
        let mut out = vec![-1; 9];
        copy_box(&chunk, &[2, 3], &[2, 3], &mut out, &[3, 3], &[1..4, 2..5]);
        assert_eq!(out, vec![-1, -1, -1, -1, 0, 1, -1, 3, 4]);
    }

    #[test]
    fn inflate_checks_the_length() {
        let data: Vec<u8> = (0..1000u32).flat_map(|x| (x % 7).to_le_bytes()).collect();
        let mut z = libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest());
        let mut packed = vec![0u8; z.zlib_compress_bound(data.len())];
        let n = z.zlib_compress(&data, &mut packed).unwrap();
        packed.truncate(n);
        let mut out = vec![0u8; data.len()];
        let mut d = libdeflater::Decompressor::new();
        inflate(&mut d, &packed, &mut out).unwrap();
        assert_eq!(out, data);
        let mut short = vec![0u8; data.len() - 1];
        assert!(inflate(&mut d, &packed, &mut short).is_err());
        let mut long = vec![0u8; data.len() + 1];
        assert!(inflate(&mut d, &packed, &mut long).is_err());
        assert!(inflate(&mut d, &packed[..packed.len() / 2], &mut out).is_err());
    }
}
