//! The program statements of hardware collectives (see `node::collective`):
//!
//! - `hbarrier`
//! - `hbcast ROOT BYTES`: PE `ROOT` sends `BYTES` to every PE;
//! - `hallreduce OP [W, W, ...]`: every PE contributes the listed 64-bit words and gets
//!   their element-wise combination by `OP` (`sum`, `min`, `max`, `and`, `or`, `xor`);
//!   `[W; N]` is `N` copies of `W`;
//! - `hreduce ROOT OP [W, ...]`: the same, with the result for PE `ROOT` only;
//! - `hallreduce VAR OP`, `hreduce ROOT VAR OP`: the same on the PE's copy of
//!   symmetric variable `VAR` (all its words), the result written back into `VAR`
//!   (on every PE, or on `ROOT`);
//! - `hstart STATEMENT`: starts one of the above and goes on; `hwait` waits for the
//!   oldest collective started and not waited for yet.
//!
//! Words, roots and sizes are expressions as elsewhere in a program (`$me`, `$npes`,
//! `[params]`). A body of `repeat` must wait for as many collectives as it starts, and
//! a program must wait for all it starts, so that the count can be checked here.

use crate::core::limits::MAX_MESSAGE_BYTES;
use crate::node::op::{Collective, MAX_REDUCE_WORDS, Op, ReduceOp};
use crate::node::variables::{VarId, VarLayout};
use std::sync::Arc;

/// Evaluates one expression of a statement.
pub type Eval1<'a> = &'a dyn Fn(&str) -> Result<i64, String>;
/// Evaluates two expressions written one after the other.
pub type Eval2<'a> = &'a dyn Fn(&str) -> Result<(i64, i64), String>;

/// Whether `word` begins a collective statement.
pub fn is_collective(word: &str) -> bool {
    matches!(
        word,
        "hbarrier" | "hbcast" | "hallreduce" | "hreduce" | "hstart" | "hwait"
    )
}

/// The statements, for the "unknown statement" message.
pub const NAMES: &str = "hbarrier, hbcast, hallreduce, hreduce, hstart, hwait";

/// Parses the statement `word rest`; `num` evaluates one expression, `npes` bounds
/// the roots, `vars` names the symmetric variables a reduction may work on.
pub fn parse(
    word: &str,
    rest: &str,
    npes: usize,
    vars: &VarLayout,
    num: Eval1,
    two: Eval2,
) -> Result<Op, String> {
    let root = |v: i64| -> Result<u32, String> {
        if v < 0 || v as u64 >= npes as u64 {
            Err(format!("root PE {v} does not exist ({npes} PEs)"))
        } else {
            Ok(v as u32)
        }
    };
    let coll = match word {
        "hwait" if rest.is_empty() => return Ok(Op::HWait),
        "hwait" => return Err("`hwait` takes no arguments".into()),
        "hstart" => {
            let (w, r) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            if !is_collective(w) || matches!(w, "hstart" | "hwait") {
                return Err("expected `hstart hbarrier`, `hstart hbcast ...`, `hstart hallreduce ...` or `hstart hreduce ...`".into());
            }
            return match parse(w, r.trim(), npes, vars, num, two)? {
                Op::HCollective { coll, .. } => Ok(Op::HCollective { coll, start: true }),
                other => Ok(other),
            };
        }
        "hbarrier" if rest.is_empty() => Collective::Barrier,
        "hbarrier" => return Err("`hbarrier` takes no arguments".into()),
        "hbcast" => {
            let (r, b) = two(rest).map_err(|e| format!("{e}; expected `hbcast ROOT BYTES`"))?;
            if !(0..=MAX_MESSAGE_BYTES as i64).contains(&b) {
                return Err(format!(
                    "{b} bytes: expected 0 ..= {MAX_MESSAGE_BYTES} bytes"
                ));
            }
            Collective::Broadcast {
                root: root(r)?,
                bytes: b as u64,
            }
        }
        "hallreduce" | "hreduce" => {
            let usage = if word == "hallreduce" {
                "expected `hallreduce OP [WORD, ...]` or `hallreduce VAR OP`"
            } else {
                "expected `hreduce ROOT OP [WORD, ...]` or `hreduce ROOT VAR OP`"
            };
            let Some((head, list)) = rest.split_once('[') else {
                return on_variable(word, rest, usage, npes, vars, num);
            };
            let list = list
                .trim()
                .strip_suffix(']')
                .ok_or_else(|| format!("the word list does not end with `]`; {usage}"))?;
            let head = head.trim();
            let (r, op) = match head.rsplit_once(char::is_whitespace) {
                Some((r, op)) => (Some(r.trim()), op),
                None => (None, head),
            };
            let op = ReduceOp::parse(op).ok_or_else(|| {
                format!("`{op}` is not an operation (sum, min, max, and, or, xor); {usage}")
            })?;
            let r = match (word, r) {
                ("hallreduce", None) => None,
                ("hreduce", Some(r)) => Some(root(num(r)?)?),
                _ => return Err(usage.into()),
            };
            Collective::Reduce {
                root: r,
                op,
                words: words(list, num)?,
                var: None,
            }
        }
        _ => return Err(format!("unknown collective `{word}`")),
    };
    Ok(Op::HCollective {
        coll: Arc::new(coll),
        start: false,
    })
}

