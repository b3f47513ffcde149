//! The JSON locator: a small tokenizer over Jinja-masked text (a masked `{{ … }}` in value
//! position reads as an opaque scalar) that builds the same [`Node`] tree as the YAML locator,
//! so rules find JSON values with the same paths. Strings are decoded from the original text.

use std::path::Path;

use crate::error::{Error, Result};
use crate::formats::tree::{Node, Scalar, Style};
use crate::formats::yaml;

/// Parses one JSON document (a template is fine once masked).
pub fn parse(path: &Path, original: &str, masked: &str) -> Result<Node> {
    let mut p = JsonParser {
        path,
        original,
        bytes: masked.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let node = p.value()?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error("end of the document"));
    }
    Ok(node)
}

struct JsonParser<'t> {
    path: &'t Path,
    original: &'t str,
    bytes: &'t [u8],
    pos: usize,
    /// Open objects and arrays (bounded: [`crate::formats::MAX_NESTING`]).
    depth: usize,
}

impl JsonParser<'_> {
    fn error(&self, expected: &str) -> Error {
        let found = match self.bytes.get(self.pos) {
            Some(b) => format!("`{}`", *b as char),
            None => "the end of the file".to_string(),
        };
        Error::at(
            self.path,
            self.original,
            self.pos,
            format!("JSON does not parse: expected {expected}, found {found}"),
        )
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.bytes.get(self.pos) == Some(&b);
        self.pos += usize::from(hit);
        hit
    }

    fn value(&mut self) -> Result<Node> {
        match self.bytes.get(self.pos) {
            Some(b'{' | b'[') if self.depth >= crate::formats::MAX_NESTING => Err(Error::at(
                self.path,
                self.original,
                self.pos,
                format!(
                    "JSON nests deeper than {} levels (refused: no configuration needs it)",
                    crate::formats::MAX_NESTING
                ),
            )),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string().map(Node::Scalar),
            Some(_) => self.bare(),
            None => Err(self.error("a value")),
        }
    }

    fn nested(&mut self, parse: fn(&mut Self) -> Result<Node>) -> Result<Node> {
        self.depth += 1;
        let node = parse(self);
        self.depth -= 1;
        node
    }

    fn object(&mut self) -> Result<Node> {
        let start = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_ws();
        if !self.eat(b'}') {
            loop {
                self.skip_ws();
                if self.bytes.get(self.pos) != Some(&b'"') {
                    return Err(self.error("a string key"));
                }
                let key = self.string()?;
                self.skip_ws();
                if !self.eat(b':') {
                    return Err(self.error("`:`"));
                }
                self.skip_ws();
                let value = self.value()?;
                entries.push((Node::Scalar(key), value));
                self.skip_ws();
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("`,` or `}`"));
                }
            }
        }
        Ok(Node::Mapping {
            entries,
            flow: true,
            span: start..self.pos,
        })
    }

    fn array(&mut self) -> Result<Node> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                self.skip_ws();
                items.push(self.value()?);
                self.skip_ws();
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("`,` or `]`"));
                }
            }
        }
        Ok(Node::Sequence {
            items,
            span: start..self.pos,
        })
    }

    fn string(&mut self) -> Result<Scalar> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.bytes.get(self.pos) {
                Some(b'"') => break,
                Some(b'\\') => self.pos += 2,
                Some(b'\n') | None => return Err(self.error("a closing `\"`")),
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        let span = start..self.pos;
        let raw = self.original.get(span.clone()).unwrap_or("");
        Ok(Scalar {
            value: yaml::decode(raw, Style::Double),
            span,
            style: Style::Double,
        })
    }

    /// Numbers, `true`/`false`/`null`, and masked Jinja expressions.
    fn bare(&mut self) -> Result<Node> {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| !b.is_ascii_whitespace() && !b",:]}[{\"".contains(b))
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("a value"));
        }
        let span = start..self.pos;
        let value = self.original.get(span.clone()).unwrap_or("").to_string();
        Ok(Node::Scalar(Scalar {
            span,
            style: Style::Plain,
            value,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jinja::mask;
    use crate::formats::tree::TreePath;

    #[test]
    fn dockercfg_template_keys_and_values() {
        let text = r#"{"auths":{"reg.example":{"username":"{{u}}","auth":"{{ a | b64encode }}","port":{{ p }}}}}"#;
        let masked = mask(text);
        let doc = parse(Path::new("d.j2"), text, &masked).expect("parses");
        let hits = TreePath::parse("auths.*")
            .expect("path")
            .find(Path::new("d.j2"), text, &masked, &[doc])
            .expect("find");
        assert_eq!(hits.len(), 1);
        let key = hits[0].key.as_ref().expect("key");
        assert_eq!(key.value, "reg.example");
        assert_eq!(&text[key.span.clone()], "\"reg.example\"");
        assert_eq!(
            hits[0]
                .value
                .get("username")
                .and_then(Node::as_scalar)
                .expect("u")
                .value,
            "{{u}}"
        );
    }

    #[test]
    fn escapes_decode() {
        let text = r#"{"a\/b":"x\"y\u00e9"}"#;
        let doc = parse(Path::new("x"), text, text).expect("parses");
        assert_eq!(
            doc.get("a/b").and_then(Node::as_scalar).expect("v").value,
            "x\"yé"
        );
    }

    #[test]
    fn broken_json_is_located() {
        let text = "{\n  \"a\": 1,\n  \"b\" 2\n}";
        let err = parse(Path::new("x.json"), text, text)
            .expect_err("broken")
            .to_string();
        assert_eq!(
            err,
            "x.json:3:7: JSON does not parse: expected `:`, found `2`"
        );
    }
}
