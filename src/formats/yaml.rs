//! The YAML locator: builds a [`Node`] tree with exact byte spans from granit-parser events over
//! Jinja-masked text, and encodes new scalar values in the style the old one was written in.

use std::ops::Range;
use std::path::Path;

use granit_parser::{Event, Parser, ScalarStyle};

use crate::error::{Error, Result};
use crate::formats::tree::{Node, Scalar, Style};

/// Parses every document of `original`, scanning the Jinja-masked `masked` (same length).
/// A YAML file that may hold Jinja (a playbook, a vars file): masked, then parsed.
pub fn parse_masked(path: &str, text: &str) -> Result<Vec<Node>> {
    parse(Path::new(path), text, &crate::formats::jinja::mask(text))
}

pub fn parse(path: &Path, original: &str, masked: &str) -> Result<Vec<Node>> {
    debug_assert_eq!(original.len(), masked.len());
    let masked = &tags_in_blocks(original, masked);
    let mut parser = Parser::new_from_str(masked);
    let mut builder = Builder {
        original,
        stack: Vec::new(),
        docs: Vec::new(),
        too_deep: None,
    };
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let offset = e
                .marker()
                .byte_offset()
                .unwrap_or_else(|| char_to_byte(masked, e.marker().index()));
            Error::at(
                path,
                original,
                offset,
                format!("YAML does not parse: {}", e.info()),
            )
        })?;
        let start = span
            .start
            .byte_offset()
            .unwrap_or_else(|| char_to_byte(masked, span.start.index()));
        let end = span
            .end
            .byte_offset()
            .unwrap_or_else(|| char_to_byte(masked, span.end.index()));
        builder.event(event, start..end);
        if let Some(at) = builder.too_deep {
            return Err(Error::at(
                path,
                original,
                at,
                format!(
                    "YAML nests deeper than {} levels (refused: no configuration needs it)",
                    crate::formats::MAX_NESTING
                ),
            ));
        }
    }
    Ok(builder.docs)
}

/// An empty value (`key:`) is reported where its key ends; it is written after the colon
/// (where an edit inserts a value), so that is its place.
fn after_colon(text: &str, span: Range<usize>) -> Range<usize> {
    let rest = text.get(span.start..).unwrap_or("");
    let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    match rest[spaces..].starts_with(':') {
        true => {
            let at = span.start + spaces + 1;
            at..at
        }
        false => span,
    }
}

/// `masked` with the Jinja tag lines inside block scalars (`shell: |` then `{% for %}`) read as
/// text again: masking turns them into blank lines, and a block scalar whose first line is
/// blank but longer than its indentation does not parse, while YAML (and Ansible) read the tag
/// line as the scalar's first line. Offsets are kept; a tag becomes `x`s.
fn tags_in_blocks<'m>(original: &str, masked: &'m str) -> std::borrow::Cow<'m, str> {
    if !original.contains("{%") && !original.contains("{#") {
        return std::borrow::Cow::Borrowed(masked);
    }
    // Copied on the first tag line found in a block scalar: most files hold none.
    let mut out: Option<Vec<u8>> = None;
    // The indentation of the line opening the block scalar we are in.
    let mut block: Option<usize> = None;
    let mut offset = 0;
    for line in original.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let body = content.trim_start_matches(' ');
        let indent = content.len() - body.len();
        if body.is_empty() {
            continue;
        }
        if let Some(at) = block {
            if indent > at {
                if body.starts_with("{%") || body.starts_with("{#") {
                    let out = out.get_or_insert_with(|| masked.as_bytes().to_vec());
                    for b in &mut out[start + indent..start + content.len()] {
                        if *b == b' ' {
                            *b = b'x';
                        }
                    }
                }
                continue;
            }
            block = None;
        }
        if opens_block(&masked[start..start + content.len()]) {
            block = Some(indent);
        }
    }
    // Only spaces became `x`, at char boundaries of ASCII: the text stays UTF-8.
    match out {
        Some(bytes) => {
            std::borrow::Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| masked.to_string()))
        }
        None => std::borrow::Cow::Borrowed(masked),
    }
}

