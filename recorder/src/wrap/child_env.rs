//! The environment a wrapped command gets, per mode; also the lines to paste
//! into another terminal when there is no command.
//!
//! Reverse and offline modes point `ANTHROPIC_BASE_URL` at the proxy. Forward
//! mode sets the four proxy variables, removes intercepted hosts from
//! `NO_PROXY` (or the client would go around the proxy), and points every
//! trust variable at files that include the CA ([`ChildTrust`]). Offline
//! mode also gives a client with no account a fake key and keeps it from
//! contacting anything else.

use crate::front::forward::HostFilter;
use crate::tls::ChildTrust;
use std::ffi::OsString;

/// A variable to set (`Some`) or remove (`None`) in the child's environment.
pub type Var = (String, Option<OsString>);

/// What offline mode gives a client that has no credential of its own.
pub const OFFLINE_FAKE_KEY: &str = "sk-ant-api03-OFFLINE-FAKE-KEY-cctap";

const PROXY_VARS: [&str; 4] = ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// Reverse and offline modes: the base URL, and `NO_PROXY` for the proxy's
/// own host when a proxy is in the environment.
pub fn base_url_env(
    base_url: &str,
    offline: bool,
    var: impl Fn(&str) -> Option<String>,
) -> Vec<Var> {
    let mut vars = vec![set("ANTHROPIC_BASE_URL", base_url)];
    vars.extend(bypass_proxies(base_url, &var));
    if offline {
        let has = |k: &str| var(k).is_some_and(|v| !v.trim().is_empty());
        if !has("ANTHROPIC_API_KEY") && !has("ANTHROPIC_AUTH_TOKEN") {
            vars.push(set("ANTHROPIC_API_KEY", OFFLINE_FAKE_KEY));
        }
        if var("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC").is_none() {
            vars.push(set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"));
        }
    }
    vars
}

/// Forward mode: the proxy variables, `NO_PROXY` without intercepted hosts,
/// and trust in the CA.
pub fn forward_env(
    proxy_url: &str,
    trust: &ChildTrust,
    hosts: &HostFilter,
    var: impl Fn(&str) -> Option<String>,
) -> Vec<Var> {
    let mut vars: Vec<Var> = PROXY_VARS.iter().map(|k| set(k, proxy_url)).collect();
    for key in NO_PROXY_VARS {
        let Some(value) = var(key) else { continue };
        let kept: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|entry| keeps_bypass(entry, hosts))
            .collect();
        let value = (!kept.is_empty()).then(|| OsString::from(kept.join(",")));
        vars.push((key.to_owned(), value));
    }
    for (key, path) in trust.env() {
        vars.push((key.to_owned(), Some(path.as_os_str().to_owned())));
    }
    vars
}

/// A `NO_PROXY` entry may stay only if it names hosts that are not recorded.
fn keeps_bypass(entry: &str, hosts: &HostFilter) -> bool {
    let host = entry.trim_start_matches("*.").trim_start_matches('.');
    if host.is_empty() || host == "*" {
        return false;
    }
    match crate::front::forward::split_host_port(host) {
        Some((h, port)) => !hosts.intercepts(&h, port),
        None => !hosts.may_intercept(host),
    }
}

