//! The TOML locator: a TOML template read once per environment, with `toml_edit`'s parsed
//! document for the spans (read only: edits are splices, never a serialised document).
//!
//! A template's environment branches (`{% if VAR == 'x' %}…{% else %}…{% endif %}`) often hold
//! the same keys or tables twice, which no TOML parser accepts. So the text is parsed once per
//! environment, the branches that environment does not render blanked (offsets and lines kept):
//! each parse is a document of the node tree whose spans index the original text. A place shared
//! by the environments appears in each document; callers keep one hit per span.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, Table, Value};

use crate::error::{Error, Result};
use crate::formats::jinja::Structure;
use crate::formats::tree::{Node, Scalar, Style};
use crate::migration::Env;

/// A TOML document nested deeper than this is not configuration anyone writes.
const MAX_DEPTH: usize = 128;

/// One document per environment of `envs` (see the module doc).
pub fn parse(path: &Path, original: &str, jinja: &Structure, envs: &[Env]) -> Result<Vec<Node>> {
    let mut docs = Vec::new();
    for env in envs {
        let masked = rendered_by(&jinja.masked, jinja, *env);
        let doc = toml_edit::Document::parse(masked.as_str()).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            Error::at(
                path,
                original,
                at,
                format!("TOML does not parse ({env}): {}", e.message()),
            )
        })?;
        docs.push(table(doc.as_table(), original, 0));
    }
    Ok(docs)
}

/// `masked` with the bodies of the environment branches that `env` does not render blanked.
fn rendered_by(masked: &str, jinja: &Structure, env: Env) -> String {
    let mut bytes = masked.as_bytes().to_vec();
    for branch in jinja.blocks.iter().flat_map(|b| &b.branches) {
        if branch.env_test && !branch.envs.contains(env) {
            for b in &mut bytes[branch.body.clone()] {
                if *b != b'\n' && *b != b'\r' {
                    *b = b' ';
                }
            }
        }
    }
    // Only ASCII bytes replaced whole UTF-8 sequences' bytes inside branch bodies: blanking a
    // multi-byte character leaves spaces, still valid UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn table(t: &Table, original: &str, depth: usize) -> Node {
    let mut entries = Vec::new();
    let mut span = t.span().unwrap_or(0..0);
    if depth <= MAX_DEPTH {
        for (name, item) in t.iter() {
            let key_span = t.key(name).and_then(|k| k.span()).unwrap_or(0..0);
            let key = Node::Scalar(Scalar {
                span: key_span.clone(),
                style: Style::Plain,
                value: name.to_string(),
            });
            let Some(value) = self::item(item, original, depth + 1) else {
                continue;
            };
            span = union(span, key_span);
            span = union(span, value.span());
            entries.push((key, value));
        }
    }
    Node::Mapping {
        entries,
        flow: false,
        span,
    }
}

fn item(item: &Item, original: &str, depth: usize) -> Option<Node> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value(v, original, depth)),
        Item::Table(t) => Some(table(t, original, depth)),
        Item::ArrayOfTables(a) => {
            let items: Vec<Node> = a.iter().map(|t| table(t, original, depth + 1)).collect();
            let span = items
                .iter()
                .fold(a.span().unwrap_or(0..0), |s, n| union(s, n.span()));
            Some(Node::Sequence { items, span })
        }
    }
}

