//! Rules as data (SPEC §4): which files, which format, which place, which context, why, and the
//! new value as a `${…}` template over the migration file. Built-in rules live in `rules/*.yaml`
//! and are embedded; `--rules DIR` adds rules or overrides them by id.
//!
//! A rule is parsed strictly (unknown keys are errors with line and column), then compiled once:
//! globs, paths and templates are checked against the migration before any file is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::formats::jinja::Envs;
use crate::formats::tree::TreePath;
use crate::migration::{Env, Migration, yaml_error};
use crate::template::Template;

/// The built-in rules, embedded at build time (`build.rs` lists `rules/*.yaml`).
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// What a reference is (SPEC §2): decides how it is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Context {
    /// `host[:port]` of the new registry.
    Host,
    /// The new registry with its namespace: where images are pushed or pulled.
    ImagePrefix,
    /// `https://OLD/x` → `https://NEW/namespace/x`.
    Url,
    /// `https://OLD/v2` → `https://NEWHOST/v2`.
    ApiUrl,
    /// A base URL clients append `v2/<repository>/…` to (SPEC §2): `https://NEWHOST/` when the
    /// new registry has no namespace; with one it stays (no registry serves
    /// `https://HOST/namespace/v2/…`) and is kept, with the reason.
    RegistryRoot,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Host => "host",
            Context::ImagePrefix => "image-prefix",
            Context::Url => "url",
            Context::ApiUrl => "api-url",
            Context::RegistryRoot => "registry-root",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Rewrite,
    Redirect,
    Decommission,
    Keep,
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Yaml,
    Ini,
    /// TOML, read once per environment (`formats::toml`).
    Toml,
    /// Any text: classification rules (`lines`, `hosts`) that edit nothing.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// The selected value holds the reference.
    #[default]
    Value,
    /// The selected entry's key holds the reference (a JSON auth entry).
    Key,
}

/// A rule as written in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    /// Unique id, used in reports, commits and `--rules` overrides.
    id: String,
    /// Why the change is needed: shown in diffs, commits and the PR body.
    why: String,
    /// Migration step (SPEC §2): 1–4.
    step: u8,
    class: Class,
    /// Globs relative to the tree root (not with `variable`).
    #[serde(default)]
    files: Vec<String>,
    format: Format,
    /// YAML/JSON: a path (see `formats::tree`); INI: a section name (not with `variable`).
    #[serde(default)]
    select: String,
    /// Where the rule's places are, by meaning (SPEC §4): instead of `select` (and of `files`,
    /// which then only narrows the search).
    #[serde(rename = "where")]
    where_: Option<WhereSpec>,
    /// Instead of `files` and `select`: the variable a template reads; the rule edits it where it
    /// is defined (task vars, set_fact, group_vars, …), found by following Ansible's precedence.
    variable: Option<VariableSpec>,
    #[serde(default)]
    anchor: Anchor,
    /// How a reference in the selected value is rewritten.
    context: Option<Context>,
    /// Sibling entries set along with a rewritten reference (templates).
    #[serde(default)]
    set: BTreeMap<String, String>,
    /// With `context`: drop the entry holding the reference when its new value is already
    /// listed beside it (a list item or an array table).
    #[serde(default)]
    drop: bool,
    /// The selected value becomes this template for `environment` (no reference needed; without
    /// `environment`, for every environment that renders the place).
    value: Option<String>,
    environment: Option<Env>,
    /// INI: each key must render to its template in every environment (keys are added where an
    /// environment lacks them).
    #[serde(default)]
    values: BTreeMap<String, String>,
    /// Text rules: only references on lines matching this regular expression.
    lines: Option<String>,
    /// Text rules: only references to these hosts (whole-hostname globs).
    #[serde(default)]
    hosts: Vec<String>,
    /// What the rendered configuration must carry once the rule has run (`verify`, `apply`).
    #[serde(default)]
    prove: Vec<ProofSpec>,
    /// Step 3: the site serving the registry's old name becomes a redirector (SPEC §7.3).
    redirect: Option<Redirect>,
    /// Step 3: the monitoring checks a redirect would break are pointed at what still answers.
    monitor: Option<Monitor>,
    /// Step 3: the site's web pages are redirected to the new registry's page.
    pages: Option<Pages>,
    /// Step 4: what goes with a registry's decommissioning is removed.
    remove: Option<Remove>,
    /// What the rule does with `--mode side-by-side` (SPEC §7.5; default `mirror`).
    #[serde(default)]
    side_by_side: Beside,
}

/// What a step-2 rule does side by side (SPEC §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Beside {
    /// The target holds one registry: it stays on the old one, said as "needs a mirror until
    /// cut-over".
    #[default]
    Mirror,
    /// The target can hold two: the entry is added again, rewritten, right after the old one;
    /// cutover then removes the old one where its rewritten copy follows it.
    Add,
    /// The edit adds access to the new registry without taking the old one's: made as in
    /// cutover.
    Same,
}

/// What a decommissioning removes (SPEC §7.4), as a rule names it: a registry's endpoint (the
/// uses of roles configuring its `from` hosts, with what only they use) and its servers (their
/// inventory lines, the files named after them, the plays and blocks that are only theirs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remove {
    /// The registry label whose `from` hosts name the endpoint.
    pub registry: Option<String>,
    /// The servers, a whole-hostname glob over the inventory's hosts.
    pub servers: Option<String>,
}