/// Whether a (masked) line ends by opening a block scalar: `key: |`, `- >-`, `key: |2+`, maybe
/// with a comment after.
fn opens_block(line: &str) -> bool {
    let line = match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    };
    let line = line.trim_end();
    let Some(at) = line.rfind(['|', '>']) else {
        return false;
    };
    let indicators = &line[at + 1..];
    let before = line[..at].trim_end();
    indicators
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-')
        && (before.ends_with(':') || before.ends_with('-') || before.ends_with("!vault"))
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

struct Builder<'t> {
    original: &'t str,
    /// Open collections: (is mapping, flow, start, children).
    stack: Vec<(bool, bool, usize, Vec<Node>)>,
    docs: Vec<Node>,
    /// Where a collection opened past [`crate::formats::MAX_NESTING`] levels.
    too_deep: Option<usize>,
}

impl Builder<'_> {
    /// Whether the next node is a mapping's value (its key already pushed).
    fn at_value(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|(is_map, _, _, children)| *is_map && children.len() % 2 == 1)
    }

    fn event(&mut self, event: Event<'_>, span: Range<usize>) {
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        if opens && self.stack.len() >= crate::formats::MAX_NESTING {
            self.too_deep = Some(span.start);
            return;
        }
        match event {
            Event::MappingStart(style, ..) => {
                self.stack.push((
                    true,
                    style == granit_parser::StructureStyle::Flow,
                    span.start,
                    Vec::new(),
                ));
            }
            Event::SequenceStart(style, ..) => {
                self.stack.push((
                    false,
                    style == granit_parser::StructureStyle::Flow,
                    span.start,
                    Vec::new(),
                ));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some((is_map, flow, start, children)) = self.stack.pop() else {
                    return;
                };
                let span = start..span.end.max(start);
                let node = if is_map {
                    let mut entries = Vec::new();
                    let mut it = children.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        entries.push((k, v));
                    }
                    Node::Mapping {
                        entries,
                        flow,
                        span,
                    }
                } else {
                    Node::Sequence {
                        items: children,
                        span,
                    }
                };
                self.push(node);
            }
            Event::Scalar(_, style, ..) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::Single,
                    ScalarStyle::DoubleQuoted => Style::Double,
                    ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                };
                let value = if style == Style::Block {
                    decode_block(self.original, span.clone())
                } else {
                    decode(self.original.get(span.clone()).unwrap_or(""), style)
                };
                let span = if style == Style::Plain && span.is_empty() && self.at_value() {
                    after_colon(self.original, span)
                } else {
                    span
                };
                self.push(Node::Scalar(Scalar { span, style, value }));
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => self.push(Node::Alias(span)),
            _ => {}
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some((.., children)) => children.push(node),
            None => self.docs.push(node),
        }
    }
}

/// Decodes a scalar's source text (quotes included) to its value.
pub fn decode(raw: &str, style: Style) -> String {
    match style {
        Style::Plain => fold_lines(raw.trim()),
        Style::Single => {
            let inner = raw
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .unwrap_or(raw);
            fold_lines(inner).replace("''", "'")
        }
        Style::Double => {
            let inner = raw
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(raw);
            unescape_double(inner)
        }
        Style::Block => String::new(),
    }
}

/// Decodes a block scalar (`|` or `>`, with `-`/`+` chomping) from the original text; `span` is
/// the content span the parser reports (first content line's text through the end).
pub fn decode_block(text: &str, span: Range<usize>) -> String {
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let header_line = text[..start.saturating_sub(1)]
        .rsplit('\n')
        .next()
        .unwrap_or("");
    let header = header_line.trim_end().rsplit(' ').next().unwrap_or("");
    let folded = header.starts_with('>');
    let chomp = header.chars().find(|c| *c == '-' || *c == '+');
    let body = text.get(start..span.end.min(text.len())).unwrap_or("");
    let lines: Vec<&str> = body.lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            // Folding: a break between two plain lines is a space; a break before empty lines is
            // dropped (the empty lines each stand for one); more-indented lines keep theirs.
            let prev = lines[i - 1];
            let plain = |l: &str| !l.is_empty() && !l.starts_with([' ', '\t']);
            match (folded && plain(prev), line.is_empty(), plain(line)) {
                (true, true, _) => {}
                (true, false, true) => out.push(' '),
                _ => out.push('\n'),
            }
        }
        out.push_str(line);
    }
    let content = out.trim_end_matches('\n').to_string();
    match chomp {
        Some('-') => content,
        Some('+') => out + "\n",
        _ if content.is_empty() => content,
        _ => content + "\n",
    }
}

