//! The one HTTP client the forges share: blocking, rustls, proxies from the usual
//! environment variables, bounded timeouts, and rate limits honoured without a retry
//! storm — at most one short wait in place, otherwise a typed "retry later" error the
//! cycle reports so the next cycle tries again.

use super::ForgeError;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// A token. Its `Debug` and `Display` never show it, so neither a log line, an error
/// nor a `{:?}` of a struct holding it can leak it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that needs it: the authentication header.
    fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced: applied to anything a forge
    /// sent back before it goes into an error.
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "<redacted>")
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a forge wants its token: header name and the scheme before the token.
#[derive(Debug, Clone, Copy)]
pub struct AuthScheme {
    pub header: &'static str,
    pub prefix: &'static str,
}

/// Waits; replaceable so a test can see a rate-limit wait without sleeping.
pub type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// Network settings of one forge client.
#[derive(Clone)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// The whole request, connect to last body byte.
    pub timeout: Duration,
    /// The longest rate-limit wait done in place (once); a longer one is returned as
    /// [`ForgeError::RetryLater`].
    pub max_wait: Duration,
    /// Proxy URL, or none; see [`proxy_for`].
    pub proxy: Option<String>,
    pub sleep: Sleeper,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_wait: Duration::from_secs(5),
            proxy: None,
            sleep: Arc::new(std::thread::sleep),
        }
    }
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_wait", &self.max_wait)
            .field(
                "proxy",
                &self.proxy.as_deref().map(super::proxy::strip_userinfo),
            )
            .finish_non_exhaustive()
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters: a branch name, a
/// label or a GitLab project path becomes one path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A response the forge accepted (2xx).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// A client bound to one API base URL and one token.
pub struct Http {
    agent: ureq::Agent,
    base: String,
    auth: AuthScheme,
    token: Secret,
    extra_headers: Vec<(&'static str, &'static str)>,
    max_wait: Duration,
    sleep: Sleeper,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("base", &self.base)
            .field("auth", &self.auth.header)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Http {
    pub fn new(
        base: &str,
        auth: AuthScheme,
        token: Secret,
        extra_headers: Vec<(&'static str, &'static str)>,
        opts: &HttpOptions,
    ) -> Result<Http, ForgeError> {
        let proxy = match &opts.proxy {
            Some(p) => Some(ureq::Proxy::new(p).map_err(|_| {
                ForgeError::Config(format!(
                    "the proxy {} from the environment is not a valid proxy URL",
                    super::proxy::strip_userinfo(p)
                ))
            })?),
            None => None,
        };
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let config = ureq::Agent::config_builder()
            // Statuses are ours to read: a 429's headers say when to come back.
            .http_status_as_error(false)
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_global(Some(opts.timeout))
            // Decided by `proxy_for`, never by ureq's own reading of the environment.
            .proxy(proxy)
            .tls_config(tls)
            .user_agent(concat!("improve/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Http {
            agent: config.into(),
            base: base.trim_end_matches('/').to_string(),
            auth,
            token,
            extra_headers,
            max_wait: opts.max_wait,
            sleep: opts.sleep.clone(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// GET and decode JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ForgeError> {
        let reply = self.request(Method::Get, path, None)?;
        self.decode(Method::Get, path, &reply)
    }

    /// Up to `max_pages` pages of a list, `per_page` items each; stops at a short page.
    /// `path` builds the path of page 1, 2, …
    pub fn get_pages<T: DeserializeOwned>(
        &self,
        path: impl Fn(u32) -> String,
        per_page: usize,
        max_pages: u32,
    ) -> Result<Vec<T>, ForgeError> {
        let mut out = vec![];
        for page in 1..=max_pages {
            let batch: Vec<T> = self.get(&path(page))?;
            let n = batch.len();
            out.extend(batch);
            if n < per_page {
                break;
            }
        }
        Ok(out)
    }

    /// Sends a JSON body and decodes the JSON answer.
    pub fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ForgeError> {
        let reply = self.request(method, path, Some(body))?;
        self.decode(method, path, &reply)
    }

    /// Sends a request whose answer is not needed.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), ForgeError> {
        self.request(method, path, body).map(|_| ())
    }

    fn decode<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        reply: &Reply,
    ) -> Result<T, ForgeError> {
        serde_json::from_str(&reply.body).map_err(|e| ForgeError::Protocol {
            what: what(method, path),
            reason: self.token.redact(&format!("unexpected answer: {e}")),
        })
    }

    /// Sends a JSON body to an absolute URL on the same host (GitHub's GraphQL
    /// endpoint is not under the REST base) and decodes the JSON answer.
    pub fn send_to_url<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<T, ForgeError> {
        let path = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
        let reply = self.request_url(method, url, path, Some(body))?;
        self.decode(method, path, &reply)
    }

    /// One request against `base + path`; a rate-limited answer is retried once when
    /// the forge asks for a short wait, and returned as `RetryLater` otherwise.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, ForgeError> {
        self.request_url(method, &format!("{}{}", self.base, path), path, body)
    }

    fn request_url(
        &self,
        method: Method,
        url: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Reply, ForgeError> {
        let mut waited = false;
        loop {
            let answer = self.once(method, url, path, body)?;
            let status = answer.status;
            if (200..300).contains(&status) {
                return Ok(Reply {
                    status,
                    body: answer.body,
                });
            }
            if let Some(wait) = answer.rate_limit_wait(Utc::now()) {
                match wait {
                    Some(d) if !waited && d <= self.max_wait => {
                        tracing::info!(
                            "{}: rate limited, waiting {:.1}s once",
                            what(method, path),
                            d.as_secs_f64()
                        );
                        (self.sleep)(d);
                        waited = true;
                        continue;
                    }
                    _ => {
                        return Err(ForgeError::RetryLater {
                            what: what(method, path),
                            reason: format!("rate limited (HTTP {status})"),
                            at: wait.and_then(|d| {
                                chrono::Duration::from_std(d).ok().map(|d| Utc::now() + d)
                            }),
                        })
                    }
                }
            }
            if status >= 500 {
                return Err(ForgeError::RetryLater {
                    what: what(method, path),
                    reason: format!("the forge answered HTTP {status}"),
                    at: None,
                });
            }
            return Err(ForgeError::Rejected {
                what: what(method, path),
                status,
                message: self.token.redact(&error_message(&answer.body)),
            });
        }
    }

    fn once(
        &self,
        method: Method,
        url: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ForgeError> {
        let auth = format!("{}{}", self.auth.prefix, self.token.expose());
        macro_rules! prepare {
            ($b:expr) => {{
                let mut b = $b.header(self.auth.header, &auth);
                for (k, v) in &self.extra_headers {
                    b = b.header(*k, *v);
                }
                b
            }};
        }
        let result = match (method, body) {
            (Method::Get, _) => prepare!(self.agent.get(url)).call(),
            (Method::Delete, _) => prepare!(self.agent.delete(url)).call(),
            (m, body) => {
                let b = match m {
                    Method::Post => self.agent.post(url),
                    Method::Put => self.agent.put(url),
                    _ => self.agent.patch(url),
                };
                let text = body.map(|v| v.to_string()).unwrap_or_else(|| "{}".into());
                prepare!(b)
                    .content_type("application/json")
                    .send(text.as_bytes())
            }
        };
        let mut response = result.map_err(|e| self.transport_error(method, path, e))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after");
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset").or_else(|| header("ratelimit-reset"));
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(method, path, e))?;
        Ok(Answer {
            status,
            retry_after,
            remaining,
            reset,
            body,
        })
    }

    /// Timeouts and unreachable hosts are worth another try next cycle; a bad URL, a
    /// TLS failure or a protocol error is not.
    fn transport_error(&self, method: Method, path: &str, e: ureq::Error) -> ForgeError {
        let reason = self.token.redact(&e.to_string());
        match e {
            ureq::Error::Timeout(_)
            | ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound => ForgeError::RetryLater {
                what: what(method, path),
                reason,
                at: None,
            },
            _ => ForgeError::Protocol {
                what: what(method, path),
                reason,
            },
        }
    }
}

/// `GET /repos/o/r/pulls`: the method and the path without its query, for messages.
fn what(method: Method, path: &str) -> String {
    format!(
        "{} {}",
        method.as_str(),
        path.split('?').next().unwrap_or(path)
    )
}

/// The message of a forge's JSON error (`message` on GitHub and Gitea, `message` or
/// `error` on GitLab), cut short; raw text when it is not JSON.
fn error_message(body: &str) -> String {
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let text = match &v {
        Some(v) => {
            let main = v
                .get("message")
                .or_else(|| v.get("error"))
                .map(|m| match m {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| body.to_string());
            // GitHub's 422 puts the reason in `errors[].message`.
            let details: Vec<String> = v
                .get("errors")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.get("message").and_then(|m| m.as_str()))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if details.is_empty() {
                main
            } else {
                format!("{main}: {}", details.join("; "))
            }
        }
        None => body.to_string(),
    };
    let text = text.trim().replace(['\n', '\r'], " ");
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// What came back, before it is judged.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
    body: String,
}

impl Answer {
    /// `None`: not rate limited. `Some(None)`: rate limited, no usable time given.
    /// `Some(Some(d))`: come back in `d`.
    ///
    /// GitHub (docs.github.com, "Rate limits for the REST API"): a 403 or 429 with
    /// `x-ratelimit-remaining: 0` waits for `x-ratelimit-reset` (epoch seconds); a
    /// secondary limit sends `retry-after` (seconds). GitLab ("Rate limits") and Gitea
    /// answer 429 with `Retry-After`, GitLab also `RateLimit-Reset` (epoch seconds).
    fn rate_limit_wait(&self, now: DateTime<Utc>) -> Option<Option<Duration>> {
        let primary = self.remaining.as_deref().map(str::trim) == Some("0");
        let limited =
            self.status == 429 || (self.status == 403 && (primary || self.retry_after.is_some()));
        if !limited {
            return None;
        }
        if let Some(ra) = &self.retry_after {
            if let Some(d) = parse_retry_after(ra, now) {
                return Some(Some(d));
            }
        }
        if let Some(reset) = self
            .reset
            .as_deref()
            .and_then(|r| r.trim().parse::<i64>().ok())
        {
            let secs = (reset - now.timestamp()).max(1);
            return Some(Some(Duration::from_secs(secs as u64)));
        }
        Some(None)
    }
}

/// `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3).
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (at.with_timezone(&Utc) - now).num_seconds().max(0);
    Some(Duration::from_secs(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_shows() {
        let s = Secret::new("ghp_abcdef123456");
        assert!(!format!("{s:?}").contains("abcdef"));
        assert!(!format!("{s}").contains("abcdef"));
        assert_eq!(
            s.redact("bad token ghp_abcdef123456!"),
            "bad token <redacted>!"
        );
        let opts = HttpOptions {
            proxy: Some("http://user:hunter2@proxy:3128".into()),
            ..HttpOptions::default()
        };
        assert!(!format!("{opts:?}").contains("hunter2"), "{opts:?}");
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode("group/sub project"), "group%2Fsub%20project");
        assert_eq!(encode("type:constant_tune"), "type%3Aconstant_tune");
        assert_eq!(encode("P-0007.x~"), "P-0007.x~");
    }

    fn answer(
        status: u16,
        ra: Option<&str>,
        remaining: Option<&str>,
        reset: Option<&str>,
    ) -> Answer {
        Answer {
            status,
            retry_after: ra.map(str::to_string),
            remaining: remaining.map(str::to_string),
            reset: reset.map(str::to_string),
            body: String::new(),
        }
    }

    #[test]
    fn rate_limits_are_read_from_each_forges_headers() {
        let now = DateTime::parse_from_rfc3339("2026-01-05T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let secs = |a: Answer| a.rate_limit_wait(now).map(|w| w.map(|d| d.as_secs()));
        assert_eq!(secs(answer(429, Some("3"), None, None)), Some(Some(3)));
        let reset = (now.timestamp() + 120).to_string();
        assert_eq!(
            secs(answer(403, None, Some("0"), Some(&reset))),
            Some(Some(120))
        );
        // A 403 without rate-limit headers is a permission problem, not a wait.
        assert_eq!(secs(answer(403, None, Some("12"), Some(&reset))), None);
        assert_eq!(secs(answer(429, None, None, None)), Some(None));
        assert_eq!(
            secs(answer(
                429,
                Some("Mon, 05 Jan 2026 00:01:00 GMT"),
                None,
                None
            )),
            Some(Some(60))
        );
        assert_eq!(secs(answer(500, Some("3"), None, None)), None);
    }

    #[test]
    fn error_messages_are_short_and_one_line() {
        let m = error_message(
            r#"{"message":"Validation Failed","errors":[{"message":"A pull request already exists for o:b."}]}"#,
        );
        assert_eq!(
            m,
            "Validation Failed: A pull request already exists for o:b."
        );
        assert_eq!(
            error_message(r#"{"message":["Another open merge request"]}"#),
            r#"["Another open merge request"]"#
        );
        assert_eq!(error_message("plain\ntext"), "plain text");
        assert!(error_message(&"x".repeat(1000)).chars().count() <= 301);
    }
}
