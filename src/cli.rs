//! The command line (SPEC §5): flags parsed by clap, turned once into a [`Config`], then one
//! function per command. Only this module knows clap; exit codes are decided here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::git;
use crate::migration::Migration;
use crate::plan::{self, Plan, Selection};
use crate::project::Project;
use crate::prove;
use crate::report;
use crate::rules::RuleSet;
use crate::ruletest;
use crate::walk::{Tree, View};

#[derive(Parser, Debug)]
#[command(
    name = "regshift",
    version,
    about = "Move an Ansible-managed infrastructure from one container registry to another"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// The ansible checkout to work on.
    #[arg(
        short = 'C',
        long = "directory",
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    dir: PathBuf,
    /// The migration file (default: the embedded Fedora plan).
    #[arg(long, global = true, value_name = "FILE")]
    migration: Option<PathBuf>,
    /// A directory of rule files that add to or override the built-in rules by id.
    #[arg(long, global = true, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// Load Fedora's built-in rules with your own --migration file (they load by default only
    /// with the embedded Fedora migration).
    #[arg(long, global = true)]
    builtin_rules: bool,
    /// The environments to migrate: one the migration file declares, or `all`.
    #[arg(long, global = true, value_name = "NAME|all")]
    env: Option<String>,
    /// The migration step (default 2; for `rollback`, every step).
    #[arg(long, global = true, value_enum)]
    step: Option<StepArg>,
    /// Step 2's mode: `cutover` moves everything (and removes what a side-by-side run added);
    /// `side-by-side` adds the new registry beside the old where a target can hold two.
    #[arg(long, global = true, value_enum)]
    mode: Option<ModeArg>,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Print less.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print more.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModeArg {
    Cutover,
    SideBySide,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StepArg {
    #[value(name = "1")]
    One,
    #[value(name = "2")]
    Two,
    #[value(name = "3")]
    Three,
    #[value(name = "4")]
    Four,
    All,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
enum PlanFormat {
    /// Unified diffs, each file preceded by the rules that change it and why.
    #[default]
    Diff,
    /// Every edit: file, line, column, byte offsets, old, new, rule, context, environments.
    Json,
    /// One line per file: its edits and rules, then a total.
    Stat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
enum CheckFormat {
    /// Pending edits, unclassified references and proof failures, one per line.
    #[default]
    Text,
    /// The same as one JSON document.
    Json,
    /// SARIF 2.1.0 (code scanning), pending edits as fixes.
    Sarif,
    /// GitHub workflow annotations (`::error file=…`).
    Github,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
enum AuditFormat {
    /// One reference per line: file:line:column, host, how it is written, environments, class
    /// (step), rule.
    #[default]
    Table,
    /// Every reference as JSON.
    Json,
    /// SARIF 2.1.0, unclassified references as results.
    Sarif,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the edits `apply` would make (exit 1 when edits are pending).
    #[command(
        after_help = "Examples:\n  regshift plan -C ~/ansible\n  regshift plan --step 3 --env staging --format stat"
    )]
    Plan {
        #[arg(long, value_enum, default_value_t = PlanFormat::Diff)]
        format: PlanFormat,
        /// Also save the plan to FILE (JSON): `apply FILE` applies exactly it, and refuses when
        /// anything it was made from changed.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write the edits, after proving them; with --commit, as one commit per rule on a branch.
    #[command(
        after_help = "Examples:\n  regshift apply --env staging\n  regshift apply --commit --env staging --pr-body pr.md\n  regshift apply --interactive --env staging"
    )]
    Apply(ApplyArgs),
    /// List every reference (literal or built by Jinja) and the rule that claims it (exit 1 when
    /// one is unclassified).
    #[command(
        after_help = "Examples:\n  regshift audit -C ~/ansible\n  regshift audit --explain roles/web/templates/site.conf:2"
    )]
    Audit {
        /// The chain of definitions behind the values one line reads.
        #[arg(long, value_name = "FILE:LINE")]
        explain: Option<String>,
        #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
        format: AuditFormat,
    },
    /// The CI gate: exit 1 when edits are pending, a reference is unclassified, or the proof fails.
    #[command(
        after_help = "Examples:\n  regshift check --env staging\n  regshift check --format github"
    )]
    Check {
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Prove the current tree: render what the rules promise, per environment, and check it
    /// (exit 1 when a promise does not hold).
    #[command(
        after_help = "Examples:\n  regshift verify\n  regshift verify --step 3 --env staging"
    )]
    Verify,
    /// Revert regshift's own commits (their `Regshift-Rule:` trailers) of `--step` (default:
    /// every step) and `--env`, newest first, as new commits; for step 3 this turns the
    /// redirect off. Refused when later commits changed the same lines (they are named).
    #[command(after_help = "Example: regshift rollback --step 3 --env staging")]
    Rollback,
    /// Render one template as Ansible would for one environment (a debugging aid).
    #[command(hide = true)]
    Render { template: String },
    /// Print the configuration of each site a step-3 rule redirects, as Apache reads it, for
    /// one environment, and the mod_rewrite model's answers to the sample requests (a
    /// debugging aid; what the step-3 proof asks the model).
    #[command(hide = true)]
    Site,
    /// Inspect the rules.
    #[command(
        after_help = "Examples:\n  regshift rules list\n  regshift rules show login-registry-params\n  regshift rules test"
    )]
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Print a completion script for a shell.
    #[command(after_help = "Example: regshift completions bash > /etc/bash_completion.d/regshift")]
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    #[command(after_help = "Example: regshift man > regshift.1 && man ./regshift.1")]
    Man,
}

