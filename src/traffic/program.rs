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
//! (this PE) and `$npes`, with `+ - * / %` and parentheses, e.g. `put ($me+1)%$npes 64`.

use crate::config::units::parse_duration;
use crate::core::limits::{MAX_MESSAGE_BYTES, MAX_RUN_CYCLES};
use crate::node::op::{MAX_FLAGS, Op};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The programs of all PEs.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub ops: Vec<Vec<Op>>,
    /// Names of the marks; `Op::Mark { id }` indexes this.
    pub marks: Vec<String>,
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
        }
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
            ProgramError(match line {
                Some(l) => format!("line {l}: {}", e.message().trim()),
                None => e.message().trim().to_string(),
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
                let ops = compile(clock_hz, &sec.ops, me, npes, &params, &mut prog.marks)
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

fn compile(
    clock_hz: f64,
    lines: &[String],
    me: usize,
    npes: usize,
    params: &BTreeMap<String, i64>,
    marks: &mut Vec<String>,
) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let err = |m: String| format!("op {} `{}`: {m}", i + 1, line.trim());
        let line = line.trim();
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let num = |e: &str| -> Result<i64, String> { eval(e, me, npes, params) };
        let nonneg = |e: &str, what: &str| -> Result<u64, String> {
            let v = num(e)?;
            if v < 0 {
                Err(format!("{what} is {v}; expected >= 0"))
            } else {
                Ok(v as u64)
            }
        };
        let two = |e: &str| -> Result<(u32, u64), String> {
            let (d, b) = eval_two(e, me, npes, params)?;
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
                open.push(ops.len());
                Op::Repeat {
                    count: nonneg(body.trim(), "the count").map_err(err)?,
                    end: 0,
                }
            }
            "}" if rest.is_empty() => {
                let start = open
                    .pop()
                    .ok_or_else(|| err("`}` without a matching `repeat`".into()))?;
                let end =
                    u32::try_from(ops.len()).map_err(|_| err("the program is too long".into()))?;
                if let Op::Repeat { end: e, .. } = &mut ops[start] {
                    *e = end;
                }
                Op::EndRepeat {
                    start: start as u32,
                }
            }
            w if super::collective_stmt::is_collective(w) => {
                let two = |e: &str| eval_two(e, me, npes, params);
                super::collective_stmt::parse(w, rest, npes, &num, &two).map_err(err)?
            }
            _ => {
                return Err(err(format!(
                    "unknown statement; expected put, get, barrier, quiet, compute, wait, mark, repeat, }}, or a hardware collective ({})",
                    super::collective_stmt::NAMES
                )));
            }
        };
        ops.push(op);
    }
    if let Some(&s) = open.last() {
        return Err(format!("op {}: `repeat` is never closed with `}}`", s + 1));
    }
    super::collective_stmt::check_waits(&ops)?;
    Ok(ops)
}

/// Evaluates two expressions written one after the other (`($me + 1) % $npes 64`):
/// the first ends where no operator joins the next token to it.
fn eval_two(
    s: &str,
    me: usize,
    npes: usize,
    params: &BTreeMap<String, i64>,
) -> Result<(i64, i64), String> {
    let v = eval_n(s, 2, me, npes, params)?;
    Ok((v[0], v[1]))
}

/// Evaluates an integer expression: literals, `$name`, `+ - * / %`, parentheses.
pub fn eval(
    s: &str,
    me: usize,
    npes: usize,
    params: &BTreeMap<String, i64>,
) -> Result<i64, String> {
    Ok(eval_n(s, 1, me, npes, params)?[0])
}

/// Evaluates exactly `n` expressions written one after the other.
fn eval_n(
    s: &str,
    n: usize,
    me: usize,
    npes: usize,
    params: &BTreeMap<String, i64>,
) -> Result<Vec<i64>, String> {
    let toks = tokenize(s)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        me: me as i64,
        npes: npes as i64,
        params,
    };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && p.pos == toks.len() {
            return Err(format!("expected {n} values"));
        }
        out.push(p.expr()?);
    }
    if p.pos != toks.len() {
        return Err(format!("`{s}`: unexpected `{}`", toks[p.pos]));
    }
    Ok(out)
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() || c == '_' && i > 0 && cs[i - 1].is_ascii_digit() {
            i += 1;
        } else if c.is_ascii_digit() || c == '$' || c.is_alphabetic() {
            let st = i;
            i += 1;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            out.push(
                cs[st..i]
                    .iter()
                    .filter(|&&c| c != '_' || cs[st] == '$')
                    .collect(),
            );
        } else if "+-*/%()".contains(c) {
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
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }
    fn expr(&mut self) -> Result<i64, String> {
        let mut v = self.term()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let add = op == "+";
            self.pos += 1;
            let r = self.term()?;
            v = if add {
                v.checked_add(r)
            } else {
                v.checked_sub(r)
            }
            .ok_or("arithmetic overflow")?;
        }
        Ok(v)
    }
    fn term(&mut self) -> Result<i64, String> {
        let mut v = self.atom()?;
        while let Some(op @ ("*" | "/" | "%")) = self.peek() {
            let op = op.to_string();
            self.pos += 1;
            let r = self.atom()?;
            v = match op.as_str() {
                "*" => v.checked_mul(r).ok_or("arithmetic overflow")?,
                _ if r == 0 => return Err("division by zero".into()),
                "/" => v.checked_div(r).ok_or("arithmetic overflow")?,
                _ => v.checked_rem_euclid(r).ok_or("arithmetic overflow")?,
            };
        }
        Ok(v)
    }
    fn atom(&mut self) -> Result<i64, String> {
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
            "-" => self
                .atom()?
                .checked_neg()
                .ok_or_else(|| "arithmetic overflow".to_string()),
            "$me" => Ok(self.me),
            "$npes" => Ok(self.npes),
            _ if t.starts_with('$') => self
                .params
                .get(&t[1..])
                .copied()
                .ok_or_else(|| format!("unknown parameter `{t}`")),
            _ => t
                .parse::<i64>()
                .map_err(|_| format!("`{t}` is not a number")),
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
