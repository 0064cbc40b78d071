//! Architecture check: every `crate::` path in the library points down the layers.
//!
//! Reads each `.rs` file under `src/` (not `src/bin/`, lib.rs, main.rs) and finds every `crate::`
//! path outside comments: use lines (`as` renames, `crate::{a::x, b}` groups over several lines)
//! and inline paths, `$crate::` in macros too. A name lib.rs re-exports counts as the module that
//! defines it. Each file's layer (its top folder or file; dtype, block, error, chunks are core) may
//! use its own layer and the ones below it; see `HOW_TO_READ` for the table, modules it does not
//! name are not checked. Why: one-way layers leave clean seams, so MPI ranks, a Python front and
//! new kernels plug in at one level without dragging the levels above along.
//! `../shared/tools/layers.py` is the same rule and prints the same lines; keep the two in step.
//!
//! Reading a failure: each line is `file: its layer -> the layer it reaches (crate::segment)`.
//! Move the item down to a layer both sides may use, or turn the dependency around.
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

const COLLECTIONS: &str =
    "array linalg groupby delayed overlap random stats stat sort window fft dist distributed mpi";

fn is_collection(m: &str) -> bool {
    COLLECTIONS.split(' ').any(|c| c == m)
}

/// Single files that belong to core while they still sit at src/'s top.
fn alias(m: &str) -> &str {
    if matches!(m, "dtype" | "block" | "error" | "chunks") { "core" } else { m }
}

/// The layers `layer` may use besides itself (and, for a collection, the other collections);
/// `None` for a module no rule speaks of.
fn allowed(layer: &str) -> Option<&'static str> {
    Some(match layer {
        "core" => "",
        "ir" => "core",
        "runtime" => "core ir",
        "backend" => "core ir runtime",
        "scheduler" => "core ir runtime backend",
        "graph" => "core ir runtime",
        "compute" => "core ir runtime backend scheduler graph",
        l if is_collection(l) => "core ir runtime graph compute",
        _ => return None,
    })
}

/// `array/x.rs` -> array, `dtype.rs` -> core.
fn layer_of(rel: &str) -> String {
    let top = rel.split('/').next().unwrap_or(rel);
    alias(top.strip_suffix(".rs").unwrap_or(top)).to_string()
}

