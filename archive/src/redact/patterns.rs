//! The credential patterns: one combined regex finds every candidate in a
//! single pass (cheap on the 60 KB request bodies Claude Code sends, which
//! rarely hold a secret); a per-pattern regex, run only on a match, names
//! its kind and narrows it to the secret itself.
//!
//! Patterns anchor on distinctive prefixes rather than word boundaries, so
//! a key right after an escaped `\n` in a JSON string is still found. None
//! of them matches a marker: `redacted:sk-ant-api03:…` has `:` where a key
//! has `-`.
use regex::Regex;
use std::sync::LazyLock;

/// One credential family: an optional label that must precede the secret
/// (kept in the text) and the secret itself (replaced).
struct Pattern {
    kind: &'static str,
    label: &'static str,
    secret: &'static str,
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        kind: "sk-ant",
        label: "",
        secret: r"sk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{20,}",
    },
    Pattern {
        kind: "openai",
        label: "",
        secret: r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}",
    },
    Pattern {
        kind: "openai",
        label: "",
        secret: r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
    },
    Pattern {
        kind: "aws-access-key",
        label: "",
        secret: r"(?:AKIA|ASIA)[0-9A-Z]{16}",
    },
    Pattern {
        kind: "aws-secret-key",
        label: r#"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey|secretAccessKey)\\?["']?[ \t]*[:=][ \t]*\\?["']?"#,
        secret: r"[A-Za-z0-9/+]{40}",
    },
    Pattern {
        kind: "github",
        label: "",
        secret: r"gh[pousr]_[A-Za-z0-9]{36,}",
    },
    Pattern {
        kind: "github-pat",
        label: "",
        secret: r"github_pat_[A-Za-z0-9_]{22,}",
    },
    Pattern {
        kind: "google-api-key",
        label: "",
        secret: r"AIza[0-9A-Za-z_-]{35}",
    },
    Pattern {
        kind: "slack",
        label: "",
        secret: r"xox[abprs]-[A-Za-z0-9-]{10,}",
    },
    // The header only: [`pem_end`] finds where this block ends.
    Pattern {
        kind: "private-key",
        label: "",
        secret: r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----",
    },
];

/// The longest PEM block taken: a 4096-bit RSA key is ~3.3 KB, ~3.4 KB
/// with its newlines JSON-escaped.
const PEM_MAX: usize = 16 * 1024;

/// Credentials that vendors print in their documentation as examples:
/// found, never redacted, listed as examples by `analyze leaks`.
pub const EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
];

/// Anthropic key families named in markers; others become `sk-ant`.
const ANTHROPIC_FAMILIES: &[&str] = &[
    "sk-ant-api03",
    "sk-ant-oat01",
    "sk-ant-ort01",
    "sk-ant-admin01",
    "sk-ant-sid01",
];

/// All patterns as one alternation, for the single pass.
static COMBINED: LazyLock<Regex> = LazyLock::new(|| {
    let alternation: Vec<String> = PATTERNS
        .iter()
        .map(|p| format!("(?:{}{})", p.label, p.secret))
        .collect();
    // The patterns are constants covered by tests.
    Regex::new(&alternation.join("|")).expect("credential patterns compile")
});

/// Each pattern alone, anchored, with the secret as group 1.
static EACH: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|p| {
            Regex::new(&format!("^(?:{})({})$", p.label, p.secret))
                .expect("credential pattern compiles")
        })
        .collect()
});

/// A secret found: its family and byte range.
pub(crate) struct Hit {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
}

/// Every credential in `text`, in order, not overlapping.
pub(crate) fn scan(text: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    if text.len() <= PREFILTER_MAX && !may_hold_secret(text) {
        return hits;
    }
    let mut covered = 0;
    for m in COMBINED.find_iter(text) {
        if m.start() < covered {
            continue; // inside a PEM block already taken
        }
        if let Some(mut hit) = classify(m.as_str(), m.start()) {
            if hit.kind == "private-key" {
                hit.end = pem_end(text, m.as_str(), m.end());
            }
            covered = hit.end;
            hits.push(hit);
        }
    }
    hits
}

/// Where the PEM block whose header `begin` ends at `at` ends: after its
/// own `-----END …-----` within [`PEM_MAX`], else after the lines of
/// base64 that follow the header (newlines real or JSON-escaped), so an
/// unclosed block never takes the text after it.
fn pem_end(text: &str, begin: &str, at: usize) -> usize {
    let label = &begin["-----BEGIN".len()..];
    let end_line = format!("-----END{label}");
    let limit = floor_char(text, (at + PEM_MAX).min(text.len()));
    if let Some(i) = memchr::memmem::find(&text.as_bytes()[at..limit], end_line.as_bytes()) {
        return at + i + end_line.len();
    }
    let b = &text.as_bytes()[..limit];
    let mut end = at;
    loop {
        let mut i = end;
        for newline in [&b"\\r"[..], b"\r", b"\\n", b"\n"] {
            if b[i..].starts_with(newline) {
                i += newline.len();
            }
        }
        if i == end {
            return end;
        }
        let run = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || b"+/=".contains(c))
            .count();
        let after = i + run;
        let line_ends = after == b.len() || matches!(b[after], b'\\' | b'\r' | b'\n' | b'"');
        if run == 0 || !line_ends {
            return end;
        }
        end = after;
    }
}

