//! A device's name from its `User-Agent`, as people know it from Google's and GitHub's session
//! lists ("Chrome 156 on Linux", "Safari on iPhone"): parsed once at login by Woothee's
//! dataset, stored with the session.

/// What `user_agent` names, if it is a browser Woothee knows; `None` for anything else (an
/// HTTP library, a crawler, an unknown string).
pub fn describe(user_agent: &str) -> Option<String> {
    let parsed = woothee::parser::Parser::new().parse(user_agent)?;
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    if parsed.browser_type != "browser" || !known(parsed.name) {
        return None;
    }
    let major = parsed.version.split('.').next().filter(|v| known(v));
    // Safari's version is its OS's: people know it as "Safari", as Apple's own lists show it.
    let browser = match major {
        Some(v) if parsed.name != "Safari" => format!("{} {v}", parsed.name),
        _ => parsed.name.to_string(),
    };
    Some(if known(parsed.os) {
        format!("{browser} on {}", parsed.os)
    } else {
        browser
    })
}

/// The longest start of `s` within `max_bytes`, cut between characters: how what a client
/// says of itself (its user agent, a device name, its address) is bounded before it is kept.
pub fn cut_bytes(s: &str, max_bytes: usize) -> String {
    let mut end = s.len().min(max_bytes);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn browsers_are_named_as_people_know_them() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/156.0.0.0 Safari/537.36",
                Some("Chrome 156 on Linux"),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                Some("Safari on iPhone"),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 \
                 Firefox/120.0",
                Some("Firefox 120 on Windows 10"),
            ),
            ("curl/8.0", None),
            ("node", None),
            ("", None),
        ];
        for (ua, want) in cases {
            assert_eq!(describe(ua).as_deref(), want, "{ua}");
        }
    }
}
