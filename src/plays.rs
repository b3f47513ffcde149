//! The plays a change needs run, per environment (issue 15.5, the pull-request body): every
//! changed file and every rendering its edits were checked in ([`Report::rendered`]) is
//! deployed by the plays the model finds for it ([`Playbooks::plays_deploying`]): a
//! playbook's own plays, the plays applying a role, the plays running a template task. A play
//! runs in an environment when its `hosts` select a host there.

use std::collections::{BTreeMap, BTreeSet};

use crate::ansible::tasks::Play;
use crate::formats::jinja::Envs;
use crate::migration::Env;
use crate::plan::Plan;
use crate::project::Project;
use crate::prove::Report;

/// One play to run and what it deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub play: Play,
    /// The playbooks importing the play's playbook (what a reader runs instead).
    pub imported_by: Vec<String>,
    /// The changed files (or renderings of them) the play deploys.
    pub files: BTreeSet<String>,
}

/// The plays per environment, and the changed files no play was found for.
#[derive(Debug, Clone, Default)]
pub struct ToRun {
    pub per_env: BTreeMap<Env, Vec<Deploy>>,
    pub unplayed: BTreeSet<String>,
    /// Per rendering (file, environment) several plays deploy: the play the proof rendered it
    /// for, and how many others deploy it there with their own hosts and parameters (not
    /// rendered: the proof renders once per environment).
    pub once: BTreeMap<(String, Env), (Play, usize)>,
}

/// The plays to run in each of `envs` after `plan` is merged.
pub fn to_run(project: &Project, plan: &Plan, proof: &Report, envs: Envs) -> ToRun {
    let playbooks = project.playbooks();
    let mut out = ToRun::default();
    let Some(vars) = project.vars_if_read() else {
        out.unplayed = plan.changed.iter().map(|c| c.path.clone()).collect();
        return out;
    };
    let mut plays_of: BTreeMap<(String, Env), Vec<Play>> = BTreeMap::new();
    // A playbook's importers are the same in every environment: looked up once.
    let mut importers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for changed in plan.changed.iter().filter(|c| !c.gone) {
        let mut targets: BTreeSet<String> = BTreeSet::from([changed.path.clone()]);
        for e in plan.edits.iter().filter(|e| e.path == changed.path) {
            if let Some(set) = proof.rendered.get(&(e.path.clone(), e.range.start)) {
                targets.extend(set.iter().map(|(file, _)| file.clone()));
            }
        }
        let mut found = false;
        for target in &targets {
            for env in envs.iter() {
                let here = plays_of
                    .entry((target.clone(), env))
                    .or_insert_with(|| playbooks.plays_deploying(vars, target, env));
                found |= !here.is_empty();
                for play in here.iter() {
                    let by = importers
                        .entry(play.playbook.clone())
                        .or_insert_with(|| playbooks.importers(project.view(), &play.playbook));
                    add(&mut out, env, play, by, target);
                }
                if here.len() > 1
                    && let Some(first) = playbooks.rendered_for(vars, target, env)
                {
                    out.once
                        .insert((target.clone(), env), (first, here.len() - 1));
                }
            }
        }
        if !found {
            out.unplayed.insert(changed.path.clone());
        }
    }
    out
}

fn add(out: &mut ToRun, env: Env, play: &Play, imported_by: &[String], file: &str) {
    let list = out.per_env.entry(env).or_default();
    if let Some(d) = list.iter_mut().find(|d| &d.play == play) {
        d.files.insert(file.to_string());
        return;
    }
    list.push(Deploy {
        play: play.clone(),
        imported_by: imported_by.to_vec(),
        files: BTreeSet::from([file.to_string()]),
    });
}