/// With a proxy in the environment, Claude Code would send even loopback
/// requests through it; `NO_PROXY` (matched literally) keeps the proxy's
/// own host out of it.
fn bypass_proxies(base_url: &str, var: impl Fn(&str) -> Option<String>) -> Vec<Var> {
    const PROXIES: [&str; 6] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    if !PROXIES
        .iter()
        .any(|k| var(k).is_some_and(|v| !v.is_empty()))
    {
        return Vec::new();
    }
    let host = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .rsplit_once(':')
        .map_or(base_url, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    NO_PROXY_VARS
        .iter()
        .map(|k| {
            let value = match var(k).filter(|v| !v.trim().is_empty()) {
                Some(v) => format!("{v},{host}"),
                None => host.clone(),
            };
            set(k, &value)
        })
        .collect()
}

fn set(key: &str, value: &str) -> Var {
    (key.to_owned(), Some(OsString::from(value)))
}

/// `export K=V …` lines for a shell, one per group of variables; removals
/// become `unset`.
pub fn paste_lines(vars: &[Var]) -> Vec<String> {
    let mut exports = Vec::new();
    let mut unsets = Vec::new();
    for (key, value) in vars {
        match value {
            Some(v) => exports.push(format!("{key}={}", shell_quote(&v.to_string_lossy()))),
            None => unsets.push(key.clone()),
        }
    }
    let mut lines: Vec<String> = exports
        .chunks(4)
        .map(|c| format!("export {}", c.join(" ")))
        .collect();
    if !unsets.is_empty() {
        lines.push(format!("unset {}", unsets.join(" ")));
    }
    lines
}

fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-:,=@+".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn value(vars: &[Var], key: &str) -> Option<Option<String>> {
        vars.iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref().map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn no_proxy_gains_the_proxys_host_only_when_a_proxy_is_set() {
        let none = |_: &str| None;
        assert!(bypass_proxies("http://127.0.0.1:8080", none).is_empty());
        let env = |k: &str| match k {
            "https_proxy" => Some("http://corp:3128".to_owned()),
            "NO_PROXY" => Some("internal.test".to_owned()),
            _ => None,
        };
        let vars = bypass_proxies("http://127.0.0.1:8080", env);
        assert_eq!(
            value(&vars, "NO_PROXY"),
            Some(Some("internal.test,127.0.0.1".into()))
        );
        assert_eq!(value(&vars, "no_proxy"), Some(Some("127.0.0.1".into())));
        assert_eq!(
            value(&bypass_proxies("http://[::1]:9", env), "no_proxy"),
            Some(Some("::1".into()))
        );
    }

    #[test]
    fn offline_gives_a_fake_key_only_to_a_client_without_one() {
        let none = |_: &str| None;
        let vars = base_url_env("http://127.0.0.1:1", true, none);
        assert_eq!(
            value(&vars, "ANTHROPIC_API_KEY"),
            Some(Some(OFFLINE_FAKE_KEY.into()))
        );
        assert_eq!(
            value(&vars, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"),
            Some(Some("1".into()))
        );
        let user = |k: &str| match k {
            "ANTHROPIC_AUTH_TOKEN" => Some("sk-ant-oat01-FAKE".to_owned()),
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => Some("0".to_owned()),
            _ => None,
        };
        let vars = base_url_env("http://127.0.0.1:1", true, user);
        assert_eq!(value(&vars, "ANTHROPIC_API_KEY"), None);
        assert_eq!(
            value(&vars, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"),
            None
        );
        assert_eq!(
            value(&base_url_env("x", false, none), "ANTHROPIC_API_KEY"),
            None
        );
    }

    #[test]
    fn forward_sets_proxies_trust_and_strips_recorded_hosts() {
        let trust = ChildTrust {
            node_extra_ca_certs: PathBuf::from("/t/node.pem"),
            ca_bundle: PathBuf::from("/t/bundle.pem"),
            system_roots: 0,
        };
        let hosts = HostFilter::new(&[r"internal\.test".to_owned()], &[]).unwrap();
        let env = |k: &str| match k {
            "NO_PROXY" => Some("localhost, .internal.test,*".to_owned()),
            "no_proxy" => Some("localhost".to_owned()),
            _ => None,
        };
        let vars = forward_env("http://127.0.0.1:9", &trust, &hosts, env);
        for key in PROXY_VARS {
            assert_eq!(
                value(&vars, key),
                Some(Some("http://127.0.0.1:9".into())),
                "{key}"
            );
        }
        assert_eq!(
            value(&vars, "NO_PROXY"),
            Some(Some(".internal.test".into()))
        );
        assert_eq!(value(&vars, "no_proxy"), Some(None), "removed");
        assert_eq!(
            value(&vars, "NODE_EXTRA_CA_CERTS"),
            Some(Some("/t/node.pem".into()))
        );
        assert_eq!(
            value(&vars, "CURL_CA_BUNDLE"),
            Some(Some("/t/bundle.pem".into()))
        );
        let lines = paste_lines(&vars);
        assert!(
            lines[0].starts_with("export HTTPS_PROXY=http://127.0.0.1:9 "),
            "{lines:?}"
        );
        assert_eq!(lines.last().map(String::as_str), Some("unset no_proxy"));
    }
}
