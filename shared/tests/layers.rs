//! Imports run down the layers of the crate, never up: the order ARCHITECTURE.md's
//! "Invariants" gives, checked on the source. A module may name (`crate::<module>`) only modules
//! of a lower layer; `testing` (test helpers) may name any.
#![allow(clippy::unwrap_used)]

use std::path::Path;

/// The crate's top-level modules, lowest first; modules on one line are one layer and do not
/// name each other.
const LAYERS: &[&[&str]] = &[
    &["ids", "clock"],
    &[
        "caller",
        "session_cookie",
        "security_events",
        "accounts",
        "authentication",
        "dbsc",
        "passkeys",
        "user_agent",
    ],
    &["config"],
    &["error"],
    &["keys"],
    &["tokens"],
    &["store"],
    &["service"],
    &["http", "admin"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The Rust files of top-level module `name`: `name.rs` or everything under `name/`.
fn files(src: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let file = src.join(format!("{name}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut out = Vec::new();
    let mut dirs = vec![src.join(name)];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn no_import_runs_up_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .filter(|m| *m != "testing")
        .collect();
    let mut up = Vec::new();
    for m in &modules {
        let own = layer(m).unwrap_or_else(|| panic!("module `{m}` has no layer in LAYERS"));
        for f in files(&src, m) {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(
                !text.contains("crate::{"),
                "{}: name modules one by one",
                f.display()
            );
            for (_, rest) in text
                .match_indices("crate::")
                .map(|(i, _)| ((), &text[i + 7..]))
            {
                let named: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if named == *m || !modules.contains(&named.as_str()) {
                    continue;
                }
                if layer(&named).unwrap() >= own {
                    up.push(format!("{} names `crate::{named}`", f.display()));
                }
            }
        }
    }
    up.sort();
    up.dedup();
    assert!(
        up.is_empty(),
        "imports running up the layers:\n{}",
        up.join("\n")
    );
}
