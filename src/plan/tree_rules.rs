//! Rules on YAML and JSON trees: rewrite references by context (literal ones spliced in place,
//! Jinja-built ones rendered per environment and written back whole), set sibling values, set
//! fixed per-environment values.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use super::{Edit, Note, Planner, Site, Source, one_value};
use crate::error::Result;
use crate::formats::jinja::{self, Envs};
use crate::formats::tree::{Hit, Node, Scalar, Style};
use crate::formats::yaml;
use crate::migration::{Env, RegistryRef};
use crate::redact;
use crate::rules::{Action, Anchor, Context, ReferenceAction, Rule};
use crate::template::Template;

/// The registry each environment's reference mapped to.
type PerEnv = BTreeMap<Env, RegistryRef>;

impl Planner<'_> {
    pub(super) fn tree_rule(
        &self,
        src: &Source<'_>,
        nodes: &[Node],
        rule: &Rule,
        edits: &mut Vec<Edit>,
        notes: &mut Vec<Note>,
    ) -> Result<()> {
        let Some(path) = &rule.path else {
            return Ok(());
        };
        for hit in path.find(Path::new(src.path), src.text, &src.jinja.masked, nodes)? {
            let found = match &rule.action {
                Action::Reference(action) => self.reference(src, &hit, rule, action, notes),
                Action::Fixed { env, value } => self.fixed(src, &hit, rule, *env, value),
                Action::PerEnv { .. } => Vec::new(),
            };
            edits.extend(found);
        }
        Ok(())
    }

    fn reference(
        &self,
        src: &Source<'_>,
        hit: &Hit,
        rule: &Rule,
        action: &ReferenceAction,
        notes: &mut Vec<Note>,
    ) -> Vec<Edit> {
        let (scalar, holder) = match action.anchor {
            Anchor::Key => (hit.key.as_ref(), Some(&hit.value)),
            Anchor::Value => (hit.value.as_scalar(), hit.parent.as_ref()),
        };
        let Some(scalar) = scalar else {
            return Vec::new();
        };
        let site = Site {
            src,
            rule,
            envs: envs_at(src, scalar.span.start, holder),
        };
        let in_flow = matches!(holder, Some(Node::Mapping { flow: true, .. }));
        let found = self
            .literal(&site, scalar, action.context)
            .or_else(|| self.rendered(&site, scalar, action.context, in_flow, notes));
        let Some((mut edits, per_env)) = found else {
            return Vec::new();
        };
        // Siblings change in the environments the reference did.
        let site = Site {
            envs: edits.iter().fold(Envs::NONE, |acc, e| acc.union(e.envs)),
            ..site
        };
        for (key, template) in &action.set {
            let Some(sibling) = holder.and_then(|h| h.get(key)).and_then(Node::as_scalar) else {
                notes.push(site.note(format!(
                    "no `{key}` beside line {}; not added",
                    line_of(src.text, scalar.span.start)
                )));
                continue;
            };
            let values: BTreeMap<Env, String> = per_env
                .iter()
                .filter_map(|(env, reg)| {
                    Some((*env, template.render(&self.scope(*env, Some(reg)))?))
                })
                .collect();
            let Some(value) = one_value(&values) else {
                notes.push(site.note(format!(
                    "`{key}` would differ per environment; left for a human"
                )));
                continue;
            };
            if sibling.value != value {
                let mut edit = replace(&site, sibling, &value, in_flow, None);
                edit.secret =
                    redact::is_secret(key, &sibling.value) || redact::is_secret(key, &value);
                edits.push(edit);
            }
        }
        edits
    }

    /// Literal references inside `scalar`: each host is spliced in place.
    fn literal(
        &self,
        site: &Site<'_>,
        scalar: &Scalar,
        context: Context,
    ) -> Option<(Vec<Edit>, PerEnv)> {
        let raw = &site.src.text[scalar.span.clone()];
        let mut edits = Vec::new();
        let mut per_env = PerEnv::new();
        for r in self.finder.find_literal(raw) {
            let mapped = self.migration.by_host(&r.host)?;
            let to = &mapped.registry.to;
            let end = if to.host.contains(':') {
                r.end + port_len(&raw[r.end..])
            } else {
                r.end
            };
            // A push or login target belongs to the environment whose registry it names; a pull
            // URL is rendered wherever its template is.
            let envs = match context {
                Context::Host | Context::ApiUrl => site.envs.intersect(Envs::only(mapped.env)),
                Context::ImagePrefix | Context::Url => site.envs,
            };
            let here = Site { envs, ..*site };
            edits.push(here.edit(
                scalar.span.start + r.start..scalar.span.start + end,
                target(to, context),
                Some(context),
            ));
            per_env.insert(mapped.env, to.clone());
        }
        (!edits.is_empty()).then_some((edits, per_env))
    }

    /// A Jinja-built value: rendered per environment, rewritten, and written back whole (split
    /// per environment when the new values differ, SPEC §6.7).
    fn rendered(
        &self,
        site: &Site<'_>,
        scalar: &Scalar,
        context: Context,
        in_flow: bool,
        notes: &mut Vec<Note>,
    ) -> Option<(Vec<Edit>, PerEnv)> {
        if !scalar.value.contains("{{") || scalar.style == Style::Block {
            return None;
        }
        let mut new = BTreeMap::new();
        let mut per_env = PerEnv::new();
        for env in site.envs.iter() {
            let Some(mut value) = self.vars.render(&scalar.value, env) else {
                notes.push(site.note(format!("cannot evaluate `{}` for {env}", scalar.value)));
                return None;
            };
            let refs = self.finder.find_literal(&value);
            for r in refs.iter().rev() {
                let mapped = self.migration.by_host(&r.host)?;
                value.replace_range(r.start..r.end, &target(&mapped.registry.to, context));
                per_env.insert(env, mapped.registry.to.clone());
            }
            if !refs.is_empty() {
                new.insert(env, value);
            }
        }
        if new.is_empty() {
            return None;
        }
        if new.len() != site.envs.iter().count() {
            notes.push(site.note(format!(
                "`{}` names an old registry in only some environments; left for a human",
                scalar.value
            )));
            return None;
        }
        let value = one_value(&new).unwrap_or_else(|| split(&new));
        Some((
            vec![replace(site, scalar, &value, in_flow, Some(context))],
            per_env,
        ))
    }

    fn fixed(
        &self,
        src: &Source<'_>,
        hit: &Hit,
        rule: &Rule,
        env: Env,
        template: &Template,
    ) -> Vec<Edit> {
        let Some(scalar) = hit.value.as_scalar() else {
            return Vec::new();
        };
        let Some(value) = template.render(&self.scope(env, None)) else {
            return Vec::new();
        };
        if scalar.value == value || scalar.style == Style::Block {
            return Vec::new();
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
        vec![edit]
    }
}