#[derive(Args, Debug, Clone)]
struct ApplyArgs {
    /// A plan saved by `plan --out`: apply exactly it (its step, environments and mode), or
    /// refuse, naming what changed since it was made.
    #[arg(value_name = "PLANFILE")]
    plan_file: Option<PathBuf>,
    /// Commit the edits, one commit per rule, on a new branch (refuses a dirty work tree).
    #[arg(long)]
    commit: bool,
    /// The branch to commit on (default: regshift/step-N-ENV, or regshift/step-N for both).
    #[arg(long, value_name = "NAME", requires = "commit")]
    branch: Option<String>,
    /// Add a Signed-off-by trailer from the git identity.
    #[arg(long, requires = "commit")]
    signoff: bool,
    /// Commit even though other files have uncommitted changes (they stay as they are).
    #[arg(long, requires = "commit")]
    allow_dirty: bool,
    /// Also write the commits as mbox patches (`git am` applies them) into DIR.
    #[arg(long, value_name = "DIR", requires = "commit")]
    format_patch: Option<PathBuf>,
    /// Also write the pull-request description (Markdown) to FILE.
    #[arg(long, value_name = "FILE", requires = "commit")]
    pr_body: Option<PathBuf>,
    /// Push the branch to REMOTE with your own `git push`.
    #[arg(long, value_name = "REMOTE", requires = "commit")]
    push: Option<String>,
    /// Apply production although the step's staging edits are still pending.
    #[arg(long)]
    force: bool,
    /// Show each edit with its rule and ask: y(es), n(o), a(ll of this rule), q(uit). The
    /// proof runs on the accepted edits before anything is written.
    #[arg(long, conflicts_with = "plan_file")]
    interactive: bool,
}

#[derive(Subcommand, Debug)]
enum RulesCommand {
    /// One line per rule: id, step, class, files.
    List,
    /// A rule's source file.
    Show { id: String },
    /// Run the rule fixtures (DIR/<rule-id>/before → after, then idempotence).
    Test {
        #[arg(long, default_value = "fixtures/rules", value_name = "DIR")]
        fixtures: PathBuf,
    },
}

/// Validated settings shared by every command.
#[derive(Clone)]
struct Config {
    tree: PathBuf,
    migration: Migration,
    rules: RuleSet,
    step: u8,
    /// `--step N` as given (`None`: not given, or `all`).
    step_named: Option<u8>,
    /// `--mode` (step 2).
    mode: plan::Mode,
    /// The migration file's text (a saved plan records its digest).
    migration_text: String,
    /// The environments whose renderings may change.
    envs: Envs,
    quiet: bool,
    verbose: bool,
}

/// Runs regshift with `args` and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match cli.global.color {
        _ if no_color => anstream::ColorChoice::Never.write_global(),
        ColorArg::Always => anstream::ColorChoice::Always.write_global(),
        ColorArg::Never => anstream::ColorChoice::Never.write_global(),
        ColorArg::Auto => {}
    }
    let tree = cli.global.dir.clone();
    crate::transaction::handle_signals();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Error::Interrupted) => {
            let _ = writeln!(anstream::stderr(), "error: {}", Error::Interrupted);
            ExitCode::from(crate::transaction::INTERRUPTED_EXIT as u8)
        }
        Err(e) => {
            let _ = write!(anstream::stderr(), "error: {e}\n{}", excerpt(&tree, &e));
            ExitCode::from(2)
        }
    }
}

/// The source line an error points at, with a caret under the column.
fn excerpt(tree: &std::path::Path, e: &Error) -> String {
    let Error::At { path, at, .. } = e else {
        return String::new();
    };
    let text = std::fs::read_to_string(path).or_else(|_| std::fs::read_to_string(tree.join(path)));
    let Some(line) = text
        .ok()
        .filter(|t| t.lines().nth(at.line.saturating_sub(1)).is_some())
        .map(|t| crate::redact::excerpt(&t, at.line))
    else {
        return String::new();
    };
    let gutter = at.line.to_string();
    let pad = " ".repeat(gutter.len());
    let caret = " ".repeat(
        line.chars()
            .take(at.column - 1)
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum(),
    );
    let line = line.replace('\t', "    ");
    format!("{pad} |\n{gutter} | {line}\n{pad} | {caret}^\n")
}

