//! Outputs written whole or not at all.
//!
//! A [`Staged`] output is written under a temporary name beside its target
//! (`.tessera-PID-N.partial.NAME`: hidden, and with the target's extension, which some
//! writers go by) and renamed into place by [`Staged::commit`] once every
//! byte is written and flushed. Until then an existing file at the target is untouched; if the
//! run fails, the temporary is removed when the `Staged` is dropped. A process killed outright
//! leaves its temporary behind, named so that the next `Staged` for the same directory removes
//! it (its process is gone).
//!
//! Renaming a file over a file is atomic. A directory (a Zarr store) cannot be renamed over a
//! non-empty one, so the old store is first renamed aside, the new one into place, and the old
//! one removed; if the second rename fails the old store is put back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::error::{Error, Result};

/// Start of every temporary name (the start-up clean-up looks for it).
const TAG: &str = ".tessera-";
/// Between the process id and sequence number and the target's name: a temporary being
/// written, or an old store moved aside while the new one is renamed into place.
const PARTIAL: &str = ".partial.";
const OLD: &str = ".old.";

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Whether the target is one file or a directory tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One file (.npy, netCDF).
    File,
    /// A directory (a Zarr array or group).
    Dir,
}

/// An output being written under a temporary name beside its target.
#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    temp: PathBuf,
    kind: Kind,
    done: bool,
}

impl Staged {
    /// Stage an output at `target`: checks that the target can be replaced (a file by a file; a
    /// directory only when it is a Zarr store, `replaceable`), removes what killed runs left
    /// beside it, and (for a directory) creates the temporary directory. Nothing at `target`
    /// changes until [`Staged::commit`].
    pub fn new(target: &Path, kind: Kind) -> Result<Staged> {
        // Through a symlink: the file it points to is replaced, the link stays.
        let resolved;
        let target = match std::fs::symlink_metadata(target) {
            Ok(m) if m.file_type().is_symlink() => {
                resolved = target.canonicalize().map_err(|e| Error::io(target, e))?;
                resolved.as_path()
            }
            _ => target,
        };
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::invalid(format!("output path '{}' has no file name", target.display())))?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(Error::io(target, "its directory does not exist"));
        }
        remove_stale(&parent, name);
        if let Ok(meta) = std::fs::symlink_metadata(target) {
            match kind {
                Kind::File if meta.is_dir() => {
                    return Err(Error::io(target, "is a directory; give a file name for the output"));
                }
                Kind::Dir if !meta.is_dir() => {
                    return Err(Error::io(target, "exists and is not a directory; not replacing it"));
                }
                Kind::Dir if !is_zarr_store(target) && !is_empty_dir(target) => {
                    return Err(Error::io(
                        target,
                        "exists and is not a Zarr store (no zarr.json); not replacing a directory of other files",
                    ));
                }
                _ => {}
            }
        }
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let temp = parent.join(format!("{TAG}{}-{seq}{PARTIAL}{name}", std::process::id()));
        if kind == Kind::Dir {
            std::fs::create_dir(&temp).map_err(|e| Error::io(&temp, e))?;
        }
        Ok(Staged { target: target.to_path_buf(), temp, kind, done: false })
    }

    /// Where to write: the temporary path.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Where the output goes on commit.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flush the temporary to disk and rename it into place, replacing what was there.
    pub fn commit(mut self) -> Result<()> {
        let t = &self.temp;
        match self.kind {
            Kind::File => {
                std::fs::File::open(t).and_then(|f| f.sync_all()).map_err(|e| Error::io(t, e))?;
                std::fs::rename(t, &self.target).map_err(|e| Error::io(&self.target, e))?;
            }
            Kind::Dir => {
                let aside = t.with_file_name(
                    t.file_name().and_then(|n| n.to_str()).unwrap_or_default().replacen(PARTIAL, OLD, 1),
                );
                replace_dir(t, &aside, &self.target)?
            }
        }
        self.done = true;
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the rename itself durable (best effort: not every file system allows it).
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            remove(&self.temp);
        }
    }
}

/// Rename the finished directory `temp` to `target`, moving an existing `target` to `aside`
/// first.
fn replace_dir(temp: &Path, aside: &Path, target: &Path) -> Result<()> {
    if std::fs::symlink_metadata(target).is_err() {
        return std::fs::rename(temp, target).map_err(|e| Error::io(target, e));
    }
    std::fs::rename(target, aside).map_err(|e| Error::io(target, e))?;
    if let Err(e) = std::fs::rename(temp, target) {
        let _ = std::fs::rename(aside, target);
        return Err(Error::io(target, e));
    }
    remove(aside);
    Ok(())
}

