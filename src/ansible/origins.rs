//! Where each part of a rendering comes from (SPEC §2, sites and provenance): the template is
//! rendered a second time with every `{{ … }}` wrapped in invisible markers that carry the
//! expression's place in the source; the markers are taken out again, and what lay between
//! them is that expression's output. Everything else is the template's own text (or what an
//! `{% include %}` brought in). When the marked rendering, markers removed, is not exactly the
//! plain one (a filter that rewrote a marker, such as `b64encode` over a macro's output), no
//! origins are claimed.

use std::ops::Range;

/// Opens a marked expression output: followed by the expression's index, then [`SEP`].
const OPEN: char = '\u{E000}';
const SEP: char = '\u{E001}';
const CLOSE: char = '\u{E002}';

/// One expression's output in a rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Its bytes in the rendering.
    pub rendered: Range<usize>,
    /// The `{{ … }}` that produced it, in the template source.
    pub source: Range<usize>,
}

/// The source with every `{{ … }}` wrapped in markers, and the expressions' spans in order;
/// `None` when the source already holds a marker character.
pub fn mark(source: &str) -> Option<(String, Vec<Range<usize>>)> {
    if source.contains([OPEN, SEP, CLOSE]) {
        return None;
    }
    let mut out = String::with_capacity(source.len() + source.len() / 8);
    let mut spans = Vec::new();
    let mut rest = 0;
    while let Some(open) = source[rest..].find("{{").map(|i| rest + i) {
        let Some(close) = source[open..].find("}}").map(|i| open + i + 2) else {
            break;
        };
        // `{{-` and `-}}` strip the whitespace beside them: the markers go outside it, so the
        // stripping still reaches the text it strips.
        let before = if source[open..].starts_with("{{-") {
            rest + source[rest..open].trim_end().len()
        } else {
            open
        };
        let after = if source[..close].ends_with("-}}") {
            close + (source[close..].len() - source[close..].trim_start().len())
        } else {
            close
        };
        out.push_str(&source[rest..before]);
        out.push(OPEN);
        out.push_str(&spans.len().to_string());
        out.push(SEP);
        out.push_str(&source[before..after]);
        out.push(CLOSE);
        spans.push(open..close);
        rest = after;
    }
    out.push_str(&source[rest..]);
    Some((out, spans))
}

/// The plain text of a marked rendering and each expression's output in it (innermost first
/// when outputs nest: a macro's expression inside the expression calling it). `None` when the
/// markers do not pair up.
pub fn unmark(marked: &str, spans: &[Range<usize>]) -> Option<(String, Vec<Origin>)> {
    let mut text = String::with_capacity(marked.len());
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut origins = Vec::new();
    let mut chars = marked.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            OPEN => {
                let mut digits = String::new();
                for (_, d) in chars.by_ref() {
                    if d == SEP {
                        break;
                    }
                    digits.push(d);
                }
                open.push((digits.parse().ok()?, text.len()));
            }
            CLOSE => {
                let (index, start) = open.pop()?;
                origins.push(Origin {
                    rendered: start..text.len(),
                    source: spans.get(index)?.clone(),
                });
            }
            SEP => return None,
            c => text.push(c),
        }
    }
    open.is_empty().then_some((text, origins))
}

/// The expression whose output holds `offset` of the rendering (the innermost).
pub fn at(origins: &[Origin], offset: usize) -> Option<&Origin> {
    origins
        .iter()
        .filter(|o| o.rendered.start <= offset && offset < o.rendered.end)
        .min_by_key(|o| o.rendered.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_map_back_to_their_expressions() {
        let source = "a: {{ x }}\nb: lit\nc: {{ y | upper }}\n";
        let (marked, spans) = mark(source).expect("marks");
        // As a renderer would write it, x = "1", y = "two".
        let rendered = marked
            .replace("{{ x }}", "1")
            .replace("{{ y | upper }}", "TWO");
        let (text, origins) = unmark(&rendered, &spans).expect("pairs");
        assert_eq!(text, "a: 1\nb: lit\nc: TWO\n");
        let two = text.find("TWO").expect("in text");
        let o = at(&origins, two).expect("an expression");
        assert_eq!(&source[o.source.clone()], "{{ y | upper }}");
        assert!(at(&origins, text.find("lit").expect("lit")).is_none());
    }

    #[test]
    fn nested_outputs_name_the_innermost() {
        let spans = vec![0..5, 10..15];
        let marked = format!("{OPEN}0{SEP}x{OPEN}1{SEP}y{CLOSE}z{CLOSE}");
        let (text, origins) = unmark(&marked, &spans).expect("pairs");
        assert_eq!(text, "xyz");
        assert_eq!(at(&origins, 1).map(|o| o.source.clone()), Some(10..15));
        assert_eq!(at(&origins, 2).map(|o| o.source.clone()), Some(0..5));
    }

    #[test]
    fn broken_markers_claim_nothing() {
        let spans = vec![0..1, 1..2];
        assert!(unmark(&format!("{OPEN}0{SEP}x"), &spans).is_none());
        assert!(unmark(&format!("x{CLOSE}"), &spans).is_none());
        assert!(mark("already \u{E000}").is_none());
    }
}
