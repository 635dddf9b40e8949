//! Command-line arguments of `local-api`.

/// Usage text.
pub const USAGE: &str =
    "usage: local-api [--port N] [--account EMAIL:PASSWORD]... [--app CODE:ACCESS]...
                 [--web-dir DIR]

  --port N                   listen on 127.0.0.1:N (default 3000; 0 picks a free port)
  --account EMAIL:PASSWORD   create (or reset) this account at start; repeatable.
                             Without it, a demo account is created and printed.
  --app CODE:ACCESS          create this shared web app at start (ACCESS: public or
                             private; CODE: 8-32 of A-Z a-z 0-9 - _); repeatable.
                             Without it, demo apps demo-public and demo-private are made.
  --web-dir DIR              where the sessions page (/app/) is: DIR/app and the built
                             client in DIR/dist (default: this repository's web/)
  --oidc NAME,ISSUER,CLIENT_ID,SECRET
                             \"Sign in with NAME\" through this OpenID Provider (its
                             redirect URI: http://127.0.0.1:PORT/oauth/NAME/callback);
                             repeatable. Unless OIDC_PROVIDERS is set.

Environment: REDIS_URL (default: embedded in-memory store), SIGNING_SECRET (default: a
random key for this run), and the rest of the configuration table in docs/configuration.md.";

/// Parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// Accounts to create: (email, password).
    pub accounts: Vec<(String, String)>,
    /// Shared web apps to create: (code, access).
    pub apps: Vec<(String, String)>,
    /// `--web-dir`: where the sessions page is, when not the repository's `web/`.
    pub web_dir: Option<String>,
    /// `--oidc`: identity providers, (name, issuer, client id, client secret).
    pub oidc: Vec<[String; 4]>,
    /// `--help` was given.
    pub help: bool,
}

/// `OIDC_PROVIDERS` and `OIDC_CLIENT_SECRETS` as `--oidc` gives them (`None` without it).
pub fn oidc_settings(oidc: &[[String; 4]]) -> (Option<String>, Option<String>) {
    if oidc.is_empty() {
        return (None, None);
    }
    let providers: Vec<serde_json::Value> = oidc
        .iter()
        .map(|[name, issuer, id, _]| serde_json::json!({"name": name, "issuer": issuer, "client_id": id}))
        .collect();
    let secrets: serde_json::Map<String, serde_json::Value> = oidc
        .iter()
        .map(|[name, _, _, secret]| (name.clone(), serde_json::Value::String(secret.clone())))
        .collect();
    (
        Some(serde_json::Value::Array(providers).to_string()),
        Some(serde_json::Value::Object(secrets).to_string()),
    )
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        port: 3000,
        accounts: Vec::new(),
        apps: Vec::new(),
        web_dir: None,
        oidc: Vec::new(),
        help: false,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value("--port")?;
                out.port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {v}"))?;
            }
            "--account" => {
                let v = value("--account")?;
                let (email, password) = v
                    .split_once(':')
                    .filter(|(e, p)| !e.is_empty() && !p.is_empty())
                    .ok_or("--account takes EMAIL:PASSWORD")?;
                out.accounts.push((email.to_string(), password.to_string()));
            }
            "--oidc" => {
                let v = value("--oidc")?;
                let parts: Vec<&str> = v.splitn(4, ',').collect();
                let [name, issuer, id, secret] = parts[..] else {
                    return Err("--oidc takes NAME,ISSUER,CLIENT_ID,SECRET".into());
                };
                if [name, issuer, id, secret].iter().any(|p| p.is_empty()) {
                    return Err("--oidc takes NAME,ISSUER,CLIENT_ID,SECRET".into());
                }
                out.oidc
                    .push([name, issuer, id, secret].map(str::to_string));
            }
            "--app" => {
                let v = value("--app")?;
                let (code, access) = v
                    .rsplit_once(':')
                    .filter(|(c, a)| {
                        passport::passports::valid_app_code(c) && matches!(*a, "public" | "private")
                    })
                    .ok_or(
                        "--app takes CODE:public or CODE:private (CODE: 8-32 of A-Z a-z 0-9 - _)",
                    )?;
                out.apps.push((code.to_string(), access.to_string()));
            }
            "--web-dir" => out.web_dir = Some(value("--web-dir")?),
            "-h" | "--help" => out.help = true,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Args, String> {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_port_and_repeated_accounts() {
        let a = p(&[
            "--port",
            "8080",
            "--account",
            "a@b.c:pw:with:colons",
            "--account=x@y.z:p",
            "--web-dir",
            "/srv/web",
        ])
        .unwrap();
        assert_eq!(a.port, 8080);
        assert_eq!(a.web_dir.as_deref(), Some("/srv/web"));
        assert_eq!(
            a.accounts,
            vec![
                ("a@b.c".to_string(), "pw:with:colons".to_string()),
                ("x@y.z".to_string(), "p".to_string())
            ]
        );
        assert_eq!(p(&[]).unwrap().port, 3000);
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(p(&["--port"]).is_err());
        assert!(p(&["--port", "99999"]).is_err());
        assert!(p(&["--account", "nocolon"]).is_err());
        assert!(p(&["--account", ":pw"]).is_err());
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--app", "short:public"]).is_err());
        assert!(p(&["--app", "demo-app-1:secret"]).is_err());
        assert_eq!(
            p(&["--app", "demo-app-1:private"]).unwrap().apps,
            vec![("demo-app-1".to_string(), "private".to_string())]
        );
        assert!(p(&["--help"]).unwrap().help);
        assert!(p(&["--oidc", "test,http://127.0.0.1:9400,local"]).is_err());
        assert!(p(&["--oidc", "test,,local,secret"]).is_err());
    }

    #[test]
    fn an_identity_provider_becomes_the_two_settings() {
        let a = p(&["--oidc", "test,http://127.0.0.1:9400,local,se,cret"]).unwrap();
        let (providers, secrets) = oidc_settings(&a.oidc);
        let providers: serde_json::Value = serde_json::from_str(&providers.unwrap()).unwrap();
        assert_eq!(providers[0]["issuer"], "http://127.0.0.1:9400");
        assert_eq!(providers[0]["client_id"], "local");
        assert_eq!(secrets.as_deref(), Some(r#"{"test":"se,cret"}"#));
        assert_eq!(oidc_settings(&[]), (None, None));
    }
}
