//! `when:` conditions evaluated per environment (SPEC §4): which environments a role entry or a
//! task serves is decided by evaluating its condition with that environment's variables, never by
//! comparing its text.
//!
//! A condition often reads variables the tree cannot know (a host's own `site`, facts,
//! secrets). Such a clause is *unknown*, not false: the condition is false in an environment only
//! when a clause whose variables are all known is false there (`env == "prod" and
//! site != 'backup'` is false in staging, and may hold in production).

use std::collections::BTreeSet;

/// What a condition says in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// It reads something the tree does not define, or does not evaluate.
    Unknown,
}

/// Evaluates `expr` (a bare Jinja expression, as `when:` holds) with `eval`, which renders one
/// clause and says whether it is true (`None`: it does not evaluate), and `reads`, which lists the
/// variables a clause reads that the environment does not define.
pub fn truth(
    expr: &str,
    reads_unknown: impl Fn(&str) -> bool,
    eval: impl Fn(&str) -> Option<bool>,
) -> Truth {
    let clauses = and_clauses(expr);
    let mut all_true = true;
    for clause in clauses {
        if reads_unknown(clause) {
            all_true = false;
            continue;
        }
        match eval(clause) {
            Some(true) => {}
            Some(false) => return Truth::False,
            None => all_true = false,
        }
    }
    if all_true {
        Truth::True
    } else {
        Truth::Unknown
    }
}

/// The clauses of `expr` joined by a top-level `and` (outside quotes and brackets). An expression
/// with a top-level `or` is one clause: its parts cannot be judged apart.
pub fn and_clauses(expr: &str) -> Vec<&str> {
    let expr = strip_braces(expr.trim());
    let words = top_level_words(expr);
    if words.iter().any(|w| w.1 == "or") {
        return vec![expr];
    }
    let mut out = Vec::new();
    let mut start = 0;
    for (at, word) in words {
        if word == "and" {
            out.push(expr[start..at].trim());
            start = at + word.len();
        }
    }
    out.push(expr[start..].trim());
    out.retain(|c| !c.is_empty());
    out
}

/// `{{ x }}` (an old style some trees still use in `when:`) → `x`.
fn strip_braces(expr: &str) -> &str {
    expr.strip_prefix("{{")
        .and_then(|e| e.strip_suffix("}}"))
        .map_or(expr, str::trim)
}

/// The words of `expr` outside quotes and brackets, with their byte offsets.
fn top_level_words(expr: &str) -> Vec<(usize, &str)> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut quote, mut i) = (0usize, None::<u8>, 0);
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) if b == b'\\' => i += 1,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ if depth == 0 && is_word(b) && (i == 0 || !is_word(bytes[i - 1])) => {
                    let end = bytes[i..]
                        .iter()
                        .position(|c| !is_word(*c))
                        .map_or(bytes.len(), |n| i + n);
                    out.push((i, &expr[i..end]));
                    i = end;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether any of `read` is missing from `known`.
pub fn reads_any_unknown(read: &BTreeSet<String>, known: impl Fn(&str) -> bool) -> bool {
    read.iter().any(|name| !known(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_top_level_and_only() {
        assert_eq!(
            and_clauses("env == \"production\" and koji_instance != 'secondary'"),
            vec!["env == \"production\"", "koji_instance != 'secondary'"]
        );
        assert_eq!(and_clauses("a == 'x and y'"), vec!["a == 'x and y'"]);
        assert_eq!(and_clauses("(a and b) or c"), vec!["(a and b) or c"]);
        assert_eq!(and_clauses("{{ a and b }}"), vec!["a", "b"]);
        assert_eq!(and_clauses("brand == 'x'"), vec!["brand == 'x'"]);
    }

    #[test]
    fn an_unknown_clause_never_makes_a_condition_false() {
        let known = |c: &str| c.contains("koji_instance");
        let eval = |c: &str| Some(c.contains("\"staging\""));
        let staging = "env == \"staging\" and koji_instance != 'secondary'";
        let production = "env == \"production\" and koji_instance != 'secondary'";
        assert_eq!(truth(staging, known, eval), Truth::Unknown);
        assert_eq!(truth(production, known, eval), Truth::False);
        assert_eq!(truth("env == \"staging\"", known, eval), Truth::True);
    }
}
