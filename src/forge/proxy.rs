//! Which proxy a forge is reached through, read from the usual environment variables
//! the way curl and Go read them, decided here rather than by the HTTP library so the
//! rule is one, testable function.

/// The proxy for `url` from the usual variables, as curl and Go read them:
/// `https_proxy`/`HTTPS_PROXY` for https, `http_proxy`/`HTTP_PROXY` for http, then
/// `all_proxy`/`ALL_PROXY`; `no_proxy`/`NO_PROXY` lists hosts reached directly (`*`, a
/// host, or a domain with or without a leading dot). Loopback is never proxied.
pub fn proxy_for(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let (scheme, host) = scheme_and_host(url)?;
    if is_loopback(&host) {
        return None;
    }
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
    };
    if let Some(no) = get(&["no_proxy", "NO_PROXY"]) {
        if no_proxy_matches(&no, &host) {
            return None;
        }
    }
    let specific: &[&str] = if scheme == "https" {
        &["https_proxy", "HTTPS_PROXY"]
    } else {
        &["http_proxy", "HTTP_PROXY"]
    };
    get(specific).or_else(|| get(&["all_proxy", "ALL_PROXY"]))
}

fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        // Entries may carry a port (`example.com:8443`); hosts are compared alone.
        let entry = entry.rsplit_once(':').map_or(entry, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                entry
            }
        });
        let domain = entry.trim_start_matches("*.").trim_start_matches('.');
        let domain = domain.to_ascii_lowercase();
        !domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}")))
    })
}

/// `(scheme, host)` of an absolute http(s) URL.
pub(crate) fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next()?.to_string()
    } else {
        hostport.split(':').next()?.to_string()
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

pub(crate) fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A proxy URL without `user:password@`, for messages.
pub(crate) fn strip_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_string(),
        },
        None => url.rsplit_once('@').map_or(url, |(_, h)| h).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn proxy_follows_scheme_and_no_proxy() {
        let vars = [
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("http_proxy", "http://plain:80"),
            ("NO_PROXY", "internal.example, .corp.example,git.other:8443"),
        ];
        let e = env(&vars);
        assert_eq!(
            proxy_for("https://api.github.com/x", &e).as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(
            proxy_for("http://gitea.lan/api/v1", &e).as_deref(),
            Some("http://plain:80")
        );
        assert_eq!(proxy_for("https://internal.example/api", &e), None);
        assert_eq!(proxy_for("https://git.corp.example/api", &e), None);
        assert_eq!(proxy_for("https://git.other/api", &e), None);
        assert_eq!(
            proxy_for("https://notinternal.example/api", &e).as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(proxy_for("http://127.0.0.1:8080/api", &e), None);
        assert_eq!(proxy_for("http://localhost/api", &e), None);
        let all = [("ALL_PROXY", "socks5://s:1080")];
        assert_eq!(
            proxy_for("https://x.example/", &env(&all)).as_deref(),
            Some("socks5://s:1080")
        );
        assert_eq!(
            proxy_for(
                "https://x.example/",
                &env(&[("NO_PROXY", "*"), ("HTTPS_PROXY", "http://p:1")])
            ),
            None
        );
    }
}