fn run(cli: Cli) -> Result<u8> {
    // Generated from the command line's own definition; they read no tree.
    match cli.command {
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "regshift", &mut out);
            return Ok(0);
        }
        Command::Man => {
            let mut out = std::io::stdout();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| Error::Usage(format!("cannot write the manual page: {e}")))?;
            return Ok(0);
        }
        _ => {}
    }
    let g = &cli.global;
    // `rules` reads rule files, not a tree: it runs anywhere.
    let dir = match cli.command {
        Command::Rules { .. } => g.dir.clone(),
        _ => crate::scope::root(&g.dir)?,
    };
    // A write a kill interrupted is finished or undone before anything reads the tree.
    if !matches!(cli.command, Command::Rules { .. })
        && let Some(said) = crate::transaction::recover(&dir)?
    {
        let _ = writeln!(anstream::stderr(), "regshift: {said}");
    }
    // The tree's own settings (`.regshift.yaml`); a flag wins over each.
    let settings = match cli.command {
        Command::Rules { .. } => crate::settings::Settings::default(),
        _ => crate::settings::load(&dir)?,
    };
    let named_in = |what: &str, value: &str| {
        Error::file(
            &dir.join(crate::settings::FILE),
            format!("`{what}: {value}` is not a value regshift knows"),
        )
    };
    let migration_path = g.migration.clone().or(settings.migration.clone());
    let rules_path = g.rules.clone().or(settings.rules.clone());
    let step_arg = match (g.step, &settings.step) {
        (Some(s), _) => Some(s),
        (None, Some(s)) => Some(
            StepArg::from_str(&s.as_flag(), true).map_err(|_| named_in("step", &s.as_flag()))?,
        ),
        (None, None) => None,
    };
    let mode_arg = match (g.mode, &settings.mode) {
        (Some(m), _) => m,
        (None, Some(m)) => ModeArg::from_str(m, true).map_err(|_| named_in("mode", m))?,
        (None, None) => ModeArg::Cutover,
    };
    let env_name = g
        .env
        .clone()
        .or(settings.env.clone())
        .unwrap_or_else(|| "all".into());
    let migration = match &migration_path {
        Some(path) => Migration::load(path)?,
        None => Migration::embedded()?,
    };
    // What a saved plan records of the migration: the text it was read from.
    let migration_text = match &migration_path {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => crate::migration::DEFAULT.to_string(),
    };
    let builtin = migration_path.is_none() || g.builtin_rules;
    let rules = RuleSet::load(rules_path.as_deref(), &migration, builtin)?;
    let step = match step_arg.unwrap_or(StepArg::Two) {
        StepArg::One => 1,
        StepArg::Two | StepArg::All => 2,
        StepArg::Three => 3,
        StepArg::Four => 4,
    };
    // A step named (not `all`): what `rollback` limits itself to.
    let step_named = step_arg.filter(|s| *s != StepArg::All).map(|_| step);
    let every_step = step_arg == Some(StepArg::All);
    let mode = match mode_arg {
        ModeArg::Cutover => plan::Mode::Cutover,
        ModeArg::SideBySide => plan::Mode::SideBySide,
    };
    // Options a command cannot honour are refused (SPEC §5): side by side is step 2's.
    if mode == plan::Mode::SideBySide && (step != 2 || every_step) {
        return Err(Error::Usage(
            "`--mode side-by-side` is step 2's (`--step 2`)".into(),
        ));
    }
    let envs = selected_envs(&env_name, &migration)?;
    let config = Config {
        tree: dir,
        migration,
        rules,
        step,
        step_named,
        mode,
        migration_text,
        envs,
        quiet: g.quiet,
        verbose: g.verbose,
    };
    if every_step
        && matches!(
            cli.command,
            Command::Plan { .. } | Command::Apply(_) | Command::Verify | Command::Check { .. }
        )
    {
        return every_step_command(&config, cli.command);
    }
    match cli.command {
        Command::Plan { format, out } => plan_command(&config, format, out.as_deref()),
        Command::Apply(args) => apply_command(&config, args),
        Command::Rules { command } => rules_command(&config, command),
        Command::Render { template } => render_command(&config, &template),
        Command::Site => site_command(&config),
        Command::Rollback => rollback_command(&config),
        Command::Verify => verify_command(&config),
        Command::Audit {
            explain: Some(target),
            ..
        } => explain_command(&config, &target),
        Command::Audit {
            explain: None,
            format,
        } => audit_command(&config, format),
        Command::Check { format } => check_command(&config, format),
        // Answered before any tree is read (`run`'s first lines).
        Command::Completions { .. } | Command::Man => Ok(0),
    }
}

