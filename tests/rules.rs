//! Every rule's before/after fixture (both environments) holds, and a second run changes
//! nothing; every built-in rule has a fixture.

mod common;

use regshift::migration::Migration;
use regshift::rules::RuleSet;
use regshift::ruletest;

#[test]
fn every_rule_fixture_passes_and_is_idempotent() {
    let migration = Migration::embedded().expect("default migration");
    let rules = RuleSet::load(None, &migration, true).expect("built-in rules");
    let outcomes = ruletest::run_all(&common::repo_path("fixtures/rules"), &rules, &migration)
        .expect("fixtures run");
    let failures: Vec<String> = outcomes
        .iter()
        .flat_map(|o| o.failures.iter().map(move |f| format!("{}: {f}", o.rule)))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    let tested: Vec<&str> = outcomes.iter().map(|o| o.rule.as_str()).collect();
    // Every rule ships a fixture (SPEC §4): editing rules before/after, classification rules a
    // tree and the references they claim.
    let required: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
    let missing: Vec<&&str> = required.iter().filter(|id| !tested.contains(id)).collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}

#[test]
fn a_wrong_claims_list_fails_its_classification_fixture() {
    let migration = Migration::embedded().expect("default migration");
    let rules = RuleSet::load(None, &migration, true).expect("built-in rules");
    let case = common::copy_tree(&common::repo_path(
        "fixtures/rules/keep-flatpak-static-files/included",
    ));
    let claims = case.path().join("claims");
    let text = std::fs::read_to_string(&claims).expect("read");
    // The registry root (line 9) is another rule's; claiming it would be wrong.
    std::fs::write(&claims, text.replace(":5:21", ":9:21")).expect("write");
    let rule = rules.get("keep-flatpak-static-files").expect("rule");
    let outcome = ruletest::run_cases(case.path(), rule, &migration).expect("runs");
    let t = "roles/openshift-apps/flatpak-indexer/templates/config-main.yaml";
    assert_eq!(
        outcome.failures,
        [
            format!("{t}:9:21: not claimed"),
            format!("{t}:5:21: claimed, not listed"),
        ]
    );
}

#[test]
fn a_wrong_after_tree_fails_its_fixture() {
    let migration = Migration::embedded().expect("default migration");
    let rules = RuleSet::load(None, &migration, true).expect("built-in rules");
    let case = common::copy_tree(&common::repo_path("fixtures/rules/osbs-reactor-registry"));
    let after = case.path().join("after/inventory/group_vars/osbs_masters");
    let text = std::fs::read_to_string(&after)
        .expect("read")
        .replace("https://quay.io/v2", "https://quay.io/fedora/v2");
    std::fs::write(&after, text).expect("write");
    let rule = rules.get("osbs-reactor-registry").expect("rule");
    let outcome = ruletest::run_cases(case.path(), rule, &migration).expect("runs");
    assert_eq!(
        outcome.failures,
        [
            "inventory/group_vars/osbs_masters: result differs from after/",
            "after/ inventory/group_vars/osbs_masters (production): *.registries.*.url: expected https://quay.io/v2, got https://quay.io/fedora/v2",
        ]
    );
}
