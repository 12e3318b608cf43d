//! The rule language: a small, safe expression language held in forms.
//!
//! Arithmetic (`+ - * /`), comparisons (`== != < <= > >=`), `and`/`or`/`not`
//! (also `&& || !`), parentheses, numbers, 'strings', field names,
//! `sum(a, b, …)` and `selected(field, 'option')`. No loops, no calls outside that
//! list, no access to anything but the record's values. Parsed once per form.
//!
//! A dotted name, `group.field`, reads a repeated group: the sum of `field` over the
//! group's rows (stored as `group.<key>.field`), undecided while the group has no row.

use crate::form::{FieldValue, Text};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks submission.
    Error,
    /// Submission needs a justification note.
    Warning,
}

/// A rule that does not hold for a record, with its message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Issue {
    pub rule: String,
    pub severity: Severity,
    pub fields: Vec<String>,
    pub message: Text,
    /// For a warning: whether a justification note has been written for it.
    #[serde(default)]
    pub justified: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Str(String),
    Field(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(Box<Expr>, Op, Box<Expr>),
    Sum(Vec<Expr>),
    Selected(String, String),
    /// `filled(field)`: the field has a value.
    Filled(String),
    /// `count_selected(field)`: how many options of a select-many field are chosen.
    CountSelected(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Num(f64),
    Bool(bool),
    Str(String),
}

impl Expr {
    /// Every field this expression reads, for checking the form at load.
    pub fn field_refs(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs(&self, out: &mut Vec<String>) {
        match self {
            Expr::Field(f) | Expr::Selected(f, _) | Expr::Filled(f) | Expr::CountSelected(f) => out.push(f.clone()),
            Expr::Neg(e) | Expr::Not(e) => e.collect_refs(out),
            Expr::Bin(a, _, b) => {
                a.collect_refs(out);
                b.collect_refs(out);
            }
            Expr::Sum(es) => es.iter().for_each(|e| e.collect_refs(out)),
            Expr::Num(_) | Expr::Str(_) => {}
        }
    }

    /// `Some(verdict)`, or `None` when a field it needs is empty or the types do not fit.
    pub fn eval_bool(&self, values: &BTreeMap<String, FieldValue>) -> Option<bool> {
        match self.eval(values)? {
            Val::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn eval(&self, values: &BTreeMap<String, FieldValue>) -> Option<Val> {
        Some(match self {
            Expr::Num(n) => Val::Num(*n),
            Expr::Str(s) => Val::Str(s.clone()),
            Expr::Field(f) if f.contains('.') => Val::Num(group_sum(values, f)?),
            Expr::Field(f) => match values.get(f)? {
                serde_json::Value::Number(n) => Val::Num(n.as_f64()?),
                serde_json::Value::String(s) => Val::Str(s.clone()),
                serde_json::Value::Bool(b) => Val::Bool(*b),
                _ => return None,
            },
            Expr::Neg(e) => Val::Num(-num(e.eval(values)?)?),
            Expr::Not(e) => Val::Bool(!boolean(e.eval(values)?)?),
            Expr::Sum(es) => {
                let mut total = 0.0;
                for e in es {
                    total += num(e.eval(values)?)?;
                }
                Val::Num(total)
            }
            Expr::Filled(f) => {
                Val::Bool(values.get(f).is_some_and(|v| !v.is_null() && v != "" && v != &serde_json::json!([])))
            }
            Expr::CountSelected(f) => match values.get(f)? {
                serde_json::Value::Array(a) => Val::Num(a.len() as f64),
                serde_json::Value::String(s) => Val::Num(s.split_whitespace().count() as f64),
                _ => return None,
            },
            Expr::Selected(f, option) => {
                let chosen = match values.get(f)? {
                    serde_json::Value::String(s) => s.split_whitespace().any(|o| o == option),
                    serde_json::Value::Array(a) => a.iter().any(|o| o.as_str() == Some(option)),
                    _ => return None,
                };
                Val::Bool(chosen)
            }
            // Kleene logic: a decided `false` in an `and` (or `true` in an `or`) decides
            // the whole, even while the other side waits for an empty field.
            Expr::Bin(a, Op::And, b) => match (a.eval(values).and_then(boolean), b.eval(values).and_then(boolean)) {
                (Some(false), _) | (_, Some(false)) => Val::Bool(false),
                (Some(true), Some(true)) => Val::Bool(true),
                _ => return None,
            },
            Expr::Bin(a, Op::Or, b) => match (a.eval(values).and_then(boolean), b.eval(values).and_then(boolean)) {
                (Some(true), _) | (_, Some(true)) => Val::Bool(true),
                (Some(false), Some(false)) => Val::Bool(false),
                _ => return None,
            },
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.eval(values)?, b.eval(values)?);
                match op {
                    Op::Add => Val::Num(num(a)? + num(b)?),
                    Op::Sub => Val::Num(num(a)? - num(b)?),
                    Op::Mul => Val::Num(num(a)? * num(b)?),
                    Op::Div => {
                        let d = num(b)?;
                        if d == 0.0 {
                            return None;
                        }
                        Val::Num(num(a)? / d)
                    }
                    Op::And | Op::Or => unreachable!("handled above with three-valued logic"),
                    Op::Eq => Val::Bool(a == b),
                    Op::Ne => Val::Bool(a != b),
                    Op::Lt => Val::Bool(num(a)? < num(b)?),
                    Op::Le => Val::Bool(num(a)? <= num(b)?),
                    Op::Gt => Val::Bool(num(a)? > num(b)?),
                    Op::Ge => Val::Bool(num(a)? >= num(b)?),
                }
            }
        })
    }
}

/// `group.field` over the rows `group.<key>.field`: their sum, or `None` while no row
/// holds a number (the group is still being filled in).
pub fn group_sum(values: &BTreeMap<String, FieldValue>, name: &str) -> Option<f64> {
    let (group, field) = name.split_once('.')?;
    let prefix = format!("{group}.");
    let mut total = None;
    for (key, value) in values.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
        let Some((_, _, row_field)) = crate::form::row_parts(key) else { continue };
        if row_field == field {
            if let Some(n) = value.as_f64() {
                *total.get_or_insert(0.0) += n;
            }
        }
    }
    total
}

fn num(v: Val) -> Option<f64> {
    match v {
        Val::Num(n) => Some(n),
        _ => None,
    }
}

fn boolean(v: Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(b),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            toks.push(Tok::Num(s.parse().map_err(|_| format!("bad number `{s}`"))?));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            toks.push(match word.as_str() {
                "and" => Tok::Op("&&"),
                "or" => Tok::Op("||"),
                "not" => Tok::Op("!"),
                _ => Tok::Ident(word),
            });
        } else if c == '\'' {
            let start = i + 1;
            i = start;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            if i == chars.len() {
                return Err("unterminated string".into());
            }
            toks.push(Tok::Str(chars[start..i].iter().collect()));
            i += 1;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = ["==", "!=", "<=", ">=", "&&", "||"].into_iter().find(|o| *o == two);
            if let Some(op) = op {
                toks.push(Tok::Op(op));
                i += 2;
                continue;
            }
            toks.push(match c {
                '(' => Tok::LParen,
                ')' => Tok::RParen,
                ',' => Tok::Comma,
                '+' => Tok::Op("+"),
                '-' => Tok::Op("-"),
                '*' => Tok::Op("*"),
                '/' => Tok::Op("/"),
                '<' => Tok::Op("<"),
                '>' => Tok::Op(">"),
                '!' => Tok::Op("!"),
                other => return Err(format!("unexpected character `{other}`")),
            });
            i += 1;
        }
    }
    Ok(toks)
}

