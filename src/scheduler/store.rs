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

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArcArray, IxDyn};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::{TaskGraph, TaskId};
use crate::map_host;

enum Slot {
    Empty,
    Held(Value),
    Spilled(PathBuf),
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
    /// Serialises spilling, and owns the spill directory once one is made.
    spill: Mutex<SpillDir>,
}

struct SpillDir {
    parent: Option<PathBuf>,
    dir: Option<PathBuf>,
    files: usize,
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
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
            spill: Mutex::new(SpillDir { parent: spill_dir, dir: None, files: 0 }),
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
        let mut dir = self.spill.lock().map_err(|_| poisoned())?;
        loop {
            if self.try_add(b) {
                return Ok(());
            }
            if !self.spill_some(&mut dir, b, pinned)? {
                let now = self.held.fetch_add(b, Ordering::Relaxed) + b;
                self.peak.fetch_max(now, Ordering::Relaxed);
                return Ok(());
            }
        }
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
        let path = loop {
            let mut g = self.slots[t].lock().map_err(|_| poisoned())?;
            match std::mem::replace(&mut *g, Slot::Loading) {
                Slot::Held(v) => {
                    *g = Slot::Held(v.clone());
                    return Ok(v);
                }
                Slot::Spilled(path) => break path,
                Slot::Loading => {
                    drop(g);
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                Slot::Empty => {
                    *g = Slot::Empty;
                    return Err(Error::invalid("an input result was lost"));
                }
            }
        };
        let v = match read_block(&path) {
            Ok(a) => Value::Array(a),
            Err(e) => {
                *self.slots[t].lock().map_err(|_| poisoned())? = Slot::Spilled(path);
                return Err(e);
            }
        };
        let reserved = self.reserve(v.nbytes(), pinned);
        *self.slots[t].lock().map_err(|_| poisoned())? = Slot::Held(v.clone());
        let _ = std::fs::remove_file(&path);
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
                Slot::Spilled(path) => {
                    let _ = std::fs::remove_file(path);
                }
                Slot::Empty | Slot::Loading => {}
            }
        }
    }

    /// Spill held results, needed-last first, until `extra` more bytes fit a little below
    /// the budget (so the next few results do not each spill again). False when there was
    /// nothing to spill.
    fn spill_some(&self, dir: &mut SpillDir, extra: usize, pinned: &[TaskId]) -> Result<bool> {
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
            let path = dir.next_path()?;
            write_block(&path, a)?;
            let nbytes = a.nbytes();
            *g = Slot::Spilled(path);
            self.held.fetch_sub(nbytes, Ordering::Relaxed);
            self.spilled.fetch_add(nbytes, Ordering::Relaxed);
            any = true;
        }
        Ok(any)
    }
}

impl SpillDir {
    fn next_path(&mut self) -> Result<PathBuf> {
        if self.dir.is_none() {
            let parent = self.parent.clone().unwrap_or_else(std::env::temp_dir);
            static RUN: AtomicUsize = AtomicUsize::new(0);
            let name =
                format!("tessera-spill-{}-{}", std::process::id(), RUN.fetch_add(1, Ordering::Relaxed));
            let dir = parent.join(name);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(&dir, format!("cannot create spill directory: {e}")))?;
            self.dir = Some(dir);
        }
        self.files += 1;
        Ok(self.dir.as_ref().expect("made above").join(format!("{}.blk", self.files)))
    }
}

const MAGIC: &[u8; 4] = b"TSB1";

/// Write a block to `path`: magic, dtype, ndim, shape, then the elements in C order.
pub(crate) fn write_block(path: &Path, a: &HostArray) -> Result<()> {
    let err = |e: std::io::Error| Error::io(path, format!("cannot write spill file: {e}"));
    let mut w = BufWriter::new(File::create(path).map_err(err)?);
    write_block_to(&mut w, a).map_err(err)?;
    // No fsync: a spill file lives only while the graph runs, and the page cache may keep
    // it (outside the process's memory) until it is read back.
    w.flush().map_err(err)
}

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

/// Read a block written by [`write_block`].
pub(crate) fn read_block(path: &Path) -> Result<HostArray> {
    let f = File::open(path).map_err(|e| Error::io(path, format!("cannot read spill file: {e}")))?;
    read_block_from(&mut BufReader::new(f), path)
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
    match d {
        DType::Bool => 0,
        DType::I32 => 1,
        DType::I64 => 2,
        DType::F32 => 3,
        DType::F64 => 4,
    }
}

fn dtype_from_code(c: u8) -> Option<DType> {
    Some(match c {
        0 => DType::Bool,
        1 => DType::I32,
        2 => DType::I64,
        3 => DType::F32,
        4 => DType::F64,
        _ => return None,
    })
}

fn poisoned() -> Error {
    Error::internal("scheduler state poisoned by a panic")
}
