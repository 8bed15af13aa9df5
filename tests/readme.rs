//! The README check: every command in the README runs as written and prints or writes
//! what the README says.
//!
//! - Every command of a ```` ```sh ```` block runs (from a scratch directory that holds
//!   the repository's `configs/`, `traffic/`, `validation/` and `scripts/`, with the
//!   built `torsim` first on `PATH`) and must exit with 0. A command marked
//!   `# long (check: FLAGS)` runs with FLAGS instead: a flag already in the command
//!   gets the new value, `--set` and new flags are added. Commands that build, install
//!   packages or need a cluster (`cargo`, `apt-get`, `mpirun`, `sbatch`,
//!   `scripts/ci-mpi.sh`) are not run here; CI runs the build, the tests and the MPI
//!   tests itself.
//! - A `# writes: FILE...` line in a block names files the block's commands write;
//!   each must exist afterwards. No command may change a file an earlier command wrote.
//! - A ```` ```console ```` block starting with `$ COMMAND` must show exactly what the
//!   command prints; in a ```` ```text ```` block (timings) the words must match, the
//!   figures may differ.
//! - Every key of the README's JSON tables must be in the documents the commands write.
//!
//! The run takes a few minutes, so it is `#[ignore]`d in `cargo test` and run by
//! `scripts/readme-check.sh` (from `.ci/run`). The fast test below only parses the
//! README and checks that every command is of a kind the check knows.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// First words of commands the check does not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo", "builds and tests; CI runs these itself"),
    ("apt-get", "installs system packages"),
    (
        "mpirun",
        "needs the MPI build; scripts/ci-mpi.sh runs the MPI tests",
    ),
    ("sbatch", "needs Slurm"),
    ("scripts/ci-mpi.sh", "CI runs it itself"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("read README.md")
}

/// A fenced block: its info string, its first line number and its lines.
struct Block {
    lang: String,
    line: usize,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            match cur.take() {
                Some(b) => out.push(b),
                None => {
                    cur = Some(Block {
                        lang: info.trim().to_string(),
                        line: i + 1,
                        lines: Vec::new(),
                    })
                }
            }
        } else if let Some(b) = &mut cur {
            b.lines.push(l.to_string());
        }
    }
    out
}

/// One command of a shell block.
#[derive(Debug)]
struct Cmd {
    line: usize,
    text: String,
    /// Flags of a `# long (check: ...)` mark.
    quick: Option<String>,
}

/// Splits a shell line into the command and its trailing comment (a `#` after
/// whitespace, outside quotes).
fn split_comment(line: &str) -> (String, Option<String>) {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => {
                return (
                    line[..i].trim_end().to_string(),
                    Some(line[i + 1..].trim().to_string()),
                );
            }
            _ => {}
        }
        prev = c;
    }
    (line.trim_end().to_string(), None)
}

/// The commands of a shell block (continuation lines joined) and its `# writes:` files.
fn commands(b: &Block) -> (Vec<Cmd>, Vec<String>) {
    let mut cmds = Vec::new();
    let mut writes = Vec::new();
    let mut pending: Option<(usize, String, Option<String>)> = None;
    for (k, raw) in b.lines.iter().enumerate() {
        let line_no = b.line + 1 + k;
        let (code, comment) = split_comment(raw);
        if let Some(files) = comment
            .as_deref()
            .and_then(|c| c.strip_prefix("writes:"))
            .filter(|_| code.trim().is_empty())
        {
            writes.extend(files.split_whitespace().map(str::to_string));
            continue;
        }
        let quick = comment.as_deref().and_then(|c| {
            let rest = c.strip_prefix("long (check:")?;
            Some(rest.trim_end_matches(')').trim().to_string())
        });
        let (cont, code) = match code.strip_suffix('\\') {
            Some(c) => (true, c.trim_end().to_string()),
            None => (false, code),
        };
        let entry = pending.get_or_insert((line_no, String::new(), None));
        if !code.trim().is_empty() {
            if !entry.1.is_empty() {
                entry.1.push(' ');
            }
            entry.1.push_str(code.trim());
        }
        if quick.is_some() {
            entry.2 = quick;
        }
        if !cont
            && let Some((line, text, quick)) = pending.take()
            && !text.is_empty()
        {
            cmds.push(Cmd { line, text, quick });
        }
    }
    (cmds, writes)
}

/// `text` with the quick flags applied: a flag already present gets the new value,
/// `--set` and absent flags are appended.
fn quick(text: &str, flags: &str) -> String {
    let mut toks: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let q: Vec<&str> = flags.split_whitespace().collect();
    let mut i = 0;
    while i < q.len() {
        let flag = q[i];
        let value = q.get(i + 1).filter(|v| !v.starts_with("--")).copied();
        i += if value.is_some() { 2 } else { 1 };
        let at = toks.iter().position(|t| t == flag);
        match (at, value) {
            (Some(p), Some(v)) if flag != "--set" && p + 1 < toks.len() => {
                toks[p + 1] = v.to_string()
            }
            (Some(_), None) => {}
            _ => {
                toks.push(flag.to_string());
                if let Some(v) = value {
                    toks.push(v.to_string());
                }
            }
        }
    }
    toks.join(" ")
}

