//! An edited file, parsed again, must differ from the original exactly by the planned values
//! (SPEC §6.5, issue 13.3): the same keys in the same places, the same values everywhere but at
//! the edits, nothing gone but what an edit deletes whole, nothing new but what an insertion adds
//! whole. A splice that lands beside a value instead of in it (`reg:` → `regnew.example:`) still
//! parses, and is caught here.
//!
//! Each document is read as its scalars, each with the keys leading to it ("skeleton"). The
//! scalar an edit means to change (its `target`, a key or a value), or one holding it (a block
//! scalar with a YAML document inside), is a wildcard; an edit without a target deletes whole
//! entries. A new scalar is matched to the target by mapping its span back through the edits
//! before it. The old skeletons, less those deleted, must equal the new ones, less those an
//! insertion adds with their key, as multisets.

use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result};
use crate::formats::tree::Node;

use super::Edit;

/// How deep the walk goes (the parsers bound nesting already).
const MAX_DEPTH: usize = 512;

/// A scalar with the keys leading to it: `(text, span)` per key (`[]` for a sequence item),
/// and its own value and span.
#[derive(Debug, Clone)]
struct Scalar {
    keys: Vec<(String, Range<usize>)>,
    value: String,
    span: Range<usize>,
}

/// What is compared: keys and value, each `None` where an edit touches it.
type Skeleton = (Vec<Option<String>>, Option<String>);

fn scalars(nodes: &[Node]) -> Vec<Scalar> {
    let mut out = Vec::new();
    for node in nodes {
        walk(node, &mut Vec::new(), &mut out, 0);
    }
    out
}

fn walk(node: &Node, keys: &mut Vec<(String, Range<usize>)>, out: &mut Vec<Scalar>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match node {
        Node::Scalar(s) => out.push(Scalar {
            keys: keys.clone(),
            value: s.value.clone(),
            span: s.span.clone(),
        }),
        Node::Mapping { entries, .. } => {
            for (k, v) in entries {
                let key = k.as_scalar().map_or_else(String::new, |s| s.value.clone());
                keys.push((key, k.span()));
                walk(v, keys, out, depth + 1);
                keys.pop();
            }
        }
        Node::Sequence { items, .. } => {
            for item in items {
                // An item has no key of its own: nothing an edit could touch.
                keys.push(("[]".into(), usize::MAX..usize::MAX));
                walk(item, keys, out, depth + 1);
                keys.pop();
            }
        }
        Node::Alias(_) => {}
    }
}

/// May `old` (a scalar's span in the old text) change? Only when it holds a target's start: the
/// target itself, or a block scalar with a YAML document holding it.
fn changeable(targets: &[usize], old: &Range<usize>) -> bool {
    targets.iter().any(|t| old.start <= *t && *t <= old.end)
}

fn skeleton(s: &Scalar, targets: &[usize], back: &dyn Fn(usize) -> usize) -> Skeleton {
    let free = |span: &Range<usize>| {
        span.start != usize::MAX && changeable(targets, &(back(span.start)..back(span.end)))
    };
    let keys = s
        .keys
        .iter()
        .map(|(k, span)| (!free(span)).then(|| k.clone()))
        .collect();
    (keys, (!free(&s.span)).then(|| s.value.clone()))
}

/// Each edit's old range and its new text's range, sorted by position.
fn shifted(edits: &[&Edit]) -> Vec<(Range<usize>, Range<usize>)> {
    let mut sorted: Vec<&&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.range.start);
    let mut shift: isize = 0;
    sorted
        .iter()
        .map(|e| {
            let start = e.range.start.saturating_add_signed(shift);
            shift += e.new.len() as isize - e.range.len() as isize;
            (e.range.clone(), start..start + e.new.len())
        })
        .collect()
}

/// The old offset of a new one: between edits by the shift so far; inside an edit's new text,
/// the edit's old start.
fn back_of(moved: &[(Range<usize>, Range<usize>)], at: usize) -> usize {
    let mut old_at = at;
    for (old, new) in moved {
        if at < new.start {
            break;
        }
        if at < new.end {
            return old.start;
        }
        old_at = at - new.end + old.end;
    }
    old_at
}