/// `hallreduce VAR OP` or `hreduce ROOT VAR OP` (`rest` without the statement's
/// word): a reduction of symmetric variable `VAR`.
fn on_variable(
    word: &str,
    rest: &str,
    usage: &str,
    npes: usize,
    vars: &VarLayout,
    num: Eval1,
) -> Result<Op, String> {
    let (head, op) = rest
        .trim()
        .rsplit_once(char::is_whitespace)
        .ok_or_else(|| format!("no word list or variable; {usage}"))?;
    let (head, var) = match head.trim().rsplit_once(char::is_whitespace) {
        Some((h, v)) => (Some(h.trim()), v),
        None => (None, head.trim()),
    };
    let root = match (word, head) {
        ("hallreduce", None) => None,
        ("hreduce", Some(r)) => {
            let v = num(r)?;
            if v < 0 || v as u64 >= npes as u64 {
                return Err(format!("root PE {v} does not exist ({npes} PEs)"));
            }
            Some(v as u32)
        }
        _ => return Err(usage.into()),
    };
    if ReduceOp::parse(op).is_none() && ReduceOp::parse(var).is_some() {
        // `hallreduce sum 1`: words meant, without the brackets.
        return Err(format!("no word list; {usage}"));
    }
    let op = ReduceOp::parse(op).ok_or_else(|| {
        format!("`{op}` is not an operation (sum, min, max, and, or, xor); {usage}")
    })?;
    let id: VarId = vars.id(var).ok_or_else(|| {
        let known: Vec<&str> = (0..vars.len()).map(|i| vars.name(i as VarId)).collect();
        if known.is_empty() {
            format!("unknown variable `{var}`: the program declares no [variables]; {usage}")
        } else {
            format!(
                "unknown variable `{var}`; [variables] declares {}",
                known.join(", ")
            )
        }
    })?;
    let n = vars.words(id);
    if n > MAX_REDUCE_WORDS {
        return Err(format!(
            "variable `{var}` has {n} words; a reduction takes 1 ..= {MAX_REDUCE_WORDS}"
        ));
    }
    Ok(Op::HCollective {
        coll: Arc::new(Collective::Reduce {
            root,
            op,
            words: vec![0; n],
            var: Some(id),
        }),
        start: false,
    })
}

/// `W, W, ...` or `W; N`, as 64-bit words (negative values in two's complement).
fn words(list: &str, num: Eval1) -> Result<Vec<u64>, String> {
    let v: Vec<u64> = match list.split_once(';') {
        Some((w, n)) => {
            let w = num(w.trim())? as u64;
            let n = num(n.trim())?;
            if !(1..=MAX_REDUCE_WORDS as i64).contains(&n) {
                return Err(format!("{n} words: expected 1 ..= {MAX_REDUCE_WORDS}"));
            }
            vec![w; n as usize]
        }
        None => list
            .split(',')
            .map(|w| num(w.trim()).map(|v| v as u64))
            .collect::<Result<_, _>>()?,
    };
    if v.is_empty() || v.len() > MAX_REDUCE_WORDS {
        return Err(format!(
            "{} words: expected 1 ..= {MAX_REDUCE_WORDS}",
            v.len()
        ));
    }
    Ok(v)
}