/// Parses a rule expression.
pub fn parse(src: &str) -> Result<Expr, String> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.expr(0)?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected `{:?}` after the expression", p.toks[p.pos]));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn binary(op: &str) -> Option<(u8, Op)> {
    Some(match op {
        "||" => (1, Op::Or),
        "&&" => (2, Op::And),
        "==" => (3, Op::Eq),
        "!=" => (3, Op::Ne),
        "<" => (4, Op::Lt),
        "<=" => (4, Op::Le),
        ">" => (4, Op::Gt),
        ">=" => (4, Op::Ge),
        "+" => (5, Op::Add),
        "-" => (5, Op::Sub),
        "*" => (6, Op::Mul),
        "/" => (6, Op::Div),
        _ => return None,
    })
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, String> {
        let mut lhs = self.unary()?;
        while let Some(Tok::Op(op)) = self.toks.get(self.pos) {
            let Some((prec, op)) = binary(op) else { break };
            if prec <= min_prec {
                break;
            }
            self.pos += 1;
            let rhs = self.expr(prec)?;
            lhs = Expr::Bin(Box::new(lhs), op, Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Op("-")) => Ok(Expr::Neg(Box::new(self.unary()?))),
            Some(Tok::Op("!")) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::LParen) => {
                let e = self.expr(0)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Tok::Ident(name)) if self.toks.get(self.pos) == Some(&Tok::LParen) => {
                self.pos += 1;
                let mut args = Vec::new();
                if self.toks.get(self.pos) != Some(&Tok::RParen) {
                    loop {
                        args.push(self.expr(0)?);
                        match self.next() {
                            Some(Tok::Comma) => continue,
                            Some(Tok::RParen) => break,
                            _ => return Err(format!("missing `)` after the arguments of `{name}`")),
                        }
                    }
                } else {
                    self.pos += 1;
                }
                match (name.as_str(), args.as_slice()) {
                    ("sum", [_, ..]) => Ok(Expr::Sum(args)),
                    ("selected", [Expr::Field(f), Expr::Str(o)]) => Ok(Expr::Selected(f.clone(), o.clone())),
                    ("selected", _) => Err("selected() takes a field and an 'option'".into()),
                    ("filled", [Expr::Field(f)]) => Ok(Expr::Filled(f.clone())),
                    ("count_selected", [Expr::Field(f)]) => Ok(Expr::CountSelected(f.clone())),
                    ("filled" | "count_selected", _) => Err(format!("{name}() takes one field")),
                    _ => Err(format!("unknown function `{name}`")),
                }
            }
            Some(Tok::Ident(name)) => Ok(Expr::Field(name)),
            Some(t) => Err(format!("unexpected `{t:?}`")),
            None => Err("the expression ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(src: &str, vals: serde_json::Value) -> Option<bool> {
        let values: BTreeMap<String, FieldValue> = serde_json::from_value(vals).unwrap();
        parse(src).unwrap().eval_bool(&values)
    }

    #[test]
    fn arithmetic_follows_the_usual_precedence() {
        assert_eq!(eval("1 + 2 * 3 == 7", json!({})), Some(true));
        assert_eq!(eval("(1 + 2) * 3 == 9", json!({})), Some(true));
        assert_eq!(eval("10 - 4 - 3 == 3", json!({})), Some(true), "subtraction is left-associative");
    }

    #[test]
    fn sum_adds_a_group_of_fields() {
        assert_eq!(eval("sum(a, b, c) == t", json!({"a": 1, "b": 2, "c": 3, "t": 6})), Some(true));
        assert_eq!(eval("sum(a, b, c) == t", json!({"a": 1, "b": 2, "c": 3, "t": 7})), Some(false));
    }

    #[test]
    fn selected_reads_select_many_answers() {
        assert_eq!(eval("selected(needs, 'food')", json!({"needs": "shelter food"})), Some(true));
        assert_eq!(eval("selected(needs, 'wash')", json!({"needs": ["food"]})), Some(false));
    }

    #[test]
    fn logic_combines_comparisons() {
        assert_eq!(eval("a > 0 and not (b < a) || c == 1", json!({"a": 2, "b": 3, "c": 0})), Some(true));
    }

    #[test]
    fn a_decided_false_settles_an_and_even_while_another_part_waits() {
        assert_eq!(eval("a != b and a != c", json!({"a": "food", "b": "food"})), Some(false));
        assert_eq!(eval("a != b and a != c", json!({"a": "food", "b": "wash"})), None);
        assert_eq!(eval("a == 1 or b == 1", json!({"a": 1})), Some(true));
    }

    #[test]
    fn filled_and_count_selected_read_answers() {
        assert_eq!(eval("filled(a)", json!({"a": "x"})), Some(true));
        assert_eq!(eval("filled(a)", json!({"a": null})), Some(false));
        assert_eq!(eval("filled(a)", json!({})), Some(false), "an absent field is not filled");
        assert_eq!(eval("count_selected(t) <= n", json!({"t": ["a", "b", "c"], "n": 2})), Some(false));
    }

    #[test]
    fn a_missing_value_leaves_the_rule_undecided() {
        assert_eq!(eval("a + b == c", json!({"a": 1, "c": 1})), None);
        assert_eq!(eval("a / b == 1", json!({"a": 1, "b": 0})), None, "division by zero decides nothing");
    }

    #[test]
    fn a_dotted_name_sums_a_repeated_groups_rows_and_waits_while_it_has_none() {
        let rows = json!({"mig_ind": 10, "mig_nat.egy.ind": 4, "mig_nat.sdn.ind": 6, "mig_nat_other": 99});
        assert_eq!(eval("sum(mig_nat.ind) == mig_ind", rows), Some(true), "rows of the group add up");
        let short = json!({"mig_ind": 10, "mig_nat.egy.ind": 4});
        assert_eq!(eval("mig_nat.ind == mig_ind", short), Some(false), "a missing row shows as a shortfall");
        assert_eq!(eval("mig_nat.ind == mig_ind", json!({"mig_ind": 10})), None, "no row yet: not judged");
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in ["a +", "(a", "a $ b", "exec(a)", "selected(a)", "'open", "a b"] {
            assert!(parse(bad).is_err(), "{bad:?} must not parse");
        }
    }
}
