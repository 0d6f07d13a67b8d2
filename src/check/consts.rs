//! Constant folding: the value of an expression built only from literals, used to find
//! conditions that are always false and counts that are not positive.

use crate::ast::{BinOp, Expr, ExprKind, StrPart, UnOp};

/// A value known before anything runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// A string.
    Str(String),
    /// A duration in milliseconds.
    Duration(u64),
}

/// The value of `e` if it depends on literals only.
pub fn eval(e: &Expr) -> Option<Const> {
    Some(match &e.kind {
        ExprKind::Int(i) => Const::Int(*i),
        ExprKind::Float(f) => Const::Float(*f),
        ExprKind::Bool(b) => Const::Bool(*b),
        ExprKind::Duration(d) => Const::Duration(*d),
        ExprKind::Str(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    StrPart::Text(t) => s.push_str(t),
                    StrPart::Interp(_) => return None,
                }
            }
            Const::Str(s)
        }
        ExprKind::Unary(UnOp::Not, x) => match eval(x)? {
            Const::Bool(b) => Const::Bool(!b),
            _ => return None,
        },
        ExprKind::Unary(UnOp::Neg, x) => match eval(x)? {
            Const::Int(i) => Const::Int(i.checked_neg()?),
            Const::Float(f) => Const::Float(-f),
            _ => return None,
        },
        ExprKind::If(c, a, b) => match eval(c)? {
            Const::Bool(true) => eval(a)?,
            Const::Bool(false) => eval(b)?,
            _ => return None,
        },
        ExprKind::Binary(op, a, b) => binary(*op, eval(a)?, eval(b)?)?,
        _ => return None,
    })
}

fn binary(op: BinOp, a: Const, b: Const) -> Option<Const> {
    use Const::*;
    Some(match (op, a, b) {
        (BinOp::And, Bool(x), Bool(y)) => Bool(x && y),
        (BinOp::Or, Bool(x), Bool(y)) => Bool(x || y),
        (BinOp::Eq, x, y) => Bool(x == y),
        (BinOp::Ne, x, y) => Bool(x != y),
        (BinOp::Add, Int(x), Int(y)) => Int(x.checked_add(y)?),
        (BinOp::Sub, Int(x), Int(y)) => Int(x.checked_sub(y)?),
        (BinOp::Mul, Int(x), Int(y)) => Int(x.checked_mul(y)?),
        (BinOp::Add, Str(x), Str(y)) => Str(x + &y),
        (op, x, y) if op.is_comparison() => {
            let ord = match (x, y) {
                (Int(x), Int(y)) => x.cmp(&y),
                (Duration(x), Duration(y)) => x.cmp(&y),
                (Str(x), Str(y)) => x.cmp(&y),
                (Float(x), Float(y)) => x.partial_cmp(&y)?,
                _ => return None,
            };
            Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        _ => return None,
    })
}