/// A redirect of a site's web pages (SPEC §7.3), as a rule writes it: through a role that
/// redirects pages of a site (Apache's `RedirectMatch`), its use for the site found by meaning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pages {
    /// The role redirecting a site's pages, its parameter naming the site, the one holding the
    /// pages' pattern and the one holding where they go.
    pub role: String,
    pub site: String,
    pub pattern: String,
    pub target: String,
    /// The registry label whose `from` host is the site.
    pub registry: String,
    /// The redirect's switch: a new use of the role is applied only where it is on.
    pub switch: String,
    /// Pages that must go (a use whose pattern matches one of them is the site's page redirect).
    pub sample: Vec<String>,
    /// Where they go, per environment (`${…}` over the migration).
    pub to: String,
    /// The parameters of a new use, when the site has none (besides site, pattern and target).
    #[serde(default)]
    pub add: BTreeMap<String, String>,
    /// The pattern of a new use.
    pub pages: String,
}

/// Monitoring checks of a redirected site (SPEC §7.3), as a rule writes them: Nagios-style
/// `check_command NAME!ARG1!ARG2…` lines in templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// The registry label whose `from` host the checks ask.
    pub registry: String,
    /// The redirect's switch: a check is repointed only where it is on.
    pub switch: String,
    /// Per check command: which argument (from 1) is the site, the path, the expected text.
    pub commands: BTreeMap<String, CheckArgs>,
    /// Pages outside the API that the redirect also sends away (a regular expression).
    pub pages: Option<String>,
    /// What still answers on the site: its path and the text it holds.
    pub still: StillAnswers,
}

/// The arguments of a check command (counted from 1, as `$ARGn$`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckArgs {
    pub host: usize,
    pub path: usize,
    pub expect: usize,
}

/// A path the redirected site still answers, and the text of the answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StillAnswers {
    pub path: String,
    pub expect: String,
}

/// A redirect of a registry's public name (SPEC §7.3), as a rule writes it: the vhost is found
/// by meaning (the role installing a site's configuration, and its parameter naming the site).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// The role that installs a site's web server configuration.
    pub role: String,
    /// Its parameter naming the site.
    pub site: String,
    /// The registry label whose `from` host the site serves and whose `to` reads go to.
    pub registry: String,
    /// The variable that turns the redirector on (off in every host's group variables, on per
    /// environment): rollback is this one variable.
    pub switch: String,
    /// A path the site serves locally with `{}`: the API's `/v2/` ping is answered with it, so
    /// that clients never ask the new registry for a token scoped to an old name.
    pub ping: String,
    /// The redirect's status (307 by default: temporary, so a rollback takes effect at once,
    /// and the method is kept).
    #[serde(default = "temporary")]
    pub status: u16,
}

fn temporary() -> u16 {
    307
}

/// A rule's predicate as written: every key given must hold (SPEC §4).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhereSpec {
    /// A parameter of a role, wherever a play or task applies the role.
    role_param: Option<RoleParam>,
    /// The value at a path of the rendering of any template matching a glob, followed to the
    /// file whose bytes produce it (the template, or a file it includes into a block scalar).
    rendered: Option<RenderedSpec>,
    /// Keys of data files matching a glob, at the top level (or under a path).
    key: Option<KeySpec>,
    /// Image references by structure in YAML (Kubernetes/OpenShift `image:`, the `name` of a
    /// `kind: DockerImage` reference), in files matching the glob given.
    image: Option<String>,
    /// The templates a template task deploys to a path matching this glob (`dest`), whatever
    /// they are called and wherever they live; `select` says where in them.
    deployed: Option<String>,
    /// Only definitions that nothing able to see them reads (computed from the tree and the
    /// inventory; SPEC §4 `unread`).
    #[serde(default)]
    unread: bool,
    /// The play applying it runs only on these hosts: `related` (the migration's related hosts,
    /// the old registry's own servers) or a host glob.
    runs_on: Option<String>,
    /// This must not hold.
    not: Option<Box<WhereSpec>>,
}

/// Keys of data files (`key`), as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeySpec {
    /// The key names.
    names: Vec<String>,
    /// The data files (a glob); with `names`, the structural predicate.
    files: String,
    /// A path the keys sit under (default: the top level).
    under: Option<String>,
}

/// Templates known by where they are deployed (`deployed`).
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The destination glob as written.
    pub written: String,
    /// It compiled, matched against a `dest` without its leading `/`.
    pub glob: globset::GlobMatcher,
    /// A literal part of the destination's file name: a task file that deploys there holds it.
    pub hint: String,
}

impl Deployed {
    fn new(written: &str) -> std::result::Result<Deployed, String> {
        let glob = Glob::new(written.trim_start_matches('/'))
            .map_err(|e| format!("`deployed`: bad glob: {e}"))?
            .compile_matcher();
        let name = written.rsplit('/').next().unwrap_or(written);
        let hint = name
            .split(['*', '?', '[', ']', '{', '}'])
            .max_by_key(|part| part.len())
            .unwrap_or_default()
            .to_string();
        if hint.is_empty() {
            return Err("`deployed`: the file name needs a literal part".into());
        }
        Ok(Deployed {
            written: written.to_string(),
            glob,
            hint,
        })
    }
}

/// Keys of data files (`key`).
#[derive(Debug, Clone)]
pub struct Key {
    pub names: Vec<String>,
    pub files: String,
    pub at: TreePath,
    /// Text every file holding the place contains: the last key of `under`, or the one name.
    pub needle: Option<String>,
}

/// A place in a rendering (`rendered`), as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderedSpec {
    /// A glob over the tree (`…/configmap.yml*` matches `.yml` and `.yml.j2`).
    template: String,
    /// The path of the value in the rendering (`::` steps into a block scalar's document).
    at: String,
}

/// A place in a rendering (`rendered`).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub template: String,
    pub at: TreePath,
}

/// A role's parameter (`role_param`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleParam {
    pub role: String,
    pub param: String,
}

/// Which hosts a play runs on (`runs_on`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// The migration's `related` hosts.
    Related,
    /// Hosts matching a glob.
    Glob(String),
}

