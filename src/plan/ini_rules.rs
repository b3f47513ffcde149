//! INI rules (`values`): each key must render to its template in every environment. Lines are
//! edited in their `{% if env %}` branch; an environment that lacks the keys gets them added in an
//! `{% else %}` branch of the block holding the others (an environment running on built-in defaults, SPEC §7).

use std::collections::BTreeMap;

use super::{Edit, Note, Planner, Site, Source, one_value};
use crate::formats::ini::{Entry, Ini};
use crate::formats::jinja::Envs;
use crate::migration::{Env, Split};
use crate::redact;
use crate::rules::Rule;
use crate::template::Template;

type Values = [(String, Template)];

impl Planner<'_> {
    pub(super) fn ini_rule(
        &self,
        src: &Source<'_>,
        doc: &Ini,
        rule: &Rule,
        values: &Values,
        edits: &mut Vec<Edit>,
        notes: &mut Vec<Note>,
    ) {
        let mut covered: BTreeMap<&str, Envs> = BTreeMap::new();
        let mut holders: Vec<&Entry> = Vec::new();
        let pair = self.vars.selector().split();
        for (key, template) in values {
            for entry in doc.entries_in(&rule.select).filter(|e| &e.key == key) {
                let site = Site {
                    src,
                    rule,
                    envs: src.jinja.envs_at(entry.line.start),
                };
                let seen = covered.entry(key).or_insert(Envs::NONE);
                *seen = seen.union(site.envs);
                holders.push(entry);
                if let Some(split) = pair.and_then(|pair| own_split(src, doc, entry, pair)) {
                    // regshift's own split: edited as one value, so equal branches collapse.
                    if split.tested == entry {
                        edits.extend(self.split_edit(src, rule, &split, key, template));
                    }
                    continue;
                }
                let current = &src.text[entry.value.clone()];
                // Selected environments get the template; the others keep what they render.
                let new: BTreeMap<Env, String> = site
                    .envs
                    .iter()
                    .filter_map(|env| match self.selection.envs.contains(env) {
                        true => Some((env, template.render(&self.scope(env, None))?)),
                        false => Some((env, current.to_string())),
                    })
                    .collect();
                let changed = new
                    .iter()
                    .filter(|(_, v)| v.as_str() != current)
                    .fold(Envs::NONE, |acc, (e, _)| acc.union(Envs::only(*e)));
                if changed == Envs::NONE {
                    continue;
                }
                let site = Site {
                    envs: changed,
                    ..site
                };
                let mut edit = match (one_value(&new), pair) {
                    (Some(v), _) => site.edit(entry.value.clone(), v, None),
                    (None, Some(pair)) => site.edit(
                        entry.line.clone(),
                        split_lines(src, entry, &new, pair),
                        None,
                    ),
                    (None, None) => {
                        notes.push(site.note(format!(
                            "`{key}` differs per environment and the migration's selector cannot split it; not edited"
                        )));
                        continue;
                    }
                };
                edit.secret =
                    redact::is_secret(key, &edit.old) || redact::is_secret(key, &edit.new);
                edits.push(edit);
            }
        }
        if holders.is_empty() {
            return;
        }
        let lacks = |env: Env| {
            values
                .iter()
                .any(|(k, _)| !covered.get(k.as_str()).is_some_and(|e| e.contains(env)))
        };
        for env in self.selection.envs.iter().filter(|env| lacks(*env)) {
            let site = Site {
                src,
                rule,
                envs: Envs::only(env),
            };
            match self.add_branch(&site, values, env, &holders) {
                Some(edit) => edits.push(edit),
                None => {
                    notes.push(site.note(format!("cannot place the {env} keys; left for a human")))
                }
            }
        }
    }

    /// New values for a split's branches: collapsed to one line when they agree.
    fn split_edit(
        &self,
        src: &Source<'_>,
        rule: &Rule,
        split: &OwnSplit<'_, '_>,
        key: &str,
        template: &Template,
    ) -> Vec<Edit> {
        let branch = |env: Env, entry: &Entry| -> Option<String> {
            let current = src.text[entry.value.clone()].to_string();
            if self.selection.envs.contains(env) {
                template.render(&self.scope(env, None))
            } else {
                Some(current)
            }
        };
        let (Some(stg), Some(prod)) = (
            branch(split.pair.tested, split.tested),
            branch(split.pair.otherwise, split.otherwise),
        ) else {
            return Vec::new();
        };
        let mut edits = Vec::new();
        if stg == prod {
            let eol = if src.text[split.tested.line.clone()].ends_with("\r\n") {
                "\r\n"
            } else {
                "\n"
            };
            let prefix = &src.text[split.tested.line.start..split.tested.value.start];
            let site = Site {
                src,
                rule,
                envs: self.selection.envs,
            };
            edits.push(site.edit(split.block.clone(), format!("{prefix}{stg}{eol}"), None));
        } else {
            for (env, entry, value) in [
                (split.pair.tested, split.tested, stg),
                (split.pair.otherwise, split.otherwise, prod),
            ] {
                if src.text[entry.value.clone()] != value {
                    edits.push(
                        Site {
                            src,
                            rule,
                            envs: Envs::only(env),
                        }
                        .edit(entry.value.clone(), value, None),
                    );
                }
            }
        }
        for e in &mut edits {
            e.secret = redact::is_secret(key, &e.old) || redact::is_secret(key, &e.new);
        }
        edits
    }

    /// Adds the keys for `env` at the end of its branch of the block holding the other keys, or
    /// as a new `{% else %}` branch before the block's `{% endif %}`.
    fn add_branch(
        &self,
        site: &Site<'_>,
        values: &Values,
        env: Env,
        holders: &[&Entry],
    ) -> Option<Edit> {
        let text = site.src.text;
        let (block, _) = site.src.jinja.branch_at(holders.first()?.line.start)?;
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut lines = String::new();
        for (key, template) in ordered(values, holders) {
            let sample = holders.iter().find(|e| &e.key == key)?;
            let prefix = &text[sample.line.start..sample.value.start];
            lines.push_str(&format!(
                "{prefix}{}{eol}",
                template.render(&self.scope(env, None))?
            ));
        }
        let (at, new) = match block
            .branches
            .iter()
            .find(|b| b.env_test && b.envs.contains(env))
        {
            Some(branch) => (branch.body.end, lines),
            None if block.branches.iter().all(|b| b.env_test) => {
                (block.endif.start, format!("{{% else %}}{eol}{lines}"))
            }
            None => return None,
        };
        let at_line_start = at == 0 || text.as_bytes().get(at - 1) == Some(&b'\n');
        at_line_start.then(|| site.edit(at..at, new, None))
    }
}

