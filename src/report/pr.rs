//! The pull-request description for `apply --commit --pr-body FILE` (SPEC §1, issue 5), in
//! Markdown: summary, step and environments, every value changed, the verification per
//! environment, what still needs a human, and the rollout order (staging first). Secrets are
//! `<redacted>` (values come through [`crate::series::shown`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::audit::Finding;
use crate::formats::jinja::Envs;
use crate::migration::{Env, Migration};
use crate::plan::Plan;
use crate::prove::Report;
use crate::series::{CommitSpec, edit_line, shown};

/// What the description is made of.
pub struct PullRequest<'a> {
    pub step: u8,
    pub envs: Envs,
    pub branch: &'a str,
    pub plan: &'a Plan,
    pub series: &'a [CommitSpec],
    pub proof: &'a Report,
    pub references: &'a [Finding],
    pub migration: &'a Migration,
    /// The step's rules (step 4's checklist names what they remove).
    pub rules: &'a crate::rules::RuleSet,
    /// The plays to run per environment, from the model.
    pub plays: &'a crate::plays::ToRun,
}

pub fn body(pr: &PullRequest<'_>) -> String {
    let mut out = String::new();
    let envs = env_names(pr.envs);
    let files: BTreeSet<&str> = pr.plan.edits.iter().map(|e| e.path.as_str()).collect();
    let _ = writeln!(
        out,
        "# Registry migration, step {}: {envs}\n\n{} edits in {} files, in {} commits (one per \
         rule, staging first), on `{}`. Every edit was planned by regshift's rules; the proof \
         column says where each was checked before anything was written.\n",
        pr.step,
        pr.plan.edits.len(),
        files.len(),
        pr.series.len(),
        pr.branch
    );
    let _ = writeln!(out, "- Step: {}\n- Environments: {envs}\n", pr.step);
    changes(&mut out, pr);
    verification(&mut out, pr);
    plays_to_run(&mut out, pr);
    needs_a_human(&mut out, pr);
    rollout(&mut out, pr);
    out
}

