//! The node tree that the YAML and JSON locators build, and the dotted paths rules use to find
//! nodes in it. Every node keeps the byte span it was written at; values are decoded from the
//! original (unmasked) text.
//!
//! Path syntax: segments separated by `.`; `"a.b"` quotes a key holding dots; `*` matches any
//! mapping value or sequence item; `a|b` matches either key; `*[k=v,k2=v2]` (or `key[k=v]`) keeps only mappings whose `k`
//! is the scalar `v`; `::` steps into a block scalar that holds a YAML document.

use std::ops::Range;
use std::path::Path;

use crate::error::Result;
use crate::formats::yaml;

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
    Block,
}

#[derive(Debug, Clone)]
pub struct Scalar {
    /// The whole scalar as written, quotes included.
    pub span: Range<usize>,
    pub style: Style,
    /// The decoded value, read from the original (unmasked) text; empty for block scalars.
    pub value: String,
}

#[derive(Debug, Clone)]
pub enum Node {
    Scalar(Scalar),
    Mapping {
        entries: Vec<(Node, Node)>,
        flow: bool,
        span: Range<usize>,
    },
    Sequence {
        items: Vec<Node>,
        span: Range<usize>,
    },
    Alias(Range<usize>),
}

impl Node {
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// Where the node is written.
    pub fn span(&self) -> Range<usize> {
        match self {
            Node::Scalar(s) => s.span.clone(),
            Node::Mapping { span, .. } | Node::Sequence { span, .. } | Node::Alias(span) => {
                span.clone()
            }
        }
    }

    /// The mapping entry whose value starts at `offset`, anywhere under this node.
    pub fn entry_at(&self, offset: usize) -> Option<Hit> {
        match self {
            Node::Mapping { entries, .. } => entries.iter().find_map(|(k, v)| {
                if v.span().start == offset {
                    Some(Hit {
                        key: k.as_scalar().cloned(),
                        value: v.clone(),
                        parent: Some(self.clone()),
                        when: None,
                    })
                } else {
                    v.entry_at(offset)
                }
            }),
            Node::Sequence { items, .. } => items.iter().find_map(|i| i.entry_at(offset)),
            _ => None,
        }
    }

    /// Every scalar under this node with the keys (and `[]` for sequence items) leading to it:
    /// what a rendering holds, independent of how it is written. A scalar's value is its
    /// decoded text (a block scalar: as written); a multi-line value gives one leaf per line
    /// (path ending in `|`), so a change inside a long text names the line.
    pub fn leaves(&self, text: &str) -> Vec<Leaf> {
        let mut out = Vec::new();
        self.collect_leaves(text, &mut Vec::new(), &mut out, 0);
        out
    }

    fn collect_leaves(
        &self,
        text: &str,
        path: &mut Vec<String>,
        out: &mut Vec<Leaf>,
        depth: usize,
    ) {
        // Parsers bound nesting already; this bound only keeps the walk finite on any input.
        if depth > MAX_DEPTH {
            return;
        }
        match self {
            Node::Scalar(s) => {
                let value = match s.style {
                    Style::Block => text.get(s.span.clone()).unwrap_or_default(),
                    _ => s.value.as_str(),
                };
                if value.contains('\n') {
                    // A block scalar's lines are where they are written; a quoted one's are
                    // all placed at its start.
                    let block = s.style == Style::Block;
                    path.push("|".into());
                    let mut offset = s.span.start;
                    for line in value.split_inclusive('\n') {
                        let at = if block { offset } else { s.span.start };
                        out.push(Leaf::new(path, line.trim_end_matches(['\n', '\r']), at));
                        offset += line.len();
                    }
                    path.pop();
                } else {
                    out.push(Leaf::new(path, value, s.span.start));
                }
            }
            Node::Mapping { entries, .. } => {
                for (k, v) in entries {
                    let key = k.as_scalar().map_or_else(String::new, |s| s.value.clone());
                    path.push(key);
                    v.collect_leaves(text, path, out, depth + 1);
                    path.pop();
                }
            }
            Node::Sequence { items, .. } => {
                path.push("[]".into());
                for item in items {
                    item.collect_leaves(text, path, out, depth + 1);
                }
                path.pop();
            }
            Node::Alias(_) => {}
        }
    }

    /// The keys leading to the innermost node whose span holds `offset` (`[]` for a sequence
    /// item; a key holding it counts as its entry), and that node's span.
    pub fn keys_to(&self, offset: usize) -> (Vec<String>, Range<usize>) {
        let mut keys = Vec::new();
        let mut node = self;
        for _ in 0..MAX_DEPTH {
            let next = match node {
                Node::Mapping { entries, .. } => entries.iter().find_map(|(k, v)| {
                    let holds = |n: &Node| n.span().contains(&offset);
                    (holds(k) || holds(v)).then(|| {
                        let key = k.as_scalar().map_or_else(String::new, |s| s.value.clone());
                        (Some(key), if holds(k) { k } else { v })
                    })
                }),
                Node::Sequence { items, .. } => items
                    .iter()
                    .find(|i| i.span().contains(&offset))
                    .map(|i| (Some("[]".to_string()), i)),
                _ => None,
            };
            let Some((key, child)) = next else { break };
            keys.extend(key);
            node = child;
        }
        (keys, node.span())
    }