/// A compiled predicate: the places a rule works on, by meaning.
#[derive(Debug, Clone, Default)]
pub struct Where {
    pub role_param: Option<RoleParam>,
    pub rendered: Option<Rendered>,
    pub key: Option<Key>,
    /// Templates deployed to a path (the files; the rule's `select` places inside them).
    pub deployed: Option<Deployed>,
    /// Image fields in files matching this glob.
    pub image: Option<String>,
    /// Keep only definitions nothing that could see them reads (with `key`).
    pub unread: bool,
    pub runs_on: Option<Hosts>,
    pub not: Option<Box<Where>>,
}

impl Where {
    /// The glob of the files a place can be in, when the predicate names one (`rendered`'s
    /// template, `key`'s files, `image`'s files; a `role_param` is looked for everywhere).
    pub fn files(&self) -> Option<&str> {
        self.rendered
            .as_ref()
            .map(|r| r.template.as_str())
            .or(self.key.as_ref().map(|k| k.files.as_str()))
            .or(self.image.as_deref())
    }
}

impl WhereSpec {
    /// `top`: the rule's own predicate (which must select places), not one under `not`.
    fn compile(&self, top: bool) -> std::result::Result<Where, String> {
        let runs_on = self.runs_on.as_deref().map(|h| match h {
            "related" => Hosts::Related,
            glob => Hosts::Glob(glob.to_ascii_lowercase()),
        });
        let not = self
            .not
            .as_deref()
            .map(|n| n.compile(false).map(Box::new))
            .transpose()?;
        let selectors = usize::from(self.role_param.is_some())
            + usize::from(self.rendered.is_some())
            + usize::from(self.key.is_some())
            + usize::from(self.image.is_some())
            + usize::from(self.deployed.is_some());
        if top && selectors != 1 {
            return Err("name one place: `role_param`, `rendered`, `key`, `image` or `deployed` (`runs_on` and `not` narrow a `role_param`, `unread` a `key`)".into());
        }
        let deployed = self.deployed.as_deref().map(Deployed::new).transpose()?;
        if self.unread && self.key.is_none() {
            return Err("`unread` narrows a `key`".into());
        }
        let key = self
            .key
            .as_ref()
            .map(|k| {
                if k.names.is_empty()
                    || k.names
                        .iter()
                        .any(|n| n.is_empty() || n.contains(['|', '.', '"']))
                {
                    return Err("`key.names` lists plain key names".to_string());
                }
                let names = k.names.join("|");
                let under_key = k.under.as_deref().and_then(|u| {
                    u.rsplit('.')
                        .map(|seg| seg.split('[').next().unwrap_or(seg).trim_matches('"'))
                        .find(|seg| !seg.is_empty() && *seg != "*" && !seg.contains('|'))
                        .map(str::to_string)
                });
                let needle = under_key.or_else(|| match k.names.as_slice() {
                    [one] => Some(one.clone()),
                    _ => None,
                });
                let at = match &k.under {
                    Some(under) => format!("{under}.{names}"),
                    None => names,
                };
                Ok(Key {
                    needle,
                    names: k.names.clone(),
                    files: k.files.clone(),
                    at: TreePath::parse(&at)?,
                })
            })
            .transpose()?;
        if !top && selectors != 0 {
            return Err("`not` takes conditions on a place (`runs_on`), not a place".into());
        }
        let rendered = self
            .rendered
            .as_ref()
            .map(|r| {
                Ok::<_, String>(Rendered {
                    template: r.template.clone(),
                    at: TreePath::parse(&r.at)?,
                })
            })
            .transpose()?;
        Ok(Where {
            rendered,
            key,
            deployed,
            image: self.image.clone(),
            unread: self.unread,
            role_param: self.role_param.clone(),
            runs_on,
            not,
        })
    }
}

/// A template variable, as a rule names it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariableSpec {
    /// The template that reads it (`${env}` allowed).
    template: Option<String>,
    /// Or: the templates a task deploys to this path (see `where.deployed`).
    deployed: Option<String>,
    name: String,
}

/// A variable a rule traces to its definitions.
#[derive(Debug, Clone)]
pub struct Traced {
    pub reader: Reader,
    pub name: String,
}

/// The templates whose rendering reads a traced variable.
#[derive(Debug, Clone)]
pub enum Reader {
    /// One template (`${env}` allowed).
    Template(Template),
    /// The templates a task deploys to a path.
    Deployed(Deployed),
}

/// One promised value in a rendered file, as written in a rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofSpec {
    /// The file whose rendering carries the value (a `${…}` template: `${env}` picks per-environment files).
    template: Option<String>,
    /// Instead of `template`: the parameter of the rule's role (`where.role_param`) at every place
    /// the rule selects, in each environment the place serves.
    role_param: Option<String>,
    format: Format,
    /// JSON/YAML: the path to the value (placeholders allowed).
    at: Option<String>,
    /// INI: section and key.
    section: Option<String>,
    key: Option<String>,
    /// The value every match must have. A variable the tree does not define renders as `<name>`.
    equals: String,
    /// The value is base64 of `equals`.
    #[serde(default)]
    base64: bool,
    /// Render the file as a template (false for vars files, read as they are).
    #[serde(default = "yes")]
    render: bool,
    /// The environments whose rendering carries the value (default: both).
    environments: Option<Vec<Env>>,
}

fn yes() -> bool {
    true
}

/// Where a proof looks.
#[derive(Debug, Clone)]
pub enum ProofPlace {
    Path(Template),
    Ini {
        section: String,
        key: String,
    },
    /// A parameter at each place the rule's `where` selects.
    RoleParam(String),
}