fn first_word(text: &str) -> &str {
    text.split_whitespace()
        .find(|w| !w.contains('=') || w.starts_with("--"))
        .unwrap_or("")
}

fn not_run(text: &str) -> Option<&'static str> {
    let w = first_word(text);
    NOT_RUN.iter().find(|(n, _)| *n == w).map(|(_, why)| *why)
}

/// Whether the line only assigns a shell variable (kept for later commands).
fn is_assignment(text: &str) -> bool {
    let t = text.trim();
    !t.contains(' ')
        && t.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
}

/// Every file under `dir` (symlinked inputs and the transfer-matrix cache excluded)
/// with its modification time and size.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (SystemTime, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() || p.ends_with("target") {
                continue;
            }
            if ft.is_dir() {
                stack.push(p);
            } else if let Ok(m) = e.metadata() {
                out.insert(
                    p.strip_prefix(dir).unwrap_or(&p).to_path_buf(),
                    (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()),
                );
            }
        }
    }
    out
}

/// A scratch directory that looks like the repository to the README's commands.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for d in ["configs", "traffic", "validation", "scripts"] {
        std::os::unix::fs::symlink(root().join(d), dir.path().join(d)).expect("symlink");
    }
    dir
}

fn shell(dir: &Path, script: &str) -> std::process::Output {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_torsim"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env("TORSIM", &bin)
        .output()
        .expect("run bash")
}

/// Tokens of a line with every token that holds a figure replaced, for output whose
/// figures vary (timings, revisions): the words and the layout must still match.
fn shape_of(line: &str) -> Vec<String> {
    line.split_whitespace()
        .map(|t| {
            if t.chars().any(|c| c.is_ascii_digit()) {
                "#".to_string()
            } else {
                t.to_string()
            }
        })
        .collect()
}

/// Dotted key paths of a table cell such as `` `latency_cycles.{mean, p50}` ``.
fn expand_keys(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in cell.split("`, `") {
        let k = part.trim().trim_matches('`').trim();
        if k.is_empty() || k.contains(' ') && !k.contains('{') {
            continue;
        }
        match (k.find('{'), k.rfind('}')) {
            (Some(a), Some(b)) => {
                for leaf in k[a + 1..b].split(',') {
                    let leaf = leaf.trim();
                    if leaf != "..." {
                        out.push(format!("{}{leaf}", &k[..a]));
                    }
                }
            }
            _ => out.push(k.to_string()),
        }
    }
    out
}

/// The README's JSON key tables: (documents a key is in, key path).
fn documented_keys(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_table = false;
    for l in text.lines() {
        if l.starts_with("| key | in | meaning |") {
            in_table = true;
            continue;
        }
        if !l.starts_with('|') {
            in_table = false;
            continue;
        }
        if in_table && !l.starts_with("| ---") {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            if cells.len() > 3 {
                for k in expand_keys(cells[1]) {
                    out.push((cells[2].trim_matches('`').to_string(), k));
                }
            }
        }
    }
    out
}

/// Whether `v` has the dotted `path`; through an array, every element must have it
/// (`points.nodes`: every point has `nodes`).
fn has_key(v: &Value, path: &str) -> bool {
    let keys: Vec<&str> = path.split('.').collect();
    has_path(v, &keys)
}

fn has_path(v: &Value, keys: &[&str]) -> bool {
    match (keys.split_first(), v) {
        (None, _) => true,
        (Some(_), Value::Array(a)) => !a.is_empty() && a.iter().all(|e| has_path(e, keys)),
        (Some((k, rest)), _) => v.get(*k).is_some_and(|x| has_path(x, rest)),
    }
}

#[test]
fn every_readme_command_is_of_a_known_kind() {
    let text = readme();
    let mut n = 0;
    for b in blocks(&text).iter().filter(|b| b.lang == "sh") {
        let (cmds, _) = commands(b);
        for c in cmds {
            n += 1;
            let w = first_word(&c.text);
            assert!(
                w == "torsim"
                    || w.starts_with("scripts/")
                    || is_assignment(&c.text)
                    || not_run(&c.text).is_some(),
                "README.md:{}: `{}`: the README check does not know how to run this",
                c.line,
                c.text
            );
        }
    }
    assert!(n > 10, "found only {n} commands in README.md");
    let keys = documented_keys(&text);
    assert!(
        keys.len() > 40,
        "found only {} documented JSON keys",
        keys.len()
    );
    assert_eq!(
        quick(
            "torsim spmv c --nodes 8,1024 --out a.json",
            "--nodes 8,16 --n 100"
        ),
        "torsim spmv c --nodes 8,16 --out a.json --n 100"
    );
    assert_eq!(
        expand_keys("`a.{b, c}`, `d`"),
        ["a.b", "a.c", "d"].map(String::from)
    );
}

