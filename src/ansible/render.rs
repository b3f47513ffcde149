//! Renders templates the way Ansible's `template` module does: Jinja with `trim_blocks`, the
//! trailing newline kept, `#jinja2:` header overrides, Ansible's filters, Python's way of printing
//! values, and `{% include %}` relative to the including template or the tree root. Variables the
//! tree does not define (the private vars' secrets) render as stable `<name>` placeholders.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{ValueKind, merge_maps};
use minijinja::{Environment, UndefinedBehavior, Value};

use super::filters;
use super::value::py_str;
use crate::error::{Error, Position, Result};
use crate::walk::View;

/// Variables for one rendering.
pub type Vars = BTreeMap<String, Value>;

/// Variables as minijinja reads them, built once and shared (cloning is a reference count):
/// building the map per rendering dominated the time of `audit` and `plan`.
#[derive(Debug, Clone)]
pub struct Context(Value);

impl From<&Vars> for Context {
    fn from(vars: &Vars) -> Context {
        Context(Value::from_pairs(
            vars.iter()
                .map(|(k, v)| (Value::from(k.as_str()), v.clone())),
        ))
    }
}

/// Renders templates of one tree (as a [`View`]: planned edits included).
#[derive(Clone)]
pub struct Renderer {
    view: Arc<View>,
    /// The environment for templates without `#jinja2:` overrides, built once.
    default_env: Arc<std::sync::OnceLock<Environment<'static>>>,
}

/// Ansible's per-template overrides from a `#jinja2:` first line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Overrides {
    trim_blocks: bool,
    lstrip_blocks: bool,
    keep_trailing_newline: bool,
    delimiters: BTreeMap<String, String>,
}

impl Default for Overrides {
    fn default() -> Overrides {
        Overrides {
            trim_blocks: true,
            lstrip_blocks: false,
            keep_trailing_newline: true,
            delimiters: BTreeMap::new(),
        }
    }
}