/// `/* */` first (unnested, across lines), then `//` to each line's end (naive about strings).
fn strip_comments(text: &str) -> String {
    let (mut out, mut rest) = (String::new(), text);
    while let Some(i) = rest.find("/*") {
        let Some(j) = rest[i + 2..].find("*/") else { break };
        out.push_str(&rest[..i]);
        rest = &rest[i + 2 + j + 2..];
    }
    out.push_str(rest);
    // the line breaks of Python's str.splitlines, as layers.py uses it
    let brk = ['\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}'];
    out.split(brk).map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// The text inside the braces `s` starts with (nested braces balanced).
fn braced(s: &str) -> Option<&str> {
    let mut depth = 0;
    let (end, _) = s.char_indices().find(|&(_, c)| {
        depth += (c == '{') as i32 - (c == '}') as i32;
        depth == 0
    })?;
    s.starts_with('{').then(|| &s[1..end])
}

/// The comma-separated items of a group, trimmed, commas inside nested braces left alone.
fn items(group: &str) -> Vec<&str> {
    let (mut out, mut depth, mut from) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices().chain([(group.len(), ',')]) {
        depth += (c == '{') as i32 - (c == '}') as i32;
        if c == ',' && depth == 0 {
            out.push(group[from..i].trim());
            from = i + 1;
        }
    }
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// The length of the `[A-Za-z0-9_]*` run `s` starts with.
fn word(s: &str) -> usize {
    s.bytes().take_while(|&b| b.is_ascii_alphanumeric() || b == b'_').count()
}

/// The first segment after each `crate::` (`$crate::` too), groups expanded. Differs from
/// layers.py on nested groups only: for `crate::{a::{X, Y}, b}` its `\{[^}]*\}` stops at the
/// first `}` and yields a and Y (missing b); this yields a and b.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let (mut out, mut from) = (BTreeSet::new(), 0);
    while let Some(k) = text[from..].find("crate::") {
        let rest = &text[from + k + 7..];
        from += k + 1;
        if let Some(group) = braced(rest) {
            for item in items(group) {
                let end = item.find(char::is_whitespace).unwrap_or(item.len());
                out.insert(item[..end.min(item.find("::").unwrap_or(end))].to_string());
            }
            from = text.len() - rest.len() + group.len() + 2;
        } else {
            let n = word(rest);
            if n > 0 && !rest.as_bytes()[0].is_ascii_digit() {
                out.insert(rest[..n].to_string());
                from = text.len() - rest.len() + n;
            }
        }
    }
    out
}

/// The names a `pub use` group brings in (`X as Y` -> Y, `a::X` -> X), nested groups included
/// (layers.py skips a lib.rs `pub use` holding a nested group; this reads its leaves).
fn leaf_names(group: &str, out: &mut Vec<String>) {
    for item in items(group) {
        match item.find('{').and_then(|i| braced(&item[i..])) {
            Some(inner) => leaf_names(inner, out),
            None => out.push(item.rsplit(" as ").next().unwrap().trim().rsplit("::").next().unwrap().into()),
        }
    }
}

fn ws1(s: &str) -> Option<&str> {
    Some(s.trim_start()).filter(|t| t.len() < s.len())
}

fn semi(s: &str) -> Option<&str> {
    s.trim_start().strip_prefix(';')
}

/// `pub use [crate::|self::]top::a::b[::{X, Y as Z}];` at the start of `s`, as layers.py's
/// regex reads it: (bytes consumed, re-exported name -> top module). The prelude's
/// `pub use crate::{...};` is consumed with no names.
fn pub_use(s: &str) -> Option<(usize, Vec<(String, String)>)> {
    let t = ws1(ws1(s.strip_prefix("pub")?)?.strip_prefix("use")?)?;
    if let Some(inner) = t.strip_prefix("crate::").and_then(braced) {
        let rest = semi(&t[7 + inner.len() + 2..])?;
        return Some((s.len() - rest.len(), Vec::new()));
    }
    // the regex backtracks from a failed `crate::`/`self::` prefix to a module named crate/self
    for prefix in ["crate::", "self::", ""] {
        let Some(r) = t.strip_prefix(prefix) else { continue };
        let n = word(r); // layers.py: [a-z_][a-z0-9_]*, then `::`, `;` or space must follow
        if n == 0 || r.as_bytes()[0].is_ascii_digit() || r[..n].bytes().any(|b| b.is_ascii_uppercase()) {
            continue;
        }
        let (top, mut r, mut last) = (&r[..n], &r[n..], &r[..n]);
        while let Some(k) = r.strip_prefix("::").map(word).filter(|&k| k > 0) {
            (last, r) = (&r[2..2 + k], &r[2 + k..]);
        }
        let mut names = vec![last.to_string()];
        if let Some(inner) = r.strip_prefix("::").and_then(braced) {
            names.clear();
            leaf_names(inner, &mut names);
            r = &r[2 + inner.len() + 2..];
        }
        let Some(rest) = semi(r) else { continue };
        return Some((s.len() - rest.len(), names.into_iter().map(|n| (n, top.to_string())).collect()));
    }
    None
}

/// name -> top module, from lib.rs's `pub use` lines (later lines win, as in a Python dict).
fn lib_reexports(lib: &str) -> HashMap<String, String> {
    let (text, mut names, mut from) = (strip_comments(lib), HashMap::new(), 0);
    while let Some(k) = text[from..].find("pub") {
        let (len, found) = pub_use(&text[from + k..]).unwrap_or((1, Vec::new()));
        names.extend(found);
        from += k + len;
    }
    names
}

/// Every import against the direction, as sorted `path: layer -> target (crate::seg)` lines;
/// `tops`: the entries at src/'s top, `files`: (path under src/, text) of each .rs file.
fn check(tops: &[String], files: &[(String, String)]) -> Vec<String> {
    let reexp = files.iter().find(|(p, _)| p == "lib.rs").map(|(_, t)| lib_reexports(t)).unwrap_or_default();
    let modules: BTreeSet<String> = tops.iter().map(|t| layer_of(t)).collect();
    let mut broken = Vec::new();
    for (rel, text) in files {
        let me = layer_of(rel);
        if rel.starts_with("bin/") || rel == "lib.rs" || rel == "main.rs" || me == "io" {
            continue;
        }
        let Some(allowed) = allowed(&me) else { continue };
        for seg in crate_paths(&strip_comments(text)) {
            let known = modules.contains(&seg) || alias(&seg) != seg;
            let target = if known { Some(alias(&seg)) } else { reexp.get(&seg).map(|t| alias(t)) };
            let Some(target) = target.filter(|&t| t != me) else { continue };
            let collections = is_collection(&me) && is_collection(target);
            if !collections && !allowed.split(' ').any(|l| l == target) {
                broken.push((rel.clone(), me.clone(), target.to_string(), seg.clone()));
            }
        }
    }
    broken.sort();
    broken.into_iter().map(|(r, m, t, s)| format!("{r}: {m} -> {t} (crate::{s})")).collect()
}

/// The crate's src/: $CARGO_MANIFEST_DIR/src under cargo, ./src when built by hand with rustc.
fn src_dir() -> PathBuf {
    let env = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    Path::new(option_env!("CARGO_MANIFEST_DIR").unwrap_or(&env)).join("src")
}

fn walk(dir: &Path, prefix: &str, tops: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.expect("readable entry");
        let (name, path) = (entry.file_name().to_string_lossy().into_owned(), entry.path());
        if prefix.is_empty() {
            tops.push(name.clone());
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, &format!("{prefix}{name}/"), tops, out);
        } else if name.ends_with(".rs") && path.is_file() {
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((format!("{prefix}{name}"), text));
        }
    }
}