fn fold_lines(text: &str) -> String {
    if !text.contains('\n') {
        return text.to_string();
    }
    text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

fn unescape_double(inner: &str) -> String {
    let folded = fold_lines(inner);
    let mut out = String::with_capacity(folded.len());
    let mut chars = folded.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('x') => push_hex(&mut out, &mut chars, 2),
            Some('u') => push_hex(&mut out, &mut chars, 4),
            Some('U') => push_hex(&mut out, &mut chars, 8),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn push_hex(out: &mut String, chars: &mut std::str::Chars<'_>, n: usize) {
    let hex: String = chars.by_ref().take(n).collect();
    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
        out.push(c);
    }
}

/// Encodes `value` to replace a scalar written in `style`: the returned text replaces the whole
/// scalar span. Plain values that would not read back as the same string become double-quoted.
pub fn encode(value: &str, style: Style, in_flow: bool) -> String {
    match style {
        Style::Single if !value.contains('\n') => format!("'{}'", value.replace('\'', "''")),
        Style::Plain if plain_safe(value, in_flow) => value.to_string(),
        _ => {
            let mut out = String::with_capacity(value.len() + 2);
            out.push('"');
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

fn plain_safe(value: &str, in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && value.trim() == value
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !value.contains('\n')
        && !(in_flow && value.contains([',', '[', ']', '{', '}']))
}

/// Parses the document inside a block scalar in place: every byte outside the scalar's content
/// lines is blanked, so spans still index the original file.
pub fn embedded(scalar: &Scalar, path: &Path, original: &str, masked: &str) -> Result<Vec<Node>> {
    let start = masked[..scalar.span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = scalar.span.end.min(masked.len());
    let blank = |s: &str| {
        s.bytes()
            .map(|b| if b == b'\n' { '\n' } else { ' ' })
            .collect::<String>()
    };
    let inner = format!(
        "{}{}{}",
        blank(&masked[..start]),
        &masked[start..end],
        blank(&masked[end..])
    );
    parse(path, original, &inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jinja::mask;
    use crate::formats::tree::{Hit, TreePath};

    fn find(text: &str, path: &str) -> Vec<Hit> {
        let masked = mask(text);
        let docs = parse(Path::new("t.yml"), text, &masked).expect("parses");
        TreePath::parse(path)
            .expect("path")
            .find(Path::new("t.yml"), text, &masked, &docs)
            .expect("find")
    }

    fn raw<'t>(text: &'t str, hit: &Hit) -> &'t str {
        let s = hit.value.as_scalar().expect("scalar");
        &text[s.span.clone()]
    }

    #[test]
    fn quoted_spans_stop_at_the_quote() {
        let text = "a: 'x'   # c\nb: \"y\\\"z\"\n";
        assert_eq!(raw(text, &find(text, "a")[0]), "'x'");
        let b = &find(text, "b")[0];
        assert_eq!(raw(text, b), "\"y\\\"z\"");
        assert_eq!(b.value.as_scalar().expect("scalar").value, "y\"z");
    }

    #[test]
    fn filters_and_wildcards_in_a_playbook() {
        let text = "- hosts: x\n  roles:\n  - base\n  - role: login-registry\n    candidate_registry: \"h.example\"\n  - {\n    role: login-registry,\n      candidate_registry: \"s.example\",\n  }\n";
        let hits = find(text, "*.roles.*[role=login-registry].candidate_registry");
        let values: Vec<&str> = hits.iter().map(|h| raw(text, h)).collect();
        assert_eq!(values, ["\"h.example\"", "\"s.example\""]);
    }

    #[test]
    fn jinja_values_keep_their_original_text() {
        let text = "k: \"{{ a }}:{{b}}\"\nv: {{ x }}\n";
        assert_eq!(
            find(text, "k")[0].value.as_scalar().expect("s").value,
            "{{ a }}:{{b}}"
        );
        assert_eq!(
            find(text, "v")[0].value.as_scalar().expect("s").value,
            "{{ x }}"
        );
    }

    #[test]
    fn embedded_document_spans_index_the_file() {
        let text = "data:\n  config.yaml: |-\n    a: 1\n{% if env == 'staging' %}\n    b: x{{ s }}\n{% endif %}\n    reg:\n        url: https://h.example/\n";
        let hits = find(text, "data.\"config.yaml\"::reg.url");
        assert_eq!(hits.len(), 1);
        assert_eq!(raw(text, &hits[0]), "https://h.example/");
    }

    #[test]
    fn block_scalars_decode_from_the_original() {
        let text =
            "a: >\n  template src=\"{{ f }}/x\"\n  dest=/y\n\n  end\nb: |-\n    l1\n    l2\nc: x\n";
        let masked = mask(text);
        let docs = parse(Path::new("t.yml"), text, &masked).expect("parses");
        let get = |k: &str| {
            docs[0]
                .get(k)
                .and_then(Node::as_scalar)
                .expect("scalar")
                .value
                .clone()
        };
        assert_eq!(get("a"), "template src=\"{{ f }}/x\" dest=/y\nend\n");
        assert_eq!(get("b"), "l1\nl2");
    }

    #[test]
    fn broken_yaml_is_located() {
        let text = "a: [1, 2\nb: c\n";
        let err = parse(Path::new("t.yml"), text, text).expect_err("broken");
        assert!(err.to_string().starts_with("t.yml:"), "{err}");
    }

    #[test]
    fn encode_keeps_style_or_quotes_when_needed() {
        assert_eq!(encode("quay.io", Style::Plain, false), "quay.io");
        assert_eq!(encode("{{ a }}", Style::Plain, false), "\"{{ a }}\"");
        assert_eq!(encode("it's", Style::Single, false), "'it''s'");
        assert_eq!(encode("a\"b", Style::Double, false), "\"a\\\"b\"");
        assert_eq!(encode("a,b", Style::Plain, true), "\"a,b\"");
    }

    proptest::proptest! {
        /// A value encoded in any style reads back as the same value.
        #[test]
        fn encoded_values_read_back(value in r#"[a-z0-9.:/{}' "\#,_-]{1,30}"#, style in 0usize..3, flow in proptest::bool::ANY) {
            let style = [Style::Plain, Style::Single, Style::Double][style];
            let encoded = encode(&value, style, flow);
            let text = if flow { format!("{{k: {encoded}, z: 1}}\n") } else { format!("k: {encoded}\n") };
            let docs = parse(Path::new("p.yml"), &text, &text);
            proptest::prop_assert!(docs.is_ok(), "{text}");
            let docs = docs.unwrap_or_default();
            let got = docs.first().and_then(|d| d.get("k")).and_then(Node::as_scalar).map(|s| s.value.clone());
            proptest::prop_assert_eq!(got.as_deref(), Some(value.as_str()), "{}", text);
        }
    }

    #[test]
    fn a_tag_line_opening_a_block_scalar_is_its_text() {
        let text =
            "a:\n  shell: |\n    {% for x in y %}\n    echo {{ x }}\n    {% endfor %}\nb: 1\n";
        let docs = parse(Path::new("p.yml"), text, &crate::formats::jinja::mask(text))
            .expect("parses as PyYAML does");
        let shell = docs[0].get("a").and_then(|a| a.get("shell"));
        let value = shell.and_then(Node::as_scalar).map(|s| s.value.clone());
        assert_eq!(
            value.as_deref(),
            Some("{% for x in y %}\necho {{ x }}\n{% endfor %}\n")
        );
        // Outside a block scalar a tag line stays blank (it is no mapping entry).
        let plain = "a: 1\n{% if x %}\nb: 2\n{% endif %}\n";
        assert!(
            parse(
                Path::new("p.yml"),
                plain,
                &crate::formats::jinja::mask(plain)
            )
            .is_ok()
        );
        assert!(opens_block("  key: |-  # note") && opens_block("- >2") && !opens_block("a: b|c"));
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(TreePath::parse("a..b").is_err());
        assert!(TreePath::parse("a[b").is_err());
        assert!(TreePath::parse("a[b]").is_err());
        assert!(TreePath::parse("\"a").is_err());
    }
}
