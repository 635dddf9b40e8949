//! Each setting is declared once, in `passport::kernel::config::settings::SETTINGS`:
//! `template.yaml`'s parameters (default, group, the variable they set) and docs/configuration.md's
//! configuration table are held to it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{root, template};
use passport::kernel::config::settings::{SETTINGS, Template, readme_table};
use serde_yaml::Value;

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

/// The parameter group a parameter is listed under, if any.
fn group_of(t: &Value, parameter: &str) -> Option<String> {
    let groups = &t["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"];
    groups.as_sequence()?.iter().find_map(|g| {
        let listed = g["Parameters"].as_sequence()?;
        listed
            .iter()
            .any(|p| p.as_str() == Some(parameter))
            .then(|| {
                g["Label"]["default"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
    })
}

#[test]
fn template_parameters_are_the_settings() {
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    let mut missing = Vec::new();
    for s in SETTINGS {
        let value = &env[s.name];
        let Template::Parameter { name: param, group } = s.template else {
            if let Value::String(p) = value {
                assert!(
                    !t["Parameters"][p.as_str()].is_mapping(),
                    "{}: declared as set otherwise, but the template makes it parameter {p}",
                    s.name
                );
            }
            continue;
        };
        // `!Ref Param`, or `!If [HasX, !Ref Param, !Ref AWS::NoValue]` for an optional one.
        let set_by = match value {
            Value::String(p) => Some(p.clone()),
            Value::Sequence(seq) if seq.len() == 3 => seq[1].as_str().map(str::to_string),
            _ => None,
        };
        if set_by.as_deref() != Some(param) {
            missing.push(format!(
                "Globals.Function.Environment.Variables.{}: !Ref {param}",
                s.name
            ));
        }
        let p = &t["Parameters"][param];
        if !p.is_mapping() {
            missing.push(format!("Parameters.{param} (Default: {:?})", s.default));
            continue;
        }
        assert_eq!(
            as_env(&p["Default"]),
            s.default.unwrap_or(""),
            "{}: template parameter {param}'s default differs from the setting's",
            s.name
        );
        if group_of(&t, param).as_deref() != Some(group) {
            missing.push(format!("ParameterGroups[{group}]: {param}"));
        }
    }
    assert!(
        missing.is_empty(),
        "template.yaml lacks what SETTINGS declares:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_configuration_page_shows_the_table_made_from_the_settings() {
    let text = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let want = readme_table();
    assert!(
        text.contains(&want),
        "docs/configuration.md's table is not the one SETTINGS makes; put this table there:\n\n{want}"
    );
}
