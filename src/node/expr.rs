//! Expressions a PE evaluates while it runs: over its local variables and its own copy
//! of the symmetric variables, which change as the program runs, so they cannot be
//! folded to numbers when the program is read (the rest of an expression is).
//!
//! Values are signed 64-bit integers; a symmetric word is read as its two's-complement
//! value. Comparisons and `&&`, `||`, `!` give 1 or 0; a value is true when not 0.

use super::variables::{VarId, Variables};

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

/// An expression tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    Const(i64),
    /// A local variable of the PE, by slot.
    Local(u16),
    /// Word `word` of the PE's own copy of a symmetric variable.
    Var {
        var: VarId,
        word: Box<Expr>,
    },
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The value, if it does not depend on the PE's state.
    pub fn as_const(&self) -> Option<i64> {
        match self {
            Expr::Const(v) => Some(*v),
            _ => None,
        }
    }

    /// Builds `a op b`, folding constants (with the same checks as at run time).
    pub fn bin(op: BinOp, a: Expr, b: Expr) -> Result<Expr, String> {
        match (a.as_const(), b.as_const()) {
            (Some(x), Some(y)) => Ok(Expr::Const(apply(op, x, y)?)),
            _ => Ok(Expr::Bin(op, Box::new(a), Box::new(b))),
        }
    }

    /// Builds `-a`, folding a constant.
    pub fn negate(a: Expr) -> Result<Expr, String> {
        match a.as_const() {
            Some(x) => Ok(Expr::Const(x.checked_neg().ok_or("arithmetic overflow")?)),
            None => Ok(Expr::Neg(Box::new(a))),
        }
    }

    /// Builds `!a`, folding a constant.
    pub fn logical_not(a: Expr) -> Expr {
        match a.as_const() {
            Some(x) => Expr::Const((x == 0) as i64),
            None => Expr::Not(Box::new(a)),
        }
    }

    /// The value for a PE with `locals` and `vars`. Fails on overflow, division by
    /// zero and a word outside its variable. `&&` and `||` evaluate their right side
    /// only when needed.
    pub fn eval(&self, locals: &[i64], vars: &Variables) -> Result<i64, String> {
        match self {
            Expr::Const(v) => Ok(*v),
            Expr::Local(i) => Ok(locals.get(*i as usize).copied().unwrap_or(0)),
            Expr::Var { var, word } => {
                let w = word.eval(locals, vars)?;
                u64::try_from(w)
                    .ok()
                    .and_then(|w| vars.get(*var, w))
                    .map(|v| v as i64)
                    .ok_or_else(|| {
                        format!(
                            "word {w} of `{}` does not exist ({} words)",
                            vars.layout().name(*var),
                            vars.layout().words(*var)
                        )
                    })
            }
            Expr::Neg(a) => a
                .eval(locals, vars)?
                .checked_neg()
                .ok_or_else(|| "arithmetic overflow".to_string()),
            Expr::Not(a) => Ok((a.eval(locals, vars)? == 0) as i64),
            Expr::Bin(BinOp::And, a, b) => {
                Ok((a.eval(locals, vars)? != 0 && b.eval(locals, vars)? != 0) as i64)
            }
            Expr::Bin(BinOp::Or, a, b) => {
                Ok((a.eval(locals, vars)? != 0 || b.eval(locals, vars)? != 0) as i64)
            }
            Expr::Bin(op, a, b) => apply(*op, a.eval(locals, vars)?, b.eval(locals, vars)?),
        }
    }
}

/// `x op y` on integers, checked.
pub fn apply(op: BinOp, x: i64, y: i64) -> Result<i64, String> {
    let over = || "arithmetic overflow".to_string();
    Ok(match op {
        BinOp::Add => x.checked_add(y).ok_or_else(over)?,
        BinOp::Sub => x.checked_sub(y).ok_or_else(over)?,
        BinOp::Mul => x.checked_mul(y).ok_or_else(over)?,
        BinOp::Div | BinOp::Rem if y == 0 => return Err("division by zero".into()),
        BinOp::Div => x.checked_div(y).ok_or_else(over)?,
        BinOp::Rem => x.checked_rem_euclid(y).ok_or_else(over)?,
        BinOp::Eq => (x == y) as i64,
        BinOp::Ne => (x != y) as i64,
        BinOp::Lt => (x < y) as i64,
        BinOp::Le => (x <= y) as i64,
        BinOp::Gt => (x > y) as i64,
        BinOp::Ge => (x >= y) as i64,
        BinOp::And => (x != 0 && y != 0) as i64,
        BinOp::Or => (x != 0 || y != 0) as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::variables::VarLayout;
    use std::sync::Arc;

    #[test]
    fn evaluates_over_locals_and_variables() {
        let mut l = VarLayout::default();
        let v = l.add("v", 2).unwrap();
        let vars = Variables::new(Arc::new(l), vec![5, u64::MAX]);
        let word = |w: i64| Expr::Var {
            var: v,
            word: Box::new(Expr::Const(w)),
        };
        let e = Expr::bin(BinOp::Add, word(0), Expr::Local(1)).unwrap();
        assert_eq!(e.eval(&[0, 10], &vars), Ok(15));
        assert_eq!(word(1).eval(&[], &vars), Ok(-1));
        assert!(word(2).eval(&[], &vars).unwrap_err().contains("word 2"));
        let d = Expr::bin(BinOp::Div, Expr::Const(1), Expr::Local(0)).unwrap();
        assert!(d.eval(&[0], &vars).is_err());
        // `||` does not evaluate its right side when the left decides.
        let or = Expr::bin(BinOp::Or, Expr::Local(1), d.clone()).unwrap();
        assert_eq!(or.eval(&[0, 1], &vars), Ok(1));
        let and = Expr::bin(BinOp::And, Expr::Local(1), d).unwrap();
        assert!(and.eval(&[0, 1], &vars).is_err());
        assert_eq!(
            Expr::bin(BinOp::Le, Expr::Const(2), Expr::Const(2)),
            Ok(Expr::Const(1))
        );
        assert_eq!(Expr::logical_not(Expr::Const(3)), Expr::Const(0));
    }
}