/// `--step all` (SPEC §7.2): every step in order. `apply` applies steps 2, 3 and 4 one after
/// the other (each on the tree the one before wrote; with `--commit`, on one branch); `plan`,
/// `verify` and `check` run each step on the tree as it is, step 1's checklist first, and exit
/// with the worst code.
fn every_step_command(config: &Config, command: Command) -> Result<u8> {
    let at = |step: u8| Config {
        step,
        ..config.clone()
    };
    let mut worst = 0;
    match command {
        Command::Apply(mut args) => {
            if args.commit && args.branch.is_none() {
                let env = match config.envs.iter().count() {
                    1 => config.envs.iter().map(|e| format!("-{e}")).collect(),
                    _ => String::new(),
                };
                args.branch = Some(format!("regshift/step-all{env}"));
            }
            for step in 2..=4 {
                if !config.quiet {
                    let _ = writeln!(anstream::stdout(), "== step {step}");
                }
                worst = worst.max(apply_command(&at(step), args.clone())?);
            }
        }
        command => {
            for step in 1..=4 {
                if !config.quiet {
                    let _ = writeln!(anstream::stderr(), "== step {step}");
                }
                let code = match &command {
                    Command::Plan { format, .. } => plan_command(&at(step), *format, None)?,
                    Command::Verify if step > 1 => verify_command(&at(step))?,
                    Command::Check { format } if step > 1 => check_command(&at(step), *format)?,
                    _ => 0,
                };
                worst = worst.max(code);
            }
        }
    }
    Ok(worst)
}

/// Step 1 has no edits: its checklist instead of a plan.
fn step_without_edits(config: &Config) -> Option<String> {
    match config.step {
        1 => Some(crate::checklist::step_one(&config.migration)),
        _ => None,
    }
}

/// The tree and the plan of the selected step and environments.
/// What a saved plan records of the run's settings.
fn saved_inputs(config: &Config) -> crate::saved::Inputs<'_> {
    crate::saved::Inputs {
        step: config.step,
        environments: config.envs.iter().map(|e| e.to_string()).collect(),
        mode: config.mode,
        migration_text: &config.migration_text,
        rules: &config.rules,
    }
}

fn make_plan(config: &Config) -> Result<(Tree, Plan)> {
    let tree = Tree::walk(&config.tree)?;
    let plan = plan::plan(&tree, &config.migration, &config.rules, selection(config))?;
    Ok((tree, plan))
}

fn selection(config: &Config) -> Selection {
    Selection {
        step: config.step,
        envs: config.envs,
        mode: config.mode,
    }
}

fn emit_notes(config: &Config, plan: &Plan) {
    if !config.quiet {
        let _ = write!(
            anstream::stderr(),
            "{}",
            report::notes(plan, config.verbose)
        );
    }
}

/// A plan where no rule matched anything: exit 2 when no host of the migration occurs either
/// (SPEC §5: nothing to do is not success by accident), a warning for the hosts that do not.
fn nothing_to_do(config: &Config, tree: &Tree) -> Result<()> {
    let absent = crate::scope::absent_hosts(tree, &config.migration);
    if absent.len() == config.migration.from_hosts().len() {
        return Err(crate::scope::nothing_here(&config.tree, &config.migration));
    }
    warn_absent(config, &absent);
    Ok(())
}

fn warn_absent(config: &Config, absent: &[String]) {
    if let (false, Some(w)) = (config.quiet, crate::scope::absent_warning(absent)) {
        let _ = writeln!(anstream::stderr(), "{w}");
    }
}

/// The `from` hosts no finding names (literal or built by Jinja).
fn absent_in(config: &Config, found: &[crate::audit::Finding]) -> Vec<String> {
    config
        .migration
        .from_hosts()
        .into_iter()
        .filter(|h| !found.iter().any(|f| f.host.split(" | ").any(|x| x == h)))
        .collect()
}

