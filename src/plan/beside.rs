//! Side by side (SPEC §7.5) for targets that can hold two registries (a rule's
//! `side_by_side: add`: a second `login-registry` use, a second array table): the entry holding
//! the reference is written again right after itself, rewritten as cutover would rewrite it.
//! Cutover then finds the old entry followed by its rewritten copy and removes the old one, so
//! that side by side then cutover ends where cutover alone does, byte for byte.

use std::ops::Range;

use super::Claim;
use super::{Edit, Mode, Note, Planner, Source};
use crate::formats::jinja::Envs;
use crate::formats::tree::{Hit, Node};
use crate::rules::{ReferenceAction, Rule};

impl Planner<'_> {
    /// The edits of a `side_by_side: add` rule at one place, in the selected mode.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn beside(
        &self,
        src: &Source<'_>,
        nodes: &[Node],
        hit: &Hit,
        rule: &Rule,
        action: &ReferenceAction,
        notes: &mut Vec<Note>,
        claims: &mut Vec<Claim>,
    ) -> Vec<Edit> {
        let in_place = |notes: &mut Vec<Note>, claims: &mut Vec<Claim>| {
            if action.drop && self.listed_beside(nodes, hit, action) {
                super::tree_rules::drop_entry(src, rule, hit, self.selection.envs)
                    .into_iter()
                    .collect()
            } else {
                self.reference(src, hit, rule, action, notes, claims)
            }
        };
        let Some(entry) = entry_lines(src.text, nodes, hit) else {
            if self.selection.mode == Mode::Cutover {
                return in_place(notes, claims);
            }
            notes.push(Note::new(
                src.path,
                format!(
                    "rule `{}`: no list item or array table holds this place; it stays on the old \
                     registry",
                    rule.id
                ),
            ));
            return Vec::new();
        };
        let mut quiet = (Vec::new(), Vec::new());
        let edits = self.reference(src, hit, rule, action, &mut quiet.0, &mut quiet.1);
        let inside = edits
            .iter()
            .all(|e| entry.start <= e.range.start && e.range.end <= entry.end);
        let copy = inside
            .then(|| rewritten(src.text, &entry, &edits))
            .flatten();
        let follows = copy
            .as_ref()
            .is_some_and(|c| !c.is_empty() && src.text[entry.end..].starts_with(c.as_str()));
        match self.selection.mode {
            // The copy an earlier side-by-side run added follows: the old entry goes.
            Mode::Cutover if follows => {
                let envs = envs_of(&edits, self.selection.envs);
                vec![removal(src, rule, entry, envs)]
            }
            Mode::Cutover => in_place(notes, claims),
            // The new registry is already listed beside it: nothing to add.
            Mode::SideBySide if self.listed_beside(nodes, hit, action) => Vec::new(),
            Mode::SideBySide => {
                notes.extend(quiet.0);
                claims.extend(quiet.1);
                match copy {
                    // Nothing to rewrite, or the copy is already there.
                    Some(c) if edits.is_empty() || follows || c.is_empty() => Vec::new(),
                    Some(c) => {
                        let envs = envs_of(&edits, self.selection.envs);
                        vec![insertion(src, rule, entry.end, c, envs)]
                    }
                    None => {
                        notes.push(Note::new(
                            src.path,
                            format!(
                                "rule `{}`: the entry cannot be written again beside itself (its \
                                 edits reach outside it); it stays on the old registry",
                                rule.id
                            ),
                        ));
                        Vec::new()
                    }
                }
            }
        }
    }
}

/// The environments the edits change, within the selected ones.
fn envs_of(edits: &[Edit], selected: Envs) -> Envs {
    edits
        .iter()
        .fold(Envs::NONE, |a, e| a.union(e.envs))
        .intersect(selected)
}

/// The lines of the entry holding the hit: the innermost list item holding it from its line's
/// start (the `- `), or an array table from its `[[…]]` header, to the end of its last line
/// (comment lines after it belong to what follows).
fn entry_lines(text: &str, nodes: &[Node], hit: &Hit) -> Option<Range<usize>> {
    let parent = hit.parent.as_ref()?.span();
    let span = nodes
        .iter()
        .filter_map(|d| item_holding(d, &parent, 0))
        .min_by_key(|r| r.len())
        .unwrap_or(parent);
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let lead = &text[line_start..span.start];
    let start = if lead.trim().is_empty() && text[line_start..].starts_with("[[") {
        // The span starts at the table's header.
        line_start
    } else if lead.trim().is_empty() {
        // A table's keys start their line: its header is the line above.
        let header = text[..line_start.saturating_sub(1)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        if !text[header..line_start].trim_start().starts_with("[[") {
            return None;
        }
        header
    } else if lead.trim_start().starts_with('-') {
        line_start
    } else {
        return None;
    };
    let mut last = text[..span.end].trim_end().len().max(span.start);
    // Trailing comment lines inside the span are the next entry's.
    while let Some(line_at) = text[..last].rfind('\n').map(|i| i + 1) {
        if line_at <= span.start || !text[line_at..last].trim_start().starts_with('#') {
            break;
        }
        last = text[..line_at].trim_end().len();
    }
    let end = text[last..].find('\n').map_or(text.len(), |i| last + i + 1);
    Some(start..end)
}

/// The span of the innermost sequence item under `node` holding `span`.
fn item_holding(node: &Node, span: &Range<usize>, depth: usize) -> Option<Range<usize>> {
    if depth > 64 {
        return None;
    }
    let holds = |r: &Range<usize>| r.start <= span.start && span.end <= r.end;
    match node {
        Node::Sequence { items, .. } => items
            .iter()
            .find(|i| holds(&i.span()))
            .map(|i| item_holding(i, span, depth + 1).unwrap_or_else(|| i.span())),
        Node::Mapping { entries, .. } => entries.iter().find_map(|(_, v)| {
            holds(&v.span())
                .then(|| item_holding(v, span, depth + 1))
                .flatten()
        }),
        _ => None,
    }
}

/// The entry's text with `edits` made in it (`None` when it does not end with a newline).
fn rewritten(text: &str, entry: &Range<usize>, edits: &[Edit]) -> Option<String> {
    let part = &text[entry.clone()];
    if !part.ends_with('\n') {
        return None;
    }
    let splices: Vec<crate::edit::Splice> = edits
        .iter()
        .map(|e| crate::edit::Splice {
            range: e.range.start - entry.start..e.range.end - entry.start,
            text: e.new.clone(),
        })
        .collect();
    crate::edit::apply(part, &splices).ok()
}

fn insertion(src: &Source<'_>, rule: &Rule, at: usize, text: String, envs: Envs) -> Edit {
    Edit {
        path: src.path.to_string(),
        range: at..at,
        old: String::new(),
        new: text,
        rule: rule.id.clone(),
        envs,
        context: None,
        secret: false,
        target: Some(at..at),
    }
}

fn removal(src: &Source<'_>, rule: &Rule, entry: Range<usize>, envs: Envs) -> Edit {
    Edit {
        path: src.path.to_string(),
        old: src.text[entry.clone()].to_string(),
        range: entry,
        new: String::new(),
        rule: rule.id.clone(),
        envs,
        context: None,
        secret: false,
        target: None,
    }
}