    /// The value of mapping entry `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Mapping { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.as_scalar().is_some_and(|s| s.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// How deep a walk over a parsed tree goes.
const MAX_DEPTH: usize = 512;

/// One scalar of a parsed document with the keys leading to it (see [`Node::leaves`]). Leaves
/// compare by path and value; `at` only says where the value is written.
#[derive(Debug, Clone, Default)]
pub struct Leaf {
    pub path: Vec<String>,
    pub value: String,
    /// The value's byte offset in the parsed text.
    pub at: usize,
}

impl PartialEq for Leaf {
    fn eq(&self, other: &Leaf) -> bool {
        (&self.path, &self.value) == (&other.path, &other.value)
    }
}

impl Eq for Leaf {}

impl PartialOrd for Leaf {
    fn partial_cmp(&self, other: &Leaf) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Leaf {
    fn cmp(&self, other: &Leaf) -> std::cmp::Ordering {
        (&self.path, &self.value).cmp(&(&other.path, &other.value))
    }
}

impl Leaf {
    fn new(path: &[String], value: &str, at: usize) -> Leaf {
        Leaf {
            path: path.to_vec(),
            value: value.to_string(),
            at,
        }
    }

    /// The path as a reader would write it: `a.b[].c`.
    pub fn dotted(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            if !out.is_empty() && seg != "[]" && seg != "|" {
                out.push('.');
            }
            out.push_str(seg);
        }
        out
    }
}

/// A node found by a path: the key scalar that led to it (for mapping values) and its value.
#[derive(Debug, Clone)]
pub struct Hit {
    pub key: Option<Scalar>,
    pub value: Node,
    /// The mapping holding the entry, when there is one.
    pub parent: Option<Node>,
    /// The `when:` that decides where the value is used, when it is not the parent's own (a role
    /// parameter given in an including task's `vars:`).
    pub when: Option<Node>,
}

/// One segment of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    /// `a|b`: any of these keys.
    OneOf(Vec<String>),
    Any,
    /// Steps into a block scalar holding a YAML document.
    Embedded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    segment: Segment,
    /// `[k=v,…]`: the matched node must be a mapping whose `k` is `v`.
    filters: Filters,
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreePath {
    steps: Vec<Step>,
    source: String,
}

impl std::fmt::Display for TreePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl TreePath {
    pub fn parse(source: &str) -> std::result::Result<TreePath, String> {
        let mut steps = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("::") {
                steps.push(Step {
                    segment: Segment::Embedded,
                    filters: Vec::new(),
                });
                rest = r;
                continue;
            }
            rest = rest.strip_prefix('.').unwrap_or(rest);
            let (segment, r) = if let Some(r) = rest.strip_prefix('"') {
                let close = r
                    .find('"')
                    .ok_or_else(|| format!("unclosed quote in path `{source}`"))?;
                (Segment::Key(r[..close].to_string()), &r[close + 1..])
            } else {
                let end = rest.find(['.', '[', ':']).unwrap_or(rest.len());
                let word = &rest[..end];
                if word.is_empty() {
                    return Err(format!("empty segment in path `{source}`"));
                }
                let seg = if word == "*" {
                    Segment::Any
                } else if word.contains('|') {
                    Segment::OneOf(word.split('|').map(str::to_string).collect())
                } else {
                    Segment::Key(word.to_string())
                };
                (seg, &rest[end..])
            };
            let (filters, r) = parse_filters(r, source)?;
            steps.push(Step { segment, filters });
            rest = r;
            if !(rest.is_empty() || rest.starts_with('.') || rest.starts_with("::")) {
                return Err(format!("unexpected `{rest}` in path `{source}`"));
            }
        }
        if steps.is_empty() {
            return Err("empty path".to_string());
        }
        Ok(TreePath {
            steps,
            source: source.to_string(),
        })
    }

    /// The path to the mapping holding the last key, and that key, when the last step is one
    /// plain key (no `*`, `a|b`, filter or embedded document anywhere): where a missing value
    /// can be added. `None` as the parent means the document itself.
    pub fn parent_and_key(&self) -> Option<(Option<TreePath>, String)> {
        let plain = |s: &Step| matches!(s.segment, Segment::Key(_)) && s.filters.is_empty();
        if !self.steps.iter().all(plain) {
            return None;
        }
        let (last, parent) = self.steps.split_last()?;
        let Segment::Key(key) = &last.segment else {
            return None;
        };
        let parent = (!parent.is_empty()).then(|| TreePath {
            steps: parent.to_vec(),
            source: self
                .source
                .rsplit_once('.')
                .map_or_else(String::new, |(p, _)| p.to_string()),
        });
        Some((parent, key.clone()))
    }