fn env_names(envs: Envs) -> String {
    envs.iter().map(Env::name).collect::<Vec<_>>().join(" and ")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Above this many rows a table or list is folded into `<details>` (the diff is on the PR).
const FOLD_OVER: usize = 20;

/// `body` under `summary`, folded when it has more than [`FOLD_OVER`] lines.
fn folded(out: &mut String, summary: &str, body: &str) {
    if body.lines().count() > FOLD_OVER {
        let _ = write!(
            out,
            "<details><summary>{summary}</summary>\n\n{body}\n</details>\n"
        );
    } else {
        out.push_str(body);
    }
}

fn changes(out: &mut String, pr: &PullRequest<'_>) {
    out.push_str("## Changes\n\n");
    let mut table =
        String::from("| commit | file | line | environments | before | after | proof |\n");
    table.push_str("|---|---|---|---|---|---|---|\n");
    for spec in pr.series {
        for e in &spec.edits {
            let line = edit_line(pr.plan, e);
            let (old, mut new) = shown(e);
            if e.rule == crate::rules::INFERRED {
                new.push_str(" — rewrite (inferred)");
            }
            let _ = writeln!(
                table,
                "| {} | `{}` | {line} | {} | {} | {} | {} |",
                cell(&spec.subject),
                e.path,
                env_names(e.envs),
                cell(&old),
                cell(&new),
                cell(&proof_of(pr, e))
            );
        }
    }
    let summary = format!("{} edits, with where each was proven", pr.plan.edits.len());
    folded(out, &summary, &table);
    out.push('\n');
}

/// Where an edit's value was checked: the renderings its site reaches (template, environment,
/// place in the parsed output), or its own file read as data.
/// A rendering several plays deploy was rendered for one of them: the cell says which, and how
/// many were not rendered.
fn proof_of(pr: &PullRequest<'_>, e: &crate::plan::Edit) -> String {
    let key = (e.path.clone(), e.range.start);
    let Some(places) = pr.proof.proven.get(&key) else {
        return "not checked: no rendering shows a change here".to_string();
    };
    let mut text = places.join("; ");
    for (file, env) in pr.proof.rendered.get(&key).into_iter().flatten() {
        if let Some((play, others)) = pr.plays.once.get(&(file.clone(), *env)) {
            let plays = if *others == 1 { "play" } else { "plays" };
            let _ = write!(
                text,
                "; {file} ({env}) rendered for `{}`{}, {others} other {plays} deploying it there \
                 not rendered separately",
                play.playbook,
                hosts_of(play)
            );
        }
    }
    text
}

fn hosts_of(play: &crate::ansible::tasks::Play) -> String {
    play.hosts
        .as_deref()
        .map(|h| format!(" (hosts `{h}`)"))
        .unwrap_or_default()
}

/// Per environment, in rollout order: the plays whose runs deploy the change.
fn plays_to_run(out: &mut String, pr: &PullRequest<'_>) {
    out.push_str(
        "## Plays to run\n\nAfter the merge, per environment (the plays whose hosts are there \
         and that deploy a changed file or a rendering an edit reaches):\n\n",
    );
    let order = pr.migration.selector.rollout(pr.envs.iter());
    for env in order {
        let Some(plays) = pr.plays.per_env.get(&env) else {
            let _ = writeln!(out, "- **{env}**: no play found\n");
            continue;
        };
        let mut table = String::from("| playbook | hosts | deploys |\n|---|---|---|\n");
        for d in plays {
            let run = match d.imported_by.as_slice() {
                [] => format!("`{}`", d.play.playbook),
                by => format!(
                    "`{}` (imported by {})",
                    d.play.playbook,
                    by.iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let files: Vec<String> = d.files.iter().map(|f| format!("`{f}`")).collect();
            let _ = writeln!(
                table,
                "| {} | {} | {} |",
                cell(&run),
                cell(
                    &d.play
                        .hosts
                        .as_deref()
                        .map_or("?".into(), |h| format!("`{h}`"))
                ),
                cell(&files.join(", "))
            );
        }
        let count = match plays.len() {
            1 => "1 play".to_string(),
            n => format!("{n} plays"),
        };
        let _ = writeln!(out, "**{env}** ({count}):\n");
        folded(out, &format!("{count} in {env}"), &table);
        out.push('\n');
    }
    if !pr.plays.unplayed.is_empty() {
        let files: Vec<String> = pr.plays.unplayed.iter().map(|f| format!("`{f}`")).collect();
        let _ = writeln!(
            out,
            "No play with a host in {} was found deploying {}: an inventory or variables file \
             reaches its hosts through the plays above, and a playbook whose hosts are all \
             elsewhere needs no run here; anything else needs deploying by hand.\n",
            env_names(pr.envs),
            files.join(", ")
        );
    }
}

fn verification(out: &mut String, pr: &PullRequest<'_>) {
    out.push_str(
        "## Verification\n\nEvery rendering an edit reaches (its template, the templates \
         including its file, those reading the variable it defines) rendered per environment as \
         Ansible renders it (first host of its plays, group_vars, task vars), parsed, and \
         compared with its rendering before the edits: it differs only at the planned places, \
         and carries each planned value (the proof column above). The rules' promises are \
         checked as well.\n\n\
         | environment | result |\n|---|---|\n",
    );
    for env in pr.migration.all().iter() {
        let result = if pr.envs.contains(env) {
            let checks = pr.proof.checks_by_env.get(&env).copied().unwrap_or(0);
            let failed = pr.proof.failures.iter().filter(|f| f.env == env).count();
            format!("{} passed, {failed} failed", checks.saturating_sub(failed))
        } else {
            "not changed: every touched template renders byte-identical to before".to_string()
        };
        let _ = writeln!(out, "| {env} | {result} |");
    }
    out.push('\n');
}

fn needs_a_human(out: &mut String, pr: &PullRequest<'_>) {
    out.push_str("## Needs a human\n\n");
    let mut secrets = Vec::new();
    for env in pr.envs.iter() {
        if let Some(m) = pr.migration.envs.get(&env) {
            for var in m.credential_vars() {
                if pr.plan.edits.iter().any(|e| e.new.contains(var.as_str())) {
                    secrets.push(format!("`{var}` ({env})"));
                }
            }
        }
    }
    if !secrets.is_empty() {
        let _ = writeln!(
            out,
            "- **Secrets**: create {} in the private vars before deploying; the new templates \
             read them.",
            secrets.join(", ")
        );
    }
    let unclassified: Vec<&Finding> = pr.references.iter().filter(|f| f.rule.is_none()).collect();
    if unclassified.is_empty() {
        out.push_str("- **Unclassified references**: none.\n");
    } else {
        let _ = writeln!(
            out,
            "- **Unclassified references** ({}): no rule says what happens to them.",
            unclassified.len()
        );
        for f in unclassified {
            let _ = writeln!(out, "  - `{}:{}` {}", f.path, f.at.line, f.host);
        }
    }
    for step in [3u8, 4] {
        let later: Vec<&Finding> = pr
            .references
            .iter()
            .filter(|f| f.rule.as_ref().is_some_and(|(_, _, s)| *s == step))
            .collect();
        if later.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "- **Step {step}** (not in this change): {} references.\n",
            later.len()
        );
        let mut list = String::new();
        for f in later {
            if let Some((rule, class, _)) = &f.rule {
                let class = format!("{class:?}").to_lowercase();
                let _ = writeln!(
                    list,
                    "  - `{}:{}` {} ({class}, rule `{rule}`)",
                    f.path, f.at.line, f.host
                );
            }
        }
        let _ = write!(
            out,
            "  <details><summary>the step-{step} references</summary>\n\n{list}\n  </details>\n\n"
        );
    }
    out.push('\n');
}

fn rollout(out: &mut String, pr: &PullRequest<'_>) {
    out.push_str("## Rollout\n\n");
    if pr.step == 2 {
        let order = crate::checklist::deployment_order(pr.migration);
        let _ = writeln!(out, "{}", capitalised(&order));
    }
    if pr.step == 4 {
        let list = crate::checklist::step_four(pr.migration, pr.rules);
        let _ = writeln!(out, "{}", capitalised(&list));
    }
    let order = pr.migration.selector.rollout(pr.migration.all().iter());
    let mut n = 0;
    let mut step = |text: String| {
        n += 1;
        let _ = writeln!(out, "{n}. {text}");
    };
    step("Create the secrets listed above in the private vars (if any).".into());
    // Environments in rollout order (those chosen by an inventory group first).
    let mut done_before: Vec<Env> = Vec::new();
    let mut first_in_change = true;
    for env in order.iter().copied() {
        if !pr.envs.contains(env) {
            if first_in_change {
                done_before.push(env);
            } else {
                step(format!(
                    "When {} works, make {env}'s change: `regshift apply --commit --step {} \
                     --env {env}`.",
                    pr.migration
                        .selector
                        .rollout(pr.envs.iter())
                        .last()
                        .copied()
                        .unwrap_or(env),
                    pr.step
                ));
                break;
            }
            continue;
        }
        if first_in_change {
            if done_before.is_empty() {
                step(format!(
                    "Merge, then run the playbooks of the {env} hosts first; check that {env} pulls and pushes through the new registry."
                ));
            } else {
                let before: Vec<String> = done_before.iter().map(|e| e.to_string()).collect();
                step(format!(
                    "{} is already migrated: run the {env} playbooks.",
                    capitalised(&before.join(", "))
                ));
            }
            first_in_change = false;
        } else {
            step(format!(
                "Only then run the {env} playbooks: {env}'s values are in this change too."
            ));
        }
    }
}

/// `text` with its first letter in capitals.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
