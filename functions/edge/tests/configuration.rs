//! Configuration defaults live in one place, `passport::kernel::config::VARIABLES`: `template.yaml`'s
//! parameters and README's configuration table must say the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{root, template};
use passport::kernel::config::VARIABLES;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// Variables the template sets from something other than one parameter, with the reason.
const NOT_PARAMETERS: &[(&str, &str)] = &[
    (
        "REDIS_URL",
        "the created cache's endpoint, or ExistingRedisUrl",
    ),
    (
        "REDIS_CLUSTER",
        "true for the created cache, or ExistingRedisIsCluster",
    ),
    ("SIGNING_SECRET_ARN", "the stack's own secret"),
    ("REDIS_AUTH_SECRET_ARN", "the created cache's user secret"),
    (
        "SIGNING_SECRET",
        "local runs and tests only; deployed keys come from the secret",
    ),
];

/// A parameter's default as the environment would read it (`""`: none).
fn as_env(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("unexpected parameter default {other:?}"),
    }
}

#[test]
fn template_parameters_default_to_the_config_defaults() {
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (name, default) in VARIABLES {
        let value = &env[*name];
        if let Some((_, why)) = NOT_PARAMETERS.iter().find(|(n, _)| n == name) {
            assert!(
                !value.is_string() || !t["Parameters"][value.as_str().unwrap()].is_mapping(),
                "{name} is listed as not a parameter ({why}), but the template makes it one"
            );
            continue;
        }
        // `!Ref Param`, or `!If [HasX, !Ref Param, !Ref AWS::NoValue]` for an optional one.
        let param = match value {
            Value::String(p) => p.clone(),
            Value::Sequence(s) if s.len() == 3 => s[1].as_str().unwrap().to_string(),
            other => panic!("{name}: the template sets it to {other:?}, not a parameter"),
        };
        let p = &t["Parameters"][param.as_str()];
        assert!(p.is_mapping(), "{name}: parameter {param} is missing");
        assert_eq!(
            as_env(&p["Default"]),
            default.unwrap_or(""),
            "{name}: template parameter {param}'s default differs from Config's"
        );
    }
}

/// README's configuration table: variable → its default cell.
fn readme_defaults() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = text
        .split("| variable | default | meaning |")
        .nth(1)
        .expect("README has the configuration table");
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn readme_lists_every_variable_with_its_default() {
    let readme = readme_defaults();
    for (name, default) in VARIABLES {
        let cell = readme
            .get(*name)
            .unwrap_or_else(|| panic!("{name}: missing from README's configuration table"));
        let want = match default {
            Some(d) => format!("`{d}`"),
            None => "unset".to_string(),
        };
        assert_eq!(
            cell, &want,
            "{name}: README's default differs from Config's"
        );
    }
    for name in readme.keys() {
        assert!(
            name == "RUST_LOG" || VARIABLES.iter().any(|(n, _)| n == name),
            "{name}: in README's configuration table, not read by Config"
        );
    }
}
