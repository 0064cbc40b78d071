//! Where task results live while a graph runs: in memory, accounted against the budget, or
//! spilled to disk.
//!
//! Every result is put here by the task that made it and taken by its consumers; the last
//! consumer's release drops it. The store counts the bytes held. When a new result (or one
//! read back from disk) would push the count over the budget, it first spills the held
//! results needed last (largest "next use" priority) to files in the spill directory, until
//! the new bytes fit, and reads a spilled result back when a consumer asks for it. Results a
//! running task is using are never chosen. Opaque states (reduction partials) stay in memory;
//! they are small. A spill that fails (disk full, no permission) is an [`Error::Io`]; no
//! result is ever dropped before its last consumer has read it.
//!
//! Spilled results go to one file per compute, in the spill directory, unlinked the moment
//! it is created: its open handle is the only reference, so the space goes back when the
//! compute ends and a process killed in any way leaves nothing on disk. Each result is an
//! extent of it; an extent freed (its result read back or released) is reused for later
//! spills, so the file grows to about the most bytes spilled at once.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use ndarray::{ArcArray, IxDyn};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::file_at::{read_at, write_all_at};
use crate::ir::{TaskGraph, TaskId};
use crate::map_host;

enum Slot {
    Empty,
    Held(Value),
    Spilled(Extent),
    /// Being read back from its spill file by one consumer.
    Loading,
}

/// Results of a running graph, with the budget and the spill files.
pub(crate) struct Store {
    slots: Vec<Mutex<Slot>>,
    /// For each task, the priority of its first consumer: results needed last spill first.
    next_use: Vec<u32>,
    budget: usize,
    held: AtomicUsize,
    peak: AtomicUsize,
    spilled: AtomicUsize,
    /// Serialises spilling; owns the free extents of the spill file.
    spill: Mutex<SpillSpace>,
    /// The spill file, made on the first spill (read back without the lock: `pread`).
    file: OnceLock<SpillFile>,
}

/// Bytes `len` at `off` of the spill file.
#[derive(Debug, Clone, Copy)]
struct Extent {
    off: u64,
    len: u64,
}

/// Where spill extents go: the end of the file, or a freed extent large enough.
struct SpillSpace {
    /// The directory asked for (`None`: the system's temporary directory).
    parent: Option<PathBuf>,
    /// Directories made to hold the spill file (removed at the end when empty).
    made: Vec<PathBuf>,
    end: u64,
    /// Freed extents, by offset, neighbours merged.
    free: Vec<Extent>,
}

/// The unlinked spill file and its name (for messages).
struct SpillFile {
    file: File,
    path: PathBuf,
}