/// A compiled promise: in `template`'s rendering for each of `envs`, `place` equals `equals`.
#[derive(Debug, Clone)]
pub struct Proof {
    /// The file whose rendering is checked (none for a `role_param` promise, or for the
    /// templates of a rule placed by `deployed`).
    pub template: Option<Template>,
    pub format: Format,
    pub place: ProofPlace,
    pub equals: Template,
    pub base64: bool,
    pub render: bool,
    pub envs: Envs,
}

/// Rewrite the references in the selected key or value by context; set siblings.
#[derive(Debug, Clone)]
pub struct ReferenceAction {
    pub anchor: Anchor,
    pub context: Context,
    pub set: Vec<(String, Template)>,
    /// Drop the entry (a list item, an array table) when the new value is already listed
    /// beside it, instead of listing it twice.
    pub drop: bool,
}

/// What a compiled rule does at its place.
#[derive(Debug, Clone)]
pub enum Action {
    Reference(ReferenceAction),
    /// Set the selected value to a template evaluated for one environment (`None`: for each
    /// environment that renders the place).
    Fixed {
        env: Option<Env>,
        value: Template,
    },
    /// Every environment must render each key to its template (INI).
    PerEnv {
        values: Vec<(String, Template)>,
    },
    /// Claim references for `audit` (class and reason) without editing: those on lines matching
    /// `lines`, of the hosts in `hosts` (globs), in the rule's files.
    Classify {
        lines: Option<regex::Regex>,
        hosts: Vec<String>,
    },
    /// Rewrite every reference no other rule claims by the context its syntax shows
    /// (`unclaimed: rewrite`; the rule [`INFERRED`], made from the migration, not from a file).
    Infer,
    /// Step 3: turn a site into a redirector behind a switch (`plan::redirect`).
    Redirect(Redirect),
    /// Step 3: repoint the checks a redirect breaks, behind its switch (`plan::monitor`).
    Monitor(Monitor),
    /// Step 3: redirect a site's web pages (`plan::pages`); the target, compiled.
    Pages(Pages, Template),
    /// Step 4: remove what a decommissioning takes away (`plan::remove`).
    Remove(Remove),
}

/// The id of the inferred-rewrite rule.
pub const INFERRED: &str = "inferred";

/// The rule `unclaimed: rewrite` adds: every file, step 2, class rewrite.
fn inferred_rule() -> Rule {
    let mut globs = GlobSetBuilder::new();
    if let Ok(all) = Glob::new("**") {
        globs.add(all);
    }
    Rule {
        beside: Beside::Mirror,
        id: INFERRED.to_string(),
        why: "No rule claims this reference, and the migration says `unclaimed: rewrite`: it is \
              rewritten by the context its syntax shows (an image reference gets the new registry \
              and namespace, a URL too, an API URL and a bare host the new host)."
            .to_string(),
        step: 2,
        class: Class::Rewrite,
        format: Format::Text,
        files: vec!["**".to_string()],
        globs: globs.build().unwrap_or_else(|_| GlobSet::empty()),
        path: None,
        select: String::new(),
        action: Action::Infer,
        proofs: Vec::new(),
        traced: None,
        where_: None,
        needle: None,
        source: PathBuf::from("<unclaimed: rewrite>"),
        text: String::new(),
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    /// What the rule does side by side.
    pub beside: Beside,
    pub why: String,
    pub step: u8,
    pub class: Class,
    pub format: Format,
    pub files: Vec<String>,
    pub globs: GlobSet,
    /// The YAML/JSON path; `None` for INI.
    pub path: Option<TreePath>,
    /// The INI section (or the path source for the other formats).
    pub select: String,
    pub action: Action,
    pub proofs: Vec<Proof>,
    /// Set when the rule edits a variable where it is defined (its place comes from tracing).
    pub traced: Option<Traced>,
    /// Set when the rule's places are found by meaning (`where`).
    pub where_: Option<Where>,
    /// Text a file must hold for the rule to look at it (a file that cannot hold the place is
    /// not parsed).
    pub needle: Option<String>,
    /// The file the rule came from, and its text.
    pub source: PathBuf,
    pub text: String,
}

/// A loaded, compiled set of rules, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Rules not loaded because they need what the migration lacks: (id, what), said as notes
    /// (SPEC §3: never an error that blocks the other rules).
    pub skipped: Vec<(String, String)>,
}

impl Rule {
    /// Where the rule's templates are deployed, when it knows them that way (`where.deployed`,
    /// or a variable traced from deployed templates).
    pub fn deployed(&self) -> Option<&Deployed> {
        let traced = self.traced.as_ref().and_then(|t| match &t.reader {
            Reader::Deployed(d) => Some(d),
            Reader::Template(_) => None,
        });
        self.where_
            .as_ref()
            .and_then(|w| w.deployed.as_ref())
            .or(traced)
    }
}