/// Remove a file or a directory tree, ignoring errors (it may be gone already).
fn remove(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// Whether `dir` holds a Zarr node (array or group) at its top.
fn is_zarr_store(dir: &Path) -> bool {
    dir.join("zarr.json").is_file() || dir.join(".zarray").is_file() || dir.join(".zgroup").is_file()
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(false)
}

/// Clean up after killed runs that wrote `name` in `dir`: remove their temporaries, and put
/// back an old store one moved aside if nothing took its place (else remove it).
fn remove_stale(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(f) = file.to_str() else { continue };
        let Some(rest) = f.strip_prefix(TAG) else { continue };
        let (old, ids) = if let Some(ids) = rest.strip_suffix(name).and_then(|r| r.strip_suffix(PARTIAL)) {
            (false, ids)
        } else if let Some(ids) = rest.strip_suffix(name).and_then(|r| r.strip_suffix(OLD)) {
            (true, ids)
        } else {
            continue;
        };
        let Some(pid) = ids.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if process_alive(pid) {
            continue;
        }
        let target = dir.join(name);
        if old && std::fs::symlink_metadata(&target).is_err() {
            let _ = std::fs::rename(e.path(), &target);
        } else {
            remove(&e.path());
        }
    }
}

/// Whether process `pid` is running (Linux: its /proc entry; elsewhere assumed running,
/// so nothing is removed that might be in use).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") { Path::new(&format!("/proc/{pid}")).exists() } else { true }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tessera-staged-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_file_replaces_its_target_only_on_commit() {
        let d = dir();
        let target = d.join("out.npy");
        std::fs::write(&target, b"old").unwrap();
        let s = Staged::new(&target, Kind::File).unwrap();
        std::fs::write(s.path(), b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"old", "untouched before the commit");
        s.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&d), ["out.npy"]);
        // Dropped without a commit: the temporary goes, the target stays.
        let s = Staged::new(&target, Kind::File).unwrap();
        std::fs::write(s.path(), b"half").unwrap();
        drop(s);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&d), ["out.npy"]);
        // Through a symlink, the file it points to is replaced and the link stays a link.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&target, d.join("link.npy")).unwrap();
            let s = Staged::new(&d.join("link.npy"), Kind::File).unwrap();
            std::fs::write(s.path(), b"via link").unwrap();
            s.commit().unwrap();
            assert_eq!(std::fs::read(&target).unwrap(), b"via link");
            assert!(std::fs::symlink_metadata(d.join("link.npy")).unwrap().file_type().is_symlink());
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_zarr_store_is_replaced_whole_and_other_directories_are_refused() {
        let d = dir();
        let target = d.join("out.zarr");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("zarr.json"), b"{}").unwrap();
        std::fs::write(target.join("old-chunk"), b"x").unwrap();
        let s = Staged::new(&target, Kind::Dir).unwrap();
        std::fs::write(s.path().join("zarr.json"), b"{\"new\": 1}").unwrap();
        s.commit().unwrap();
        assert_eq!(names(&target), ["zarr.json"]);
        assert_eq!(names(&d), ["out.zarr"]);
        let home = d.join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::write(home.join("thesis.tex"), b"x").unwrap();
        let e = Staged::new(&home, Kind::Dir).unwrap_err().to_string();
        assert!(e.contains("not a Zarr store"), "{e}");
        let e = Staged::new(&home, Kind::File).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        assert_eq!(names(&home), ["thesis.tex"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn what_a_killed_run_left_is_removed_by_the_next() {
        let d = dir();
        // No process has id u32::MAX - 1 (Linux pids stay below 2^22).
        let stale = d.join(format!("{TAG}{}-0{PARTIAL}out.npy", u32::MAX - 1));
        std::fs::write(&stale, b"half").unwrap();
        let other = d.join(format!("{TAG}{}-0{PARTIAL}other.npy", u32::MAX - 1));
        std::fs::write(&other, b"half").unwrap();
        let s = Staged::new(&d.join("out.npy"), Kind::File).unwrap();
        assert!(!stale.exists() || !cfg!(target_os = "linux"));
        assert!(other.exists(), "only temporaries of the same target are looked at");
        drop(s);
        // A store moved aside by a run killed before its new store took the place comes back.
        let aside = d.join(format!("{TAG}{}-3{OLD}store.zarr", u32::MAX - 1));
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join("zarr.json"), b"{}").unwrap();
        let s = Staged::new(&d.join("store.zarr"), Kind::Dir).unwrap();
        if cfg!(target_os = "linux") {
            assert!(d.join("store.zarr").join("zarr.json").exists() && !aside.exists());
        }
        drop(s);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
