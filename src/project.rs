//! The one model of a tree's Ansible configuration (SPEC §6.3: "plan, prove, audit, explain and
//! check share one model of where a rendered value comes from"): the group variables per
//! environment, the template tasks with the plays and inventory deciding each template's
//! variables, and the renderer. Built once per run, each part on first need, and shared:
//! `apply --commit --pr-body` plans, checks staging first, proves and audits with one.
//!
//! Where a rendered value comes from is answered here: [`Project::render`] renders a template
//! as Ansible would for an environment; `ansible::tasks::Playbooks::trace` gives the definition
//! of a variable that wins there; `sites` follows an edit to every rendering it reaches.

use std::sync::{Arc, OnceLock};

use crate::ansible::EnvVars;
use crate::ansible::render::Vars;
use crate::ansible::tasks::Playbooks;
use crate::error::{Error, Result};
use crate::migration::{Env, Selector};
use crate::walk::{Tree, View};

/// A tree's Ansible model (see the module documentation).
pub struct Project {
    view: Arc<View>,
    selector: Selector,
    vars: OnceLock<Result<EnvVars>>,
    playbooks: OnceLock<Playbooks>,
}

impl Project {
    /// The model of the tree as `view` shows it (planned edits laid over, or `HEAD`).
    pub fn new(view: Arc<View>, selector: &Selector) -> Project {
        Project {
            view,
            selector: selector.clone(),
            vars: OnceLock::new(),
            playbooks: OnceLock::new(),
        }
    }

    /// The model of `tree` as it is on disk.
    pub fn of(tree: &Tree, selector: &Selector) -> Project {
        Project::new(Arc::new(View::of(tree)), selector)
    }

    /// Fails when a file this run needed could not be read, or (for the template index) did
    /// not parse: the result would otherwise rest on a file silently taken for absent.
    pub fn check_reads(&self) -> Result<()> {
        self.view.check_reads()?;
        match self.playbooks.get() {
            Some(p) => p.check(),
            None => Ok(()),
        }
    }

    pub fn view(&self) -> &Arc<View> {
        &self.view
    }

    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// The group variables per environment, read on first call (a vars file that does not
    /// parse is the error of every call).
    pub fn vars(&self) -> Result<&EnvVars> {
        self.vars
            .get_or_init(|| EnvVars::load(Arc::clone(&self.view), &self.selector))
            .as_ref()
            .map_err(Error::clone)
    }

    /// The group variables if another thread already read them (never waits).
    pub fn vars_if_read(&self) -> Option<&EnvVars> {
        self.vars.get().and_then(|v| v.as_ref().ok())
    }

    /// The group variables once some thread has read them or failed to (waits).
    pub fn vars_when_read(&self) -> Option<&EnvVars> {
        self.vars.wait().as_ref().ok()
    }

    /// Releases threads waiting in [`Project::vars_when_read`] when the reading thread ended
    /// without reading (a panic).
    pub fn release_waiters(&self) {
        let _ = self.vars.set(Err(Error::Usage(
            "the group variables could not be read".into(),
        )));
    }

    /// The template tasks, plays and inventory (read lazily, per template asked about).
    pub fn playbooks(&self) -> &Playbooks {
        self.playbooks
            .get_or_init(|| Playbooks::load(&self.view, &self.selector))
    }

    /// The variables `template` renders with in `env`: those of the first task rendering it,
    /// else the environment's group variables.
    pub fn vars_for(&self, template: &str, env: Env) -> Result<Vars> {
        let vars = self.vars()?;
        Ok(self
            .playbooks()
            .vars_for(vars, template, env)
            .unwrap_or_else(|| vars.vars(env).clone()))
    }

    /// `template` as Ansible would write it for `env`, with where each expression's output
    /// lies in it (`ansible::origins`).
    pub fn render_with_origins(
        &self,
        template: &str,
        env: Env,
    ) -> Result<(String, Vec<crate::ansible::origins::Origin>)> {
        let vars = self.vars_for(template, env)?;
        self.vars()?
            .renderer()
            .render_with_origins(template, &(&vars).into())
    }

    /// `template` as Ansible would write it for `env`.
    pub fn render(&self, template: &str, env: Env) -> Result<String> {
        let vars = self.vars_for(template, env)?;
        self.vars()?
            .renderer()
            .render_file(template, &(&vars).into())
    }
}
