//! Imports run down the layers of the crate, never up: the order ARCHITECTURE.md's
//! "Invariants" gives, checked on the source. A unit (a module of the kernel, or a top-level
//! module) may name (`crate::…`) only units of a lower layer; `testing` (test helpers) may name
//! any.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The crate's units, lowest first; units on one line are one layer and do not name each other
/// (but for [`ALLOWED`]). The kernel's modules (`kernel::<name>`) come first, then the
/// features, then the top.
const LAYERS: &[&[&str]] = &[
    &[
        "kernel::ids",
        "kernel::clock",
        "kernel::redact",
        "kernel::addresses",
        "kernel::authentication",
    ],
    &[
        "kernel::caller",
        "kernel::cookie",
        "kernel::security_events",
        "kernel::accounts",
        "kernel::user_agent",
        "kernel::binding",
        "kernel::mail",
    ],
    &["kernel::activity"],
    &["kernel::config"],
    &["kernel::error"],
    &["kernel::keys"],
    &["kernel::tokens"],
    &["kernel::store"],
    &["kernel::service"],
    &["kernel::http"],
    // The features: each depends on the kernel, and on another feature only as ALLOWED says.
    &[
        "sessions",
        "passkeys",
        "dbsc",
        "passports",
        "recent_auth",
        "discovery",
        "email",
        "mfa",
        "activity",
        "federation",
    ],
    &["api"],
    &["admin"],
];

/// The crate's macros (exported at its root, as `macro_rules!` must be) and the unit each is
/// part of.
const MACROS: &[(&str, &str)] = &[("lua_scripts", "kernel::store")];

/// The features that use another, and why (ARCHITECTURE.md says the same).
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "recent_auth",
        "passkeys",
        "a passkey assertion is one way to prove it is you again",
    ),
    (
        "recent_auth",
        "mfa",
        "a password and a second-factor code raise a session to aal2",
    ),
    (
        "email",
        "sessions",
        "a password reset ends every session, as a password change does",
    ),
];

fn layer(unit: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&unit))
}

fn allowed(from: &str, to: &str) -> bool {
    ALLOWED.iter().any(|(f, t, _)| *f == from && *t == to)
}

/// Every Rust file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
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

/// The unit a file of `src` belongs to: `kernel::<name>` for the kernel, else its top-level
/// module; `None` for `lib.rs`, `kernel/mod.rs` and the test helpers.
fn unit_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    match parts.as_slice() {
        [only] if only == "lib" => None,
        [first, ..] if first == "testing" => None,
        [first, second] if first == "kernel" && second == "mod" => None,
        [first, second, ..] if first == "kernel" => Some(format!("kernel::{second}")),
        [first, ..] => Some(first.clone()),
        [] => None,
    }
}

/// The unit a `crate::…` path names: `kernel::<name>` or a top-level module; `None` for an item
/// of the crate root (a re-export).
fn named_unit(rest: &str) -> Result<String, String> {
    let seg = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    if rest.starts_with('{') {
        return Err("names several items at once: name modules one by one".into());
    }
    let first = seg(rest);
    if rest[first.len()..].starts_with('!') {
        return MACROS
            .iter()
            .find(|(m, _)| *m == first)
            .map(|(_, unit)| unit.to_string())
            .ok_or_else(|| format!("names macro `crate::{first}`, which has no unit in MACROS"));
    }
    if first.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "names `crate::{first}`, a re-export at the crate root: name its module"
        ));
    }
    if first == "kernel" {
        let after = &rest[first.len()..];
        let after = after.strip_prefix("::").unwrap_or("");
        if after.starts_with('{') {
            return Err("names several kernel modules at once: name them one by one".into());
        }
        return Ok(format!("kernel::{}", seg(after)));
    }
    Ok(first)
}

#[test]
fn no_import_runs_up_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut up = Vec::new();
    for f in rust_files(&src) {
        let Some(own) = unit_of(&src, &f) else {
            continue;
        };
        let own_layer =
            layer(&own).unwrap_or_else(|| panic!("unit `{own}` has no layer in LAYERS"));
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, _) in text.match_indices("crate::") {
            let named = match named_unit(&text[i + 7..]) {
                Ok(n) => n,
                Err(why) => {
                    up.push(format!("{}: {why}", f.display()));
                    continue;
                }
            };
            // `testing` is compiled for tests only, and their modules may use it.
            if named == own || named == "testing" {
                continue;
            }
            let Some(named_layer) = layer(&named) else {
                up.push(format!(
                    "{} names `crate::{named}`, which has no layer",
                    f.display()
                ));
                continue;
            };
            if named_layer >= own_layer && !allowed(&own, &named) {
                up.push(format!("{} names `crate::{named}`", f.display()));
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
