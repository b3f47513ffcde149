//! The INI locator, following Python configparser's reading rules (what PasteDeploy apps
//! use): `[section]` headers, `key = value` or `key: value`, full-line `#`/`;` comments, no
//! inline comments, indented continuation lines. Runs on Jinja-masked text: tag lines read as
//! blank, and a line that holds only Jinja is opaque. Returns spans; never rewrites a file.

use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: String,
    pub key: String,
    /// The whole logical line(s), from the line start through the final newline.
    pub line: Range<usize>,
    /// The value text on the first line (trimmed), continuation lines included.
    pub value: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// From the header line's start to the start of the next header (or the end).
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Ini {
    pub sections: Vec<Section>,
    pub entries: Vec<Entry>,
}

impl Ini {
    pub fn entries_in<'a>(&'a self, section: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.section == section)
    }
}

/// Scans `masked` (the Jinja-masked `original`).
pub fn parse(path: &Path, original: &str, masked: &str) -> Result<Ini> {
    let mut ini = Ini::default();
    let mut offset = 0;
    // (indent of the current option's line, index of its entry)
    let mut current: Option<(usize, usize)> = None;
    for line in masked.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let stripped = content.trim();
        let indent = content.len() - content.trim_start().len();
        // Indentation as rendered: a line opening with `{% if %}` is not a continuation line.
        let written = &original[start..offset];
        let rendered_indent = written.len() - written.trim_start_matches([' ', '\t']).len();
        if stripped.is_empty() || stripped.starts_with('#') || stripped.starts_with(';') {
            continue;
        }
        if let Some((opt_indent, idx)) = current
            && rendered_indent > opt_indent
        {
            let entry = &mut ini.entries[idx];
            entry.value.end = start + content.trim_end().len();
            entry.line.end = offset;
            continue;
        }
        if stripped.starts_with('[') && stripped.ends_with(']') {
            if let Some(last) = ini.sections.last_mut() {
                last.span.end = start;
            }
            ini.sections.push(Section {
                name: stripped[1..stripped.len() - 1].to_string(),
                span: start..masked.len(),
            });
            current = None;
            continue;
        }
        let Some(delim) = content.find(['=', ':']) else {
            if stripped
                .bytes()
                .all(|b| b == b'x' || b.is_ascii_whitespace())
            {
                continue; // a line made only of a Jinja expression: opaque
            }
            return Err(Error::at(
                path,
                original,
                start + indent,
                "INI does not parse: expected `[section]`, `key = value` or a comment",
            ));
        };
        let Some(section) = ini.sections.last() else {
            return Err(Error::at(
                path,
                original,
                start + indent,
                "INI does not parse: an option before any `[section]` header",
            ));
        };
        let key = original[start + indent..start + delim].trim().to_string();
        let after = &content[delim + 1..];
        let lead = after.len() - after.trim_start().len();
        let value_start = start + delim + 1 + lead;
        let value_end = (start + content.trim_end().len()).max(value_start);
        ini.entries.push(Entry {
            section: section.name.clone(),
            key,
            line: start..offset,
            value: value_start..value_end,
        });
        current = Some((rendered_indent, ini.entries.len() - 1));
    }
    Ok(ini)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jinja::mask;

    fn scan(text: &str) -> Ini {
        parse(Path::new("p.ini"), text, &mask(text)).expect("parses")
    }

    #[test]
    fn a_line_opening_with_a_jinja_tag_is_no_continuation() {
        let text = "[a]\nk = v\n{% if env == 'staging' %}pw = x{% endif %}\n";
        let ini = scan(text);
        let got: Vec<(&str, &str)> = ini
            .entries
            .iter()
            .map(|e| (e.key.as_str(), &text[e.value.clone()]))
            .collect();
        assert_eq!(got, [("k", "v"), ("pw", "x")]);
    }

    #[test]
    fn sections_keys_values_and_comments() {
        let text = "[app:main]\n# container.a = x\na.b = one ; not a comment\nc: two\n  more\n[other]\nd=\n";
        let ini = scan(text);
        let got: Vec<(&str, &str, &str)> = ini
            .entries
            .iter()
            .map(|e| (e.section.as_str(), e.key.as_str(), &text[e.value.clone()]))
            .collect();
        assert_eq!(
            got,
            [
                ("app:main", "a.b", "one ; not a comment"),
                ("app:main", "c", "two\n  more"),
                ("other", "d", "")
            ]
        );
        assert_eq!(
            ini.sections[0].span,
            0..text.find("[other]").expect("other")
        );
    }

    #[test]
    fn jinja_lines_are_transparent() {
        let text = "[s]\n{% if env == 'staging' %}\nk = {{ v }}\n{% endif %}\n{{ extra }}\n";
        let ini = scan(text);
        assert_eq!(ini.entries.len(), 1);
        assert_eq!(&text[ini.entries[0].value.clone()], "{{ v }}");
    }

    #[test]
    fn errors_are_located() {
        let err = parse(Path::new("p.ini"), "k = v\n", "k = v\n")
            .expect_err("no section")
            .to_string();
        assert_eq!(
            err,
            "p.ini:1:1: INI does not parse: an option before any `[section]` header"
        );
        let err = parse(Path::new("p.ini"), "[s]\n  junk\n", "[s]\n  junk\n")
            .expect_err("junk")
            .to_string();
        assert_eq!(
            err,
            "p.ini:2:3: INI does not parse: expected `[section]`, `key = value` or a comment"
        );
    }
}