impl RuleSet {
    /// The built-in rules, plus those in `extra` (overriding by id).
    /// The rules of a run: Fedora's built-in ones when `builtin` (the embedded migration, or
    /// `--builtin-rules`), then those of `extra`, which override by id. A rule needing a label,
    /// credentials or an environment the migration lacks is skipped with a note.
    pub fn load(extra: Option<&Path>, migration: &Migration, builtin: bool) -> Result<RuleSet> {
        // Compiling a rule's patterns costs a fraction of a millisecond: in parallel. The first
        // error in order wins; a later rule replaces an earlier one of the same id.
        let builtin = crate::parallel::map(if builtin { BUILTIN } else { &[] }, |(name, text)| {
            Rule::load(Path::new(name), text, migration)
        });
        let files = match extra {
            Some(dir) => rule_files(dir)?,
            None => Vec::new(),
        };
        let extra = crate::parallel::map(&files, |path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::file(path, format!("cannot read rule file: {e}")))?;
            Rule::load(path, &text, migration)
        });
        let mut by_id: BTreeMap<String, Loaded> = BTreeMap::new();
        for loaded in builtin.into_iter().chain(extra) {
            let loaded = loaded?;
            by_id.insert(loaded.id().to_string(), loaded);
        }
        if migration.unclaimed == crate::migration::Unclaimed::Rewrite {
            by_id
                .entry(INFERRED.to_string())
                .or_insert_with(|| Loaded::Rule(Box::new(inferred_rule())));
        }
        let mut set = RuleSet::default();
        for loaded in by_id.into_values() {
            match loaded {
                Loaded::Rule(rule) => set.rules.push(*rule),
                Loaded::Skipped { id, lacks } => set.skipped.push((id, lacks)),
            }
        }
        Ok(set)
    }

    /// One note per skipped rule, naming what the migration lacks.
    pub fn skipped_notes(&self) -> Vec<String> {
        self.skipped
            .iter()
            .map(|(id, lacks)| format!("rule `{id}` skipped: it needs {lacks}"))
            .collect()
    }

    /// The rules of one step.
    pub fn of_step(&self, step: u8) -> RuleSet {
        RuleSet {
            rules: self
                .rules
                .iter()
                .filter(|r| r.step == step)
                .cloned()
                .collect(),
            skipped: self.skipped.clone(),
        }
    }

    /// The rules as a proof in `mode` reads their promises: side by side, only the rules that
    /// make their edits as in cutover (`same`) promise their values; an entry added beside the
    /// old one is proven by the edits (the old value stays), a target left on the old registry
    /// promises nothing yet.
    pub fn promising(&self, mode: crate::plan::Mode) -> RuleSet {
        let mut out = self.clone();
        if mode == crate::plan::Mode::SideBySide {
            for rule in out.rules.iter_mut().filter(|r| r.beside != Beside::Same) {
                rule.proofs.clear();
            }
        }
        out
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The set with the promises of `skipped` rules cleared (`apply --interactive`): a rule
    /// whose edits were not all accepted cannot keep its promise, and its accepted edits are
    /// still proven one by one by the derived proof.
    pub fn without_promises_of(&self, skipped: &std::collections::BTreeSet<String>) -> RuleSet {
        let mut out = self.clone();
        for rule in out.rules.iter_mut().filter(|r| skipped.contains(&r.id)) {
            rule.proofs.clear();
        }
        out
    }
}

/// Every YAML file of the tree.
fn yaml_files() -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in ["**/*.yml", "**/*.yaml"] {
        builder.add(Glob::new(glob).expect("a valid glob"));
    }
    builder.build().expect("valid globs")
}