impl Renderer {
    pub fn new(view: Arc<View>) -> Renderer {
        Renderer {
            view,
            default_env: Arc::default(),
        }
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    /// Renders the tree file `rel` with `vars`.
    pub fn render_file(&self, rel: &str, vars: &Context) -> Result<String> {
        let source = self
            .view
            .read(rel)
            .ok_or_else(|| Error::file(Path::new(rel), "cannot read template"))?;
        self.render(rel, &source, vars)
    }

    /// Renders the tree file `rel` with `vars`, and where each expression's output lies in the
    /// rendering (`origins`; none when the marked rendering does not agree with the plain one).
    pub fn render_with_origins(
        &self,
        rel: &str,
        vars: &Context,
    ) -> Result<(String, Vec<super::origins::Origin>)> {
        let text = self.render_file(rel, vars)?;
        let source = self.view.read(rel).unwrap_or_default();
        let origins = super::origins::mark(&source)
            .and_then(|(marked, spans)| {
                let rendered = self.render(rel, &marked, vars).ok()?;
                super::origins::unmark(&rendered, &spans)
            })
            .filter(|(plain, _)| *plain == text)
            .map(|(_, origins)| origins)
            .unwrap_or_default();
        Ok((text, origins))
    }

    /// Whether `source` parses as a template (as the tree file `name`): a located error if not.
    pub fn syntax(&self, name: &str, source: &str) -> Result<()> {
        self.with_env(source, |env, body| self.parses(env, name, source, body))
    }

    /// Calls `f` with the environment `source`'s `#jinja2:` line asks for (the shared default
    /// one when it has none) and the source without that line.
    fn with_env<T>(&self, source: &str, f: impl FnOnce(&Environment<'static>, &str) -> T) -> T {
        let (overrides, body) = header(source);
        if overrides == Overrides::default() {
            f(
                self.default_env
                    .get_or_init(|| self.environment(&overrides)),
                body,
            )
        } else {
            f(&self.environment(&overrides), body)
        }
    }

    fn parses(&self, env: &Environment<'_>, name: &str, source: &str, body: &str) -> Result<()> {
        env.template_from_named_str(name, body)
            .map(|_| ())
            .map_err(|e| {
                let line = e.line().unwrap_or(1) + usize::from(body.len() != source.len());
                Error::At {
                    path: PathBuf::from(name),
                    at: Position { line, column: 1 },
                    message: format!(
                        "template does not parse: {}",
                        e.detail()
                            .map_or_else(|| e.kind().to_string(), str::to_string)
                    ),
                }
            })
    }

    /// Renders `source` as if it were the tree file `name`.
    pub fn render(&self, name: &str, source: &str, vars: &Context) -> Result<String> {
        self.with_env(source, |env, body| {
            self.render_in(env, name, source, body, vars)
        })
    }

    fn render_in(
        &self,
        env: &Environment<'_>,
        name: &str,
        source: &str,
        body: &str,
        vars: &Context,
    ) -> Result<String> {
        let located = |e: minijinja::Error| {
            let line = e.line().unwrap_or(1) + usize::from(body.len() != source.len());
            let mut detail = e
                .detail()
                .map_or_else(|| e.kind().to_string(), str::to_string);
            if e.kind() == minijinja::ErrorKind::OutOfFuel {
                detail = format!(
                    "the rendering exceeds its budget of {RENDER_FUEL} instructions (a loop that \
                     does not end?)"
                );
            }
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                detail.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            Error::At {
                path: PathBuf::from(e.name().unwrap_or(name)),
                at: Position { line, column: 1 },
                message: format!("template does not render: {detail}"),
            }
        };
        let template = env.template_from_named_str(name, body).map_err(located)?;
        // A global (the `lookup` function) is not a free variable to stand in for.
        let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
        let placeholders = Value::from_pairs(
            self.free_variables(env, name, body)
                .into_iter()
                .filter(|free| !globals.contains(free.as_str()))
                .map(|free| (Value::from(free.as_str()), Value::from(format!("<{free}>")))),
        );
        // Lazy merges, not copies: the variables are shared by every rendering with them.
        let all = merge_maps([placeholders, vars.0.clone()]);
        let ctx = merge_maps([all.clone(), Value::from_pairs([("vars", all)])]);
        template.render(ctx).map_err(located)
    }

    /// The variables the bare expression `expr` reads (a `when:` clause); empty when it does not
    /// parse.
    pub fn expression_reads(&self, expr: &str) -> BTreeSet<String> {
        self.template_reads(&format!("{{{{ {expr} }}}}"))
    }

    /// The variables a template text reads (a Jinja `src`); empty when it does not parse.
    pub fn template_reads(&self, source: &str) -> BTreeSet<String> {
        let env = self
            .default_env
            .get_or_init(|| self.environment(&Overrides::default()));
        env.template_from_named_str("<expression>", source)
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default()
    }

    fn environment(&self, o: &Overrides) -> Environment<'static> {
        let mut env = Environment::new();
        let mut syntax = SyntaxConfig::builder();
        syntax
            .trim_blocks(o.trim_blocks)
            .lstrip_blocks(o.lstrip_blocks)
            .keep_trailing_newline(o.keep_trailing_newline);
        let d = |k: &str, default: &str| {
            o.delimiters
                .get(k)
                .cloned()
                .unwrap_or_else(|| default.to_string())
        };
        syntax
            .block_delimiters(d("block_start_string", "{%"), d("block_end_string", "%}"))
            .variable_delimiters(
                d("variable_start_string", "{{"),
                d("variable_end_string", "}}"),
            )
            .comment_delimiters(
                d("comment_start_string", "{#"),
                d("comment_end_string", "#}"),
            );
        if let Ok(config) = syntax.build() {
            env.set_syntax(config);
        }
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // A rendering that would not end (loops nested over huge ranges) stops here, a located
        // error; the largest template of the corpora takes well under a hundredth of it.
        env.set_fuel(Some(RENDER_FUEL));
        env.set_formatter(|out, _state, value| {
            if !value.is_undefined() {
                out.write_str(&py_str(value)).map_err(|e| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
                })?;
            }
            Ok(())
        });
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        filters::register(&mut env);
        env.add_function("lookup", lookup);
        let view = Arc::clone(&self.view);
        env.set_path_join_callback(move |name, parent| join(&view, name, parent));
        let view = Arc::clone(&self.view);
        env.set_loader(move |name| Ok(load(&view, name)));
        env
    }

    /// Top-level variables a template and the templates it includes by literal name read.
    fn free_variables(&self, env: &Environment<'_>, name: &str, source: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut queue = vec![(name.to_string(), source.to_string())];
        while let Some((name, source)) = queue.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Ok(t) = env.template_from_named_str(&name, &source) {
                out.extend(t.undeclared_variables(false));
            }
            for included in literal_includes(&source) {
                let joined = join(&self.view, &included, &name).into_owned();
                if let Some(text) = load(&self.view, &joined) {
                    queue.push((joined, text));
                }
            }
        }
        out
    }
}

/// The instructions one rendering may execute (minijinja's fuel).
const RENDER_FUEL: u64 = 20_000_000;

/// How deep `lookup('template', …)` renderings nest (a template looking itself up ends here).
const MAX_LOOKUP_DEPTH: usize = 16;

