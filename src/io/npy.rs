//! NumPy's .npy files: read lazily region by region, written block by block.
//!
//! Supported element types: `<f4 <f8 <i4 <i8 |b1` and their big-endian twins (read only),
//! C or Fortran order, format versions 1.0, 2.0 and 3.0. Anything else (other dtypes,
//! object arrays, a damaged header, a file shorter than its header says) is an
//! [`Error::Format`] naming the file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::array::Array;
use crate::array::creation::source_array;
use crate::core::block::HostArray;
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::io::BlockSink;
use crate::io::raw::{ByteOrder, Layout, RawLayout, RawSource};
use crate::io::staged::{Kind, Staged};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Read the header of the .npy file at `path`: dtype, shape, order and where the data begins.
pub fn read_header(path: impl AsRef<Path>) -> Result<RawLayout> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(Error::format(path, "is a directory, not a .npy file"));
    }
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let bad = |r: &str| Error::format(path, format!("not a valid .npy file: {r}"));
    let mut pre = [0u8; 8];
    f.read_exact(&mut pre).map_err(|_| bad("shorter than the magic string"))?;
    if &pre[..6] != MAGIC {
        return Err(bad("wrong magic string"));
    }
    let (len, start) = match pre[6] {
        1 => {
            let mut l = [0u8; 2];
            f.read_exact(&mut l).map_err(|_| bad("truncated header length"))?;
            (u16::from_le_bytes(l) as usize, 10)
        }
        2 | 3 => {
            let mut l = [0u8; 4];
            f.read_exact(&mut l).map_err(|_| bad("truncated header length"))?;
            (u32::from_le_bytes(l) as usize, 12)
        }
        v => return Err(bad(&format!("unknown format version {v}"))),
    };
    if len > 1 << 24 {
        return Err(bad("header length is absurd"));
    }
    let mut h = vec![0u8; len];
    f.read_exact(&mut h).map_err(|_| bad("truncated header"))?;
    let h = String::from_utf8(h).map_err(|_| bad("header is not text"))?;
    let descr = dict_value(&h, "descr").ok_or_else(|| bad("no 'descr' in the header"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let (dtype, byte_order) = parse_descr(descr).ok_or_else(|| {
        Error::format(
            path,
            format!("unsupported .npy dtype '{descr}' (tessera reads b1, i1 i2 i4 i8, u1 u2 u4 u8, f4 f8)"),
        )
    })?;
    let fortran = match dict_value(&h, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err(bad("no valid 'fortran_order' in the header")),
    };
    let shape_s = dict_value(&h, "shape").ok_or_else(|| bad("no 'shape' in the header"))?;
    let inner = shape_s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad("shape is not a tuple"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| bad(&format!("bad shape entry '{s}'"))))
        .collect::<Result<Vec<_>>>()?;
    let layout = if fortran { Layout::Fortran } else { Layout::C };
    Ok(RawLayout { dtype, shape, layout, byte_order, offset: (start + len) as u64 })
}

/// The text of the value of `key` in a Python dict literal (a string, a tuple or a word).
fn dict_value<'a>(h: &'a str, key: &str) -> Option<&'a str> {
    let at = h.find(&format!("'{key}'")).or_else(|| h.find(&format!("\"{key}\"")))?;
    let rest = h[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = match rest.chars().next()? {
        '(' => rest.find(')')? + 1,
        q @ ('\'' | '"') => rest[1..].find(q)? + 2,
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(rest[..end].trim())
}

fn parse_descr(d: &str) -> Option<(DType, ByteOrder)> {
    let (order, t) = match d.as_bytes().first()? {
        b'<' | b'=' | b'|' => (ByteOrder::Little, &d[1..]),
        b'>' => (ByteOrder::Big, &d[1..]),
        _ => (ByteOrder::Little, d),
    };
    let dtype = match t {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "b1" => DType::Bool,
        _ => return None,
    };
    Some((dtype, order))
}

fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    }
}

/// The header bytes of a C-order .npy file (version 1.0, or 2.0 when it must be longer).
fn header_bytes(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {tuple}, }}", descr(dtype));
    let (version, pre) = if dict.len() + 11 < 65536 { (1u8, 10) } else { (2u8, 12) };
    while (pre + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// A lazy array over a .npy file; blocks are read (only the bytes they need) when computed.
///
/// ```
/// use tessera::prelude::*;
/// let path = std::env::temp_dir().join("tessera-doc-open.npy");
/// let x = tessera::arange::<f64>(0.0, 12.0, 1.0, [5])?.reshape(&[3, 4])?;
/// x.to_npy(&path, &ComputeOptions::default())?;
/// let y = tessera::io::npy::open_npy::<f64>(&path, [2, 4])?;
/// assert_eq!(y.sum(Axes::All)?.item()?, 66.0);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn open_npy<T: Element>(path: impl AsRef<Path>, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
    let path = path.as_ref();
    let raw = read_header(path)?;
    if raw.dtype != T::DTYPE {
        return Err(Error::format(
            path,
            format!("holds {} elements, but it was opened as {}", raw.dtype, T::DTYPE),
        ));
    }
    let src = RawSource::open(path, raw, "npy")?;
    source_array(Arc::new(src), chunks.into())
}

/// Writes a C-order .npy file block by block: the header and the file's full length first,
/// then each block into its place (from any thread, in any order). The file is written under
/// a temporary name beside `path` and renamed into place by `finish` (see [`crate::io::staged`]):
/// a run that fails leaves `path` as it was.
#[derive(Debug)]
pub struct NpyWriter {
    path: PathBuf,
    file: File,
    dtype: DType,
    shape: Vec<usize>,
    offset: u64,
    staged: Mutex<Option<Staged>>,
}

impl NpyWriter {
    /// Stage a .npy file at `path` for an array of `dtype` and `shape` (an existing file there
    /// is replaced when the writer finishes, not before).
    pub fn create(path: impl AsRef<Path>, dtype: DType, shape: &[usize]) -> Result<Self> {
        let path = path.as_ref();
        let staged = Staged::new(path, Kind::File)?;
        let tmp = staged.path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(|e| Error::io(path, e))?;
        let head = header_bytes(dtype, shape);
        file.write_all(&head).map_err(|e| Error::io(path, e))?;
        let data =
            shape.iter().try_fold(dtype.size() as u64, |n, &d| n.checked_mul(d as u64)).ok_or_else(|| {
                Error::invalid(format!("an array of shape {shape:?} has more bytes than a file can"))
            })?;
        file.set_len(head.len() as u64 + data).map_err(|e| Error::io(path, e))?;
        Ok(NpyWriter {
            path: path.to_path_buf(),
            file,
            dtype,
            shape: shape.to_vec(),
            offset: head.len() as u64,
            staged: Mutex::new(Some(staged)),
        })
    }
}

impl BlockSink for NpyWriter {
    fn write(&self, region: &[Range<usize>], block: &HostArray) -> Result<()> {
        crate::io::raw::write_block(
            &self.file,
            &self.path,
            self.offset,
            self.dtype,
            &self.shape,
            region,
            block,
        )
    }
    fn finish(&self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        let staged = self.staged.lock().map_err(|_| Error::internal("npy writer lock poisoned"))?.take();
        staged.map_or(Ok(()), Staged::commit)
    }
    fn target(&self) -> Option<&Path> {
        Some(&self.path)
    }
}