    /// The path up to its first `::` and the path inside that embedded document, when it steps
    /// into one.
    pub fn split_embedded(&self) -> Option<(TreePath, TreePath)> {
        let at = self
            .steps
            .iter()
            .position(|s| s.segment == Segment::Embedded)?;
        let (outer, inner) = (&self.steps[..at], &self.steps[at + 1..]);
        let (outer_source, inner_source) = self.source.split_once("::")?;
        (!outer.is_empty() && !inner.is_empty()).then(|| {
            (
                TreePath {
                    steps: outer.to_vec(),
                    source: outer_source.to_string(),
                },
                TreePath {
                    steps: inner.to_vec(),
                    source: inner_source.to_string(),
                },
            )
        })
    }

    /// Every node the path reaches in `docs`. `masked` is the text the documents were parsed
    /// from (needed to step into embedded documents).
    pub fn find(
        &self,
        path: &Path,
        original: &str,
        masked: &str,
        docs: &[Node],
    ) -> Result<Vec<Hit>> {
        let mut hits = Vec::new();
        for doc in docs {
            let start = Hit {
                key: None,
                value: doc.clone(),
                parent: None,
                when: None,
            };
            self.walk(&self.steps, start, path, original, masked, &mut hits)?;
        }
        Ok(hits)
    }

    fn walk(
        &self,
        steps: &[Step],
        at: Hit,
        path: &Path,
        original: &str,
        masked: &str,
        out: &mut Vec<Hit>,
    ) -> Result<()> {
        let Some((step, rest)) = steps.split_first() else {
            out.push(at);
            return Ok(());
        };
        for next in children(step, &at.value, path, original, masked)? {
            if step.filters.iter().all(|(k, v)| {
                next.value
                    .get(k)
                    .and_then(Node::as_scalar)
                    .is_some_and(|s| &s.value == v)
            }) {
                self.walk(rest, next, path, original, masked, out)?;
            }
        }
        Ok(())
    }
}

type Filters = Vec<(String, String)>;

/// `"x"` or `'x'` → `x`; anything else as it is.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn parse_filters<'a>(
    rest: &'a str,
    source: &str,
) -> std::result::Result<(Filters, &'a str), String> {
    let Some(r) = rest.strip_prefix('[') else {
        return Ok((Vec::new(), rest));
    };
    let close = r
        .find(']')
        .ok_or_else(|| format!("unclosed `[` in path `{source}`"))?;
    let filters = r[..close]
        .split(',')
        .map(|cond| {
            cond.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), unquote(v.trim()).to_string()))
                .ok_or_else(|| format!("filter `{cond}` in path `{source}` is not key=value"))
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok((filters, &r[close + 1..]))
}

fn children(
    step: &Step,
    node: &Node,
    path: &Path,
    original: &str,
    masked: &str,
) -> Result<Vec<Hit>> {
    let hits = match (&step.segment, node) {
        (Segment::Key(key), Node::Mapping { entries, .. }) => entries
            .iter()
            .filter(|(k, _)| k.as_scalar().is_some_and(|s| &s.value == key))
            .map(|(k, v)| Hit {
                key: k.as_scalar().cloned(),
                value: v.clone(),
                parent: Some(node.clone()),
                when: None,
            })
            .collect(),
        (Segment::OneOf(keys), Node::Mapping { entries, .. }) => entries
            .iter()
            .filter(|(k, _)| k.as_scalar().is_some_and(|s| keys.contains(&s.value)))
            .map(|(k, v)| Hit {
                key: k.as_scalar().cloned(),
                value: v.clone(),
                parent: Some(node.clone()),
                when: None,
            })
            .collect(),
        (Segment::Any, Node::Mapping { entries, .. }) => entries
            .iter()
            .map(|(k, v)| Hit {
                key: k.as_scalar().cloned(),
                value: v.clone(),
                parent: Some(node.clone()),
                when: None,
            })
            .collect(),
        (Segment::Any, Node::Sequence { items, .. }) => items
            .iter()
            .map(|v| Hit {
                key: None,
                value: v.clone(),
                parent: None,
                when: None,
            })
            .collect(),
        (Segment::Embedded, Node::Scalar(s)) if s.style == Style::Block => {
            yaml::embedded(s, path, original, masked)?
                .into_iter()
                .map(|doc| Hit {
                    key: None,
                    value: doc,
                    parent: None,
                    when: None,
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(hits)
}
