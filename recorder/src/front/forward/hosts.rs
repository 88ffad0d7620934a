//! Which hosts are intercepted: `--ignore-hosts` / `--allow-hosts`, as in mitmdump.
//!
//! Each pattern is a regular expression searched (not anchored) in
//! `host:port`, so `api\.anthropic\.com` and `^example\.test:443$` both work.
//! An ignored host is tunnelled as raw bytes and not recorded.

use regex::Regex;

/// The interception decision for forward mode.
#[derive(Clone, Debug, Default)]
pub struct HostFilter {
    /// Hosts passed through untouched.
    ignore: Vec<Regex>,
    /// When not empty, only these hosts are intercepted.
    allow: Vec<Regex>,
}

/// A pattern that is not a regular expression.
#[derive(Debug, thiserror::Error)]
#[error("{flag} '{pattern}' is not a regular expression: {why}")]
pub struct PatternError {
    flag: &'static str,
    pattern: String,
    why: String,
}

impl HostFilter {
    /// Compiles the flags' patterns.
    pub fn new(ignore: &[String], allow: &[String]) -> Result<HostFilter, PatternError> {
        Ok(HostFilter {
            ignore: compile("--ignore-hosts", ignore)?,
            allow: compile("--allow-hosts", allow)?,
        })
    }

    /// True when exchanges with `host:port` are to be intercepted and recorded.
    pub fn intercepts(&self, host: &str, port: u16) -> bool {
        let subject = format!("{host}:{port}");
        let allowed = self.allow.is_empty() || self.allow.iter().any(|r| r.is_match(&subject));
        allowed && !self.ignore.iter().any(|r| r.is_match(&subject))
    }

    /// True when some host could be intercepted on `host` at the usual ports:
    /// used to decide which `NO_PROXY` entries may stay.
    pub fn may_intercept(&self, host: &str) -> bool {
        self.intercepts(host, 443) || self.intercepts(host, 80)
    }
}

fn compile(flag: &'static str, patterns: &[String]) -> Result<Vec<Regex>, PatternError> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| PatternError {
                flag,
                pattern: p.clone(),
                why: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ignore_and_allow_match_host_and_port() {
        let all = HostFilter::default();
        assert!(all.intercepts("api.anthropic.com", 443));
        let ignore = HostFilter::new(&strings(&[r"^statsig\.", r":8443$"]), &[]).unwrap();
        assert!(!ignore.intercepts("statsig.anthropic.com", 443));
        assert!(!ignore.intercepts("localhost", 8443));
        assert!(ignore.intercepts("localhost", 443));
        let allow = HostFilter::new(&[], &strings(&[r"anthropic\.com"])).unwrap();
        assert!(allow.intercepts("api.anthropic.com", 443));
        assert!(!allow.intercepts("sentry.io", 443));
        assert!(!allow.may_intercept("sentry.io"));
    }

    #[test]
    fn a_bad_pattern_names_its_flag() {
        let err = HostFilter::new(&strings(&["("]), &[]).unwrap_err();
        assert!(err.to_string().starts_with("--ignore-hosts '('"), "{err}");
    }
}
