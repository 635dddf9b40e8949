//! What the deployment tests share: the repository root and `template.yaml`, parsed.
#![allow(dead_code, clippy::unwrap_used)]

use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// CloudFormation tags (`!Ref`, `!Sub`, …) are read as their inner value.
pub fn untag(v: Value) -> Value {
    match v {
        Value::Tagged(t) => untag(t.value),
        Value::Mapping(m) => Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
        other => other,
    }
}

/// `template.yaml`, tags read as their inner value.
pub fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    untag(serde_yaml::from_str(&text).unwrap())
}