impl Drop for SpillSpace {
    fn drop(&mut self) {
        // Only the directories this compute made, innermost first, and only when empty.
        for d in self.made.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

impl Store {
    pub(crate) fn new(graph: &TaskGraph, prio: &[u32], budget: usize, spill_dir: Option<PathBuf>) -> Self {
        let n = graph.tasks.len();
        let mut next_use = vec![u32::MAX; n];
        for (t, task) in graph.tasks.iter().enumerate() {
            for &i in &task.inputs {
                next_use[i] = next_use[i].min(prio[t]);
            }
        }
        Store {
            slots: (0..n).map(|_| Mutex::new(Slot::Empty)).collect(),
            next_use,
            budget,
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            spilled: AtomicUsize::new(0),
            spill: Mutex::new(SpillSpace { parent: spill_dir, made: Vec::new(), end: 0, free: Vec::new() }),
            file: OnceLock::new(),
        }
    }

    /// Bytes held in memory now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
    /// The most bytes held at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
    /// Bytes written to spill files in all.
    pub(crate) fn spilled(&self) -> usize {
        self.spilled.load(Ordering::Relaxed)
    }
    /// The budget.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Count `b` more bytes if they fit the budget.
    fn try_add(&self, b: usize) -> bool {
        let mut h = self.held.load(Ordering::Relaxed);
        loop {
            if h + b > self.budget {
                return false;
            }
            match self.held.compare_exchange_weak(h, h + b, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    self.peak.fetch_max(h + b, Ordering::Relaxed);
                    return true;
                }
                Err(now) => h = now,
            }
        }
    }

    /// Count `b` more bytes, spilling held results first until they fit the budget (or
    /// nothing more can be spilled: then the bytes are counted anyway).
    fn reserve(&self, b: usize, pinned: &[TaskId]) -> Result<()> {
        if self.try_add(b) {
            return Ok(());
        }
        let mut space = self.spill.lock().map_err(|_| poisoned())?;
        loop {
            if self.try_add(b) {
                return Ok(());
            }
            if !self.spill_some(&mut space, b, pinned)? {
                let now = self.held.fetch_add(b, Ordering::Relaxed) + b;
                self.peak.fetch_max(now, Ordering::Relaxed);
                return Ok(());
            }
        }
    }

    /// Bytes of `inputs` that are on disk now: a task reading them brings them back.
    pub(crate) fn spilled_bytes_of(&self, inputs: &[TaskId]) -> usize {
        // Every task start asks: without a spill so far, no input is on disk (no locks).
        if self.spilled() == 0 {
            return 0;
        }
        inputs
            .iter()
            .map(|&i| match self.slots[i].lock().as_deref() {
                Ok(Slot::Spilled(ext)) => ext.len as usize,
                _ => 0,
            })
            .sum()
    }

    /// Before a task that will allocate `extra` bytes starts: spill held results (not the
    /// `pinned` ones it reads) until the bytes held and `extra` fit the budget, or nothing
    /// more can be spilled. The bytes are not counted: the task's result is, when it is put.
    pub(crate) fn make_room(&self, extra: usize, pinned: &[TaskId]) -> Result<()> {
        if self.held() + extra <= self.budget {
            return Ok(());
        }
        let mut space = self.spill.lock().map_err(|_| poisoned())?;
        while self.held() + extra > self.budget {
            if !self.spill_some(&mut space, extra, pinned)? {
                break;
            }
        }
        Ok(())
    }

    /// Store the result of task `t`, spilling others first if it would not fit. `pinned`
    /// are the results the caller is using.
    pub(crate) fn put(&self, t: TaskId, v: Value, pinned: &[TaskId]) -> Result<()> {
        self.reserve(v.nbytes(), pinned)?;
        *self.slots[t].lock().map_err(|_| poisoned())? = Slot::Held(v);
        Ok(())
    }

    /// The result of task `t`, read back from disk if it was spilled. One consumer reads a
    /// spilled result back; others asking for it meanwhile wait for that read (the bytes
    /// are counted once).
    pub(crate) fn get(&self, t: TaskId, pinned: &[TaskId]) -> Result<Value> {
        let ext = loop {
            let mut g = self.slots[t].lock().map_err(|_| poisoned())?;
            match std::mem::replace(&mut *g, Slot::Loading) {
                Slot::Held(v) => {
                    *g = Slot::Held(v.clone());
                    return Ok(v);
                }
                Slot::Spilled(ext) => break ext,
                Slot::Loading => {
                    drop(g);
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                Slot::Empty => {
                    *g = Slot::Empty;
                    return Err(Error::internal("an input result was lost"));
                }
            }
        };
        let v = match self.read_back(ext) {
            Ok(a) => Value::Array(a),
            Err(e) => {
                *self.slots[t].lock().map_err(|_| poisoned())? = Slot::Spilled(ext);
                return Err(e);
            }
        };
        let reserved = self.reserve(v.nbytes(), pinned);
        *self.slots[t].lock().map_err(|_| poisoned())? = Slot::Held(v.clone());
        self.free(ext);
        reserved?;
        Ok(v)
    }

    /// The result of task `t`, taken out of the store: its last consumer is about to run and
    /// may reuse the buffer (see [`crate::ir::kernel::Kernel::in_place_input`]).
    pub(crate) fn take(&self, t: TaskId, pinned: &[TaskId]) -> Result<Value> {
        let v = self.get(t, pinned)?;
        self.release(t);
        Ok(v)
    }

    /// Drop the result of task `t` (its last consumer has read it).
    pub(crate) fn release(&self, t: TaskId) {
        if let Ok(mut g) = self.slots[t].lock() {
            match std::mem::replace(&mut *g, Slot::Empty) {
                Slot::Held(v) => {
                    self.held.fetch_sub(v.nbytes(), Ordering::Relaxed);
                }
                Slot::Spilled(ext) => {
                    drop(g);
                    self.free(ext);
                }
                Slot::Empty | Slot::Loading => {}
            }
        }
    }

    /// Read a spilled block back.
    fn read_back(&self, ext: Extent) -> Result<HostArray> {
        let f = self.file.get().ok_or_else(|| Error::internal("a spilled result but no spill file"))?;
        let mut r =
            BufReader::with_capacity(1 << 20, At { file: &f.file, pos: ext.off, end: ext.off + ext.len });
        read_block_from(&mut r, &f.path)
    }

    /// Give an extent back for later spills (the slot's lock must not be held: spilling locks
    /// the space, then slots).
    fn free(&self, ext: Extent) {
        if let Ok(mut s) = self.spill.lock() {
            s.release(ext);
        }
    }

    /// Write `a` to a new extent of the spill file (made on first use).
    fn write_spill(&self, space: &mut SpillSpace, a: &HostArray) -> Result<Extent> {
        let f = match self.file.get() {
            Some(f) => f,
            None => {
                let made = space.open_file()?;
                self.file.get_or_init(|| made)
            }
        };
        let len = spill_bytes(a);
        let ext = space.alloc(len);
        let err = |e: std::io::Error| Error::io(&f.path, format!("cannot write spill file: {e}"));
        let mut w =
            BufWriter::with_capacity(1 << 20, At { file: &f.file, pos: ext.off, end: ext.off + ext.len });
        write_block_to(&mut w, a).and_then(|_| w.flush()).map_err(|e| {
            space.release(ext);
            err(e)
        })?;
        Ok(ext)
    }

    /// Spill held results, needed-last first, until `extra` more bytes fit a little below
    /// the budget (so the next few results do not each spill again). False when there was
    /// nothing to spill.
    fn spill_some(&self, space: &mut SpillSpace, extra: usize, pinned: &[TaskId]) -> Result<bool> {
        let mut cands: Vec<(u32, TaskId)> = Vec::new();
        for (t, slot) in self.slots.iter().enumerate() {
            if pinned.contains(&t) {
                continue;
            }
            if let Slot::Held(Value::Array(_)) = &*slot.lock().map_err(|_| poisoned())? {
                cands.push((self.next_use[t], t));
            }
        }
        cands.sort_unstable_by_key(|&(u, t)| std::cmp::Reverse((u, t)));
        let target = self.budget - self.budget / 8;
        let mut any = false;
        for (_, t) in cands {
            if any && self.held() + extra <= target {
                break;
            }
            let mut g = self.slots[t].lock().map_err(|_| poisoned())?;
            let Slot::Held(Value::Array(a)) = &*g else { continue };
            let ext = self.write_spill(space, a)?;
            let nbytes = a.nbytes();
            *g = Slot::Spilled(ext);
            self.held.fetch_sub(nbytes, Ordering::Relaxed);
            self.spilled.fetch_add(nbytes, Ordering::Relaxed);
            any = true;
        }
        Ok(any)
    }
}

impl SpillSpace {
    /// Make the spill file in the spill directory (making the directory, and noting which
    /// directories were made) and unlink it at once.
    fn open_file(&mut self) -> Result<SpillFile> {
        let dir = self.parent.clone().unwrap_or_else(std::env::temp_dir);
        let mut missing = Vec::new();
        let mut d = dir.as_path();
        while !d.as_os_str().is_empty() && !d.exists() {
            missing.push(d.to_path_buf());
            d = d.parent().unwrap_or(Path::new(""));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(&dir, format!("cannot create the spill directory: {e}")))?;
        self.made.extend(missing.into_iter().rev());
        static RUN: AtomicUsize = AtomicUsize::new(0);
        let name =
            format!("tessera-spill-{}-{}.blk", std::process::id(), RUN.fetch_add(1, Ordering::Relaxed));
        let path = dir.join(name);
        let err = |e: std::io::Error| Error::io(&path, format!("cannot create the spill file: {e}"));
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path).map_err(err)?;
        std::fs::remove_file(&path).map_err(err)?;
        Ok(SpillFile { file, path })
    }

    /// An extent of `len` bytes: the first freed one large enough (its rest stays free), else
    /// at the end of the file.
    fn alloc(&mut self, len: u64) -> Extent {
        if let Some(i) = self.free.iter().position(|e| e.len >= len) {
            let e = self.free[i];
            if e.len == len {
                self.free.remove(i);
            } else {
                self.free[i] = Extent { off: e.off + len, len: e.len - len };
            }
            return Extent { off: e.off, len };
        }
        let e = Extent { off: self.end, len };
        self.end += len;
        e
    }

    /// Free an extent, merging it with free neighbours.
    fn release(&mut self, ext: Extent) {
        let i = self.free.partition_point(|e| e.off < ext.off);
        self.free.insert(i, ext);
        if i + 1 < self.free.len() && self.free[i].off + self.free[i].len == self.free[i + 1].off {
            self.free[i].len += self.free[i + 1].len;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].off + self.free[i - 1].len == self.free[i].off {
            self.free[i - 1].len += self.free[i].len;
            self.free.remove(i);
        }
        if let Some(last) = self.free.last()
            && last.off + last.len == self.end
        {
            self.end = last.off;
            self.free.pop();
        }
    }
}

/// Reads and writes a file at advancing offsets (`pread`/`pwrite`: threads share the file),
/// writes never past `end`.
struct At<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Write for At<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.pos + buf.len() as u64 > self.end {
            return Err(std::io::Error::other("a spilled block outgrew its extent (a bug)"));
        }
        write_all_at(self.file, buf, self.pos)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Bytes [`write_block_to`] writes for `a`.
fn spill_bytes(a: &HostArray) -> u64 {
    (MAGIC.len() + 2 + 8 * a.shape().len()) as u64 + a.nbytes() as u64
}

const MAGIC: &[u8; 4] = b"TSB1";

/// Write a block to `w`: magic, dtype, ndim, shape, then the elements in C order.
pub(crate) fn write_block_to(w: &mut impl Write, a: &HostArray) -> std::io::Result<()> {
    w.write_all(MAGIC)?;
    w.write_all(&[dtype_code(a.dtype()), a.shape().len() as u8])?;
    for &d in a.shape() {
        w.write_all(&(d as u64).to_le_bytes())?;
    }
    map_host!(a, x => {
        let c = x.as_standard_layout();
        let s = c.as_slice().expect("standard layout");
        crate::core::dtype::Element::write_slice_le(s, w)
    })
}

/// Read a block written by [`write_block_to`] from `r` (`path` names it in errors).
pub(crate) fn read_block_from(r: &mut impl Read, path: &Path) -> Result<HostArray> {
    let err = |e: std::io::Error| Error::io(path, format!("cannot read spill file: {e}"));
    let mut head = [0u8; 6];
    r.read_exact(&mut head).map_err(err)?;
    if &head[..4] != MAGIC {
        return Err(Error::format(path, "not a tessera spill file"));
    }
    let dtype = dtype_from_code(head[4]).ok_or_else(|| Error::format(path, "unknown dtype code"))?;
    let mut shape = Vec::with_capacity(head[5] as usize);
    for _ in 0..head[5] {
        let mut d = [0u8; 8];
        r.read_exact(&mut d).map_err(err)?;
        shape.push(u64::from_le_bytes(d) as usize);
    }
    let n: usize = shape.iter().product();
    crate::with_dtype!(dtype, T => {
        let v = T::read_vec_le(r, n).map_err(err)?;
        let a = ArcArray::<T, IxDyn>::from_shape_vec(IxDyn(&shape), v)
            .map_err(|e| Error::format(path, e.to_string()))?;
        Ok(HostArray::new(a))
    })
}

fn dtype_code(d: DType) -> u8 {
    DType::ALL.iter().position(|&t| t == d).expect("every dtype is in DType::ALL") as u8
}

fn dtype_from_code(c: u8) -> Option<DType> {
    DType::ALL.get(c as usize).copied()
}

fn poisoned() -> Error {
    Error::internal("scheduler state poisoned by a panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_extents_are_reused_and_merged() {
        let mut s = SpillSpace { parent: None, made: Vec::new(), end: 0, free: Vec::new() };
        let a = s.alloc(100);
        let b = s.alloc(50);
        let c = s.alloc(30);
        assert_eq!((a.off, b.off, c.off, s.end), (0, 100, 150, 180));
        s.release(a);
        let d = s.alloc(60);
        assert_eq!(d.off, 0, "first fit in a freed extent");
        assert_eq!(s.free[0].off, 60);
        s.release(b);
        assert_eq!(s.free.len(), 1, "40 free at 60 merged with b's 50 at 100");
        assert_eq!((s.free[0].off, s.free[0].len), (60, 90));
        s.release(c);
        assert!(s.free.is_empty() && s.end == 60, "a free tail shrinks the file");
        s.release(d);
        assert_eq!(s.end, 0);
    }
}