fn plan_command(config: &Config, format: PlanFormat, out: Option<&Path>) -> Result<u8> {
    if let Some(text) = step_without_edits(config) {
        let _ = write!(anstream::stdout(), "{text}");
        return Ok(0);
    }
    let (tree, plan) = make_plan(config)?;
    if !plan.matched_anything() {
        nothing_to_do(config, &tree)?;
    }
    if let Some(path) = out {
        crate::saved::write(
            path,
            &crate::saved::save(&tree, &plan, &saved_inputs(config)),
        )?;
        if !config.quiet {
            let _ = writeln!(
                anstream::stderr(),
                "saved the plan ({} edits) to {}; `regshift apply {}` applies exactly it",
                plan.edits.len(),
                path.display(),
                path.display()
            );
        }
    }
    // Step 2 alone leaves the old registries' users on stale images (SPEC §7).
    if config.step == 2 && !plan.edits.is_empty() && !config.quiet {
        let order = crate::checklist::deployment_order(&config.migration);
        let _ = write!(anstream::stderr(), "note: {order}");
    }
    if config.step == 4 && !plan.edits.is_empty() && !config.quiet {
        let list = crate::checklist::step_four(&config.migration, &config.rules);
        let _ = write!(anstream::stderr(), "note: {list}");
    }
    let text = match format {
        PlanFormat::Diff => colour_diff(&report::diff(&plan, &config.rules)),
        PlanFormat::Json => report::json(&plan, &config.rules, config.step),
        PlanFormat::Stat if plan.edits.is_empty() => String::new(),
        PlanFormat::Stat => report::stat(&plan),
    };
    let _ = write!(anstream::stdout(), "{text}");
    emit_notes(config, &plan);
    // Nothing pending is said in one line, on stderr: stdout stays the format's alone.
    if plan.edits.is_empty() && !config.quiet {
        let _ = writeln!(
            anstream::stderr(),
            "nothing pending: step {} is done in {}",
            config.step,
            config
                .envs
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(u8::from(!plan.edits.is_empty()))
}

fn audit_command(config: &Config, format: AuditFormat) -> Result<u8> {
    let tree = Tree::walk(&config.tree)?;
    let selection = Selection {
        step: 2,
        envs: config.migration.all(),
        mode: plan::Mode::Cutover,
    };
    let project = Project::of(&tree, &config.migration.selector);
    let job = audit_job(config, &tree, &project, selection);
    let found = crate::audit::audit(&job, &progress(config).files())?;
    if found.is_empty() {
        return Err(crate::scope::nothing_here(&config.tree, &config.migration));
    }
    warn_absent(config, &absent_in(config, &found));
    let text = match format {
        AuditFormat::Table => crate::audit::table(&found),
        AuditFormat::Json => crate::audit::json(&found),
        AuditFormat::Sarif => {
            let empty = Plan::default();
            let findings = report::sarif::Findings {
                plan: &empty,
                references: &found,
                failures: &[],
                all_references: true,
            };
            report::sarif::sarif(&findings, &config.rules)
        }
    };
    let _ = write!(anstream::stdout(), "{text}");
    Ok(u8::from(found.iter().any(|f| f.rule.is_none())))
}

/// An audit of `tree` with the run's migration and rules.
fn audit_job<'a>(
    config: &'a Config,
    tree: &'a Tree,
    project: &'a Project,
    selection: Selection,
) -> crate::audit::Job<'a> {
    crate::audit::Job {
        tree,
        project,
        migration: &config.migration,
        rules: &config.rules,
        selection,
    }
}

/// Progress on stderr when it is a terminal (and not with `-q`): stdout is the same either way.
fn progress(config: &Config) -> crate::progress::Progress {
    crate::progress::Progress::on_stderr(config.quiet)
}

/// Up to this many files, `check` proves while it audits (see `check_command`).
const CONCURRENT_PROOF_FILES: usize = 20_000;