fn rule_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::file(dir, format!("cannot read rules directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// A rule file read against a migration.
pub enum Loaded {
    Rule(Box<Rule>),
    /// The rule needs what the migration lacks (`lacks` says what).
    Skipped {
        id: String,
        lacks: String,
    },
}

impl Loaded {
    fn id(&self) -> &str {
        match self {
            Loaded::Rule(r) => &r.id,
            Loaded::Skipped { id, .. } => id,
        }
    }
}

impl Rule {
    /// Compiles a rule; one needing what the migration lacks is an error naming both.
    pub fn parse(path: &Path, text: &str, migration: &Migration) -> Result<Rule> {
        match Rule::load(path, text, migration)? {
            Loaded::Rule(rule) => Ok(*rule),
            Loaded::Skipped { id, lacks } => Err(Error::file(
                path,
                format!("rule `{id}` needs {lacks} (migration {})", migration.source),
            )),
        }
    }

    /// Compiles a rule, or says what it needs that the migration lacks.
    pub fn load(path: &Path, text: &str, migration: &Migration) -> Result<Loaded> {
        let spec: RuleSpec =
            serde_saphyr::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
        if let Some(lacks) = spec.lacks(text, migration) {
            return Ok(Loaded::Skipped { id: spec.id, lacks });
        }
        spec.compile(path, text, migration)
            .map(|r| Loaded::Rule(Box::new(r)))
    }
}

/// A step-3 switch must be a variable's name: it is written into group variables and tests.
fn switch_name(switch: &str, bad: &dyn Fn(&str, String) -> Error) -> Result<()> {
    if crate::migration::is_identifier(switch) {
        return Ok(());
    }
    Err(bad("switch", format!("`{switch}` is not a variable name")))
}

impl RuleSpec {
    /// A step-3 rule naming its place and action itself (`redirect`, `monitor`): none of the
    /// other keys of a rule, `class: redirect`, `format: text`.
    fn site_rule(&self, key: &str, bad: &dyn Fn(&str, String) -> Error) -> Result<()> {
        let others = !self.files.is_empty()
            || !self.select.is_empty()
            || self.where_.is_some()
            || self.variable.is_some()
            || self.context.is_some()
            || self.value.is_some()
            || !self.values.is_empty()
            || !self.set.is_empty()
            || self.lines.is_some()
            || !self.prove.is_empty()
            || usize::from(self.redirect.is_some())
                + usize::from(self.monitor.is_some())
                + usize::from(self.pages.is_some())
                + usize::from(self.remove.is_some())
                > 1;
        let class = match self.remove {
            Some(_) => Class::Decommission,
            None => Class::Redirect,
        };
        if others || self.format != Format::Text || self.class != class {
            return Err(bad(
                key,
                format!(
                    "a `{key}` rule is `class: {}`, `format: text`, and names its place and \
                     proof itself (no `files`, `select`, `where`, `variable`, values, `prove`, or \
                     another of `redirect`, `monitor`, `pages` and `remove`)",
                    if self.remove.is_some() {
                        "decommission"
                    } else {
                        "redirect"
                    }
                ),
            ));
        }
        Ok(())
    }

    /// The rule, once its action is known (step-3 rules).
    fn site_compiled(self, action: Action, path: &Path, text: &str, needle: &str) -> Rule {
        Rule {
            beside: self.side_by_side,
            proofs: Vec::new(),
            traced: None,
            where_: None,
            needle: Some(needle.to_string()),
            id: self.id,
            why: self.why.trim().to_string(),
            step: self.step,
            class: self.class,
            format: self.format,
            files: Vec::new(),
            globs: GlobSet::empty(),
            path: None,
            select: String::new(),
            action,
            source: path.to_path_buf(),
            text: text.to_string(),
        }
    }

    /// A `redirect` rule: its own place (the site) and action.
    fn compile_redirect(
        self,
        redirect: Redirect,
        path: &Path,
        text: &str,
        bad: &dyn Fn(&str, String) -> Error,
    ) -> Result<Rule> {
        self.site_rule("redirect", bad)?;
        switch_name(&redirect.switch, bad)?;
        if !(300..400).contains(&redirect.status) {
            return Err(bad(
                "status",
                format!("{} is not a redirect status", redirect.status),
            ));
        }
        if !redirect.ping.starts_with('/') || redirect.ping.contains(char::is_whitespace) {
            return Err(bad("ping", "a path on the site, starting with `/`".into()));
        }
        let role = redirect.role.clone();
        Ok(self.site_compiled(Action::Redirect(redirect), path, text, &role))
    }

    /// A `pages` rule: the role's uses for the site are found by meaning.
    fn compile_pages(
        self,
        pages: Pages,
        path: &Path,
        text: &str,
        migration: &Migration,
        bad: &dyn Fn(&str, String) -> Error,
    ) -> Result<Rule> {
        self.site_rule("pages", bad)?;
        switch_name(&pages.switch, bad)?;
        regex::Regex::new(&pages.pages)
            .map_err(|e| bad("pages", format!("bad regular expression: {e}")))?;
        if pages.sample.is_empty() || pages.sample.iter().any(|p| !p.starts_with('/')) {
            return Err(bad(
                "sample",
                "list paths of the pages, each starting with `/`".into(),
            ));
        }
        let to = Template::parse(&pages.to, migration).map_err(|m| bad("to", m))?;
        let role = pages.role.clone();
        Ok(self.site_compiled(Action::Pages(pages, to), path, text, &role))
    }

    /// A `monitor` rule: the checks it repoints are found in any template.
    fn compile_monitor(
        self,
        monitor: Monitor,
        path: &Path,
        text: &str,
        bad: &dyn Fn(&str, String) -> Error,
    ) -> Result<Rule> {
        self.site_rule("monitor", bad)?;
        switch_name(&monitor.switch, bad)?;
        if monitor.commands.is_empty()
            || monitor
                .commands
                .values()
                .any(|a| a.host == 0 || a.path == 0 || a.expect == 0)
        {
            return Err(bad(
                "commands",
                "name each check command with its arguments `host`, `path`, `expect`, counted from 1".into(),
            ));
        }
        if let Some(pages) = &monitor.pages {
            regex::Regex::new(pages)
                .map_err(|e| bad("pages", format!("bad regular expression: {e}")))?;
        }
        Ok(self.site_compiled(Action::Monitor(monitor), path, text, "check_command"))
    }

    /// What the rule needs that the migration lacks: an environment it names, or a label or
    /// credentials its templates use.
    fn lacks(&self, text: &str, migration: &Migration) -> Option<String> {
        let named = self.environment.iter().chain(
            self.prove
                .iter()
                .flat_map(|p| p.environments.iter().flatten()),
        );
        if let Some(env) = named.clone().find(|e| !migration.envs.contains_key(e)) {
            return Some(format!(
                "environment `{env}`, which the migration does not declare"
            ));
        }
        let label = self
            .redirect
            .as_ref()
            .map(|r| &r.registry)
            .or(self.monitor.as_ref().map(|m| &m.registry))
            .or(self.pages.as_ref().map(|p| &p.registry))
            .or(self.remove.as_ref().and_then(|r| r.registry.as_ref()));
        if let Some(label) = label
            && let Some((env, _)) = migration
                .envs
                .iter()
                .find(|(_, m)| !m.registries.contains_key(label))
        {
            return Some(format!(
                "registry `{label}`, which environment `{env}` does not name"
            ));
        }
        crate::template::lacks(text, migration)
    }

    fn compile(self, path: &Path, text: &str, migration: &Migration) -> Result<Rule> {
        let id = self.id.clone();
        let bad = |key: &str, message: String| {
            let offset = text.find(&format!("{key}:")).unwrap_or(0);
            Error::at(
                path,
                text,
                offset,
                format!("rule `{id}`: key `{key}`: {message}"),
            )
        };
        if !(1..=4).contains(&self.step) {
            return Err(bad("step", format!("{} is not a step 1–4", self.step)));
        }
        if let Some(redirect) = self.redirect.clone() {
            return self.compile_redirect(redirect, path, text, &bad);
        }
        if let Some(monitor) = self.monitor.clone() {
            return self.compile_monitor(monitor, path, text, &bad);
        }
        if let Some(pages) = self.pages.clone() {
            return self.compile_pages(pages, path, text, migration, &bad);
        }
        if let Some(remove) = self.remove.clone() {
            self.site_rule("remove", &bad)?;
            if remove.registry.is_none() && remove.servers.is_none() {
                return Err(bad(
                    "remove",
                    "name a `registry`, `servers`, or both".into(),
                ));
            }
            let needle = remove
                .servers
                .clone()
                .or(remove.registry.clone())
                .unwrap_or_default();
            return Ok(self.site_compiled(Action::Remove(remove), path, text, &needle));
        }
        let mut builder = GlobSetBuilder::new();
        for glob in &self.files {
            let glob = Glob::new(glob).map_err(|e| bad("files", format!("bad glob: {e}")))?;
            builder.add(glob);
        }
        let globs = builder.build().map_err(|e| bad("files", e.to_string()))?;
        let traced = match &self.variable {
            Some(v) if self.files.is_empty() && self.select.is_empty() && self.format == Format::Yaml => {
                let reader = match (&v.template, &v.deployed) {
                    (Some(t), None) => Reader::Template(Template::parse(t, migration).map_err(|m| bad("variable", m))?),
                    (None, Some(d)) => Reader::Deployed(Deployed::new(d).map_err(|m| bad("variable", m))?),
                    _ => return Err(bad("variable", "name the template that reads it: `template` or `deployed`".into())),
                };
                Some(Traced { reader, name: v.name.clone() })
            }
            Some(_) => return Err(bad("variable", "`variable` replaces `files` and `select`, and definitions are YAML (`format: yaml`)".into())),
            None if self.where_.is_some() => None,
            None if self.format == Format::Text && !self.files.is_empty() => None,
            None if self.files.is_empty() || self.select.is_empty() => {
                return Err(bad("files", "a rule names `files` and `select`, or a `variable`".into()));
            }
            None => None,
        };
        let where_ = self
            .where_
            .as_ref()
            .map(|w| w.compile(true).map_err(|m| bad("where", m)))
            .transpose()?;
        let tree_format = matches!(self.format, Format::Yaml | Format::Toml);
        let deployed = where_.as_ref().is_some_and(|w| w.deployed.is_some());
        if deployed && (self.select.is_empty() || self.format == Format::Text) {
            return Err(bad(
                "where",
                "`deployed` names files: `select` says where in them (YAML, JSON, INI, TOML)"
                    .into(),
            ));
        }
        if where_.is_some() && !deployed && (!tree_format || !self.select.is_empty()) {
            return Err(bad(
                "where",
                "`where` selects places in YAML or TOML instead of `select`".into(),
            ));
        }
        // Text a file must hold to be parsed for the rule: the role's name; for images, what
        // both `image:` and `DockerImage` contain.
        let needle = where_
            .as_ref()
            .and_then(|w| match (&w.role_param, &w.image, &w.key) {
                (Some(r), _, _) => Some(r.role.clone()),
                (_, Some(_), _) => Some("mage".to_string()),
                (_, _, Some(k)) => k.needle.clone(),
                _ => None,
            });
        let rendered = where_.as_ref().and_then(|w| w.rendered.as_ref());
        let key = where_.as_ref().and_then(|w| w.key.as_ref());
        let one_glob = |glob: &str| {
            let glob = Glob::new(glob).map_err(|e| bad("where", e.to_string()))?;
            GlobSet::new([glob]).map_err(|e| bad("where", e.to_string()))
        };
        let role = where_.as_ref().and_then(|w| w.role_param.as_ref());
        let globs = match (role, where_.as_ref().and_then(Where::files)) {
            // A role is applied from any playbook or task file: every YAML file that names it.
            (Some(_), _) if self.files.is_empty() => yaml_files(),
            (_, Some(glob)) => one_glob(glob)?,
            _ => globs,
        };
        let tree_path = match (self.format, &traced) {
            (Format::Ini | Format::Text, _) | (_, Some(_)) => None,
            _ if rendered.is_some() => rendered.map(|r| r.at.clone()),
            _ if key.is_some() => key.map(|k| k.at.clone()),
            _ if where_.is_some() && !deployed => None,
            _ => Some(TreePath::parse(&self.select).map_err(|m| bad("select", m))?),
        };
        let compile =
            |key: &str, source: &str| Template::parse(source, migration).map_err(|m| bad(key, m));
        let action = match (self.context, &self.value, self.values.is_empty()) {
            (None, None, true)
                if (self.format == Format::Text || self.where_.is_some())
                    && self.class != Class::Rewrite =>
            {
                let lines = self
                    .lines
                    .as_deref()
                    .map(|l| {
                        regex::Regex::new(l)
                            .map_err(|e| bad("lines", format!("bad regular expression: {e}")))
                    })
                    .transpose()?;
                Action::Classify {
                    lines,
                    hosts: self.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
                }
            }
            (Some(context), None, true) if self.format != Format::Ini => {
                let set = self
                    .set
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), compile("set", v)?)))
                    .collect::<Result<_>>()?;
                Action::Reference(ReferenceAction {
                    anchor: self.anchor,
                    context,
                    set,
                    drop: self.drop,
                })
            }
            (None, Some(value), true) if self.format != Format::Ini && self.set.is_empty() => {
                Action::Fixed {
                    env: self.environment,
                    value: compile("value", value)?,
                }
            }
            (None, None, false) if self.format == Format::Ini => {
                let values = self
                    .values
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), compile("values", v)?)))
                    .collect::<Result<_>>()?;
                Action::PerEnv { values }
            }
            _ => {
                return Err(bad(
                    "select",
                    "expected exactly one of: `context` (with optional `set`) for JSON/YAML, `value` with `environment` for JSON/YAML, `values` for INI, or a `text` rule with a class other than rewrite".into(),
                ));
            }
        };
        let declared = |env: &Env| migration.envs.contains_key(env);
        let named = self.environment.iter().chain(
            self.prove
                .iter()
                .flat_map(|p| p.environments.iter().flatten()),
        );
        if let Some(unknown) = named.clone().find(|e| !declared(e)) {
            return Err(bad(
                "environment",
                format!("`{unknown}` is not an environment of {}", migration.source),
            ));
        }
        let proofs = self
            .prove
            .iter()
            .map(|p| {
                // Places known without naming a file: deployed templates, a rule's own keys.
                let placed = where_
                    .as_ref()
                    .is_some_and(|w| w.deployed.is_some() || w.key.is_some())
                    || traced
                        .as_ref()
                        .is_some_and(|t| matches!(t.reader, Reader::Deployed(_)));
                p.compile(migration, placed).map_err(|m| bad("prove", m))
            })
            .collect::<Result<_>>()?;
        Ok(Rule {
            beside: self.side_by_side,
            proofs,
            traced,
            where_,
            needle,
            id: self.id,
            why: self.why.trim().to_string(),
            step: self.step,
            class: self.class,
            format: self.format,
            files: self.files,
            globs,
            path: tree_path,
            select: self.select,
            action,
            source: path.to_path_buf(),
            text: text.to_string(),
        })
    }
}

