//! Rules on YAML and JSON trees: rewrite references by context, set sibling values, set fixed
//! per-environment values.
//!
//! A value is read per environment that renders it: a literal is the same everywhere, a
//! Jinja-built value is rendered, and regshift's own split `{{ 'T' if VAR == 'VALUE' else 'O' }}` (the selector's variable and the tested environment's value)
//! is read branch by branch. Only the selected environments get new values (SPEC §6.7); the others
//! keep what they rendered. The result is written back as small as it can be: references spliced
//! in place when every environment agrees and the value was a plain literal, else the whole value,
//! as a split when the environments differ and as a plain value when they agree again.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Claim, Edit, Note, Planner, Site, Source, one_value};
use crate::error::{Position, Result};
use crate::formats::jinja::Envs;
use crate::formats::tree::{Hit, Node, Scalar, Style};
use crate::formats::yaml;
use crate::migration::{Env, RegistryRef, Split};
use crate::redact;
use crate::rules::{Action, Anchor, Class, Context, ReferenceAction, Rule};
use crate::template::Template;

/// A value per environment.
type PerEnv<T> = BTreeMap<Env, T>;

impl Planner<'_> {
    pub(super) fn tree_rule(
        &self,
        src: &Source<'_>,
        nodes: &[Node],
        rule: &Rule,
        edits: &mut Vec<Edit>,
        notes: &mut Vec<Note>,
        claims: &mut Vec<Claim>,
    ) -> Result<()> {
        // A place shared by several documents (TOML is read once per environment) is one place.
        let mut seen = std::collections::BTreeSet::new();
        let hits = self.hits(src, nodes, rule)?;
        if hits.is_empty()
            && let Action::Fixed { env, value } = &rule.action
        {
            edits.extend(self.add_missing(src, nodes, rule, *env, value, notes)?);
        }
        for hit in hits {
            if !seen.insert((
                hit.key.as_ref().map(|k| k.span.start),
                hit.value.span().start,
            )) {
                continue;
            }
            let found = match &rule.action {
                Action::Reference(action) if rule.beside == crate::rules::Beside::Add => {
                    self.beside(src, nodes, &hit, rule, action, notes, claims)
                }
                Action::Reference(action)
                    if action.drop && self.listed_beside(nodes, &hit, action) =>
                {
                    drop_entry(src, rule, &hit, self.selection.envs)
                        .into_iter()
                        .collect()
                }
                Action::Reference(action) => self.reference(src, &hit, rule, action, notes, claims),
                Action::Fixed { env, value } => {
                    let envs = env.map_or(self.selection.envs, Envs::only);
                    envs.iter()
                        .filter_map(|env| self.fixed(src, &hit, rule, env, value))
                        .collect()
                }
                Action::Classify { .. } => {
                    claims.push(Claim {
                        path: src.path.to_string(),
                        range: hit.value.span(),
                        rule: rule.id.clone(),
                        class: rule.class,
                    });
                    Vec::new()
                }
                Action::PerEnv { .. }
                | Action::Infer
                | Action::Redirect(_)
                | Action::Monitor(_)
                | Action::Pages(..)
                | Action::Remove(_) => Vec::new(),
            };
            edits.extend(found);
        }
        Ok(())
    }

    /// `value` with every literal reference rewritten in `context`, and the last registry it
    /// was mapped to.
    fn rewrite_value(&self, value: &str, context: Context) -> (String, Option<RegistryRef>) {
        let mut out = value.to_string();
        let mut last = None;
        for r in self.finder.find_literal(value).iter().rev() {
            let Some(mapped) = self.migration.by_host(&r.host) else {
                continue;
            };
            let to = &mapped.registry.to;
            let end = if to.host.contains(':') {
                r.end + port_len(&value[r.end..])
            } else {
                r.end
            };
            let Some(new) = target(to, context) else {
                continue;
            };
            out.replace_range(r.start..end, &new);
            last = Some(to.clone());
        }
        (out, last)
    }

    /// Whether the new value of `hit` is already the value of the same key in another entry of
    /// the list holding `hit`'s entry, in a document (an environment) where both are.
    pub(super) fn listed_beside(
        &self,
        nodes: &[Node],
        hit: &Hit,
        action: &ReferenceAction,
    ) -> bool {
        let (Some(entry), Some(key), Some(scalar)) =
            (hit.parent.as_ref(), hit.key.as_ref(), hit.value.as_scalar())
        else {
            return false;
        };
        let (new, to) = self.rewrite_value(&scalar.value, action.context);
        if to.is_none() || new == scalar.value {
            return false;
        }
        nodes.iter().any(|doc| {
            list_holding(doc, entry.span(), 0).is_some_and(|items| {
                items.iter().any(|item| {
                    item.span() != entry.span()
                        && item
                            .get(&key.value)
                            .and_then(Node::as_scalar)
                            .is_some_and(|s| s.value == *new)
                })
            })
        })
    }

    pub(super) fn reference(
        &self,
        src: &Source<'_>,
        hit: &Hit,
        rule: &Rule,
        action: &ReferenceAction,
        notes: &mut Vec<Note>,
        claims: &mut Vec<Claim>,
    ) -> Vec<Edit> {
        let (scalar, holder) = match action.anchor {
            Anchor::Key => (hit.key.as_ref(), Some(&hit.value)),
            Anchor::Value => (hit.value.as_scalar(), hit.parent.as_ref()),
        };
        let Some(scalar) = scalar else {
            return Vec::new();
        };
        let mut site = Site {
            src,
            rule,
            envs: self.envs_at(
                src,
                scalar.span.start,
                hit.when.as_ref().or(holder.and_then(|m| m.get("when"))),
            ),
        };
        if matches!(action.context, Context::Host | Context::ApiUrl) && is_plain_literal(scalar) {
            // A push or login target belongs to the environment whose registry it names.
            site.envs = site.envs.intersect(self.host_envs(&scalar.value));
        }
        let in_flow = matches!(holder, Some(Node::Mapping { flow: true, .. }));
        let Some(current) = self.current(&site, scalar, notes) else {
            return Vec::new();
        };
        let (new, registries) = self.rewritten(&current, action.context);
        let changed: Envs = new
            .iter()
            .filter(|(env, v)| current.get(env) != Some(v))
            .fold(Envs::NONE, |acc, (e, _)| acc.union(Envs::only(*e)));
        if changed == Envs::NONE {
            self.kept_root(&site, scalar, action.context, notes, claims);
            return Vec::new();
        }
        let site = Site {
            envs: changed,
            ..site
        };
        let mut edits = match one_value(&new) {
            Some(_) if is_plain_literal(scalar) => {
                self.splice_references(&site, scalar, action.context)
            }
            Some(value) => vec![replace(
                &site,
                scalar,
                &value,
                in_flow,
                Some(action.context),
            )],
            None => match self.vars.selector().split() {
                Some(pair) => vec![replace(
                    &site,
                    scalar,
                    &split(&new, pair),
                    in_flow,
                    Some(action.context),
                )],
                None => {
                    notes.push(site.note(format!(
                        "line {}: the value differs per environment and the migration's selector cannot split it; not edited",
                        Position::of(src.text, scalar.span.start).line
                    )));
                    return Vec::new();
                }
            },
        };
        for (key, template) in &action.set {
            match holder.and_then(|h| h.get(key)).and_then(Node::as_scalar) {
                Some(sibling) => edits.extend(self.sibling(
                    &site,
                    sibling,
                    key,
                    template,
                    &registries,
                    in_flow,
                    notes,
                )),
                None => notes.push(site.note(format!(
                    "no `{key}` beside line {}; not added",
                    Position::of(src.text, scalar.span.start).line
                ))),
            }
        }
        edits
    }

    /// The environments that render `offset`: its Jinja branches and the `when:` that decides
    /// its use (of the mapping holding it, or of the task including it), evaluated per
    /// environment.
    fn envs_at(&self, src: &Source<'_>, offset: usize, when: Option<&Node>) -> Envs {
        let when = when.map_or(Envs::ALL, |w| self.vars.when_envs(w));
        src.jinja.envs_at(offset).intersect(when)
    }

    /// A registry root the migration cannot move (its new registry has a namespace) is kept,
    /// and the reason said: clients would request `https://HOST/namespace/v2/…`.
    fn kept_root(
        &self,
        site: &Site<'_>,
        scalar: &Scalar,
        context: Context,
        notes: &mut Vec<Note>,
        claims: &mut Vec<Claim>,
    ) {
        if context != Context::RegistryRoot {
            return;
        }
        let raw = &site.src.text[scalar.span.clone()];
        let kept: Vec<String> = self
            .finder
            .find_literal(raw)
            .iter()
            .filter_map(|r| self.migration.by_host(&r.host))
            .filter(|m| !m.registry.to.namespace.is_empty())
            .map(|m| m.registry.to.to_string())
            .collect();
        if kept.is_empty() {
            return;
        }
        claims.push(Claim {
            path: site.src.path.to_string(),
            range: scalar.span.clone(),
            rule: site.rule.id.clone(),
            class: Class::Keep,
        });
        notes.push(site.note(format!(
            "line {}: a registry root stays: clients append `v2/…` to it, and `{}` has a namespace (step 3's redirect moves them)",
            Position::of(site.src.text, scalar.span.start).line,
            kept.join("`, `")
        )));
    }

    /// The value of `scalar` in each environment that renders it.
    fn current(
        &self,
        site: &Site<'_>,
        scalar: &Scalar,
        notes: &mut Vec<Note>,
    ) -> Option<PerEnv<String>> {
        if scalar.style == Style::Block {
            return None;
        }
        let own = self.vars.selector().split();
        if let Some(branches) = own.and_then(|pair| read_split(&scalar.value, pair)) {
            return Some(
                site.envs
                    .iter()
                    .filter_map(|e| Some((e, branches.get(&e)?.clone())))
                    .collect(),
            );
        }
        if !scalar.value.contains("{{") && !scalar.value.contains("{%") {
            return Some(
                site.envs
                    .iter()
                    .map(|e| (e, scalar.value.clone()))
                    .collect(),
            );
        }
        let mut out = PerEnv::new();
        for env in site.envs.iter() {
            let rendered = self.vars.render(&scalar.value, env);
            if rendered.is_none()
                && self.finder.find_literal(&scalar.value).is_empty()
                && !self.may_name_a_host(&scalar.value)
            {
                return None;
            }
            let Some(rendered) = rendered else {
                notes.push(site.note(format!("cannot evaluate `{}` for {env}", scalar.value)));
                return None;
            };
            out.insert(env, rendered);
        }
        Some(out)
    }

    /// The environments whose registries the literal references in `value` name.
    fn host_envs(&self, value: &str) -> Envs {
        self.finder
            .find_literal(value)
            .iter()
            .filter_map(|r| self.migration.by_host(&r.host))
            .fold(Envs::NONE, |acc, m| acc.union(Envs::only(m.env)))
    }

    /// A Jinja value that could build a host of the migration: it holds a label of one (SPEC §8's
    /// cheap prefilter).
    fn may_name_a_host(&self, value: &str) -> bool {
        self.migration
            .from_hosts()
            .iter()
            .any(|h| h.split('.').skip(1).any(|label| value.contains(label)))
    }

    /// New values for the selected environments; the registry each one's references map to.
    fn rewritten(
        &self,
        current: &PerEnv<String>,
        context: Context,
    ) -> (PerEnv<String>, PerEnv<RegistryRef>) {
        let mut new = current.clone();
        let mut registries = PerEnv::new();
        for (env, value) in current
            .iter()
            .filter(|(e, _)| self.selection.envs.contains(**e))
        {
            let (out, to) = self.rewrite_value(value, context);
            if let Some(to) = to {
                registries.insert(*env, to);
            }
            new.insert(*env, out);
        }
        (new, registries)
    }

    /// Literal references inside a plain literal scalar, each host spliced in place.
    fn splice_references(&self, site: &Site<'_>, scalar: &Scalar, context: Context) -> Vec<Edit> {
        let raw = &site.src.text[scalar.span.clone()];
        self.finder
            .find_literal(raw)
            .into_iter()
            .filter_map(|r| {
                let to = &self.migration.by_host(&r.host)?.registry.to;
                let end = if to.host.contains(':') {
                    r.end + port_len(&raw[r.end..])
                } else {
                    r.end
                };
                let mut edit = site.edit(
                    scalar.span.start + r.start..scalar.span.start + end,
                    target(to, context)?,
                    Some(context),
                );
                edit.target = Some(scalar.span.clone());
                Some(edit)
            })
            .collect()
    }

    /// A `set:` sibling: the template evaluated for each changed environment.
    #[allow(clippy::too_many_arguments)]
    fn sibling(
        &self,
        site: &Site<'_>,
        sibling: &Scalar,
        key: &str,
        template: &Template,
        registries: &PerEnv<RegistryRef>,
        in_flow: bool,
        notes: &mut Vec<Note>,
    ) -> Option<Edit> {
        let values: PerEnv<String> = site
            .envs
            .iter()
            .filter_map(|env| {
                Some((
                    env,
                    template.render(&self.scope(env, registries.get(&env)))?,
                ))
            })
            .collect();
        let Some(value) = one_value(&values) else {
            notes.push(site.note(format!(
                "`{key}` would differ per environment; left for a human"
            )));
            return None;
        };
        if sibling.value == value {
            return None;
        }
        let mut edit = replace(site, sibling, &value, in_flow, None);
        edit.secret = redact::is_secret(key, &sibling.value) || redact::is_secret(key, &value);
        Some(edit)
    }

    /// A fixed value whose key is missing from its mapping: the key is added after the
    /// mapping's last entry, indented as its keys, quoted as its last value (SPEC §4: a fixed
    /// value for a missing key). Only for a plain dotted `select` in a block mapping of YAML,
    /// where every selected environment gets the same value.
    fn add_missing(
        &self,
        src: &Source<'_>,
        nodes: &[Node],
        rule: &Rule,
        env: Option<Env>,
        template: &Template,
        notes: &mut Vec<Note>,
    ) -> Result<Vec<Edit>> {
        let (Some(path), true) = (&rule.path, rule.format == crate::rules::Format::Yaml) else {
            return Ok(Vec::new());
        };
        let Some((parent, key)) = path.parent_and_key() else {
            return Ok(Vec::new());
        };
        let parents: Vec<Node> = match parent {
            None => nodes.to_vec(),
            Some(p) => p
                .find(
                    std::path::Path::new(src.path),
                    src.text,
                    &src.jinja.masked,
                    nodes,
                )?
                .into_iter()
                .map(|h| h.value)
                .collect(),
        };
        let envs = env.map_or(self.selection.envs, Envs::only);
        let values: PerEnv<String> = envs
            .iter()
            .filter_map(|e| Some((e, template.render(&self.scope(e, None))?)))
            .collect();
        let Some(value) = one_value(&values) else {
            return Ok(Vec::new());
        };
        let site = Site { src, rule, envs };
        let mut out = Vec::new();
        for parent in parents {
            let Node::Mapping {
                entries,
                flow: false,
                ..
            } = &parent
            else {
                continue;
            };
            let (Some((first, _)), Some((_, last))) = (entries.first(), entries.last()) else {
                continue;
            };
            let line_start = |at: usize| src.text[..at].rfind('\n').map_or(0, |i| i + 1);
            let indent = first.span().start - line_start(first.span().start);
            let after = last.span().end;
            // Added on a line of its own after the last entry, where every selected environment
            // renders (not inside another environment's `{% if %}` branch).
            let (at, lead) = match src.text[after..].find('\n') {
                Some(nl) => (after + nl + 1, ""),
                None => (src.text.len(), "\n"),
            };
            if !envs.iter().all(|e| {
                src.jinja
                    .envs_at(at.min(src.text.len().saturating_sub(1)))
                    .contains(e)
            }) {
                notes.push(site.note(format!(
                    "`{key}` is missing and cannot be added where every environment renders it"
                )));
                continue;
            }
            let style = last.as_scalar().map_or(Style::Plain, |s| s.style);
            let style = if style == Style::Block {
                Style::Plain
            } else {
                style
            };
            let text = format!(
                "{lead}{}{key}: {}\n",
                " ".repeat(indent),
                yaml::encode(&value, style, false)
            );
            let mut edit = site.edit(at..at, text, None);
            edit.target = Some(at..at);
            out.push(edit);
        }
        Ok(out)
    }

    fn fixed(
        &self,
        src: &Source<'_>,
        hit: &Hit,
        rule: &Rule,
        env: Env,
        template: &Template,
    ) -> Option<Edit> {
        let scalar = hit.value.as_scalar()?;
        let value = template.render(&self.scope(env, None))?;
        // Only where `env` renders the place (not the other branch of an `{% if %}`), and not
        // where it already says the same (`{{x}}` is `{{ x }}`).
        if !self.selection.envs.contains(env)
            || !src.jinja.envs_at(scalar.span.start).contains(env)
            || same_jinja(&scalar.value, &value)
            || scalar.style == Style::Block
        {
            return None;
        }
        let site = Site {
            src,
            rule,
            envs: Envs::only(env),
        };
        let in_flow = matches!(hit.parent, Some(Node::Mapping { flow: true, .. }));
        let mut edit = replace(&site, scalar, &value, in_flow, None);
        let key = hit.key.as_ref().map_or("", |k| k.value.as_str());
        edit.secret = redact::is_secret(key, &scalar.value) || redact::is_secret(key, &value);
        Some(edit)
    }
}