fn check_command(config: &Config, format: CheckFormat) -> Result<u8> {
    let tree = Tree::walk(&config.tree)?;
    // References are claimed by the edits of every environment (staging first: production's
    // references are pending production edits, never unclassified); what is pending is the
    // plan of the selected environments.
    // Claimed as cutover claims them: side by side, a target left on the old registry is a
    // pending move, never an unclassified reference.
    let all = Selection {
        envs: config.migration.all(),
        mode: plan::Mode::Cutover,
        ..selection(config)
    };
    // One model of the tree, shared by the audit, its plan and the proof.
    let project = Project::of(&tree, &config.migration.selector);
    let job = audit_job(config, &tree, &project, all);
    let shown = progress(config);
    let audit = || {
        let audited = crate::audit::audit_and_plan(&job, &shown.files());
        shown.phase(proving(config));
        audited
    };
    // The proof reads and renders other files than the audit: both run at once on an ordinary
    // tree (check 4x → 3x rg on the corpora). Their memory adds up, so a very large tree runs
    // them in turn (SPEC §8: under 100 MB; the ×30 tree peaked at 124 MB at once, 78 MB in turn).
    let (audited, proof) = if tree.files.len() < CONCURRENT_PROOF_FILES {
        std::thread::scope(|scope| {
            let proof = scope.spawn(|| prove_against_head(config, &project));
            let audited = audit();
            let proof = proof
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (audited, proof)
        })
    } else {
        (audit(), prove_against_head(config, &project))
    };
    shown.done();
    let ((plan, found), proof) = (audited?, proof?);
    if found.is_empty() && !plan.matched_anything() {
        return Err(crate::scope::nothing_here(&config.tree, &config.migration));
    }
    warn_absent(config, &absent_in(config, &found));
    let plan = if config.envs == all.envs && config.mode == all.mode {
        plan
    } else {
        plan::plan_in(
            &project,
            &tree,
            &config.migration,
            &config.rules,
            selection(config),
        )?
    };
    let unclassified: Vec<&crate::audit::Finding> =
        found.iter().filter(|f| f.rule.is_none()).collect();
    let clean = plan.edits.is_empty() && unclassified.is_empty() && proof.failures.is_empty();
    let findings = report::sarif::Findings {
        plan: &plan,
        references: &found,
        failures: &proof.failures,
        all_references: false,
    };
    let text = match format {
        CheckFormat::Sarif => report::sarif::sarif(&findings, &config.rules),
        CheckFormat::Github => report::sarif::github(&findings, &config.rules),
        CheckFormat::Json => {
            let refs: Vec<serde_json::Value> = unclassified
                .iter()
                .map(|f| serde_json::json!({"file": f.path, "line": f.at.line, "column": f.at.column, "start": f.start, "end": f.end, "host": f.host}))
                .collect();
            let failures: Vec<serde_json::Value> = proof
                .failures
                .iter()
                .map(|f| serde_json::json!({"template": f.template, "environment": f.env.name(), "rule": f.rule, "what": f.what, "expected": f.expected, "got": f.got}))
                .collect();
            let pending = serde_json::from_str::<serde_json::Value>(&report::json(
                &plan,
                &config.rules,
                config.step,
            ))
            .unwrap_or_default();
            let out = serde_json::json!({"format_version": report::FORMAT_VERSION, "clean": clean, "pending": pending["edits"], "unclassified": refs, "proof_failures": failures});
            format!(
                "{}\n",
                serde_json::to_string_pretty(&out).unwrap_or_default()
            )
        }
        CheckFormat::Text => {
            let mut out = String::new();
            for e in &plan.edits {
                let path = report::printable(&e.path);
                let at = crate::series::edit_position(&plan, e);
                let (old, new) = crate::series::shown(e);
                out.push_str(&report::printable(&format!(
                    "pending: {path}:{}:{} {old} → {new} [rule {}]",
                    at.line, at.column, e.rule
                )));
                out.push('\n');
            }
            for f in &unclassified {
                out.push_str(&format!(
                    "unclassified: {}:{}:{} {}\n",
                    report::printable(&f.path),
                    f.at.line,
                    f.at.column,
                    report::printable(&f.host)
                ));
            }
            for f in &proof.failures {
                out.push_str(&format!("proof: {}\n", f.describe()));
            }
            out.push_str(&format!(
                "check: {} pending edits, {} unclassified references, {} proof failures\n",
                plan.edits.len(),
                unclassified.len(),
                proof.failures.len()
            ));
            out.push_str(&next_step(
                config,
                !plan.edits.is_empty(),
                !unclassified.is_empty(),
                !proof.failures.is_empty(),
            ));
            out
        }
    };
    let _ = write!(anstream::stdout(), "{text}");
    Ok(u8::from(!clean))
}

/// What to do after a `check` that is not clean (one line), or nothing.
fn next_step(config: &Config, pending: bool, unclassified: bool, failed: bool) -> String {
    let env = match config.envs.iter().count() {
        1 => config.envs.iter().map(|e| format!(" --env {e}")).collect(),
        _ => String::new(),
    };
    let step = match config.step {
        2 => String::new(),
        n => format!(" --step {n}"),
    };
    let mut out = String::new();
    if pending {
        out.push_str(&format!(
            "next: `regshift plan{step}{env}` shows the edits; `regshift apply{step}{env}` makes them\n"
        ));
    }
    if unclassified {
        out.push_str(
            "next: `regshift audit --explain FILE:LINE` says where an unclassified value comes \
             from; a rule in `--rules DIR` classifies it\n",
        );
    }
    if failed {
        out.push_str(&format!(
            "next: `regshift verify{step}{env}` shows each failed promise with its source\n"
        ));
    }
    out
}

fn explain_command(config: &Config, target: &str) -> Result<u8> {
    let (file, line) = crate::explain::parse_target(target)?;
    let tree = Tree::walk(&config.tree)?;
    let text = crate::explain::explain(Arc::new(View::of(&tree)), &config.migration, &file, line)?;
    let _ = write!(anstream::stdout(), "{text}");
    Ok(0)
}

fn verify_command(config: &Config) -> Result<u8> {
    let tree = Tree::walk(&config.tree)?;
    let project = Project::of(&tree, &config.migration.selector);
    let shown = progress(config);
    shown.phase(proving(config));
    let report = prove_against_head(config, &project);
    shown.done();
    let report = report?;
    let _ = write!(anstream::stdout(), "{}", prove::text(&report));
    if !report.failures.is_empty() {
        // A failed promise is mostly an edit not made yet: say how to see and make it.
        let next = next_step(config, true, false, false);
        let _ = writeln!(
            anstream::stdout(),
            "{next}next: `regshift audit --explain FILE:LINE` says where a failed value comes \
             from, per environment"
        );
    }
    Ok(u8::from(!report.failures.is_empty()))
}