/// Checks that `new` (the parsed edited file) differs from `old` exactly at `edits`; else an
/// error naming the file, the place and the key.
pub fn check(
    path: &str,
    new_text: &str,
    old: &[Node],
    new: &[Node],
    edits: &[&Edit],
) -> Result<()> {
    let moved = shifted(edits);
    // An edit without a target deletes whole entries (`drop`): nothing it leaves may change.
    let targets: Vec<usize> = edits
        .iter()
        .filter_map(|e| e.target.as_ref().map(|t| t.start))
        .collect();
    let same = |at: usize| at;
    let back = |at: usize| back_of(&moved, at);
    // A scalar an edit deletes whole, with its key, is expected to be gone.
    let deleted = |s: &Scalar| {
        edits.iter().any(|e| {
            let inside = |r: &Range<usize>| e.range.start <= r.start && r.end <= e.range.end;
            e.new.trim().is_empty()
                && !e.range.is_empty()
                && inside(&s.span)
                && s.keys
                    .last()
                    .is_none_or(|(_, k)| k.start == usize::MAX || inside(k))
        })
    };
    let mut expected: Vec<Skeleton> = scalars(old)
        .iter()
        .filter(|s| !deleted(s))
        .map(|s| skeleton(s, &targets, &same))
        .collect();
    // A scalar an insertion adds whole, with its key (a missing value added, a list item
    // added: the nearest key that is not a sequence's), is expected new.
    let added = |s: &Scalar| {
        moved.iter().any(|(old, new)| {
            let inside = |r: &Range<usize>| new.start <= r.start && r.end <= new.end;
            old.is_empty()
                && inside(&s.span)
                && s.keys
                    .iter()
                    .rev()
                    .find(|(_, k)| k.start != usize::MAX)
                    .is_some_and(|(_, k)| inside(k))
        })
    };
    let got_scalars = scalars(new);
    let mut got: Vec<(Skeleton, usize)> = got_scalars
        .iter()
        .filter(|s| !added(s))
        .map(|s| (skeleton(s, &targets, &back), s.span.start))
        .collect();
    expected.sort();
    got.sort();
    let mut e = expected.iter().peekable();
    for (skel, at) in &got {
        // Multiset difference: walk both sorted lists together.
        if let Some(missing) = e.peek().filter(|x| **x < skel) {
            let gone = describe(missing);
            return Err(refused(path, new_text, *at, &format!("{gone} is gone")));
        }
        if e.peek() == Some(&skel) {
            e.next();
        } else {
            return Err(refused(
                path,
                new_text,
                *at,
                &format!("{} appeared", describe(skel)),
            ));
        }
    }
    if let Some(missing) = e.next() {
        return Err(refused(
            path,
            new_text,
            new_text.len(),
            &format!("{} is gone", describe(missing)),
        ));
    }
    Ok(())
}

/// [`check`] for a file no rule of its format re-parsed (inferred edits): read as the data
/// its name says (a template named for its data too); other files, and a file that does not
/// parse before and after, are left to the re-parse of the rules that edit them.
pub fn check_by_name(path: &str, old_text: &str, new_text: &str, edits: &[Edit]) -> Result<()> {
    let Some(format) = crate::formats::data_format(path.trim_end_matches(".j2")) else {
        return Ok(());
    };
    let parse = |text: &str| {
        crate::formats::parse_data(format, path, text, &crate::formats::jinja::mask(text))
    };
    let (Some(old), Some(new)) = (parse(old_text), parse(new_text)) else {
        return Ok(());
    };
    let all: Vec<&Edit> = edits.iter().collect();
    check(path, new_text, &old, &new, &all)
}

fn describe(s: &Skeleton) -> String {
    let keys: Vec<&str> =
        s.0.iter()
            .map(|k| k.as_deref().unwrap_or("(edited)"))
            .collect();
    format!("`{}`", keys.join("."))
}