/// Two values that differ at most by the spaces just inside `{{ }}` (Jinja ignores them).
fn same_jinja(a: &str, b: &str) -> bool {
    static INNER: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\{\{\s*(.*?)\s*\}\}").ok());
    let squeeze = |s: &str| match INNER.as_ref() {
        Some(re) => re.replace_all(s, "{{$1}}").into_owned(),
        None => s.to_string(),
    };
    a == b || squeeze(a) == squeeze(b)
}

/// The items of the list (sequence) in `node` that holds an item written at `span`.
fn list_holding(node: &Node, span: Range<usize>, depth: usize) -> Option<&[Node]> {
    if depth > 256 {
        return None;
    }
    match node {
        Node::Sequence { items, .. } => {
            if items.iter().any(|i| i.span() == span) {
                return Some(items);
            }
            items
                .iter()
                .find_map(|i| list_holding(i, span.clone(), depth + 1))
        }
        Node::Mapping { entries, .. } => entries
            .iter()
            .find_map(|(_, v)| list_holding(v, span.clone(), depth + 1)),
        _ => None,
    }
}

/// An edit removing the entry holding `hit` (an array table or list item): its whole lines,
/// and the blank line after them, so the rest of the file keeps its layout.
pub(super) fn drop_entry(src: &Source<'_>, rule: &Rule, hit: &Hit, selected: Envs) -> Option<Edit> {
    let entry = hit.parent.as_ref()?.span();
    let text = src.text;
    // An array table's header `[[…]]` opens its line before its first key.
    let line_start = text[..entry.start].rfind('\n').map_or(0, |i| i + 1);
    let header = text[..line_start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let start = if text[header..line_start].trim_start().starts_with("[[") {
        header
    } else {
        line_start
    };
    let mut end = text[entry.end..]
        .find('\n')
        .map_or(text.len(), |i| entry.end + i + 1);
    let rest = &text[end..];
    if let Some(blank) = rest.find('\n').filter(|i| rest[..*i].trim().is_empty()) {
        end += blank + 1;
    }
    let envs = src.jinja.envs_at(entry.start).intersect(selected);
    if envs == Envs::NONE {
        return None;
    }
    let site = Site { src, rule, envs };
    Some(site.edit(start..end, String::new(), None))
}

/// A scalar without Jinja whose text is its value (so references can be spliced in place).
fn is_plain_literal(scalar: &Scalar) -> bool {
    !scalar.value.contains("{{") && !scalar.value.contains("{%") && scalar.style != Style::Block
}

/// An edit replacing a whole scalar with `value`, written in the scalar's style. In a template a
/// Jinja expression goes in as it is: it is rendered before anything reads the YAML.
fn replace(
    site: &Site<'_>,
    scalar: &Scalar,
    value: &str,
    in_flow: bool,
    context: Option<Context>,
) -> Edit {
    let bare = site.src.is_template() && value.starts_with("{{");
    let encoded = match scalar.style {
        Style::Plain if bare => value.to_string(),
        Style::Single | Style::Double if bare => format!(
            "{0}{value}{0}",
            if scalar.style == Style::Single {
                '\''
            } else {
                '"'
            }
        ),
        style => yaml::encode(value, style, in_flow),
    };
    // An empty value (`key:`) sits right after its colon: the new one needs a space before it.
    let encoded = match scalar.span.is_empty() && site.src.text[..scalar.span.start].ends_with(':')
    {
        true => format!(" {encoded}"),
        false => encoded,
    };
    let (range, new) = narrow_to_quotes(site.src.text, scalar, encoded);
    let mut edit = site.edit(range, new, context);
    edit.target = Some(scalar.span.clone());
    edit
}

/// When the new text keeps the scalar's quotes, the edit covers only what lies between them, so
/// reports show values rather than quoting.
fn narrow_to_quotes(text: &str, scalar: &Scalar, encoded: String) -> (Range<usize>, String) {
    let quote = match scalar.style {
        Style::Single => '\'',
        Style::Double => '"',
        _ => return (scalar.span.clone(), encoded),
    };
    let raw = &text[scalar.span.clone()];
    let same_quotes = raw.len() >= 2 && raw.starts_with(quote) && raw.ends_with(quote);
    let inner = encoded
        .strip_prefix(quote)
        .and_then(|s| s.strip_suffix(quote));
    match inner {
        Some(inner) if same_quotes && !raw.contains('\n') => (
            scalar.span.start + 1..scalar.span.end - 1,
            inner.to_string(),
        ),
        _ => (scalar.span.clone(), encoded),
    }
}

/// The new text for a reference in `context`; `None` when it must stay (a registry root whose
/// new registry has a namespace).
pub(super) fn target(to: &RegistryRef, context: Context) -> Option<String> {
    match context {
        Context::Host | Context::ApiUrl => Some(to.host.clone()),
        Context::ImagePrefix | Context::Url => Some(to.to_string()),
        Context::RegistryRoot => to.namespace.is_empty().then(|| to.host.clone()),
    }
}

/// Length of a `:port` at the start of `rest`, or 0.
pub(super) fn port_len(rest: &str) -> usize {
    let Some(digits) = rest.strip_prefix(':') else {
        return 0;
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 { 0 } else { n + 1 }
}

const SPLIT_HEAD: &str = "{{ ";
const SPLIT_TAIL: &str = " }}";

/// An inline per-environment split (SPEC §6.7), written with the selector:
/// `{{ 'T' if VAR == 'VALUE' else 'O' }}`.
pub(super) fn split(values: &BTreeMap<Env, String>, pair: Split<'_>) -> String {
    let get = |env| values.get(&env).map(String::as_str).unwrap_or_default();
    format!(
        "{SPLIT_HEAD}{} if {} else {}{SPLIT_TAIL}",
        quote(get(pair.tested)),
        pair.condition(),
        quote(get(pair.otherwise))
    )
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Reads back a split this module wrote; `None` for anything else.
fn read_split(value: &str, pair: Split<'_>) -> Option<BTreeMap<Env, String>> {
    let body = value.strip_prefix(SPLIT_HEAD)?.strip_suffix(SPLIT_TAIL)?;
    let (tested, rest) = unquote_prefix(body)?;
    let middle = format!(" if {} else ", pair.condition());
    let otherwise = rest.strip_prefix(middle.as_str())?;
    let (otherwise, tail) = unquote_prefix(otherwise)?;
    tail.is_empty()
        .then(|| BTreeMap::from([(pair.tested, tested), (pair.otherwise, otherwise)]))
}

/// A single-quoted Jinja string at the start of `text`: its value and what follows.
fn unquote_prefix(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('\'')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '\'' => return Some((out, &text[i + 2..])),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_an_inline_expression_and_reads_back() {
        let migration = crate::migration::Migration::embedded().expect("default");
        let pair = migration.selector.split().expect("two environments");
        let env = |n| migration.env_named(n).expect("declared");
        let values = BTreeMap::from([
            (env("production"), "p.example/a".to_string()),
            (env("staging"), "s.example/b'c".to_string()),
        ]);
        let text = split(&values, pair);
        assert_eq!(
            text,
            "{{ 's.example/b\\'c' if env == 'staging' else 'p.example/a' }}"
        );
        assert_eq!(read_split(&text, pair), Some(values));
        assert_eq!(
            read_split("{{ 'a' if env == 'prod' else 'b' }}", pair),
            None
        );
        assert_eq!(
            read_split("x{{ 'a' if env == 'staging' else 'b' }}", pair),
            None
        );
    }

    #[test]
    fn jinja_spacing_is_not_a_difference() {
        assert!(same_jinja("{{quay_io_username}}", "{{ quay_io_username }}"));
        assert!(!same_jinja("{{ 'a b' }}", "{{ 'ab' }}"));
        assert!(!same_jinja("{{ a }}", "{{ b }}"));
    }

    #[test]
    fn port_length() {
        assert_eq!(port_len(":5000/x"), 5);
        assert_eq!(port_len(":x"), 0);
        assert_eq!(port_len("/v2"), 0);
    }
}