/// The progress line while the proof runs.
fn proving(config: &Config) -> String {
    let envs: Vec<&str> = config
        .envs
        .iter()
        .map(crate::migration::Env::name)
        .collect();
    format!("proving step {} in {}", config.step, envs.join(" and "))
}

/// Proves the tree as it is, comparing renderings with `HEAD` when the tree is a git repository.
fn prove_against_head(config: &Config, now: &Project) -> Result<prove::Report> {
    // A work tree identical to `HEAD` renders as `HEAD` does: nothing to compare (a CI checkout
    // of the change under review is such a tree).
    let clean = git::Repo::open(&config.tree)
        .ok()
        .and_then(|repo| repo.dirty().ok())
        .is_some_and(|dirty| dirty.is_empty());
    let head = if clean {
        None
    } else {
        git::HeadTree::open(&config.tree)?
    };
    let head = head.map(|head| {
        let view = Arc::new(View::of_head(&config.tree, head));
        Project::new(view, &config.migration.selector)
    });
    let baseline = head.as_ref().map(|project| prove::Baseline {
        project,
        isolate: false,
    });
    prove::prove(
        now,
        baseline,
        &config.migration,
        &config.rules.of_step(config.step).promising(config.mode),
        config.envs,
    )
}

fn apply_command(config: &Config, args: ApplyArgs) -> Result<u8> {
    if let Some(path) = args.plan_file.clone() {
        return apply_saved(config, &path, args);
    }
    apply_checked(config, args, None)
}

/// `apply PLANFILE`: the saved plan's step, environments and mode; refused when anything it was
/// made from changed, or when planning again gives other edits.
fn apply_saved(config: &Config, path: &Path, mut args: ApplyArgs) -> Result<u8> {
    let saved = crate::saved::read(path)?;
    let mut envs = Envs::NONE;
    for name in &saved.environments {
        let env = config.migration.env_named(name).ok_or_else(|| {
            Error::file(
                path,
                format!("names environment `{name}`, which the migration lacks"),
            )
        })?;
        envs = envs.union(Envs::only(env));
    }
    let mode = crate::saved::mode_named(&saved.mode)
        .ok_or_else(|| Error::file(path, format!("names mode `{}`", saved.mode)))?;
    let at = Config {
        step: saved.step,
        envs,
        mode,
        ..config.clone()
    };
    crate::saved::check_inputs(path, &saved, &Tree::walk(&at.tree)?, &saved_inputs(&at))?;
    args.plan_file = None;
    apply_checked(&at, args, Some((path, &saved)))
}

/// `apply`, with a saved plan the new plan must equal when there is one.
fn apply_checked(
    config: &Config,
    args: ApplyArgs,
    saved: Option<(&Path, &crate::saved::SavedPlan)>,
) -> Result<u8> {
    if let Some(text) = step_without_edits(config) {
        let _ = write!(anstream::stdout(), "{text}");
        return Ok(0);
    }
    let options = crate::apply::Options {
        expected: saved.map(|(p, s)| (p.to_path_buf(), s.clone())),
        commit: args.commit,
        branch: args.branch,
        signoff: args.signoff,
        allow_dirty: args.allow_dirty,
        format_patch: args.format_patch,
        pr_body: args.pr_body,
        push: args.push,
        force: args.force,
        interactive: args.interactive,
        progress: progress(config),
    };
    let job = crate::apply::Job {
        tree: &config.tree,
        migration: &config.migration,
        rules: &config.rules,
        step: config.step,
        envs: config.envs,
        mode: config.mode,
    };
    let done = job.run(&options);
    options.progress.done();
    let done = done?;
    if !done.plan.matched_anything() {
        nothing_to_do(config, &Tree::walk(&config.tree)?)?;
    }
    if !config.quiet && !done.plan.edits.is_empty() {
        let _ = write!(anstream::stdout(), "{}", report::stat(&done.plan));
    }
    if let (false, Some(c)) = (config.quiet, &done.committed) {
        let _ = writeln!(
            anstream::stdout(),
            "committed {} commits on branch {}",
            c.commits.len(),
            c.branch
        );
        for p in &done.patches {
            let _ = writeln!(anstream::stdout(), "wrote {}", p.display());
        }
    }
    emit_notes(config, &done.plan);
    Ok(0)
}

/// `--env`: `all`, or an environment the migration declares (else a usage error naming them).
fn selected_envs(name: &str, migration: &Migration) -> Result<Envs> {
    if name == "all" {
        return Ok(migration.all());
    }
    migration.env_named(name).map(Envs::only).ok_or_else(|| {
        let names: Vec<&str> = migration.envs.keys().map(|e| e.name()).collect();
        Error::Usage(format!(
            "--env {name}: the migration declares {}; use one of them or `all`",
            names.join(", ")
        ))
    })
}

