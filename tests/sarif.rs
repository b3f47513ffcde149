//! SARIF output is valid SARIF 2.1.0: checked against the official JSON schema (shipped in the
//! serde-sarif crate's source) and read back with serde-sarif's types.

mod common;

use std::process::Command;

use common::{copy_tree, regshift, repo_path, stdout_of};

/// The SARIF 2.1.0 schema from the serde-sarif sources cargo fetched for this crate.
fn schema() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = stdout_of(
        Command::new(cargo)
            .args(["metadata", "--format-version", "1"])
            .current_dir(env!("CARGO_MANIFEST_DIR")),
    );
    let meta: serde_json::Value = serde_json::from_str(&out).expect("metadata is JSON");
    let manifest = meta["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "serde-sarif"))
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dev-dependency");
    let path = std::path::Path::new(manifest).with_file_name("src/schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file"))
            .expect("schema is JSON");
    // The official schema's `language` patterns have a stray `]` that the validator's meta-schema
    // check refuses to compile; regshift never writes `language`, so the fixed pattern changes
    // nothing about what is checked.
    let fixed = fix_patterns(
        &mut schema,
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
    );
    assert!(fixed > 0, "the schema changed: revisit this fix");
    schema
}

/// Replaces every `"pattern": from` in `value`; returns how many.
fn fix_patterns(value: &mut serde_json::Value, from: &str, to: &str) -> usize {
    match value {
        serde_json::Value::Object(map) => {
            let mut n = 0;
            for (key, v) in map.iter_mut() {
                if key == "pattern" && v == from {
                    *v = serde_json::Value::from(to);
                    n += 1;
                } else {
                    n += fix_patterns(v, from, to);
                }
            }
            n
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().map(|v| fix_patterns(v, from, to)).sum()
        }
        _ => 0,
    }
}

fn assert_valid(sarif: &str) {
    let instance: serde_json::Value = serde_json::from_str(sarif).expect("SARIF is JSON");
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let typed: serde_sarif::sarif::Sarif =
        serde_json::from_str(sarif).expect("serde-sarif reads it");
    assert_eq!(typed.runs.len(), 1);
}

#[test]
fn check_and_audit_sarif_validate_against_the_schema() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let dir = tree.path().to_str().expect("path");
    let check = regshift(&["check", "-C", dir, "--format", "sarif"]);
    assert_eq!(check.code, 1);
    assert_valid(&check.stdout);
    let log: serde_json::Value = serde_json::from_str(&check.stdout).expect("json");
    let results = log["runs"][0]["results"].as_array().expect("results");
    // 32 pending edits (public_url, a registry root, stays), 4 unclassified look-alikes, and the proofs the unmigrated tree breaks.
    let pending = results.iter().filter(|r| r["fixes"].is_array()).count();
    let unclassified = results
        .iter()
        .filter(|r| r["ruleId"] == "unclassified-reference")
        .count();
    assert_eq!((pending, unclassified), (32, 4));
    let fix = results
        .iter()
        .find(|r| r["ruleId"] == "osbs-reactor-registry" && r["fixes"].is_array())
        .expect("reactor edit");
    assert_eq!(
        fix["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"],
        "quay.io"
    );

    let audit = regshift(&["audit", "-C", dir, "--format", "sarif"]);
    assert_valid(&audit.stdout);
    insta::assert_snapshot!(
        "mini_check_github",
        regshift(&["check", "-C", dir, "--format", "github"]).stdout
    );
}