thread_local! {
    static LOOKUP_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Ansible's `lookup`: `lookup('template', NAME, template_vars={…})` renders the template
/// (found beside the current one, then from the root) with the current variables and
/// `template_vars` over them. Other lookups read outside the tree (files, commands, the
/// environment): they render as a `<lookup:KIND>` placeholder, as an undefined secret does.
fn lookup(
    state: &minijinja::State<'_, '_>,
    kind: String,
    name: Option<String>,
    kwargs: minijinja::value::Kwargs,
) -> std::result::Result<Value, minijinja::Error> {
    let extra: Option<Value> = kwargs.get("template_vars").ok().flatten();
    let (Some(name), "template") = (name, kind.as_str()) else {
        return Ok(Value::from(format!("<lookup:{kind}>")));
    };
    let depth = LOOKUP_DEPTH.with(|d| d.get());
    if depth >= MAX_LOOKUP_DEPTH {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("lookup('template', '{name}') nests more than {MAX_LOOKUP_DEPTH} deep"),
        ));
    }
    let template = state.get_template(&name)?;
    let mut pairs: Vec<(Value, Value)> = state
        .known_variables()
        .iter()
        .filter_map(|k| Some((Value::from(k.as_ref()), state.lookup(k)?)))
        .collect();
    if let Some(extra) = extra {
        for key in extra.try_iter()? {
            let value = extra.get_item(&key)?;
            pairs.push((key, value));
        }
    }
    LOOKUP_DEPTH.with(|d| d.set(depth + 1));
    let rendered = template.render(Value::from_pairs(pairs));
    LOOKUP_DEPTH.with(|d| d.set(depth));
    Ok(Value::from(rendered?))
}

/// Template names a source includes by literal name: `{% include 'name' %}`, and the argument of
/// a call `M('name')` of a macro the source defines to include its argument
/// (`{% macro M(f) %}{% include f %}{% endmacro %}`: the macro is read from the source, never
/// known by name).
pub fn literal_includes(source: &str) -> Vec<String> {
    includes_in(source, &including_macros(source))
}

/// The literal names `region` includes, directly or through calls of `macros` (macros that
/// include their argument, defined elsewhere in the same template).
pub fn includes_in(region: &str, macros: &[String]) -> Vec<String> {
    let source = region;
    let includes = source.split("{%").skip(1).filter_map(|piece| {
        let inner = piece.trim_start_matches(['-', '+']).trim_start();
        inner.strip_prefix("include").map(str::trim_start)
    });
    let mut names: Vec<String> = includes.filter_map(quoted).collect();
    // `lookup('template', 'name', …)` renders another template into this one.
    names.extend(source.match_indices("lookup(").filter_map(|(at, _)| {
        let args = source[at + "lookup(".len()..].trim_start();
        let rest = args
            .strip_prefix("'template'")
            .or_else(|| args.strip_prefix("\"template\""))?;
        quoted(rest.trim_start().strip_prefix(',')?.trim_start())
    }));
    for mac in macros {
        let call = format!("{mac}(");
        names.extend(
            source
                .match_indices(&call)
                .filter(|(at, _)| {
                    // A whole name: not the tail of a longer identifier.
                    source[..*at]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
                })
                .filter_map(|(at, _)| quoted(source[at + call.len()..].trim_start())),
        );
    }
    names
}

/// The macros `source` defines whose body is `{% include <its one argument> %}`.
pub fn including_macros(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let tags: Vec<&str> = source
        .split("{%")
        .skip(1)
        .filter_map(|piece| piece.split_once("%}").map(|(tag, _)| tag))
        .map(|tag| tag.trim_matches(['-', '+']).trim())
        .collect();
    for pair in tags.windows(2) {
        let Some(sig) = pair[0].strip_prefix("macro") else {
            continue;
        };
        let Some((name, args)) = sig.trim().split_once('(') else {
            continue;
        };
        let arg = args.trim_end_matches(')').trim();
        let body = pair[1].strip_prefix("include").map(str::trim);
        if !arg.is_empty() && !arg.contains(',') && body == Some(arg) {
            out.push(name.trim().to_string());
        }
    }
    out
}

/// The string literal `text` starts with.
fn quoted(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    text[1..]
        .find(quote)
        .map(|end| text[1..1 + end].to_string())
}

