//! The Ansible filters and tests the Fedora tree uses, with Ansible's meaning (not Jinja2's
//! or minijinja's where they differ: `bool` reads `'no'` as false; `to_json` writes Python's
//! separators).

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::value::py_json;

/// Registers every filter and test of this module.
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("ternary", ternary);
    env.add_filter("combine", combine);
    env.add_filter("bool", to_bool);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("mandatory", mandatory);
    env.add_filter("indent", indent);
    env.add_filter("basename", |s: String| {
        s.rsplit('/').next().unwrap_or_default().to_string()
    });
    env.add_filter("dirname", |s: String| {
        s.rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string())
    });
    env.add_test("match", |v: String, p: String| {
        regex(&p, false, false).is_ok_and(|r| r.find(&v).is_some_and(|m| m.start() == 0))
    });
    env.add_test("search", |v: String, p: String| {
        regex(&p, false, false).is_ok_and(|r| r.is_match(&v))
    });
}

fn b64encode(value: String) -> String {
    base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
}

fn b64decode(value: String) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("b64decode: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `cond | ternary(a, b[, none_value])`.
fn ternary(cond: Value, yes: Value, no: Value, none_value: Option<Value>) -> Value {
    match none_value {
        Some(n) if cond.is_none() || cond.is_undefined() => n,
        _ if cond.is_true() => yes,
        _ => no,
    }
}

/// Ansible's `bool`: true only for true, 1, and the strings yes/on/1/true (any case).
fn to_bool(value: Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => value.as_i64() == Some(1),
        ValueKind::String => {
            matches!(
                value
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
                    .as_str(),
                "yes" | "on" | "1" | "true"
            )
        }
        _ => false,
    }
}

/// `a | combine(b, c, recursive=True)`: later mappings win; `recursive` merges nested mappings.
fn combine(base: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    others
        .0
        .iter()
        .try_fold(base, |acc, next| merge(&acc, next, recursive))
}

fn merge(a: &Value, b: &Value, recursive: bool) -> Result<Value, Error> {
    if a.kind() != ValueKind::Map || b.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "combine expects mappings",
        ));
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for key in a.try_iter()? {
        let value = a.get_item(&key)?;
        out.push((key, value));
    }
    for key in b.try_iter()? {
        let new = b.get_item(&key)?;
        match out.iter_mut().find(|(k, _)| k == &key) {
            Some((_, old))
                if recursive && old.kind() == ValueKind::Map && new.kind() == ValueKind::Map =>
            {
                *old = merge(old, &new, true)?;
            }
            Some((_, old)) => *old = new,
            None => out.push((key, new)),
        }
    }
    Ok(Value::from_pairs(out))
}

fn to_json(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?;
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    Ok(py_json(&value, indent, sort_keys))
}

fn to_nice_json(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
    kwargs.assert_all_used()?;
    Ok(py_json(&value, Some(indent), true))
}

/// Python `re` syntax is close enough to the `regex` crate's for the patterns Ansible trees use;
/// replacements use `\1` / `\g<name>`, which become `${1}` / `${name}`.
fn regex(pattern: &str, ignorecase: bool, multiline: bool) -> Result<regex::Regex, Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("bad regular expression: {e}"),
            )
        })
}

fn regex_replace(
    value: String,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let re = regex(&pattern, ignorecase, multiline)?;
    let replacement = python_replacement(&replacement.unwrap_or_default());
    Ok(re.replace_all(&value, replacement.as_str()).into_owned())
}

fn python_replacement(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                chars.next();
                out.push_str(&format!("${{{d}}}"));
            }
            ('\\', Some('g')) => {
                chars.next();
                let name: String = chars.by_ref().skip(1).take_while(|c| *c != '>').collect();
                out.push_str(&format!("${{{name}}}"));
            }
            ('\\', Some('\\')) => {
                chars.next();
                out.push('\\');
            }
            ('$', _) => out.push_str("$$"),
            (c, _) => out.push(c),
        }
    }
    out
}

fn regex_search(value: String, pattern: String) -> Result<Value, Error> {
    let re = regex(&pattern, false, false)?;
    Ok(re
        .find(&value)
        .map_or(Value::from(()), |m| Value::from(m.as_str())))
}

/// Jinja2's `indent(width=4, first=False, blank=False)`, quirks included: a trailing newline
/// survives (Jinja2 appends one before splitting lines), and blank lines stay unindented unless
/// `blank`. minijinja's own `indent` drops the trailing newline.
fn indent(
    value: String,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = width.or(kwargs.get::<Option<Value>>("width")?);
    let first = first.or(kwargs.get::<Option<bool>>("first")?);
    let blank = blank.or(kwargs.get::<Option<bool>>("blank")?);
    kwargs.assert_all_used()?;
    let pad = match &width {
        Some(w) if w.kind() == ValueKind::String => w.as_str().unwrap_or_default().to_string(),
        Some(w) => " ".repeat(w.as_i64().unwrap_or(4).max(0) as usize),
        None => "    ".to_string(),
    };
    let text = format!("{value}\n");
    let lines = python_splitlines(&text);
    let mut out = if blank.unwrap_or(false) {
        lines.join(&format!("\n{pad}"))
    } else {
        let mut it = lines.iter();
        let mut out = it.next().map(|s| s.to_string()).unwrap_or_default();
        for line in it {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&pad);
            }
            out.push_str(line);
        }
        out
    };
    if first.unwrap_or(false) {
        out.insert_str(0, &pad);
    }
    Ok(out)
}

/// Python's `str.splitlines()` for the line breaks config files hold (`\n`, `\r\n`, `\r`).
fn python_splitlines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn mandatory(value: Value) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "Mandatory variable not defined.",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(src, ()).expect("renders")
    }

    #[test]
    fn ansible_bool_reads_no_as_false() {
        assert_eq!(
            render("{{ 'no' | bool }} {{ 'Yes' | bool }} {{ 'false' | bool }} {{ 1 | bool }}"),
            "False True False True"
        );
    }

    #[test]
    fn ternary_and_b64() {
        assert_eq!(
            render("{{ (1 == 1) | ternary('a', 'b') }}{{ 'u:p' | b64encode }}"),
            "adTpw"
        );
    }

    #[test]
    fn combine_recursive() {
        let out = render(
            "{{ {'a': {'x': 1, 'y': 2}, 'b': 1} | combine({'a': {'y': 3}}, recursive=True) | to_json }}",
        );
        assert_eq!(out, "{\"a\": {\"x\": 1, \"y\": 3}, \"b\": 1}");
        let flat = render("{{ {'a': {'x': 1}} | combine({'a': {'y': 3}}) | to_json }}");
        assert_eq!(flat, "{\"a\": {\"y\": 3}}");
    }

    #[test]
    fn indent_keeps_jinja2_quirks() {
        assert_eq!(
            render("{{ 'a\\nb\\n\\nc\\n' | indent }}"),
            "a\n    b\n\n    c\n"
        );
        assert_eq!(render("{{ 'a\\nb' | indent(2, true) }}"), "  a\n  b");
        assert_eq!(
            render("{{ 'a\\n\\nb' | indent(2, blank=true) }}"),
            "a\n  \n  b"
        );
    }

    #[test]
    fn regex_replace_with_python_groups() {
        assert_eq!(
            render(r"{{ 'host.stg.example' | regex_replace('\.stg(\..*)$', '\\1') }}"),
            "host.example"
        );
    }
}
