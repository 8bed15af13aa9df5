//! Layering: a module never imports from a layer above its own.
//!
//! Every file under `src/` belongs to the layer of its top-level module (`src/router/*`
//! to `router`, `src/main.rs` to `cli`). The test reads each file, finds the paths that
//! name another top-level module (`crate::X`, `use crate::{X, ..}`, `super::X` from a
//! top-level file, `torsim::X` in the binary) outside comments, and fails on any that
//! points upwards, naming file, line and path. ARCHITECTURE.md explains the layers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layers from the bottom up; modules in one row are peers and may use each other.
const LAYERS: &[&[&str]] = &[
    // Shared vocabulary: flits, messages, directions, limits, build identity.
    &["core"],
    // Counters and histograms: plain data every layer above may fill in.
    &["stats"],
    // TOML schema, units, resolved parameters and node-side specs.
    &["config"],
    &["topology"],
    &["routing"],
    &["router"],
    &["engine"],
    &["node"],
    // Workloads: synthetic traffic, programs, microbenchmarks, SpMV.
    &["traffic", "spmv"],
    // Run phases and checks, validation against measurements.
    &["experiment"],
    // Result documents, summaries, plots.
    &["report"],
    // The binary: `src/main.rs` and `src/cli/`.
    &["cli", "main"],
];

/// Imports that point upwards but are accepted for now, as (importing top-level module,
/// imported top-level module), each with the reason it cannot go yet. Keep this short:
/// an entry is a debt, and a new one needs a reason in review.
const ALLOWED: &[(&str, &str)] = &[];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file relative to `src/`: `router/mod.rs` -> [router],
/// `router/arbiter.rs` -> [router, arbiter], `lib.rs` -> [].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && !(parts.is_empty() && stem == "lib") {
        parts.push(stem.to_string());
    }
    parts
}

/// Blanks out comments (line and block) and string literals, keeping line breaks so
/// that offsets still give line numbers.
fn strip(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: u8| if c == b'\n' { '\n' } else { ' ' };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(' ');
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if b[i..].starts_with(b"r#\"") && (i == 0 || !is_ident(b[i - 1])) {
            // A raw string, which may hold quotes: up to the closing `"#`.
            let end = text[i + 3..].find("\"#").map_or(b.len(), |e| i + 3 + e + 2);
            out.extend(b[i..end].iter().map(|&c| blank(c)));
            i = end;
        } else if b[i] == b'"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    out.push(' ');
                    i += 1;
                }
                out.push(blank(b[i]));
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal such as '"' or '\n' (lifetimes have no closing quote).
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                if b[i] == b'\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(blank(b[i]));
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(text[i..].chars().next().unwrap());
            i += text[i..].chars().next().unwrap().len_utf8();
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn ident_at(b: &[u8], mut i: usize) -> (String, usize) {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let s = i;
    while i < b.len() && is_ident(b[i]) {
        i += 1;
    }
    (String::from_utf8_lossy(&b[s..i]).into_owned(), i)
}

/// One reference to another top-level module: (line, top-level module, shown path).
type Reference = (usize, String, String);