fn value(v: &Value, original: &str, depth: usize) -> Node {
    let span = v.span().unwrap_or(0..0);
    match v {
        Value::Array(a) if depth <= MAX_DEPTH => Node::Sequence {
            items: a.iter().map(|x| value(x, original, depth + 1)).collect(),
            span,
        },
        Value::InlineTable(t) if depth <= MAX_DEPTH => Node::Mapping {
            entries: t
                .iter()
                .map(|(name, x)| {
                    let key_span = t.key(name).and_then(|k| k.span()).unwrap_or(0..0);
                    (
                        Node::Scalar(Scalar {
                            span: key_span,
                            style: Style::Plain,
                            value: name.to_string(),
                        }),
                        value(x, original, depth + 1),
                    )
                })
                .collect(),
            flow: true,
            span,
        },
        _ => {
            let raw = original.get(span.clone()).unwrap_or_default();
            // A multi-line or literal string is left alone by editors (as a YAML block).
            let style = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                Style::Block
            } else if raw.starts_with('"') {
                Style::Double
            } else if raw.starts_with('\'') {
                Style::Single
            } else {
                Style::Plain
            };
            let masked_jinja = raw.contains("{{") || raw.contains("{%");
            let decoded = match v {
                // The parse saw Jinja masked: the value is the text between the quotes.
                Value::String(_)
                    if masked_jinja && matches!(style, Style::Double | Style::Single) =>
                {
                    raw.get(1..raw.len().saturating_sub(1))
                        .unwrap_or(raw)
                        .to_string()
                }
                Value::String(s) => s.value().clone(),
                _ => raw.to_string(),
            };
            Node::Scalar(Scalar {
                span,
                style,
                value: decoded,
            })
        }
    }
}

fn union(a: Range<usize>, b: Range<usize>) -> Range<usize> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b,
        (_, true) => a,
        _ => a.start.min(b.start)..a.end.max(b.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::tree::TreePath;
    use crate::migration::testing::{prod, selector, stg};

    #[test]
    fn each_environment_reads_its_branch_with_spans_into_the_original() {
        let text = "name = \"{{ x }}-app\"\n{% if env == \"staging\" %}\n\n[[regs]]\nurl = \"stg.example.org\"\n{% else %}\n\n[[regs]]\nurl = \"example.org\"\n\n[[regs]]\nurl = 'new.example.org/ns'\n{% endif %}\n";
        let jinja = Structure::of(text, &selector());
        let docs = parse(Path::new("c.toml"), text, &jinja, &[prod(), stg()]).expect("parses");
        let path = TreePath::parse("regs.*.url").expect("path");
        let per_doc: Vec<Vec<String>> = docs
            .iter()
            .map(|d| {
                path.find(Path::new("c.toml"), text, text, std::slice::from_ref(d))
                    .expect("finds")
                    .iter()
                    .filter_map(|h| h.value.as_scalar())
                    .map(|s| format!("{}={}", &text[s.span.clone()], s.value))
                    .collect()
            })
            .collect();
        assert_eq!(
            per_doc,
            [
                vec![
                    "\"example.org\"=example.org".to_string(),
                    "'new.example.org/ns'=new.example.org/ns".to_string()
                ],
                vec!["\"stg.example.org\"=stg.example.org".to_string()],
            ]
        );
        let name = TreePath::parse("name").expect("path");
        let hit = &name
            .find(Path::new("c.toml"), text, text, &docs[..1])
            .expect("finds")[0];
        assert_eq!(
            hit.value.as_scalar().map(|s| s.value.as_str()),
            Some("{{ x }}-app")
        );
    }

    #[test]
    fn strings_are_decoded_as_toml_reads_them_and_jinja_kept_as_written() {
        let text = "a = \"x\\\\y \\\"q\\\"\"\nb = \"{{ v }}.example.org\"\n";
        let jinja = Structure::of(text, &selector());
        let docs = parse(Path::new("c.toml"), text, &jinja, &[prod()]).expect("parses");
        let value = |k: &str| {
            docs[0]
                .get(k)
                .and_then(Node::as_scalar)
                .map(|s| s.value.clone())
        };
        assert_eq!(value("a").as_deref(), Some("x\\y \"q\""));
        assert_eq!(value("b").as_deref(), Some("{{ v }}.example.org"));
    }

    #[test]
    fn a_broken_document_is_a_located_error() {
        let text = "a = 1\nb = [\n";
        let jinja = Structure::of(text, &selector());
        let err = parse(Path::new("c.toml"), text, &jinja, &[prod()]).expect_err("broken");
        assert!(err.to_string().starts_with("c.toml:"), "{err}");
    }
}
