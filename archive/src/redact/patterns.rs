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
    Pattern {
        kind: "private-key",
        label: "",
        secret: r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.)*?-----END[A-Z0-9 ]*PRIVATE KEY-----",
    },
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
    for m in COMBINED.find_iter(text) {
        if let Some(hit) = classify(m.as_str(), m.start()) {
            hits.push(hit);
        }
    }
    hits
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