/// The top-level modules `code` (already stripped) refers to. `module` is the file's
/// module path, which decides where `super::` lands.
fn references(code: &str, module: &[String]) -> Vec<Reference> {
    let b = code.as_bytes();
    let line_of = |i: usize| code[..i].bytes().filter(|&c| c == b'\n').count() + 1;
    // The path as written: up to the end of a `{..}` group, or of the plain path.
    let snippet = |i: usize| {
        let rest = &code[i..];
        let end = match rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            Some(e) if rest[e..].starts_with('{') => {
                let mut depth = 0;
                let close = rest[e..].find(|c: char| {
                    depth += (c == '{') as i32 - (c == '}') as i32;
                    depth == 0
                });
                close.map_or(rest.len(), |c| e + c + 1)
            }
            Some(e) => e,
            None => rest.len(),
        };
        rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':');
        if !boundary {
            i += 1;
            continue;
        }
        // How many path segments to skip before the top-level module name.
        let prefix = if b[i..].starts_with(b"crate::") {
            Some((7, true))
        } else if b[i..].starts_with(b"torsim::") {
            Some((8, true))
        } else if b[i..].starts_with(b"super::") {
            let mut j = i;
            let mut k = 0;
            while b[j..].starts_with(b"super::") {
                j += 7;
                k += 1;
            }
            // `super` from [a, b] is [a]; reaching the root names a top-level module.
            Some((j - i, k >= module.len()))
        } else {
            None
        };
        let Some((skip, to_root)) = prefix else {
            i += 1;
            continue;
        };
        let start = i;
        let j = i + skip;
        if to_root {
            if b.get(j) == Some(&b'{') {
                // `use crate::{a::X, b}`: the first segment of every top-level item.
                let mut depth = 0;
                let mut k = j;
                let mut expect_name = true;
                while k < b.len() {
                    match b[k] {
                        b'{' => {
                            depth += 1;
                            expect_name = depth == 1;
                            k += 1;
                        }
                        b'}' => {
                            depth -= 1;
                            k += 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b',' => {
                            expect_name = depth == 1;
                            k += 1;
                        }
                        c if c.is_ascii_whitespace() => k += 1,
                        _ if expect_name => {
                            let (name, e) = ident_at(b, k);
                            if !name.is_empty() {
                                out.push((line_of(k), name, snippet(start)));
                            }
                            expect_name = false;
                            k = e.max(k + 1);
                        }
                        _ => k += 1,
                    }
                }
                i = k;
                continue;
            }
            let (name, e) = ident_at(b, j);
            if !name.is_empty() {
                out.push((line_of(start), name, snippet(start)));
            }
            i = e.max(i + 1);
        } else {
            i = j;
        }
    }
    out
}

/// Upward imports in the crate, each as a message; `Err` for a module with no layer.
fn violations(src: &Path) -> (Vec<String>, usize, Vec<String>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut bad = Vec::new();
    let mut unknown = Vec::new();
    let mut seen = 0;
    let mut used: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(src).unwrap();
        let module = module_path(rel);
        let Some(top) = module.first() else {
            continue; // lib.rs: only declares the modules
        };
        let Some(from) = rank(top) else {
            unknown.push(format!(
                "src/{}: module `{top}` has no layer",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for (line, to, path) in references(&strip(&text), &module) {
            seen += 1;
            let Some(target) = rank(&to) else {
                // Items of the crate root or external names, not a layer.
                continue;
            };
            if target > from {
                let edge = (top.clone(), to.clone());
                if ALLOWED.contains(&(top.as_str(), to.as_str())) {
                    *used.entry(edge).or_default() += 1;
                    continue;
                }
                bad.push(format!(
                    "src/{}:{line}: `{top}` (layer {from}) imports `{to}` (layer {target}): {path}",
                    rel.display()
                ));
            }
        }
    }
    for (a, b) in ALLOWED {
        if !used.contains_key(&(a.to_string(), b.to_string())) {
            bad.push(format!(
                "allow-list entry {a} -> {b} is no longer needed: remove it"
            ));
        }
    }
    (bad, seen, unknown)
}

#[test]
fn no_module_imports_from_a_layer_above() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let (bad, seen, unknown) = violations(&src);
    assert!(
        unknown.is_empty(),
        "every top-level module needs a layer in tests/layers.rs:\n{}",
        unknown.join("\n")
    );
    // Guards against a parser that silently finds nothing.
    assert!(seen > 100, "only {seen} cross-module references found");
    assert!(
        bad.is_empty(),
        "imports against the layer order (see ARCHITECTURE.md):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checker_sees_every_form_of_path() {
    let code = strip(
        "use crate::router::Router;\n\
         use crate::{config::Params, engine};\n\
         // use crate::cli::nothing;\n\
         let s = \"crate::report\";\n\
         fn f(x: &crate::node::nic::Nic) {}\n\
         use super::traffic::Op;\n\
         let r = r#\"x \" crate::cli\"#; use crate::stats::Stats;\n",
    );
    let top = references(&code, &["routing".to_string()]);
    let names: Vec<(usize, &str)> = top.iter().map(|(l, n, _)| (*l, n.as_str())).collect();
    assert_eq!(
        names,
        [
            (1, "router"),
            (2, "config"),
            (2, "engine"),
            (5, "node"),
            (6, "traffic"),
            (7, "stats")
        ]
    );
    // From a file one level down, `super::` stays inside the module.
    let inner = references(&code, &["routing".to_string(), "deadlock".to_string()]);
    assert!(inner.iter().all(|(_, n, _)| n != "traffic"));
}
