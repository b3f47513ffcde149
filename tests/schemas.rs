//! Every JSON document regshift prints carries `format_version` and validates against its JSON
//! Schema in `schemas/` (issue 15.5): `plan`, `audit` and `check` on the bundled example, where
//! edits, notes, unclassified references and proof failures all occur; and the schemas are
//! strict enough to fail (an unknown field, a missing version).

mod common;

use common::{copy_tree, regshift, repo_path};

fn schema(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(repo_path(&format!("schemas/{name}.schema.json")))
        .expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// The schema `name`, its references to `plan.schema.json`'s definitions resolved in place (the
/// files refer to each other as users' validators expect; the test needs no registry).
fn resolved(name: &str) -> serde_json::Value {
    fn inline(v: &mut serde_json::Value, plan: &serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                let target = map
                    .get("$ref")
                    .and_then(|r| r.as_str())
                    .and_then(|r| r.strip_prefix("plan.schema.json#/$defs/"))
                    .map(str::to_string);
                if let Some(def) = target {
                    *v = plan["$defs"][def.as_str()].clone();
                    return;
                }
                map.values_mut().for_each(|x| inline(x, plan));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|x| inline(x, plan)),
            _ => {}
        }
    }
    let plan = schema("plan");
    let mut out = schema(name);
    inline(&mut out, &plan);
    out
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::validator_for(&resolved(name)).expect("schema compiles")
}

fn errors(name: &str, doc: &serde_json::Value) -> Vec<String> {
    validator(name)
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn plan_audit_and_check_json_validate_against_their_schemas() {
    let tree = copy_tree(&repo_path("fixtures/fedora-mini"));
    let dir = tree.path().to_str().expect("path");
    for (name, args) in [
        ("plan", vec!["plan", "--format", "json"]),
        ("audit", vec!["audit", "--format", "json"]),
        ("check", vec!["check", "--format", "json"]),
    ] {
        let mut all = args.clone();
        all.extend(["-C", dir]);
        let run = regshift(&all);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
        assert_eq!(doc["format_version"], 1, "{name}");
        let found = errors(name, &doc);
        assert!(found.is_empty(), "{name}: {found:#?}");
        if name == "check" {
            for part in ["pending", "unclassified", "proof_failures"] {
                let items = doc[part].as_array().expect("array");
                assert!(!items.is_empty(), "the example exercises `{part}`");
            }
        }
        // The schema can fail: an unknown field, and a document without its version.
        let mut extra = doc.clone();
        extra["surprise"] = serde_json::json!(1);
        assert!(
            !errors(name, &extra).is_empty(),
            "{name}: an unknown field passes"
        );
        let mut bare = doc.clone();
        bare.as_object_mut()
            .expect("object")
            .remove("format_version");
        assert!(!errors(name, &bare).is_empty(), "{name}: no version passes");
    }
}