/// One INI line shared by both environments, rewritten as an `{% if env %}` block with a line per
/// environment (SPEC §6.7).
fn split_lines(
    src: &Source<'_>,
    entry: &Entry,
    values: &BTreeMap<Env, String>,
    pair: Split<'_>,
) -> String {
    let text = src.text;
    let eol = if text[entry.line.clone()].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let prefix = &text[entry.line.start..entry.value.start];
    let line = |env| {
        format!(
            "{prefix}{}{eol}",
            values.get(&env).map(String::as_str).unwrap_or_default()
        )
    };
    format!(
        "{{% if {} %}}{eol}{}{{% else %}}{eol}{}{{% endif %}}{eol}",
        pair.condition(),
        line(pair.tested),
        line(pair.otherwise)
    )
}

/// A block regshift wrote for one shared line (`split_lines`): `{% if VAR == 'VALUE' %}`, one
/// line, `{% else %}`, the same key, `{% endif %}`, and nothing else.
struct OwnSplit<'d, 's> {
    /// From the `if` tag's line start to the end of the `endif` line.
    block: std::ops::Range<usize>,
    /// The line of the tested environment, and of the other.
    tested: &'d Entry,
    otherwise: &'d Entry,
    pair: Split<'s>,
}

fn own_split<'d, 's>(
    src: &Source<'_>,
    doc: &'d Ini,
    entry: &Entry,
    pair: Split<'s>,
) -> Option<OwnSplit<'d, 's>> {
    let (block, _) = src.jinja.branch_at(entry.line.start)?;
    let [stg, prod] = block.branches.as_slice() else {
        return None;
    };
    if !(stg.env_test
        && prod.env_test
        && stg.envs == Envs::only(pair.tested)
        && prod.envs.intersect(Envs::ALL.minus(stg.envs)) == prod.envs
        && prod.envs.contains(pair.otherwise))
    {
        return None;
    }
    let only = |body: &std::ops::Range<usize>| {
        let inside: Vec<&'d Entry> = doc
            .entries
            .iter()
            .filter(|e| body.contains(&e.line.start))
            .collect();
        let [e] = inside.as_slice() else { return None };
        let body_text = src.text[body.clone()].trim_start_matches(['\r', '\n']);
        (e.key == entry.key && body_text == &src.text[e.line.clone()]).then_some(*e)
    };
    let (tested, otherwise) = (only(&stg.body)?, only(&prod.body)?);
    let start = src.text[..stg.tag.start].rfind('\n').map_or(0, |i| i + 1);
    let end = src.text[block.endif.end..]
        .find('\n')
        .map_or(src.text.len(), |i| block.endif.end + i + 1);
    Some(OwnSplit {
        block: start..end,
        tested,
        otherwise,
        pair,
    })
}

/// The rule's keys in the order the file already has them (keys it lacks last, by name).
fn ordered<'v>(values: &'v Values, holders: &[&Entry]) -> Vec<(&'v String, &'v Template)> {
    let mut keyed: Vec<(usize, &String, &Template)> = values
        .iter()
        .map(|(k, t)| {
            (
                holders
                    .iter()
                    .find(|e| &e.key == k)
                    .map_or(usize::MAX, |e| e.line.start),
                k,
                t,
            )
        })
        .collect();
    keyed.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    keyed.into_iter().map(|(_, k, t)| (k, t)).collect()
}