#[test]
#[ignore = "runs every README command (minutes); scripts/readme-check.sh runs it"]
fn every_readme_command_runs_and_shows_what_the_readme_says() {
    let text = readme();
    let dir = workdir();
    let mut failures: Vec<String> = Vec::new();
    let mut written_by: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut docs: Vec<(String, Value)> = Vec::new();
    for b in blocks(&text) {
        match b.lang.as_str() {
            "sh" => {
                let (cmds, writes) = commands(&b);
                let mut vars = String::new();
                for c in &cmds {
                    if is_assignment(&c.text) {
                        vars += &format!("{}\n", c.text);
                        continue;
                    }
                    if let Some(why) = not_run(&c.text) {
                        eprintln!("README.md:{}: not run ({why}): {}", c.line, c.text);
                        continue;
                    }
                    let run = match &c.quick {
                        Some(q) => quick(&c.text, q),
                        None => c.text.clone(),
                    };
                    eprintln!("README.md:{}: {run}", c.line);
                    let before = snapshot(dir.path());
                    let t0 = std::time::Instant::now();
                    let o = shell(dir.path(), &format!("set -e\n{vars}{run}"));
                    eprintln!("  {:.1} s", t0.elapsed().as_secs_f64());
                    if !o.status.success() {
                        failures.push(format!(
                            "README.md:{}: `{run}` failed ({}):\n{}",
                            c.line,
                            o.status,
                            String::from_utf8_lossy(&o.stderr)
                        ));
                        continue;
                    }
                    let after = snapshot(dir.path());
                    for (p, stamp) in &after {
                        match before.get(p) {
                            Some(old) if old != stamp => failures.push(format!(
                                "README.md:{}: `{run}` overwrote {} (written by `{}`)",
                                c.line,
                                p.display(),
                                written_by.get(p).map(String::as_str).unwrap_or("?")
                            )),
                            Some(_) => {}
                            None => {
                                written_by.insert(p.clone(), run.clone());
                                if p.extension().is_some_and(|e| e == "json")
                                    && let Ok(t) = std::fs::read_to_string(dir.path().join(p))
                                    && let Ok(v) = serde_json::from_str::<Value>(&t)
                                {
                                    docs.push((run.clone(), v));
                                }
                            }
                        }
                    }
                }
                for f in writes {
                    if !dir.path().join(&f).exists() {
                        failures.push(format!(
                            "README.md:{}: the block says it writes {f}, but it is missing",
                            b.line
                        ));
                    }
                }
            }
            "console" | "text" => {
                let Some(cmd) = b.lines.first().and_then(|l| l.strip_prefix("$ ")) else {
                    continue;
                };
                let (code, comment) = split_comment(cmd);
                let run = match comment
                    .as_deref()
                    .and_then(|c| c.strip_prefix("long (check:"))
                {
                    Some(q) => quick(&code, q.trim_end_matches(')')),
                    None => code,
                };
                eprintln!("README.md:{}: {run}", b.line);
                let o = shell(dir.path(), &run);
                let shown: Vec<&str> = b.lines[1..].iter().map(|l| l.trim_end()).collect();
                let out = String::from_utf8_lossy(&o.stdout).to_string();
                let got: Vec<&str> = out.lines().map(str::trim_end).collect();
                // Timings (text blocks) vary: there the words must match, figures not.
                let same = if b.lang == "console" {
                    got == shown
                } else {
                    got.len() == shown.len()
                        && got
                            .iter()
                            .zip(&shown)
                            .all(|(g, s)| shape_of(g) == shape_of(s))
                };
                if !same {
                    failures.push(format!(
                        "README.md:{}: `{run}` prints\n{}\nbut the README shows\n{}",
                        b.line,
                        got.join("\n"),
                        shown.join("\n")
                    ));
                }
            }
            _ => {}
        }
    }
    // Every documented key is in some document of its kind.
    let kind_of = |cmd: &str, v: &Value| -> &'static str {
        if cmd.contains("torsim spmv") {
            "spmv"
        } else if cmd.contains("torsim sweep") {
            "sweep"
        } else if cmd.contains("torsim collectives") {
            "collectives"
        } else if v.get("program").is_some() {
            "run (program)"
        } else if v.get("traffic").is_some() {
            "run (traffic)"
        } else {
            "other"
        }
    };
    for (kinds, key) in documented_keys(&text) {
        let wanted: Vec<&str> = match kinds.as_str() {
            "run" => vec!["run (program)", "run (traffic)"],
            k => vec![k],
        };
        for w in wanted {
            let of_kind: Vec<&Value> = docs
                .iter()
                .filter(|(c, v)| kind_of(c, v) == w)
                .flat_map(|(_, v)| match v {
                    Value::Array(a) => a.iter().collect::<Vec<_>>(),
                    v => vec![v],
                })
                .collect();
            if of_kind.is_empty() {
                failures.push(format!(
                    "no README command writes a {w} document to check `{key}` against"
                ));
            } else if !of_kind.iter().any(|v| has_key(v, &key)) {
                failures.push(format!(
                    "documented key `{key}` is missing from {w} results"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} README problem(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