fn refused(path: &str, text: &str, at: usize, what: &str) -> Error {
    Error::at(
        Path::new(path),
        text,
        at.min(text.len()),
        format!(
            "the planned edits would change more than their values: {what}; nothing was written"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jinja::{Envs, mask};
    use crate::formats::yaml;

    /// An edit of the scalar written at `target`.
    fn edit(range: Range<usize>, new: &str, target: Option<Range<usize>>) -> Edit {
        Edit {
            path: "f.yml".into(),
            range,
            old: String::new(),
            new: new.into(),
            rule: "r".into(),
            envs: Envs::ALL,
            context: None,
            secret: false,
            target,
        }
    }

    fn verdict(old: &str, edits: &[Edit]) -> Result<()> {
        let splices: Vec<crate::edit::Splice> = edits.iter().map(|e| e.splice()).collect();
        let new = crate::edit::apply(old, &splices).expect("no overlap");
        let p = Path::new("f.yml");
        let a = yaml::parse(p, old, &mask(old)).expect("old parses");
        let b = yaml::parse(p, &new, &mask(&new)).expect("new parses");
        let refs: Vec<&Edit> = edits.iter().collect();
        check("f.yml", &new, &a, &b, &refs)
    }

    #[test]
    fn a_value_edit_is_exact_a_splice_beside_it_is_not() {
        let old = "a: 1\nreg: https://old.example/v2\nb: 2\n";
        let at = old.find("https").expect("value");
        let host = old.find("old").expect("host");
        let value = Some(at..at + 24);
        assert!(verdict(old, &[edit(host..host + 11, "quay.io", value)]).is_ok());
        // An empty value is written after its colon; an edit of it at the key's end (where the
        // parser used to place it) renames the key instead.
        let empty = "a: 1\nreg:\nb: 2\n";
        let key_end = empty.find("reg").expect("key") + 3;
        let empty_value = Some(key_end + 1..key_end + 1);
        let e = verdict(
            empty,
            &[edit(key_end..key_end, "quay.io", empty_value.clone())],
        )
        .expect_err("refused");
        assert!(e.to_string().contains("more than their values"), "{e}");
        // Right after the colon, with a space: the same key, a new value.
        let fixed = edit(key_end + 1..key_end + 1, " quay.io", empty_value);
        assert!(verdict(empty, &[fixed]).is_ok());
    }

    #[test]
    fn an_inserted_key_is_expected_new_beside_it_nothing_else() {
        let old = "a: 1\nb: 2\n";
        let end = old.len();
        assert!(verdict(old, &[edit(end..end, "reg: quay.io\n", Some(end..end))]).is_ok());
        let e = verdict(
            old,
            &[edit(end..end, "reg: quay.io\nc: 3\n", Some(end..end))],
        );
        assert!(
            e.is_ok(),
            "both added whole: an insertion may add several keys"
        );
        let a = old.find('1').expect("a");
        let e = verdict(old, &[edit(a..a, "1\nreg: x\nz: ", Some(a..a))]).expect_err("refused");
        assert!(e.to_string().contains("more than their values"), "{e}");
    }

    #[test]
    fn a_deleted_item_is_expected_gone_and_a_key_rename_is_an_edit() {
        let old = "l:\n  - a\n  - b\n";
        let item = old.find("  - b\n").expect("item");
        assert!(verdict(old, &[edit(item..item + 6, "", None)]).is_ok());
        let keyed = "auths:\n  old.example: {auth: x}\n";
        let k = keyed.find("old.example").expect("key");
        assert!(verdict(keyed, &[edit(k..k + 11, "quay.io", Some(k..k + 11))]).is_ok());
        // A value that changes where no edit is.
        let two = "a: 1\nb: 2\nc: 3\n";
        let one = two.find('1').expect("a");
        let e = verdict(two, &[edit(one..one + 1, "1\nd: 4", Some(one..one + 1))])
            .expect_err("refused");
        assert!(e.to_string().contains("more than their values"), "{e}");
    }
}
