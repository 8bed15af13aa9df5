//! Programs of SHMEM operations run by the processing elements.
//!
//! A program file is TOML. `[params]` names integers; each `[[pe]]` table says which
//! PEs run which `ops`, a list of one-line statements. `pes` is `"all"`, one PE
//! (`"3"`), an inclusive range (`"1..8"`: PEs 1 to 8, both ends included, as people read
//! it) or a list of these (`"0,2,4"`, `"0,4..6"`); expressions may appear in each
//! (`"1..$npes-1"`):
//!
//! ```toml
//! [params]
//! iterations = 100
//! bytes = 8
//!
//! [[pe]]
//! pes = "0"
//! ops = ["mark start", "repeat $iterations {", "put 1 $bytes flag 0", "wait 0", "}", "mark end"]
//!
//! [[pe]]
//! pes = "1"
//! ops = ["repeat $iterations {", "wait 0", "put 0 $bytes flag 0", "}"]
//! ```
//!
//! Statements: `put DEST BYTES [flag F]`, `get DEST BYTES`, `barrier`, `quiet`,
//! `compute DURATION` (cycles, or with a unit: `2 us`), `wait F` (block until flag F
//! has been signalled, then consume one signal), `mark NAME` (record the time),
//! `repeat N {` ... `}`, and the hardware collectives `hbarrier`, `hbcast ROOT BYTES`,
//! `hallreduce OP [WORDS]`, `hreduce ROOT OP [WORDS]`, `hstart ...`, `hwait` (see
//! [`super::collective_stmt`]). Numbers may be expressions over integers, `$params`, `$me`
//! (this PE) and `$npes`, with `+ - * / %`, the comparisons `== != < <= > >=`, `&&`,
//! `||`, `!` and parentheses, e.g. `put ($me+1)%$npes 64`.
//!
//! Symmetric variables (one copy per PE) are declared in `[variables]`, with initial
//! values that may depend on the PE; a vector has several words:
//!
//! ```toml
//! [variables]
//! counter = 0
//! x = "$me * 2"
//! v = { words = 8, init = "$me" }     # or init = [ ...8 values... ]
//! w = [1, 2, "$npes"]                 # 3 words
//! ```
//!
//! Atomics act on the copy at PE `DEST` (`VAR` is a name, `VAR[I]` one word of a
//! vector) and block the PE until the target's adapter replies; the fetching ones may
//! keep the old value in a local with `-> NAME`: `fadd DEST VAR VALUE`, `inc DEST VAR`,
//! `cswap DEST VAR EXPECTED NEW`, `swap DEST VAR VALUE`, `fetch DEST VAR`, and
//! `set DEST VAR VALUE` (no result). Locals are set by `let NAME = EXPR` or `-> NAME`
//! and read as `$NAME`, only after the statement that first sets them; a PE reads its
//! own copy of a variable as `@VAR` or `@VAR[I]`. Control flow: `if EXPR {` ... `}`
//! with an optional `} else {`, and `while EXPR {` ... `}` (each turn costs one
//! cycle). Locals and `@variables` may appear only in `let`, `if`, `while` and the
//! atomics, whose expressions are evaluated when the PE reaches them; everything else
//! is folded to numbers here.

use crate::config::units::parse_duration;
use crate::core::limits::{MAX_MESSAGE_BYTES, MAX_RUN_CYCLES};
use crate::node::atomic::AtomicKind;
use crate::node::expr::{BinOp, Expr};
use crate::node::op::{AtomicOp, MAX_FLAGS, Op};
use crate::node::variables::{MAX_VARIABLE_WORDS, VarId, VarLayout};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The programs of all PEs.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub ops: Vec<Vec<Op>>,
    /// Names of the marks; `Op::Mark { id }` indexes this.
    pub marks: Vec<String>,
    /// The symmetric variables every PE holds.
    pub variables: Arc<VarLayout>,
    /// Each PE's initial words of all variables (in the layout's order).
    pub initial: Vec<Vec<u64>>,
}

#[derive(Debug, Clone)]
pub struct ProgramError(pub String);

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProgramError {}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    params: BTreeMap<String, i64>,
    #[serde(default)]
    variables: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pe: Vec<PeSection>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PeSection {
    pes: String,
    ops: Vec<String>,
}

impl Program {
    /// An empty program for `npes` PEs.
    pub fn new(npes: usize) -> Program {
        Program {
            ops: vec![Vec::new(); npes],
            marks: Vec::new(),
            variables: Arc::new(VarLayout::default()),
            initial: vec![Vec::new(); npes],
        }
    }

