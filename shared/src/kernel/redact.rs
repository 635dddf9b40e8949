//! The one way a value that holds a secret (a password, a token, key material) shows itself in
//! `Debug`: its name and the fields that are safe to log, the rest left out as `..`. Every
//! such type's `Debug` is one call to [`shown`], so none can print more by accident.

use std::fmt;

/// Writes `name { field: value, .. }` with only the `safe` fields.
pub fn shown(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    safe: &[(&str, &dyn fmt::Debug)],
) -> fmt::Result {
    let mut d = f.debug_struct(name);
    for (field, value) in safe {
        d.field(field, value);
    }
    d.finish_non_exhaustive()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Login {
        email: &'static str,
        #[allow(dead_code)]
        password: &'static str,
    }

    impl fmt::Debug for Login {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            shown(f, "Login", &[("email", &self.email)])
        }
    }

    #[test]
    fn only_the_safe_fields_show() {
        let l = Login {
            email: "a@example.com",
            password: "hunter2hunter2",
        };
        assert_eq!(format!("{l:?}"), r#"Login { email: "a@example.com", .. }"#);
    }
}