impl ProofSpec {
    /// `placed`: the rule knows its places without a file name (deployed templates, its own
    /// keys), which a promise without a `template` looks at.
    fn compile(&self, migration: &Migration, placed: bool) -> std::result::Result<Proof, String> {
        let place = match (self.format, &self.at, &self.section, &self.key) {
            _ if self.role_param.is_some() => {
                if self.template.is_some() || self.at.is_some() || self.format != Format::Yaml {
                    return Err(
                        "a `role_param` promise is YAML and names no `template` or `at`".into(),
                    );
                }
                ProofPlace::RoleParam(self.role_param.clone().unwrap_or_default())
            }
            (Format::Ini, None, Some(section), Some(key)) => ProofPlace::Ini {
                section: section.clone(),
                key: key.clone(),
            },
            (Format::Json | Format::Yaml, Some(at), None, None) => {
                ProofPlace::Path(Template::parse(at, migration)?)
            }
            _ => return Err("a proof names `at` (JSON/YAML) or `section` and `key` (INI)".into()),
        };
        let envs = match &self.environments {
            None => Envs::ALL,
            Some(list) => list
                .iter()
                .fold(Envs::NONE, |acc, e| acc.union(Envs::only(*e))),
        };
        let template = match (&self.template, &place) {
            (_, ProofPlace::RoleParam(_)) => None,
            (Some(t), _) => {
                // A promise reads files of the tree only (its `${…}` parts name no path).
                if !crate::walk::inside(&t.replace("${", "x").replace('}', "x")) {
                    return Err(format!(
                        "`template: {t}` leaves the tree: name a path relative to it, without `..`"
                    ));
                }
                Some(Template::parse(t, migration)?)
            }
            (None, _) if placed => None,
            (None, _) => {
                return Err(
                    "a proof names the `template` whose rendering it checks (or, in a rule placed \
                     by `deployed` or `key`, checks those places)"
                        .into(),
                );
            }
        };
        Ok(Proof {
            template,
            format: self.format,
            place,
            equals: Template::parse(&self.equals, migration)?,
            base64: self.base64,
            render: self.render,
            envs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration() -> Migration {
        Migration::embedded().expect("default")
    }

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::load(None, &migration(), true).expect("built-in rules compile");
        assert_eq!(set.rules.len(), BUILTIN.len());
        assert!(set.get("login-registry-params").is_some());
    }

    #[test]
    fn unknown_key_is_an_error_with_position() {
        let text = "id: x\nwhy: y\nstep: 2\nclass: rewrite\nfiles: [a]\nformat: yaml\nselect: a\ncontext: host\nbogus: 1\n";
        let msg = Rule::parse(Path::new("r.yaml"), text, &migration())
            .expect_err("unknown")
            .to_string();
        assert!(msg.starts_with("r.yaml:9:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn step_three_and_four_rules_are_checked_when_loaded() {
        let redirect = |extra: &str| {
            format!(
                "id: r\nwhy: w\nstep: 3\nclass: redirect\nformat: text\nredirect: {{role: web, site: site, registry: stable, ping: /v2.json{extra}}}\n"
            )
        };
        let error = |text: &str| {
            Rule::parse(Path::new("r.yaml"), text, &migration())
                .expect_err("refused")
                .to_string()
        };
        assert!(error(&redirect(", switch: 'not a name'")).contains("not a variable name"));
        assert!(error(&redirect(", switch: on, status: 200")).contains("not a redirect status"));
        let files =
            redirect(", switch: on").replace("format: text\n", "format: text\nfiles: [a]\n");
        assert!(error(&files).contains("names its place"));
        let nothing = "id: r\nwhy: w\nstep: 4\nclass: decommission\nformat: text\nremove: {}\n";
        assert!(error(nothing).contains("name a `registry`, `servers`, or both"));
        let unknown = "id: r\nwhy: w\nstep: 3\nclass: redirect\nformat: text\nredirect: {role: web, site: s, registry: mirror, switch: on, ping: /p}\n";
        assert!(error(unknown).contains("mirror"), "{}", error(unknown));
    }

    #[test]
    fn missing_label_names_rule_and_label() {
        let text = "id: x\nwhy: y\nstep: 2\nclass: rewrite\nfiles: [a]\nformat: ini\nselect: s\nvalues: {k: '${registries.mirror.to}'}\n";
        let msg = Rule::parse(Path::new("r.yaml"), text, &migration())
            .expect_err("label")
            .to_string();
        assert!(msg.contains("rule `x`") && msg.contains("mirror"), "{msg}");
    }

    #[test]
    fn actions_must_be_unambiguous() {
        let text = "id: x\nwhy: y\nstep: 2\nclass: rewrite\nfiles: [a]\nformat: yaml\nselect: a\n";
        let msg = Rule::parse(Path::new("r.yaml"), text, &migration())
            .expect_err("no action")
            .to_string();
        assert!(msg.contains("expected exactly one of"), "{msg}");
    }
}