    /// Declares symmetric variable `name` of `words` words, word `w` of PE `pe`
    /// starting at `init(pe, w)`; returns its id.
    pub fn declare(
        &mut self,
        name: &str,
        words: usize,
        init: impl Fn(usize, usize) -> u64,
    ) -> Result<VarId, String> {
        let id = Arc::make_mut(&mut self.variables).add(name, words)?;
        for (pe, v) in self.initial.iter_mut().enumerate() {
            v.extend((0..words).map(|w| init(pe, w)));
        }
        Ok(id)
    }

    /// The id of mark `name`, registering it on first use.
    pub fn mark_id(&mut self, name: &str) -> u16 {
        match self.marks.iter().position(|m| m == name) {
            Some(i) => i as u16,
            None => {
                self.marks.push(name.to_string());
                (self.marks.len() - 1) as u16
            }
        }
    }

    /// Reads a program file for `npes` PEs; `overrides` replace `[params]` values and
    /// physical compute times are converted at `clock_hz`.
    pub fn load(
        path: &Path,
        npes: usize,
        clock_hz: f64,
        overrides: &[(String, i64)],
    ) -> Result<Program, ProgramError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProgramError(format!("{}: cannot read program: {e}", path.display())))?;
        Self::parse(&text, npes, clock_hz, overrides)
            .map_err(|e| ProgramError(format!("{}: {}", path.display(), e.0)))
    }

    pub fn parse(
        text: &str,
        npes: usize,
        clock_hz: f64,
        overrides: &[(String, i64)],
    ) -> Result<Program, ProgramError> {
        let file: FileFormat = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().trim();
            ProgramError(match line {
                // Name what is declared twice (a variable, a parameter).
                Some(l) if msg.starts_with("duplicate key") => format!(
                    "line {l}: {msg}: `{}` is declared twice",
                    text.lines().nth(l - 1).unwrap_or("").trim()
                ),
                Some(l) => format!("line {l}: {msg}"),
                None => msg.to_string(),
            })
        })?;
        let mut params = file.params;
        for (k, v) in overrides {
            params.insert(k.clone(), *v);
        }
        if file.pe.is_empty() {
            return Err(ProgramError("no [[pe]] sections: nothing to run".into()));
        }
        let mut prog = Program::new(npes);
        declare_variables(&mut prog, &file.variables, npes, &params)?;
        let mut assigned = vec![false; npes];
        for (si, sec) in file.pe.iter().enumerate() {
            let pes = parse_pe_set(&sec.pes, npes, &params).map_err(|e| {
                ProgramError(format!("[[pe]] #{}: pes = \"{}\": {e}", si + 1, sec.pes))
            })?;
            for me in pes {
                if assigned[me] {
                    return Err(ProgramError(format!(
                        "[[pe]] #{}: PE {me} already has a program",
                        si + 1
                    )));
                }
                assigned[me] = true;
                let mut scope = Scope {
                    me,
                    npes,
                    params: &params,
                    vars: &prog.variables,
                    locals: Vec::new(),
                };
                let ops = compile(clock_hz, &sec.ops, &mut scope, &mut prog.marks)
                    .map_err(|e| ProgramError(format!("[[pe]] #{} (PE {me}): {e}", si + 1)))?;
                prog.ops[me] = ops;
            }
        }
        // A barrier waits for every PE; one without a program never arrives, and the
        // run would only stall. Say which PEs those are instead.
        let idle: Vec<usize> = (0..npes).filter(|&pe| !assigned[pe]).collect();
        let has_barrier = prog
            .ops
            .iter()
            .flatten()
            .any(|op| matches!(op, Op::Barrier | Op::HCollective { .. }));
        if has_barrier && !idle.is_empty() {
            let shown: Vec<String> = idle.iter().take(8).map(|pe| pe.to_string()).collect();
            return Err(ProgramError(format!(
                "a barrier waits for all {npes} PEs, but PE(s) {}{} have no [[pe]] section (ranges such as \"0..{}\" include both ends)",
                shown.join(", "),
                if idle.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                },
                npes.saturating_sub(1)
            )));
        }
        Ok(prog)
    }

    /// Checks targets and structure against the machine.
    pub fn validate(&self) -> Result<(), ProgramError> {
        let npes = self.ops.len();
        for (pe, ops) in self.ops.iter().enumerate() {
            for op in ops {
                match *op {
                    Op::Put { dest, .. } | Op::Get { dest, .. } if dest as usize >= npes => {
                        return Err(ProgramError(format!(
                            "PE {pe}: target PE {dest} does not exist ({npes} PEs)"
                        )));
                    }
                    Op::HCollective { ref coll, .. } => {
                        use crate::node::op::{Collective, MAX_REDUCE_WORDS};
                        let (root, len) = match coll.as_ref() {
                            Collective::Broadcast { root, .. } => (Some(*root), 1),
                            Collective::Reduce { root, words, .. } => (*root, words.len()),
                            Collective::Barrier => (None, 1),
                        };
                        if root.is_some_and(|r| r as usize >= npes) {
                            return Err(ProgramError(format!(
                                "PE {pe}: {} root PE {} does not exist ({npes} PEs)",
                                coll.name(),
                                root.unwrap_or(0)
                            )));
                        }
                        if !(1..=MAX_REDUCE_WORDS).contains(&len) {
                            return Err(ProgramError(format!(
                                "PE {pe}: {} of {len} words; expected 1 ..= {MAX_REDUCE_WORDS}",
                                coll.name()
                            )));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Declares the `[variables]` of a program file and computes every PE's initial words.
fn declare_variables(
    prog: &mut Program,
    decls: &BTreeMap<String, toml::Value>,
    npes: usize,
    params: &BTreeMap<String, i64>,
) -> Result<(), ProgramError> {
    use toml::Value;
    for (name, v) in decls {
        let bad = |m: String| ProgramError(format!("[variables] {name}: {m}"));
        if !is_identifier(name) {
            return Err(bad("a variable's name is letters, digits and `_`".into()));
        }
        let (words, init): (usize, Vec<Value>) = match v {
            Value::Integer(_) | Value::String(_) => (1, vec![v.clone()]),
            Value::Array(a) => (a.len(), a.clone()),
            Value::Table(t) => {
                if let Some(k) = t.keys().find(|k| *k != "words" && *k != "init") {
                    return Err(bad(format!(
                        "unknown key `{k}`; expected `words` and `init`"
                    )));
                }
                let words = match t.get("words") {
                    None => 1,
                    Some(Value::Integer(w)) if (1..=MAX_VARIABLE_WORDS as i64).contains(w) => {
                        *w as usize
                    }
                    Some(Value::String(e)) => match eval(e, 0, npes, params) {
                        Ok(w) if (1..=MAX_VARIABLE_WORDS as i64).contains(&w) => w as usize,
                        Ok(w) => {
                            return Err(bad(format!(
                                "words = {w}; expected 1 ..= {MAX_VARIABLE_WORDS}"
                            )));
                        }
                        Err(e) => return Err(bad(format!("words: {e}"))),
                    },
                    Some(w) => {
                        return Err(bad(format!(
                            "words = {w}; expected a count 1 ..= {MAX_VARIABLE_WORDS}"
                        )));
                    }
                };
                match t.get("init") {
                    None => (words, vec![Value::Integer(0)]),
                    Some(Value::Array(a)) if a.len() == words => (words, a.clone()),
                    Some(Value::Array(a)) => {
                        return Err(bad(format!(
                            "init has {} values for {words} words",
                            a.len()
                        )));
                    }
                    Some(i) => (words, vec![i.clone()]),
                }
            }
            _ => {
                return Err(bad(format!(
                    "`{v}`: expected an integer, an expression in quotes, an array of them, or {{ words = N, init = ... }}"
                )));
            }
        };
        if init.is_empty() {
            return Err(bad("an empty array has no words".into()));
        }
        // Check every initial value (on each PE, as `$me` may appear) before storing.
        let mut values = vec![Vec::with_capacity(words); npes];
        for (pe, vals) in values.iter_mut().enumerate() {
            for w in 0..words {
                let v = match &init[w.min(init.len() - 1)] {
                    Value::Integer(i) => *i,
                    Value::String(e) => eval(e, pe, npes, params)
                        .map_err(|e| bad(format!("initial value on PE {pe}: {e}")))?,
                    other => {
                        return Err(bad(format!(
                            "initial value `{other}`: expected an integer or an expression in quotes"
                        )));
                    }
                };
                vals.push(v as u64);
            }
        }
        prog.declare(name, words, |pe, w| values[pe][w])
            .map_err(bad)?;
    }
    Ok(())
}

fn parse_pe_set(
    s: &str,
    npes: usize,
    params: &BTreeMap<String, i64>,
) -> Result<Vec<usize>, String> {
    let s = s.trim();
    if s == "all" {
        return Ok((0..npes).collect());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        // `a..b` includes both ends: "1..8" is PEs 1 to 8.
        let (a, b) = match part.split_once("..") {
            Some((a, b)) => (eval(a, 0, npes, params)?, eval(b, 0, npes, params)?),
            None => {
                let v = eval(part, 0, npes, params)?;
                (v, v)
            }
        };
        if a < 0 || b >= npes as i64 || a > b {
            return Err(format!(
                "`{part}` is not a PE or a range `first..last` (both included) inside 0..{}",
                npes.saturating_sub(1)
            ));
        }
        out.extend(a as usize..=b as usize);
    }
    Ok(out)
}

/// What a statement's expressions may name while one PE's program is compiled.
struct Scope<'a> {
    me: usize,
    npes: usize,
    params: &'a BTreeMap<String, i64>,
    vars: &'a VarLayout,
    /// Local variables assigned so far, by slot.
    locals: Vec<String>,
}

impl Scope<'_> {
    /// Parses exactly `n` expressions written one after the other; with `runtime`,
    /// they may read locals and symmetric variables.
    fn exprs(&self, s: &str, n: usize, runtime: bool) -> Result<Vec<Expr>, String> {
        let toks = tokenize(s)?;
        let mut p = self.parser(&toks, runtime);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if i > 0 && p.pos == toks.len() {
                return Err(format!("expected {n} values"));
            }
            out.push(p.expr()?);
        }
        p.end(s)?;
        Ok(out)
    }

    fn parser<'t>(&'t self, toks: &'t [String], runtime: bool) -> Parser<'t> {
        Parser {
            toks,
            pos: 0,
            me: self.me as i64,
            npes: self.npes as i64,
            params: self.params,
            locals: &self.locals,
            vars: self.vars,
            runtime,
        }
    }

    /// One expression that may read locals and symmetric variables.
    fn runtime(&self, s: &str) -> Result<Expr, String> {
        Ok(self.exprs(s, 1, true)?.remove(0))
    }

    /// The slot of local `name`, assigned now if new.
    fn define(&mut self, name: &str) -> Result<u16, String> {
        let name = name.trim();
        let name = name.strip_prefix('$').unwrap_or(name);
        if !is_identifier(name) {
            return Err(format!(
                "`{name}` is not a name for a local variable (letters, digits, `_`)"
            ));
        }
        if name == "me" || name == "npes" || self.params.contains_key(name) {
            return Err(format!(
                "`${name}` is a parameter; a local variable needs a name of its own"
            ));
        }
        if let Some(i) = self.locals.iter().position(|l| l == name) {
            return Ok(i as u16);
        }
        if self.locals.len() >= u16::MAX as usize {
            return Err(format!("more than {} local variables", u16::MAX));
        }
        self.locals.push(name.to_string());
        Ok((self.locals.len() - 1) as u16)
    }
}

fn is_identifier(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An open block while compiling: the index of the op that opened it.
#[derive(Clone, Copy)]
enum Block {
    Repeat(usize),
    If(usize),
    Else(usize),
    While(usize),
}

fn compile(
    clock_hz: f64,
    lines: &[String],
    scope: &mut Scope,
    marks: &mut Vec<String>,
) -> Result<Vec<Op>, String> {
    let (me, npes, params) = (scope.me, scope.npes, scope.params);
    let mut ops = Vec::new();
    let mut open: Vec<Block> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let err = |m: String| format!("op {} `{}`: {m}", i + 1, line.trim());
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let sc: &Scope = scope;
        let num = |e: &str| -> Result<i64, String> {
            let v = sc.exprs(e, 1, false)?;
            Ok(v[0].as_const().unwrap_or(0))
        };
        let nonneg = |e: &str, what: &str| -> Result<u64, String> {
            let v = num(e)?;
            if v < 0 {
                Err(format!("{what} is {v}; expected >= 0"))
            } else {
                Ok(v as u64)
            }
        };
        let two = |e: &str| -> Result<(u32, u64), String> {
            let v = sc.exprs(e, 2, false)?;
            let (d, b) = (v[0].as_const().unwrap_or(0), v[1].as_const().unwrap_or(0));
            if d < 0 || b < 0 {
                return Err(format!("negative target or size ({d}, {b})"));
            }
            if d as u64 >= npes as u64 {
                return Err(format!("target PE {d} does not exist ({npes} PEs)"));
            }
            if b as u64 > MAX_MESSAGE_BYTES {
                return Err(format!(
                    "{b} bytes is more than the largest message accepted, {MAX_MESSAGE_BYTES} bytes"
                ));
            }
            Ok((d as u32, b as u64))
        };
        let flag = |e: &str| -> Result<u16, String> {
            let v = num(e)?;
            if (0..MAX_FLAGS as i64).contains(&v) {
                Ok(v as u16)
            } else {
                Err(format!("flag {v} is not in 0..{MAX_FLAGS}"))
            }
        };
        let here = u32::try_from(ops.len()).map_err(|_| err("the program is too long".into()))?;
        let op = match word {
            "put" => {
                let (args, fl) = match rest.split_once(" flag ") {
                    Some((a, f)) => (a.trim(), Some(flag(f.trim()).map_err(err)?)),
                    None => (rest, None),
                };
                let (d, b) = two(args)
                    .map_err(|e| err(format!("{e}; expected `put DEST BYTES [flag F]`")))?;
                Op::Put {
                    dest: d,
                    bytes: b,
                    flag: fl,
                }
            }
            "get" => {
                let (d, b) =
                    two(rest).map_err(|e| err(format!("{e}; expected `get DEST BYTES`")))?;
                Op::Get { dest: d, bytes: b }
            }
            "barrier" if rest.is_empty() => Op::Barrier,
            "quiet" if rest.is_empty() => Op::Quiet,
            "compute" => {
                let cycles = match parse_duration(rest) {
                    Ok(d) => d.to_cycles(clock_hz),
                    Err(_) => nonneg(rest, "the duration").map_err(err)?,
                };
                if cycles > MAX_RUN_CYCLES {
                    return Err(err(format!(
                        "{cycles} cycles is more than the longest compute accepted, {MAX_RUN_CYCLES} cycles"
                    )));
                }
                Op::Compute { cycles }
            }
            "wait" => Op::Wait {
                flag: flag(rest).map_err(err)?,
            },
            "mark" if !rest.is_empty() => {
                let id = match marks.iter().position(|m| m == rest) {
                    Some(i) => i,
                    None if marks.len() < u16::MAX as usize => {
                        marks.push(rest.to_string());
                        marks.len() - 1
                    }
                    None => return Err(err(format!("more than {} distinct mark names", u16::MAX))),
                };
                Op::Mark { id: id as u16 }
            }
            "repeat" => {
                let body = rest
                    .strip_suffix('{')
                    .ok_or_else(|| err("expected `repeat N {`".into()))?;
                let count = nonneg(body.trim(), "the count").map_err(err)?;
                open.push(Block::Repeat(ops.len()));
                Op::Repeat { count, end: 0 }
            }
            "if" | "while" => {
                let body = rest
                    .strip_suffix('{')
                    .ok_or_else(|| err(format!("expected `{word} CONDITION {{`")))?;
                let cond = Box::new(scope.runtime(body).map_err(err)?);
                if word == "if" {
                    open.push(Block::If(ops.len()));
                    Op::If { cond, skip: 0 }
                } else {
                    open.push(Block::While(ops.len()));
                    Op::While { cond, end: 0 }
                }
            }
            "let" => {
                let (name, value) = rest
                    .split_once('=')
                    .filter(|(_, v)| !v.starts_with('='))
                    .ok_or_else(|| err("expected `let NAME = EXPRESSION`".into()))?;
                let value = Box::new(scope.runtime(value).map_err(err)?);
                let local = scope.define(name).map_err(err)?;
                Op::Let { local, value }
            }
            "fadd" | "cswap" | "swap" | "inc" | "fetch" | "set" => {
                Op::Atomic(Box::new(atomic(word, rest, scope).map_err(err)?))
            }
            "}" if rest.is_empty() || rest.split_whitespace().eq(["else", "{"]) => {
                let block = open.pop().ok_or_else(|| {
                    err("`}` without a matching `repeat`, `if` or `while`".into())
                })?;
                let is_else = !rest.is_empty();
                match block {
                    Block::If(start) if is_else => {
                        if let Op::If { skip, .. } = &mut ops[start] {
                            *skip = here + 1;
                        }
                        open.push(Block::Else(ops.len()));
                        Op::Else { to: 0 }
                    }
                    _ if is_else => {
                        return Err(err("`} else {` closes no `if`".into()));
                    }
                    Block::Repeat(start) => {
                        if let Op::Repeat { end, .. } = &mut ops[start] {
                            *end = here;
                        }
                        Op::EndRepeat {
                            start: start as u32,
                        }
                    }
                    Block::If(start) => {
                        if let Op::If { skip, .. } = &mut ops[start] {
                            *skip = here + 1;
                        }
                        Op::EndIf
                    }
                    Block::Else(start) => {
                        if let Op::Else { to } = &mut ops[start] {
                            *to = here + 1;
                        }
                        Op::EndIf
                    }
                    Block::While(start) => {
                        if let Op::While { end, .. } = &mut ops[start] {
                            *end = here;
                        }
                        Op::EndWhile {
                            start: start as u32,
                        }
                    }
                }
            }
            w if super::collective_stmt::is_collective(w) => {
                let two = |e: &str| -> Result<(i64, i64), String> {
                    let v = sc.exprs(e, 2, false)?;
                    Ok((v[0].as_const().unwrap_or(0), v[1].as_const().unwrap_or(0)))
                };
                super::collective_stmt::parse(w, rest, npes, sc.vars, &num, &two).map_err(err)?
            }
            _ => {
                return Err(err(format!(
                    "unknown statement; expected put, get, barrier, quiet, compute, wait, mark, repeat, if, while, let, fadd, cswap, swap, inc, fetch, set, }}, or a hardware collective ({})",
                    super::collective_stmt::NAMES
                )));
            }
        };
        ops.push(op);
    }
    if let Some(&b) = open.last() {
        let (s, what) = match b {
            Block::Repeat(s) => (s, "repeat"),
            Block::If(s) => (s, "if"),
            Block::Else(s) => (s, "else"),
            Block::While(s) => (s, "while"),
        };
        return Err(format!(
            "op {} `{}`: `{what}` is never closed with `}}`",
            s + 1,
            lines[s].trim()
        ));
    }
    let _ = (me, params);
    super::collective_stmt::check_waits(&ops)?;
    Ok(ops)
}

/// Parses the atomic statement `word` with arguments `rest`:
/// `DEST VAR[WORD] OPERANDS... [-> LOCAL]`.
fn atomic(word: &str, rest: &str, scope: &mut Scope) -> Result<AtomicOp, String> {
    let (kind, operands, usage) = match word {
        "fadd" => (AtomicKind::Fadd, 1, "fadd DEST VAR VALUE [-> LOCAL]"),
        "cswap" => (
            AtomicKind::Cswap,
            2,
            "cswap DEST VAR EXPECTED NEW [-> LOCAL]",
        ),
        "swap" => (AtomicKind::Swap, 1, "swap DEST VAR VALUE [-> LOCAL]"),
        "inc" => (AtomicKind::Fadd, 0, "inc DEST VAR [-> LOCAL]"),
        "fetch" => (AtomicKind::Fetch, 0, "fetch DEST VAR [-> LOCAL]"),
        _ => (AtomicKind::Set, 1, "set DEST VAR VALUE"),
    };
    let (args, result) = match rest.rsplit_once("->") {
        Some(_) if kind == AtomicKind::Set => {
            return Err("`set` returns nothing; `swap` keeps the old value".into());
        }
        Some((a, r)) => (a, Some(r.trim())),
        None => (rest, None),
    };
    let usage = |e: String| format!("{e}; expected `{usage}`");
    let toks = tokenize(args).map_err(usage)?;
    let mut p = scope.parser(&toks, true);
    let dest = p.expr().map_err(usage)?;
    let name = p
        .peek()
        .filter(|t| is_identifier(t))
        .ok_or_else(|| usage("expected a variable's name after the target PE".into()))?
        .to_string();
    p.pos += 1;
    let var = scope
        .vars
        .id(&name)
        .ok_or_else(|| unknown_variable(&name, scope.vars))?;
    let words = scope.vars.words(var);
    let word_ix = if p.peek() == Some("[") {
        p.pos += 1;
        let w = p.expr()?;
        if p.peek() != Some("]") {
            return Err(format!("`{name}[`: missing `]`"));
        }
        p.pos += 1;
        w
    } else {
        Expr::Const(0)
    };
    let mut vals = Vec::new();
    for _ in 0..operands {
        if p.pos == toks.len() {
            return Err(usage(format!(
                "expected {operands} value(s) after `{name}`"
            )));
        }
        vals.push(p.expr().map_err(usage)?);
    }
    p.end(args).map_err(usage)?;
    if let Some(d) = dest.as_const()
        && (d < 0 || d >= scope.npes as i64)
    {
        return Err(format!("target PE {d} does not exist ({} PEs)", scope.npes));
    }
    if let Some(w) = word_ix.as_const()
        && (w < 0 || w >= words as i64)
    {
        return Err(format!(
            "word {w} of `{name}` does not exist ({words} words)"
        ));
    }
    let mut vals = vals.into_iter();
    let a = match word {
        "inc" => Expr::Const(1),
        _ => vals.next().unwrap_or(Expr::Const(0)),
    };
    let b = vals.next().unwrap_or(Expr::Const(0));
    let result = match result {
        Some(r) => Some(scope.define(r)?),
        None => None,
    };
    Ok(AtomicOp {
        kind,
        dest,
        var,
        word: word_ix,
        a,
        b,
        result,
    })
}

fn unknown_variable(name: &str, vars: &VarLayout) -> String {
    let known: Vec<&str> = (0..vars.len()).map(|i| vars.name(i as VarId)).collect();
    if known.is_empty() {
        format!("unknown variable `{name}`: the program declares no [variables]")
    } else {
        format!(
            "unknown variable `{name}`; [variables] declares {}",
            known.join(", ")
        )
    }
}

/// Evaluates an integer expression: literals, `$name`, `+ - * / %`, comparisons,
/// `&& || !`, parentheses.
pub fn eval(
    s: &str,
    me: usize,
    npes: usize,
    params: &BTreeMap<String, i64>,
) -> Result<i64, String> {
    let vars = VarLayout::default();
    let scope = Scope {
        me,
        npes,
        params,
        vars: &vars,
        locals: Vec::new(),
    };
    Ok(scope.exprs(s, 1, false)?[0].as_const().unwrap_or(0))
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '$' || c == '@' || c.is_alphabetic() || c == '_' {
            let st = i;
            i += 1;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            // `1_000` is a thousand; names keep their underscores.
            out.push(
                cs[st..i]
                    .iter()
                    .filter(|&&c| c != '_' || !cs[st].is_ascii_digit())
                    .collect(),
            );
        } else if ["==", "!=", "<=", ">=", "&&", "||"].contains(&two.as_str()) {
            out.push(two);
            i += 2;
        } else if "+-*/%()[]<>!".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else {
            return Err(format!("`{s}`: unexpected character `{c}`"));
        }
    }
    if out.is_empty() {
        return Err("expected a number".into());
    }
    Ok(out)
}

struct Parser<'a> {
    toks: &'a [String],
    pos: usize,
    me: i64,
    npes: i64,
    params: &'a BTreeMap<String, i64>,
    locals: &'a [String],
    vars: &'a VarLayout,
    /// Locals and symmetric variables may be read (else only constants).
    runtime: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }

    /// Fails unless every token has been used.
    fn end(&self, s: &str) -> Result<(), String> {
        match self.toks.get(self.pos) {
            None => Ok(()),
            Some(t) => Err(format!("`{s}`: unexpected `{t}`")),
        }
    }

    /// Parses a left-associative level of binary operators.
    fn level(
        &mut self,
        ops: &[(&str, BinOp)],
        next: fn(&mut Self) -> Result<Expr, String>,
    ) -> Result<Expr, String> {
        let mut v = next(self)?;
        while let Some(&(_, op)) = self.peek().and_then(|t| ops.iter().find(|(s, _)| *s == t)) {
            self.pos += 1;
            let r = next(self)?;
            v = Expr::bin(op, v, r)?;
        }
        Ok(v)
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.level(&[("||", BinOp::Or)], Self::and)
    }
    fn and(&mut self) -> Result<Expr, String> {
        self.level(&[("&&", BinOp::And)], Self::compare)
    }
    fn compare(&mut self) -> Result<Expr, String> {
        self.level(
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<", BinOp::Lt),
                ("<=", BinOp::Le),
                (">", BinOp::Gt),
                (">=", BinOp::Ge),
            ],
            Self::sum,
        )
    }
    fn sum(&mut self) -> Result<Expr, String> {
        self.level(&[("+", BinOp::Add), ("-", BinOp::Sub)], Self::term)
    }
    fn term(&mut self) -> Result<Expr, String> {
        self.level(
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
            Self::atom,
        )
    }
    fn atom(&mut self) -> Result<Expr, String> {
        let t = self.peek().ok_or("expression ends early")?.to_string();
        self.pos += 1;
        match t.as_str() {
            "(" => {
                let v = self.expr()?;
                if self.peek() != Some(")") {
                    return Err("missing `)`".into());
                }
                self.pos += 1;
                Ok(v)
            }
            "-" => Expr::negate(self.atom()?),
            "!" => Ok(Expr::logical_not(self.atom()?)),
            "$me" => Ok(Expr::Const(self.me)),
            "$npes" => Ok(Expr::Const(self.npes)),
            _ if t.starts_with('$') => {
                let name = &t[1..];
                if let Some(&v) = self.params.get(name) {
                    return Ok(Expr::Const(v));
                }
                match self.locals.iter().position(|l| l == name) {
                    Some(i) if self.runtime => Ok(Expr::Local(i as u16)),
                    Some(_) => Err(format!(
                        "`{t}` is a local variable; only let, if, while and the atomics read locals"
                    )),
                    None if self.runtime => Err(format!(
                        "unknown parameter or local variable `{t}` (a local must be set by `let` or `-> {name}` before it is read)"
                    )),
                    None => Err(format!("unknown parameter `{t}`")),
                }
            }
            _ if t.starts_with('@') => {
                let name = &t[1..];
                let var = self
                    .vars
                    .id(name)
                    .ok_or_else(|| unknown_variable(name, self.vars))?;
                if !self.runtime {
                    return Err(format!(
                        "`{t}` reads a symmetric variable; only let, if, while and the atomics read them"
                    ));
                }
                let word = if self.peek() == Some("[") {
                    self.pos += 1;
                    let w = self.expr()?;
                    if self.peek() != Some("]") {
                        return Err(format!("`{t}[`: missing `]`"));
                    }
                    self.pos += 1;
                    w
                } else {
                    Expr::Const(0)
                };
                if let Some(w) = word.as_const() {
                    let words = self.vars.words(var);
                    if w < 0 || w >= words as i64 {
                        return Err(format!("word {w} of `{name}` does not exist ({words} words)"));
                    }
                }
                Ok(Expr::Var {
                    var,
                    word: Box::new(word),
                })
            }
            _ => t.parse::<i64>().map(Expr::Const).map_err(|_| {
                if is_identifier(&t) {
                    format!("`{t}` is not a number (a parameter or local is `${t}`, a symmetric variable `@{t}`)")
                } else {
                    format!("`{t}` is not a number")
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        let p = BTreeMap::from([("n".to_string(), 10)]);
        assert_eq!(eval("($me+1)%$npes", 3, 4, &p), Ok(0));
        assert_eq!(eval("$n * 2 - 1", 0, 1, &p), Ok(19));
        assert_eq!(eval("1_000", 0, 1, &p), Ok(1000));
        assert!(eval("$m", 0, 1, &p).is_err());
        assert!(eval("4 / 0", 0, 1, &p).is_err());
        assert!(eval("(0-9223372036854775807-1)/(0-1)", 0, 1, &p).is_err());
        assert!(eval("(0-9223372036854775807-1)%(0-1)", 0, 1, &p).is_err());
        assert!(eval("-(0-9223372036854775807-1)", 0, 1, &p).is_err());
        assert!(eval("9223372036854775807 + 1", 0, 1, &p).is_err());
    }

    #[test]
    fn parses_a_ping_pong() {
        let text = r#"
            [params]
            n = 3
            [[pe]]
            pes = "0"
            ops = ["mark start", "repeat $n {", "put 1 8 flag 0", "wait 0", "}", "mark end"]
            [[pe]]
            pes = "1"
            ops = ["repeat $n {", "wait 0", "put 0 8 flag 0", "}"]
        "#;
        let p = Program::parse(text, 2, 1e9, &[]).unwrap();
        assert_eq!(p.ops[0][1], Op::Repeat { count: 3, end: 4 });
        assert_eq!(p.ops[0][4], Op::EndRepeat { start: 1 });
        assert_eq!(
            p.ops[1][2],
            Op::Put {
                dest: 0,
                bytes: 8,
                flag: Some(0)
            }
        );
        assert_eq!(p.marks, vec!["start", "end"]);
        let o = Program::parse(text, 2, 1e9, &[("n".into(), 5)]).unwrap();
        assert_eq!(o.ops[0][1], Op::Repeat { count: 5, end: 4 });
    }

    #[test]
    fn bad_programs_are_explained() {
        let e = |t: &str| Program::parse(t, 4, 1e9, &[]).unwrap_err().0;
        assert!(e("[[pe]]\npes = \"0\"\nops = [\"jump 3\"]").contains("unknown statement"));
        assert!(e("[[pe]]\npes = \"0\"\nops = [\"repeat 2 {\"]").contains("never closed"));
        assert!(e("[[pe]]\npes = \"9\"\nops = []").contains("range"));
        assert!(e("[[pe]]\npes = \"0\"\nops = [\"put 1\"]").contains("expected `put"));
        assert!(e("[[pe]]\npes = \"0\"\nopz = []").contains("unknown field"));
        assert!(e("").contains("no [[pe]]"));
        // A barrier with a PE left out would stall; the error names the PE.
        let err = e("[[pe]]\npes = \"0..2\"\nops = [\"barrier\"]");
        assert!(err.contains("PE(s) 3 "), "{err}");
    }

    #[test]
    fn pe_ranges_include_both_ends() {
        let sets = |s: &str| parse_pe_set(s, 9, &BTreeMap::new());
        assert_eq!(sets("1..8").unwrap(), (1..=8).collect::<Vec<_>>());
        assert_eq!(sets("3").unwrap(), vec![3]);
        assert_eq!(sets("all").unwrap(), (0..9).collect::<Vec<_>>());
        assert_eq!(sets("0,2,4..5").unwrap(), vec![0, 2, 4, 5]);
        assert_eq!(sets("1..$npes-1").unwrap(), (1..=8).collect::<Vec<_>>());
        assert_eq!(sets("4..4").unwrap(), vec![4]);
        assert!(sets("1..9").is_err());
        assert!(sets("5..4").is_err());
    }
}
