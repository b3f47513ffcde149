//! Values as Ansible sees them: YAML read with PyYAML's YAML 1.1 typing (`yes` is a boolean,
//! `0644` an octal int), and printed the way Python prints them (`True`, `None`, `['a', 'b']`),
//! so rendered templates match Ansible's byte for byte.

use std::fmt::Write as _;

use minijinja::Value;
use minijinja::value::ValueKind;

use crate::formats::tree::{Node, Style};

/// Converts a YAML node to a template value.
pub fn from_yaml(node: &Node) -> Value {
    match node {
        Node::Scalar(s) if s.style == Style::Plain => plain_scalar(&s.value),
        Node::Scalar(s) => Value::from(s.value.clone()),
        Node::Sequence { items, .. } => {
            Value::from(items.iter().map(from_yaml).collect::<Vec<_>>())
        }
        Node::Mapping { entries, .. } => {
            Value::from_pairs(entries.iter().map(|(k, v)| (key_of(k), from_yaml(v))))
        }
        Node::Alias(_) => Value::from(()),
    }
}

fn key_of(node: &Node) -> Value {
    match node {
        Node::Scalar(s) => Value::from(s.value.clone()),
        other => Value::from(format!("{other:?}")),
    }
}

/// PyYAML's implicit resolvers for a plain scalar (YAML 1.1 core).
pub fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::from(()),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::from(true);
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::from(false);
        }
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return Value::from(i);
    }
    if is_float(text)
        && let Ok(f) = text.replace('_', "").parse::<f64>()
    {
        return Value::from(f);
    }
    Value::from(text)
}

fn parse_int(text: &str) -> Option<i64> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return None;
    }
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(sign * value)
}

/// PyYAML's float pattern: digits with a dot (and optional exponent), or .inf/.nan.
fn is_float(text: &str) -> bool {
    let t = text.trim_start_matches(['-', '+']);
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (t, None),
    };
    let mantissa_ok = mantissa.contains('.')
        && mantissa.bytes().filter(|b| *b == b'.').count() == 1
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && mantissa
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    let exp_ok = exp.is_none_or(|e| {
        let e = e.trim_start_matches(['-', '+']);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

/// `str(value)` as Python prints it inside `{{ }}`.
pub fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        _ => py_repr(value),
    }
}

/// `repr(value)`: what Python prints for a value nested in a list or dict.
pub fn py_repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::String => py_quote(value.as_str().unwrap_or_default()),
        ValueKind::Number => py_number(value),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| it.map(|v| py_repr(&v)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let mut out = String::from("{");
            for (i, key) in value.try_iter().into_iter().flatten().enumerate() {
                let item = value.get_item(&key).unwrap_or_default();
                let _ = write!(
                    out,
                    "{}{}: {}",
                    if i == 0 { "" } else { ", " },
                    py_repr(&key),
                    py_repr(&item)
                );
            }
            out.push('}');
            out
        }
        _ => value.to_string(),
    }
}

fn py_number(value: &Value) -> String {
    let text = value.to_string();
    if value.as_i64().is_none() && !text.contains(['.', 'e', 'n', 'i']) {
        format!("{text}.0")
    } else {
        text
    }
}

/// Python's string repr: single quotes unless the text holds one and no double quote.
fn py_quote(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `json.dumps(value, indent=…, sort_keys=…, separators=…)` as Python writes it (ASCII only).
pub fn py_json(value: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, value, indent, sort_keys, 0);
    out
}

fn write_json(
    out: &mut String,
    value: &Value,
    indent: Option<usize>,
    sort_keys: bool,
    depth: usize,
) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * depth));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&py_number(value)),
        ValueKind::String => json_string(out, value.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                write_json(out, item, indent, sort_keys, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter().map(Iterator::collect).unwrap_or_default();
            if keys.is_empty() {
                out.push_str("{}");
                return;
            }
            if sort_keys {
                keys.sort_by_key(|k| k.to_string());
            }
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                json_string(out, &py_str(key));
                out.push_str(": ");
                write_json(
                    out,
                    &value.get_item(key).unwrap_or_default(),
                    indent,
                    sort_keys,
                    depth + 1,
                );
            }
            newline(out, depth);
            out.push('}');
        }
        _ => json_string(out, &value.to_string()),
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_typing() {
        assert_eq!(plain_scalar("yes"), Value::from(true));
        assert_eq!(plain_scalar("Off"), Value::from(false));
        assert_eq!(plain_scalar("0644"), Value::from(420));
        assert_eq!(plain_scalar("1_000"), Value::from(1000));
        assert_eq!(plain_scalar("1.5"), Value::from(1.5));
        assert_eq!(plain_scalar("~"), Value::from(()));
        assert_eq!(plain_scalar(".stg"), Value::from(".stg"));
        assert_eq!(plain_scalar("1.2.3"), Value::from("1.2.3"));
    }

    #[test]
    fn python_printing() {
        let v = Value::from(vec![
            Value::from("a'b"),
            Value::from(true),
            Value::from(()),
            Value::from(2.0),
        ]);
        assert_eq!(py_str(&v), "[\"a'b\", True, None, 2.0]");
        let m = Value::from_pairs([("k", Value::from(vec![1, 2]))]);
        assert_eq!(py_str(&m), "{'k': [1, 2]}");
        assert_eq!(py_json(&m, None, false), "{\"k\": [1, 2]}");
        assert_eq!(
            py_json(&m, Some(4), true),
            "{\n    \"k\": [\n        1,\n        2\n    ]\n}"
        );
        assert_eq!(py_json(&Value::from("é"), None, false), "\"\\u00e9\"");
    }
}