/// `./x` and `../x` are relative to the including template; other names are looked for beside
/// it first, then from the tree root (as Ansible's template search path does).
pub fn join<'s>(view: &View, name: &'s str, parent: &'s str) -> Cow<'s, str> {
    let dir = parent.rsplit_once('/').map_or("", |(d, _)| d);
    let beside = normalize(&format!("{dir}/{name}"));
    let relative = name.starts_with("./") || name.starts_with("../");
    if relative || view.exists(&beside) {
        Cow::Owned(beside)
    } else {
        Cow::Owned(normalize(name))
    }
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

/// Loads a template from the tree. Paths never leave the tree and symlinks are not followed.
fn load(view: &View, name: &str) -> Option<String> {
    let rel = normalize(name);
    if rel.is_empty() {
        None
    } else {
        view.read(&rel)
    }
}

/// Splits off a `#jinja2:` first line and reads its overrides (Ansible's template module).
fn header(source: &str) -> (Overrides, &str) {
    let mut o = Overrides::default();
    let Some(rest) = source.strip_prefix("#jinja2:") else {
        return (o, source);
    };
    let (line, body) = rest.split_once('\n').unwrap_or((rest, ""));
    for pair in line.split(',') {
        let Some((key, value)) = pair.split_once(':') else {
            continue;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        let flag = value.eq_ignore_ascii_case("true");
        match key.trim() {
            "trim_blocks" => o.trim_blocks = flag,
            "lstrip_blocks" => o.lstrip_blocks = flag,
            "keep_trailing_newline" => o.keep_trailing_newline = flag,
            other if other.ends_with("_string") => {
                o.delimiters.insert(other.to_string(), value.to_string());
            }
            _ => {}
        }
    }
    (o, body)
}

/// Ansible templates string variables when they are read: `a: "{{ b }}x"` is `b`'s value + `x`.
/// Strings are rendered against the other variables until they stop changing.
pub fn template_vars(renderer: &Renderer, vars: &Vars) -> Vars {
    let mut out = vars.clone();
    for _ in 0..4 {
        let snapshot = Context::from(&out);
        let mut changed = false;
        for value in out.values_mut() {
            let new = template_value(renderer, value, &snapshot);
            changed |= &new != value;
            *value = new;
        }
        if !changed {
            break;
        }
    }
    out
}

fn template_value(renderer: &Renderer, value: &Value, vars: &Context) -> Value {
    match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            if !text.contains("{{") && !text.contains("{%") {
                return value.clone();
            }
            renderer
                .render("<var>", text, vars)
                .map(Value::from)
                .unwrap_or_else(|_| value.clone())
        }
        ValueKind::Seq => Value::from(
            value
                .try_iter()
                .map(|it| {
                    it.map(|v| template_value(renderer, &v, vars))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        ),
        ValueKind::Map => Value::from_pairs(value.try_iter().into_iter().flatten().map(|k| {
            let v = value.get_item(&k).unwrap_or_default();
            (k, template_value(renderer, &v, vars))
        })),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_through_any_macro_that_includes_its_argument() {
        let source = "{% macro grab(f) %}{% include f %}{%- endmacro -%}\n\
                      a: {{ grab('one.yaml') | indent(2) }}\n\
                      b: {{ mygrab('no.yaml') }}\n{% include \"two.yaml\" %}\n\
                      {% macro other(f) %}{{ f }}{% endmacro %}{{ other('three.yaml') }}\n";
        assert_eq!(including_macros(source), ["grab"]);
        assert_eq!(literal_includes(source), ["two.yaml", "one.yaml"]);
    }

    /// A renderer over an in-memory tree.
    fn renderer(files: &[(&str, &str)]) -> Renderer {
        let overlay = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Renderer::new(Arc::new(View {
            root: PathBuf::from("/nonexistent"),
            files: Vec::new(),
            overlay,
            ..Default::default()
        }))
    }

    #[test]
    fn ansible_settings_and_python_printing() {
        let r = renderer(&[]);
        let vars = Vars::from([
            ("flag".to_string(), Value::from(true)),
            ("items".to_string(), Value::from(vec!["a", "b"])),
        ]);
        let out = r
            .render(
                "t",
                "{% if flag %}\n{{ flag }} {{ items }} {{ secret }}\n{% endif %}\n",
                &(&vars).into(),
            )
            .expect("renders");
        assert_eq!(out, "True ['a', 'b'] <secret>\n");
    }

    #[test]
    fn relative_includes_and_headers() {
        let r = renderer(&[
            ("roles/r/templates/main.j2", "A{% include './part.j2' %}B"),
            ("roles/r/templates/part.j2", "[{{ x }}]"),
        ]);
        let vars = Vars::from([("x".to_string(), Value::from(1))]);
        assert_eq!(
            r.render_file("roles/r/templates/main.j2", &(&vars).into())
                .expect("renders"),
            "A[1]B"
        );
        let out = r
            .render(
                "t",
                "#jinja2: trim_blocks: False\n{% if true %}\nx\n{% endif %}\n",
                &(&vars).into(),
            )
            .expect("renders");
        assert_eq!(out, "\nx\n\n");
    }

    #[test]
    fn variables_are_templated_when_read() {
        let r = renderer(&[]);
        let vars = Vars::from([
            ("a".to_string(), Value::from("{{ b }}.x")),
            ("b".to_string(), Value::from("{{ c }}")),
            ("c".to_string(), Value::from("c")),
        ]);
        let t = template_vars(&r, &vars);
        assert_eq!(t["a"], Value::from("c.x"));
    }
}
