//! `audit --explain FILE:LINE`: the chain of definitions behind the values a line reads. For a
//! template line, each variable it prints is traced, per environment, through the tasks that
//! render the file to the definition that wins (SPEC §5).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::ansible::EnvVars;
use crate::ansible::tasks::Playbooks;
use crate::error::{Error, Position, Result};
use crate::find::Finder;
use crate::migration::Migration;
use crate::project::Project;
use crate::walk::View;

/// Parses `FILE:LINE`.
pub fn parse_target(target: &str) -> Result<(String, usize)> {
    let bad = || Error::Usage(format!("--explain expects FILE:LINE, got `{target}`"));
    let (file, line) = target.rsplit_once(':').ok_or_else(bad)?;
    let line: usize = line.parse().map_err(|_| bad())?;
    if line == 0 {
        return Err(bad());
    }
    Ok((file.to_string(), line))
}

/// The explanation of `file:line` in the tree seen through `view`.
pub fn explain(view: Arc<View>, migration: &Migration, file: &str, line: usize) -> Result<String> {
    if !crate::walk::inside(file) {
        return Err(Error::Usage(format!(
            "--explain {file}:{line}: the file must be a path inside the tree (-C), relative to it"
        )));
    }
    let text = view
        .read(file)
        .ok_or_else(|| Error::file(Path::new(file), "cannot read"))?;
    let Some(source) = text.lines().nth(line - 1) else {
        return Err(Error::file(Path::new(file), format!("has no line {line}")));
    };
    let shown = crate::redact::excerpt(&text, line);
    let mut out = format!("{file}:{line}: {}\n", shown.trim());
    let finder = Finder::new(&migration.from_hosts());
    for r in finder.find(source) {
        let at = Position::of(source, r.start);
        let env = migration
            .by_host(&r.host)
            .map_or("no environment".to_string(), |m| m.env.to_string());
        let _ = writeln!(
            out,
            "  literal reference to {} at column {} ({env})",
            r.host, at.column
        );
    }
    if let Some(name) = defined_name(file, source) {
        unread_evidence(&mut out, &view, migration, file, name);
    }
    let names = printed_names(source);
    if names.is_empty() {
        return Ok(out);
    }
    let project = Project::new(Arc::clone(&view), &migration.selector);
    let vars = project.vars()?;
    for name in names {
        chain(&mut out, vars, project.playbooks(), file, &name);
    }
    Ok(out)
}

/// The variable a vars file's line defines at its top level (`name: value`), if any.
fn defined_name<'s>(file: &str, line: &'s str) -> Option<&'s str> {
    let vars_file = file.contains("group_vars/") || file.contains("host_vars/");
    let (name, _) = line.split_once(':')?;
    (vars_file && crate::migration::is_identifier(name)).then_some(name)
}

/// `unread`'s evidence (SPEC §4): who names the variable, and which of them can see this
/// definition (their hosts and the definition's share one, and no deeper group shadows it).
fn unread_evidence(out: &mut String, view: &View, migration: &Migration, file: &str, name: &str) {
    let names = std::collections::BTreeSet::from([name.to_string()]);
    let readers = crate::unread::Readers::scan(view, &names);
    let inventory = crate::ansible::inventory::Inventory::load(view, &migration.selector);
    let seeing = readers.seen_by(file, name, &inventory);
    if seeing.is_empty() {
        let _ = writeln!(
            out,
            "  `{name}` defined here: nothing that can see this definition reads it (unread)"
        );
    } else {
        let _ = writeln!(
            out,
            "  `{name}` defined here is read by: {}",
            seeing.join(", ")
        );
    }
    let blind = readers.blind_to(file, name, &inventory);
    if !blind.is_empty() {
        let _ = writeln!(
            out,
            "  named also in (cannot see this definition): {}",
            blind.join(", ")
        );
    }
}

fn chain(out: &mut String, vars: &EnvVars, playbooks: &Playbooks, file: &str, name: &str) {
    let _ = writeln!(out, "  `{name}`:");
    let renderer = vars.renderer();
    for env in vars.envs() {
        let defs = playbooks.trace(vars, file, name, env);
        let value = playbooks.vars_for(vars, file, env).and_then(|task_vars| {
            renderer
                .render(
                    "<explain>",
                    &format!("{{{{ {name} }}}}"),
                    &(&task_vars).into(),
                )
                .ok()
        });
        if defs.is_empty() {
            let _ = writeln!(
                out,
                "    {env}: not defined where the tree can see it (a secret from the private vars, or the file is not rendered by a template task)"
            );
            continue;
        }
        for d in defs {
            let text = renderer.view().read(&d.file).unwrap_or_default();
            let at = Position::of(&text, d.span.start);
            let written = text
                .get(d.span.clone())
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {env}: {}:{}:{} ({}) = {}",
                d.file,
                at.line,
                at.column,
                d.layer.name(),
                crate::redact::line(&format!("{name}: {written}"))
                    .trim_start_matches(&format!("{name}: "))
            );
        }
        if let Some(value) = value {
            let _ = writeln!(
                out,
                "      renders as {}",
                crate::redact::line(&format!("{name}: {value}"))
                    .trim_start_matches(&format!("{name}: "))
            );
        }
    }
}

/// Top-level variable names printed by `{{ … }}` on a line (the first name of each expression).
fn printed_names(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in line.split("{{").skip(1) {
        let expr = piece.split("}}").next().unwrap_or_default().trim();
        let name: String = expr
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let keyword = [
            "if", "not", "true", "false", "none", "True", "False", "None",
        ]
        .contains(&name.as_str());
        if !name.is_empty()
            && !keyword
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_names() {
        assert_eq!(
            parse_target("a/b.conf:2").expect("ok"),
            ("a/b.conf".to_string(), 2)
        );
        assert!(parse_target("a/b.conf").is_err());
        assert!(parse_target("a:0").is_err());
        assert_eq!(
            printed_names("registry=docker://{{candidate_registry}}"),
            ["candidate_registry"]
        );
        assert_eq!(
            printed_names("{{ a | b64encode }} {{ 'x' }} {{ b.c }}"),
            ["a", "b"]
        );
    }
}