const HOW_TO_READ: &str = "Each line is `file: its layer -> the layer it reaches (crate::path)`, the file under \
    src/. A module may use its own layer and the layers below it, as ARCHITECTURE.md's table of layers sets \
    out: core, ir, runtime, backend, scheduler; graph over core, ir, runtime; compute over all of those; the \
    collections over core, ir, runtime, graph, compute and each other, never backend, scheduler or io; io \
    on top. Move the item down to a layer both sides may use, or turn the dependency around (a trait \
    below, implemented above). `python3 ../shared/tools/layers.py src` prints the same list.";

#[test]
fn imports_point_down_the_layers() {
    let (src, mut tops, mut files) = (src_dir(), Vec::new(), Vec::new());
    walk(&src, "", &mut tops, &mut files);
    let broken = check(&tops, &files);
    let (n, at, list) = (broken.len(), src.display(), broken.join("\n  "));
    assert!(broken.is_empty(), "{n} imports against the direction in {at}:\n  {list}\n\n{HOW_TO_READ}");
}

#[test]
fn the_rule_catches_an_import_against_the_direction() {
    // (file, its text, what each violation in it reaches, sorted and `|`-separated)
    let cases = [
        ("backend/cpu/x.rs", "use crate::graph::expr::Expr;", "graph (crate::graph)"),
        ("graph/plan.rs", "use crate::ir::kernel::Kernel;\nuse crate::dtype::DType;", ""),
        ("graph/x.rs", "use crate::{runtime::Device, backend::cpu};", "backend (crate::backend)"),
        ("array/x.rs", "fn f(s: &dyn crate::io::BlockSource) {}", "io (crate::io)"),
        ("io/x.rs", "use crate::scheduler::X;\nuse crate::{backend::Y, array::Z};", ""),
        ("backend/x.rs", "/// see crate::scheduler\n//! crate::graph\n/* crate::io\n */ // crate::io", ""),
        ("backend/x.rs", "fn f(o: &crate::ComputeOptions) {}", "scheduler (crate::ComputeOptions)"),
        ("backend/x.rs", "use crate::{graph::node::Node, ir::Kernel};", "graph (crate::graph)"),
        ("backend/x.rs", "use crate::{\n  ir::{Kernel, Op},\n  graph::Node,\n};", "graph (crate::graph)"),
        ("scheduler/x.rs", "use crate::graph as g;", "graph (crate::graph)"),
        ("backend/m.rs", "macro_rules! m { () => { $crate::graph::f() } }", "graph (crate::graph)"),
        ("ir/x.rs", "use crate::{nils, Widget};", "array (crate::nils)"),
        ("error.rs", "use crate::runtime::Device;\nuse crate::block::Block;", "runtime (crate::runtime)"),
        ("linalg/x.rs", "use crate::{array::Array, graph::Node};", ""),
        ("delayed/x.rs", "use crate::{ComputeOptions, random::Seed};", "scheduler (crate::ComputeOptions)"),
        ("array/x.rs", "use crate::{io::Zarr, backend::cpu};", "backend (crate::backend)|io (crate::io)"),
        ("plot.rs", "use crate::backend::X;", ""),
        ("bin/cli.rs", "use crate::backend::X;", ""),
    ];
    // lib.rs: a plain and a nested re-export group, and a prelude that must not count
    let lib = "/// crate::x\npub use scheduler::{ComputeOptions};\npub use array::{a::{ones, zeros as nils}, Array};\n\
               pub mod prelude {\n    pub use crate::{ComputeOptions, Widget};\n}\n";
    let mut tree: Vec<(String, String)> = ["ir", "runtime", "backend", "scheduler", "graph", "io", "array"]
        .map(|m| (format!("{m}/mod.rs"), String::new()))
        .into();
    tree.extend([("lib.rs".into(), lib.into()), ("dtype.rs".into(), String::new())]);
    for (path, text, want) in cases {
        let files = [&tree[..], &[(path.into(), text.into())]].concat();
        let tops: Vec<String> = files.iter().map(|(p, _)| p.split('/').next().unwrap().into()).collect();
        let want =
            want.split('|').filter(|w| !w.is_empty()).map(|w| format!("{path}: {} -> {w}", layer_of(path)));
        assert_eq!(check(&tops, &files), want.collect::<Vec<_>>(), "{path}: {text}");
    }
}