/// Checks that `ops` waits (`hwait`) for exactly the collectives it starts, in every
/// loop body and overall.
pub fn check_waits(ops: &[Op]) -> Result<(), String> {
    let mut open: Vec<(usize, i64)> = Vec::new();
    let mut n: i64 = 0;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::HCollective { start: true, .. } => n += 1,
            Op::HWait if n == 0 => {
                return Err(format!(
                    "op {}: `hwait` with no collective started (`hstart`) to wait for",
                    i + 1
                ));
            }
            Op::HWait => n -= 1,
            Op::Repeat { .. } => open.push((i, n)),
            Op::EndRepeat { .. } => {
                if let Some((s, before)) = open.pop()
                    && before != n
                {
                    return Err(format!(
                        "op {}: the body of the `repeat` at op {} starts {} collective(s) more than it waits for; every `hstart` in a loop needs its `hwait` in the same loop",
                        i + 1,
                        s + 1,
                        n - before
                    ));
                }
            }
            _ => {}
        }
    }
    if n > 0 {
        return Err(format!(
            "{n} collective(s) started with `hstart` are never waited for; add `hwait`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Op, String> {
        let (w, r) = s.split_once(' ').unwrap_or((s, ""));
        let num = |e: &str| e.trim().parse::<i64>().map_err(|_| format!("bad `{e}`"));
        let two = |e: &str| {
            let v: Vec<&str> = e.split_whitespace().collect();
            match v[..] {
                [a, b] => Ok((num(a)?, num(b)?)),
                _ => Err("expected 2 values".to_string()),
            }
        };
        let mut vars = VarLayout::default();
        vars.add("v", 3).unwrap();
        vars.add("c", 1).unwrap();
        parse(w, r.trim(), 4, &vars, &num, &two)
    }

    fn coll(op: Op) -> (Collective, bool) {
        match op {
            Op::HCollective { coll, start } => ((*coll).clone(), start),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn statements_parse() {
        assert_eq!(coll(p("hbarrier").unwrap()), (Collective::Barrier, false));
        assert_eq!(
            coll(p("hbcast 2 1000").unwrap()),
            (
                Collective::Broadcast {
                    root: 2,
                    bytes: 1000
                },
                false
            )
        );
        assert_eq!(
            coll(p("hstart hallreduce max [1, -2, 3]").unwrap()),
            (
                Collective::Reduce {
                    root: None,
                    op: ReduceOp::Max,
                    words: vec![1, (-2i64) as u64, 3],
                    var: None,
                },
                true
            )
        );
        assert_eq!(
            coll(p("hreduce 3 xor [7; 3]").unwrap()).0,
            Collective::Reduce {
                root: Some(3),
                op: ReduceOp::Xor,
                words: vec![7, 7, 7],
                var: None,
            }
        );
        assert_eq!(p("hwait").unwrap(), Op::HWait);
        assert_eq!(
            coll(p("hstart hallreduce v min").unwrap()),
            (
                Collective::Reduce {
                    root: None,
                    op: ReduceOp::Min,
                    words: vec![0; 3],
                    var: Some(0)
                },
                true
            )
        );
        assert_eq!(
            coll(p("hreduce 2 c sum").unwrap()).0,
            Collective::Reduce {
                root: Some(2),
                op: ReduceOp::Sum,
                words: vec![0],
                var: Some(1)
            }
        );
    }

    #[test]
    fn bad_statements_are_explained() {
        assert!(p("hbcast 4 8").unwrap_err().contains("root PE 4"));
        assert!(
            p("hallreduce avg [1]")
                .unwrap_err()
                .contains("not an operation")
        );
        assert!(p("hallreduce sum 1").unwrap_err().contains("no word list"));
        assert!(
            p("hreduce sum [1]")
                .unwrap_err()
                .contains("hreduce ROOT OP")
        );
        assert!(
            p("hallreduce sum [1; 0]")
                .unwrap_err()
                .contains("expected 1")
        );
        assert!(p("hstart hwait").is_err());
        let e = p("hallreduce w sum").unwrap_err();
        assert!(
            e.contains("unknown variable `w`") && e.contains("v, c"),
            "{e}"
        );
        assert!(p("hreduce 9 v sum").unwrap_err().contains("root PE 9"));
        assert!(
            p("hallreduce 1 v sum")
                .unwrap_err()
                .contains("hallreduce VAR OP")
        );
        assert!(
            p("hallreduce v avg")
                .unwrap_err()
                .contains("not an operation")
        );
        assert!(p("hbarrier 3").is_err());
    }

    #[test]
    fn waits_must_match_starts() {
        let start = p("hstart hbarrier").unwrap();
        let ok = vec![
            Op::Repeat { count: 3, end: 3 },
            start.clone(),
            Op::HWait,
            Op::EndRepeat { start: 0 },
        ];
        assert!(check_waits(&ok).is_ok());
        assert!(
            check_waits(&[Op::HWait])
                .unwrap_err()
                .contains("no collective")
        );
        assert!(
            check_waits(std::slice::from_ref(&start))
                .unwrap_err()
                .contains("never waited")
        );
        let leaky = vec![
            Op::Repeat { count: 3, end: 2 },
            start,
            Op::EndRepeat { start: 0 },
        ];
        assert!(check_waits(&leaky).unwrap_err().contains("repeat"));
    }
}
