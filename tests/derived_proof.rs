//! The proof derived from the edits (SPEC §6.3): every rendering an edit's site reaches is
//! checked, and it fails when a rendering changes beyond the planned places, when an edit's
//! value does not reach its rendering, and when an environment not selected changes.

use std::sync::Arc;

use regshift::formats::jinja::Envs;
use regshift::migration::Migration;
use regshift::plan::Edit;
use regshift::project::Project;
use regshift::prove::{self, Report};
use regshift::rules::RuleSet;
use regshift::walk::View;

const VARS: &str = "inventory/group_vars/all";
const TEMPLATE: &str = "roles/app/templates/config.json.j2";

fn view(files: &[(&str, &str)]) -> Arc<View> {
    Arc::new(View {
        root: "/nonexistent".into(),
        files: files.iter().map(|(k, _)| k.to_string()).collect(),
        overlay: files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
}

/// An edit of `old` (its first occurrence in `text`) to `new` in `path`.
fn edit(path: &str, text: &str, old: &str, new: &str, envs: Envs) -> Edit {
    let start = text.find(old).expect("old value in text");
    Edit {
        path: path.into(),
        range: start..start + old.len(),
        old: old.into(),
        new: new.into(),
        rule: "test-rule".into(),
        envs,
        context: None,
        secret: false,
        target: None,
    }
}

fn prove(before: &[(&str, &str)], after: &[(&str, &str)], edits: &[Edit], envs: Envs) -> Report {
    let migration = Migration::embedded().expect("migration");
    let project = |files| Project::new(view(files), &migration.selector);
    prove::planned(
        &project(before),
        &project(after),
        edits,
        &migration,
        &RuleSet::default(),
        envs,
    )
    .expect("proof runs")
}

const TEMPLATE_TEXT: &str = "{\"url\": \"https://{{ registry }}/v2\", \"auth\": \"{{ login | b64encode }}\", \"other\": \"x\"}\n";
const VARS_BEFORE: &str = "registry: old.example.org\nlogin: \"{{ user }}:{{ password }}\"\n";
const VARS_AFTER: &str = "registry: new.example.org\nlogin: \"{{ robot_user }}:{{ password }}\"\n";

fn edits() -> Vec<Edit> {
    vec![
        edit(
            VARS,
            VARS_BEFORE,
            "old.example.org",
            "new.example.org",
            Envs::ALL,
        ),
        edit(
            VARS,
            VARS_BEFORE,
            "{{ user }}",
            "{{ robot_user }}",
            Envs::ALL,
        ),
    ]
}

#[test]
fn a_variable_edit_is_checked_in_the_template_reading_it() {
    let before = [(VARS, VARS_BEFORE), (TEMPLATE, TEMPLATE_TEXT)];
    let after = [(VARS, VARS_AFTER), (TEMPLATE, TEMPLATE_TEXT)];
    let report = prove(&before, &after, &edits(), Envs::ALL);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    let key = (
        VARS.to_string(),
        VARS_BEFORE.find("old.example.org").unwrap(),
    );
    let places = &report.proven[&key];
    assert!(
        places
            .iter()
            .any(|p| p == &format!("{TEMPLATE} (production) at url")),
        "{places:?}"
    );
    // The login reaches the rendering through `b64encode`: checked decoded.
    let key = (VARS.to_string(), VARS_BEFORE.find("{{ user }}").unwrap());
    assert!(
        report.proven[&key].iter().any(|p| p.ends_with("at auth")),
        "{:?}",
        report.proven[&key]
    );
}

#[test]
fn a_change_no_edit_explains_fails_at_its_place() {
    let changed = TEMPLATE_TEXT.replace("\"x\"", "\"y\"");
    let before = [(VARS, VARS_BEFORE), (TEMPLATE, TEMPLATE_TEXT)];
    let after = [(VARS, VARS_AFTER), (TEMPLATE, changed.as_str())];
    let report = prove(&before, &after, &edits(), Envs::ALL);
    let places: Vec<_> = report
        .failures
        .iter()
        .map(|f| (f.template.as_str(), f.what.as_str(), f.got.as_str()))
        .collect();
    assert!(places.contains(&(TEMPLATE, "other", "+y")), "{places:?}");
    assert!(places.contains(&(TEMPLATE, "other", "-x")), "{places:?}");
    // Each names where its source is written: the literal `"y"` (after) and `"x"` (before) on
    // the template's line 1 (counted from the `{{ login | b64encode }}` before it).
    let column = TEMPLATE_TEXT.find("\"x\"").expect("x") + 1;
    for got in ["+y", "-x"] {
        let failure = report
            .failures
            .iter()
            .find(|f| f.got == got)
            .expect("failure");
        assert_eq!(
            failure.source.as_deref(),
            Some(format!("{TEMPLATE}:1:{column}").as_str()),
            "{failure:?}"
        );
    }
}

#[test]
fn a_change_made_by_an_expression_names_the_expression() {
    // The template now reads another variable where the edit did not reach: the unplanned
    // change is the output of that `{{ … }}`, and the failure names it.
    let changed = TEMPLATE_TEXT.replace("\"x\"", "\"{{ registry }}-x\"");
    let before = [(VARS, VARS_BEFORE), (TEMPLATE, TEMPLATE_TEXT)];
    let after = [(VARS, VARS_AFTER), (TEMPLATE, changed.as_str())];
    let report = prove(&before, &after, &edits(), Envs::ALL);
    let failure = report
        .failures
        .iter()
        .find(|f| f.what == "other" && f.got.starts_with('+'))
        .expect("an unplanned change");
    let column = changed.rfind("{{ registry }}").expect("expression") + 1;
    assert_eq!(
        failure.source.as_deref(),
        Some(format!("{TEMPLATE}:1:{column}").as_str()),
        "{failure:?}"
    );
}

#[test]
fn an_edit_whose_value_never_shows_fails_naming_its_source() {
    // The template stops reading the variable: the planned value reaches no rendering.
    let unread = TEMPLATE_TEXT.replace("{{ registry }}", "old.example.org");
    let before = [(VARS, VARS_BEFORE), (TEMPLATE, TEMPLATE_TEXT)];
    let after = [(VARS, VARS_AFTER), (TEMPLATE, unread.as_str())];
    let report = prove(&before, &after, &edits(), Envs::ALL);
    let unseen: Vec<_> = report
        .failures
        .iter()
        .filter(|f| f.got == "not in the rendering")
        .collect();
    assert!(!unseen.is_empty(), "{:#?}", report.failures);
    assert_eq!(
        unseen[0].source.as_deref(),
        Some("inventory/group_vars/all:1:11"),
        "a failure names the edit's file:line:column"
    );
}

#[test]
fn an_environment_not_selected_must_render_as_before() {
    let before = [(VARS, VARS_BEFORE), (TEMPLATE, TEMPLATE_TEXT)];
    let after = [(VARS, VARS_AFTER), (TEMPLATE, TEMPLATE_TEXT)];
    let migration = Migration::embedded().expect("migration");
    let staging = migration.env_named("staging").expect("staging");
    let report = prove(&before, &after, &edits(), Envs::only(staging));
    let isolation: Vec<_> = report
        .failures
        .iter()
        .filter(|f| f.what == "isolation")
        .map(|f| f.env.name())
        .collect();
    assert_eq!(isolation, ["production"], "{:#?}", report.failures);
}

#[test]
fn an_included_file_is_proven_in_its_includer() {
    let outer = "roles/app/templates/configmap.yml.j2";
    let outer_text = "data:\n  config.yaml: |\n    {% include 'inner.yaml' %}\n";
    let inner = "roles/app/templates/inner.yaml";
    let inner_before = "url: https://old.example.org/\n";
    let inner_after = "url: https://new.example.org/\n";
    let e = edit(
        inner,
        inner_before,
        "old.example.org",
        "new.example.org",
        Envs::ALL,
    );
    let before = [(outer, outer_text), (inner, inner_before)];
    let after = [(outer, outer_text), (inner, inner_after)];
    let report = prove(&before, &after, std::slice::from_ref(&e), Envs::ALL);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    let places = &report.proven[&(inner.to_string(), e.range.start)];
    assert!(
        places.iter().any(|p| p.starts_with(outer)),
        "the includer's rendering carries the value: {places:?}"
    );
    assert!(
        places.iter().all(|p| !p.starts_with(inner)),
        "a file only ever included is not rendered alone: {places:?}"
    );
}

#[test]
fn a_variable_read_through_another_is_followed() {
    let vars_before = "registry: old.example.org\nregistry_url: \"https://{{ registry }}/v2\"\n";
    let vars_after = vars_before.replacen("old.example.org", "new.example.org", 1);
    let template = "{\"url\": \"{{ registry_url }}\"}\n";
    let e = edit(
        VARS,
        vars_before,
        "old.example.org",
        "new.example.org",
        Envs::ALL,
    );
    let before = [(VARS, vars_before), (TEMPLATE, template)];
    let after = [(VARS, vars_after.as_str()), (TEMPLATE, template)];
    let report = prove(&before, &after, std::slice::from_ref(&e), Envs::ALL);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    let places = &report.proven[&(VARS.to_string(), e.range.start)];
    assert!(
        places.iter().any(|p| p.starts_with(TEMPLATE)),
        "two levels of definitions reach the template: {places:?}"
    );
}

#[test]
fn a_template_looked_up_with_its_own_variables_is_proven_in_its_includer() {
    // SPEC §11.2: the value lives in a template another one renders through
    // `lookup('template', …, template_vars=…)`; alone it misses the variable the lookup gives.
    let outer = "roles/app/templates/configmap.yml.j2";
    let outer_text = "data:\n  app.toml: |-\n    {{ lookup('template', 'app.toml', template_vars={'part': 'registry'}) | indent(4) }}\n";
    let inner = "roles/app/templates/app.toml";
    let inner_before = "{% if part == 'registry' %}\nurl = \"old.example.org\"\n{% endif %}\n";
    let inner_after = inner_before.replace("old.example.org", "new.example.org");
    let e = edit(
        inner,
        inner_before,
        "old.example.org",
        "new.example.org",
        Envs::ALL,
    );
    let before = [(outer, outer_text), (inner, inner_before)];
    let after = [(outer, outer_text), (inner, inner_after.as_str())];
    let report = prove(&before, &after, std::slice::from_ref(&e), Envs::ALL);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    let places = &report.proven[&(inner.to_string(), e.range.start)];
    assert!(
        places.iter().any(|p| p.starts_with(outer)),
        "the includer carries the value: {places:?}"
    );
    // Had the lookup's variable not reached the inner template, the value would not show.
    let wrong = outer_text.replace("'registry'", "'other'");
    let before = [(outer, wrong.as_str()), (inner, inner_before)];
    let after = [(outer, wrong.as_str()), (inner, inner_after.as_str())];
    let report = prove(&before, &after, std::slice::from_ref(&e), Envs::ALL);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.got == "not in the rendering"),
        "{:#?}",
        report.failures
    );
}
