//! Redaction of the `log` object's other fields: `comment`, the `pages`
//! (a browser's page title is often the page's URL, query string and all)
//! and custom `_fields`, every string under its JSON path
//! (`log.pages[0].title`, `log._notes.seen[1]`).
//!
//! A string that is a URL gets the URL rule (credential-named query
//! parameters, then patterns); any other string the pattern rule only, so
//! free text such as `what? key=value` is not taken for a query.
use super::entry::url;
use super::scan::Report;
use crate::model::LogHead;
use serde_json::Value;

pub(super) fn redact(head: &mut LogHead, report: &mut Report) {
    if let Some(comment) = &mut head.comment {
        string(comment, "log.comment", report);
    }
    for (i, page) in head.pages.iter_mut().flatten().enumerate() {
        value(page, &format!("log.pages[{i}]"), report);
    }
    for (key, v) in head.extra.iter_mut() {
        value(v, &format!("log.{key}"), report);
    }
}

/// Every string inside `v`, each under its own path.
fn value(v: &mut Value, place: &str, report: &mut Report) {
    match v {
        Value::String(text) => string(text, place, report),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                value(item, &format!("{place}[{i}]"), report);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                value(item, &format!("{place}.{key}"), report);
            }
        }
        _ => {}
    }
}

fn string(text: &mut String, place: &str, report: &mut Report) {
    if is_url(text) {
        url(text, place, report);
    } else {
        report.text(place, text);
    }
}

/// `scheme://…` with no space: what a page title holding a URL looks like.
fn is_url(text: &str) -> bool {
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !text.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_free_text() {
        assert!(is_url("https://example.test/?api_key=x"));
        assert!(is_url(" wss://h/p?token=1 "));
        assert!(!is_url("what? key=value"));
        assert!(!is_url("see https://example.test/?k=1 for more"));
        assert!(!is_url("://nothing"));
    }

    #[test]
    fn every_string_is_found_under_its_path_and_redacting_twice_finds_nothing() {
        let key = format!("sk-ant-api03-FAKE{}", "x".repeat(80));
        let mut head: LogHead = serde_json::from_value(serde_json::json!({
            "version": "1.2", "creator": {"name": "t", "version": "0"},
            "comment": format!("exported with {key}"),
            "pages": [{"id": "page_1", "title": "https://example.test/?q=1&api_key=opaqueFAKE1"},
                      {"id": "page_2", "title": "what? key=value"}],
            "_notes": {"seen": ["fine", "https://h.test/cb?token=opaqueFAKE2"]}
        }))
        .unwrap();
        let found = crate::redact::scan_log_head(&mut head);
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.place.as_str(), f.kind.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("log.comment", "sk-ant-api03"),
                ("log.pages[0].title", "secret"),
                ("log._notes.seen[1]", "secret"),
            ]
        );
        let title = head.pages.as_ref().unwrap()[0]["title"].as_str().unwrap();
        assert!(
            title.starts_with("https://example.test/?q=1&api_key=redacted:secret:"),
            "{title}"
        );
        assert_eq!(head.pages.as_ref().unwrap()[1]["title"], "what? key=value");
        assert!(crate::redact::scan_log_head(&mut head).is_empty());
        assert_eq!(crate::redact::redact_log_head(&mut head), 0);
    }
}
