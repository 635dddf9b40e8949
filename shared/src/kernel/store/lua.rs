//! The store's Lua scripts and their arguments. Each script names its keys and arguments in its
//! first lines — `local a, b = unpack(KEYS)` and `local c, d = unpack(ARGV)` — the one place
//! their order is written. Calls pass them by name ([`LuaScript::invocation`]), and this module
//! puts them in that order; tests read the same names.
//!
//! Each part of the store declares its scripts once, with `lua_scripts!`,
//! beside the `lua/` folder that holds them: the statics it calls, and the list of them that
//! `api::scripts` joins into every script the store runs (a test holds that list to the `.lua`
//! files on disk).

use crate::kernel::error::StoreError;
use redis::{Script, ScriptInvocation};

/// Functions every script may use (`ct_eq`, `count`, `track`, `revoke_all`), prepended to each.
pub const COMMON: &str = include_str!("lua/common.lua");

/// Declares a part's scripts: `NAME = "file"` makes `NAME`, the script `lua/file.lua` beside
/// the calling module, and `SCRIPTS`, every script declared, in order.
#[macro_export]
macro_rules! lua_scripts {
    ($($name:ident = $file:literal),+ $(,)?) => {
        $(
            #[doc = concat!("`lua/", $file, ".lua`.")]
            pub(crate) static $name: std::sync::LazyLock<$crate::kernel::store::lua::LuaScript> =
                std::sync::LazyLock::new(|| {
                    $crate::kernel::store::lua::LuaScript::new(
                        $file,
                        include_str!(concat!("lua/", $file, ".lua")),
                    )
                });
        )+
        /// Every script this part runs.
        pub static SCRIPTS: &[&std::sync::LazyLock<$crate::kernel::store::lua::LuaScript>] =
            &[$(&$name),+];
    };
}

/// A script, with the names of its keys and arguments in order.
pub struct LuaScript {
    /// The file's name without `.lua`.
    pub name: &'static str,
    /// The script's own text (without [`COMMON`]).
    pub source: &'static str,
    script: Script,
    keys: Vec<&'static str>,
    argv: Vec<&'static str>,
}

impl LuaScript {
    /// The script `name` with text `source`.
    pub fn new(name: &'static str, source: &'static str) -> Self {
        Self {
            name,
            source,
            script: Script::new(&format!("{COMMON}\n{source}")),
            keys: declared(source, "KEYS"),
            argv: declared(source, "ARGV"),
        }
    }

    /// `EVAL` of the whole script (with [`COMMON`]) on `keys` and `argv` given by name: for a
    /// pipeline, where `EVALSHA`'s `NOSCRIPT` retry cannot happen.
    pub fn eval(
        &self,
        keys: &[(&str, String)],
        argv: &[(&str, String)],
    ) -> Result<redis::Cmd, StoreError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(format!("{COMMON}\n{}", self.source))
            .arg(self.keys.len());
        for k in ordered(self.name, &self.keys, keys)? {
            cmd.arg(k);
        }
        for a in ordered(self.name, &self.argv, argv)? {
            cmd.arg(a);
        }
        Ok(cmd)
    }

    /// The names of its keys, in order.
    pub fn keys(&self) -> &[&'static str] {
        &self.keys
    }

    /// The names of its arguments, in order.
    pub fn argv(&self) -> &[&'static str] {
        &self.argv
    }

    /// An invocation with `keys` and `argv` given by name, in any order. A name the script does
    /// not declare, or one it declares and is not given, is an error (a bug: the contract tests
    /// run every script).
    pub fn invocation(
        &self,
        keys: &[(&str, String)],
        argv: &[(&str, String)],
    ) -> Result<ScriptInvocation<'_>, StoreError> {
        let mut inv = self.script.prepare_invoke();
        for k in ordered(self.name, &self.keys, keys)? {
            inv.key(k);
        }
        for a in ordered(self.name, &self.argv, argv)? {
            inv.arg(a);
        }
        Ok(inv)
    }
}

/// The names in the script's `local … = unpack(<table>)` line; none when it has none.
pub fn declared(source: &'static str, table: &str) -> Vec<&'static str> {
    let tail = format!("= unpack({table})");
    source
        .lines()
        .find_map(|l| l.trim().strip_prefix("local ")?.strip_suffix(tail.as_str()))
        .map(|names| names.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

fn ordered<'v>(
    script: &str,
    names: &[&str],
    given: &'v [(&str, String)],
) -> Result<Vec<&'v str>, StoreError> {
    if let Some((extra, _)) = given.iter().find(|(n, _)| !names.contains(n)) {
        return Err(StoreError::Call(format!(
            "{script}.lua declares no `{extra}`"
        )));
    }
    names
        .iter()
        .map(|n| {
            given
                .iter()
                .find(|(g, _)| g == n)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| StoreError::Call(format!("{script}.lua: `{n}` not given")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_unpack_lines_and_calls_are_ordered_by_them() {
        let s = LuaScript::new(
            "t",
            "-- doc\nlocal a, b = unpack(KEYS)\nlocal x, y, z = unpack(ARGV)\nreturn 1",
        );
        assert_eq!(s.keys(), ["a", "b"]);
        assert_eq!(s.argv(), ["x", "y", "z"]);
        let given = [
            ("z", "3".to_string()),
            ("x", "1".to_string()),
            ("y", "2".to_string()),
        ];
        assert_eq!(ordered("t", s.argv(), &given).unwrap(), ["1", "2", "3"]);
        assert!(ordered("t", s.argv(), &given[..2]).is_err());
        let extra = [("w", String::new())];
        assert!(ordered("t", &[], &extra).is_err());
        assert!(declared("return 1", "ARGV").is_empty());
    }
}