/// The environments that render `offset`: its Jinja branches and the `when:` of the mapping
/// holding it.
fn envs_at(src: &Source<'_>, offset: usize, holder: Option<&Node>) -> Envs {
    let when = holder
        .and_then(|m| m.get("when"))
        .and_then(Node::as_scalar)
        .and_then(|s| jinja::env_condition(&s.value))
        .unwrap_or(Envs::ALL);
    src.jinja.envs_at(offset).intersect(when)
}

/// An edit replacing a whole scalar with `value`, written in the scalar's style.
fn replace(
    site: &Site<'_>,
    scalar: &Scalar,
    value: &str,
    in_flow: bool,
    context: Option<Context>,
) -> Edit {
    let (range, new) = narrow_to_quotes(
        site.src.text,
        scalar,
        yaml::encode(value, scalar.style, in_flow),
    );
    site.edit(range, new, context)
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

/// The new text for a reference in `context`.
fn target(to: &RegistryRef, context: Context) -> String {
    match context {
        Context::Host | Context::ApiUrl => to.host.clone(),
        Context::ImagePrefix | Context::Url => to.to_string(),
    }
}

/// Length of a `:port` at the start of `rest`, or 0.
fn port_len(rest: &str) -> usize {
    let Some(digits) = rest.strip_prefix(':') else {
        return 0;
    };
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 { 0 } else { n + 1 }
}

/// An inline per-environment split (SPEC §6.7).
fn split(values: &BTreeMap<Env, String>) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
    let get = |env| values.get(&env).map(String::as_str).unwrap_or_default();
    format!(
        "{{{{ {} if env == 'staging' else {} }}}}",
        quote(get(Env::Staging)),
        quote(get(Env::Production))
    )
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_an_inline_expression() {
        let values = BTreeMap::from([
            (Env::Production, "p.example/a".to_string()),
            (Env::Staging, "s.example/b".to_string()),
        ]);
        assert_eq!(
            split(&values),
            "{{ 's.example/b' if env == 'staging' else 'p.example/a' }}"
        );
    }

    #[test]
    fn port_length() {
        assert_eq!(port_len(":5000/x"), 5);
        assert_eq!(port_len(":x"), 0);
        assert_eq!(port_len("/v2"), 0);
    }
}