/// `at`, moved back to a char boundary.
fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The shortest run of token bytes (`[A-Za-z0-9_-]`) a pattern needs: a
/// Slack token, `xox?-` and 10 more; the others need longer runs (an AWS
/// access key 20, an Anthropic key 31).
const MIN_TOKEN_RUN: usize = 15;
/// No pattern matches fewer bytes (the Slack token; test
/// `no_pattern_matches_fewer_bytes_than_the_shortest`), so a shorter text
/// holds no secret.
pub(crate) const SHORTEST: usize = MIN_TOKEN_RUN;
/// The AWS secret key, 40 bytes of `[A-Za-z0-9/+]`, the one pattern whose
/// secret may hold `/` or `+`.
const MIN_BASE64_RUN: usize = 40;

/// Texts up to this long are checked by [`may_hold_secret`] first; longer
/// ones (bodies) go straight to the regex, whose SIMD literal search is
/// faster than this byte loop per byte, and pays its set-up only once.
const PREFILTER_MAX: usize = 512;

/// Whether `text` could hold a credential at all: a run of
/// [`MIN_TOKEN_RUN`] token bytes or [`MIN_BASE64_RUN`] base64 bytes, or a
/// PEM `-----BEGIN`. Most header values have none, and this loop is far
/// cheaper than a regex search on them (each exchange has ~20 short headers).
fn may_hold_secret(text: &str) -> bool {
    let (mut token, mut base64) = (0, 0);
    for &b in text.as_bytes() {
        let alnum = b.is_ascii_alphanumeric();
        token = if alnum || b == b'_' || b == b'-' {
            token + 1
        } else {
            0
        };
        base64 = if alnum || b == b'/' || b == b'+' {
            base64 + 1
        } else {
            0
        };
        if token >= MIN_TOKEN_RUN || base64 >= MIN_BASE64_RUN {
            return true;
        }
    }
    text.contains("-----BEGIN")
}

/// Names the pattern that produced a combined match: leftmost-first picks
/// the first alternative matching at that spot, which is also the first
/// whose anchored form matches the whole text.
fn classify(matched: &str, offset: usize) -> Option<Hit> {
    PATTERNS.iter().zip(EACH.iter()).find_map(|(pattern, re)| {
        let secret = re.captures(matched)?.get(1)?;
        let kind = if pattern.kind == "sk-ant" {
            anthropic_family(secret.as_str())
        } else {
            pattern.kind
        };
        Some(Hit {
            kind,
            start: offset + secret.start(),
            end: offset + secret.end(),
        })
    })
}

/// `sk-ant-oat01-…` → `sk-ant-oat01`, when it is a family we know.
fn anthropic_family(key: &str) -> &'static str {
    ANTHROPIC_FAMILIES
        .iter()
        .find(|family| {
            key.len() > family.len()
                && key.starts_with(**family)
                && key.as_bytes()[family.len()] == b'-'
        })
        .copied()
        .unwrap_or("sk-ant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_pattern_matches_fewer_bytes_than_the_shortest() {
        let least = PATTERNS
            .iter()
            .map(|p| {
                let hir = regex_syntax::parse(&format!("{}{}", p.label, p.secret)).unwrap();
                let least = hir.properties().minimum_len().unwrap();
                assert!(least >= SHORTEST, "{} matches {least} bytes", p.kind);
                least
            })
            .min();
        assert_eq!(least, Some(SHORTEST));
    }

    /// A secret drawn from one pattern's own regex (the PEM block, whose
    /// lazy `.*?` proptest cannot draw, is checked on its own below).
    fn any_secret() -> impl Strategy<Value = String> {
        let drawable: Vec<usize> = (0..PATTERNS.len())
            .filter(|&i| PATTERNS[i].kind != "private-key")
            .collect();
        prop::sample::select(drawable).prop_flat_map(|i| {
            let p = &PATTERNS[i];
            let label = proptest::string::string_regex(p.label).expect("label");
            let secret = proptest::string::string_regex(p.secret).expect("secret");
            (label, secret).prop_map(|(l, s)| format!("{l}{s}"))
        })
    }

    proptest! {
        /// The prefilter never hides a credential: whatever a pattern
        /// matches, inside any text, passes it.
        #[test]
        fn every_secret_passes_the_prefilter(
            before in "[ -~\n]{0,40}",
            secret in any_secret(),
            after in "[ -~\n]{0,40}",
        ) {
            let text = format!("{before}{secret}{after}");
            prop_assert!(COMBINED.is_match(&text), "{text:?}");
            prop_assert!(may_hold_secret(&text), "{text:?}");
            prop_assert!(!scan(&text).is_empty(), "{text:?}");
        }
    }

    #[test]
    fn pem_blocks_and_the_shortest_slack_token_pass() {
        let pem = "x\"-----BEGIN PRIVATE KEY-----\\nMII\\n-----END PRIVATE KEY-----";
        assert!(may_hold_secret(pem) && !scan(pem).is_empty());
        let slack = "token: xoxb-0123456789;";
        assert!(may_hold_secret(slack) && !scan(slack).is_empty());
        let short = "token: xoxb-012345678;";
        assert!(!may_hold_secret(short) && !COMBINED.is_match(short));
    }

    #[test]
    fn ordinary_header_values_skip_the_regex() {
        for v in [
            "application/json",
            "2023-06-01",
            "127.0.0.1:19001",
            "keep-alive",
            "Bearer redacted:sk-ant-oat01:3f9a1c0b27de",
            "claude-cli/2.1.332 (external, cli)",
        ] {
            assert!(!may_hold_secret(v), "{v}");
        }
    }
}