/// Renders one template for the first selected environment (`--env`).
fn render_command(config: &Config, template: &str) -> Result<u8> {
    let Some(env) = config.envs.iter().next() else {
        return Ok(0);
    };
    let tree = Tree::walk(&config.tree)?;
    let text = Project::of(&tree, &config.migration.selector).render(template, env)?;
    let _ = write!(anstream::stdout(), "{text}");
    Ok(0)
}

fn rollback_command(config: &Config) -> Result<u8> {
    let done = crate::rollback::rollback(
        &config.tree,
        &config.migration,
        &config.rules,
        config.step_named,
        config.envs,
    )?;
    let mut out = String::new();
    if done.reverted.is_empty() {
        out.push_str("rollback: no commit of regshift's to roll back\n");
    } else {
        for named in &done.reverted {
            out.push_str(&format!("reverted {named}\n"));
        }
        out.push_str(&format!(
            "rollback: {} commits reverted on branch {} ({} files)\n",
            done.reverted.len(),
            done.branch,
            done.files
        ));
    }
    if !config.quiet {
        let _ = write!(anstream::stdout(), "{out}");
    }
    Ok(0)
}

/// Prints each redirected site's configuration for the first selected environment.
fn site_command(config: &Config) -> Result<u8> {
    let Some(env) = config.envs.iter().next() else {
        return Ok(0);
    };
    let tree = Tree::walk(&config.tree)?;
    let project = Project::of(&tree, &config.migration.selector);
    let rules = config.rules.of_step(3);
    for (label, text) in prove::redirect::configurations(&project, &config.migration, &rules, env)?
    {
        let mut out = format!("# site of the `{label}` registry ({env})\n{text}");
        out.push_str("# what the mod_rewrite model answers\n");
        match prove::redirect::answers(&config.migration, &label, env, &text) {
            Ok(answers) => {
                for (request, answer) in answers {
                    out.push_str(&format!("#   {request} -> {answer}\n"));
                }
            }
            Err(e) => out.push_str(&format!("#   the model cannot read it: {e}\n")),
        }
        let _ = write!(anstream::stdout(), "{out}");
    }
    Ok(0)
}

fn rules_command(config: &Config, command: RulesCommand) -> Result<u8> {
    let mut out = String::new();
    match command {
        RulesCommand::Test { fixtures } => return rules_test(config, &fixtures),
        RulesCommand::List => {
            for r in &config.rules.rules {
                out.push_str(
                    &format!(
                        "{}\tstep {}\t{:?}\t{}\n",
                        r.id,
                        r.step,
                        r.class,
                        r.files.join(" ")
                    )
                    .to_lowercase(),
                );
            }
        }
        RulesCommand::Show { id } => {
            let rule = config
                .rules
                .get(&id)
                .ok_or_else(|| Error::Usage(format!("no rule with id `{id}`")))?;
            out = format!("# {}\n{}", rule.source.display(), rule.text);
        }
    }
    let _ = write!(anstream::stdout(), "{out}");
    Ok(0)
}

fn rules_test(config: &Config, fixtures: &std::path::Path) -> Result<u8> {
    let outcomes = ruletest::run_all(fixtures, &config.rules, &config.migration)?;
    let mut out = String::new();
    let failed = outcomes.iter().filter(|o| !o.failures.is_empty()).count();
    for o in &outcomes {
        if o.failures.is_empty() {
            out.push_str(&format!("ok   {}\n", o.rule));
        } else {
            out.push_str(&format!("FAIL {}\n", o.rule));
            for f in &o.failures {
                out.push_str(&format!("     {f}\n"));
            }
        }
    }
    out.push_str(&format!(
        "rules: {} passed, {failed} failed\n",
        outcomes.len() - failed
    ));
    let _ = write!(anstream::stdout(), "{out}");
    Ok(u8::from(failed > 0))
}

/// Colours a unified diff's lines; anstream strips the colour when it should not show.
fn colour_diff(text: &str) -> String {
    use anstyle::{AnsiColor, Style};
    let paint = |style: Style, line: &str| {
        format!(
            "{}{}{}",
            style.render(),
            line.trim_end_matches('\n'),
            style.render_reset()
        ) + "\n"
    };
    text.split_inclusive('\n')
        .map(|line| match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => paint(AnsiColor::Green.on_default(), line),
            Some(b'-') if !line.starts_with("---") => paint(AnsiColor::Red.on_default(), line),
            Some(b'@') => paint(AnsiColor::Cyan.on_default(), line),
            Some(b'#') => paint(Style::new().dimmed(), line),
            _ => line.to_string(),
        })
        .collect()
}
