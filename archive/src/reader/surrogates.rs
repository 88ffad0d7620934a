//! JSON may escape a lone UTF-16 surrogate (`"\ud800"`: JavaScript strings
//! allow it, and browsers export it); Rust strings cannot hold one, so
//! serde_json refuses the whole entry. Each lone surrogate is replaced by
//! U+FFFD (`\ufffd`, the same length), with a warning.
use super::FieldWarning;
use serde_json::Value;

/// Parses `bytes` after replacing lone surrogate escapes; `None` when
/// there were none or the JSON is broken for another reason.
pub(super) fn parse_replacing(bytes: &[u8]) -> Option<(Value, Vec<FieldWarning>)> {
    let mut fixed = bytes.to_vec();
    let replaced = replace_lone(&mut fixed);
    if replaced == 0 {
        return None;
    }
    let value = serde_json::from_slice(&fixed).ok()?;
    let mut warnings = Vec::new();
    note_replaced(&mut warnings, replaced);
    Some((value, warnings))
}

const LONE: &str = "a lone UTF-16 surrogate escape (invalid in UTF-8) was replaced by U+FFFD";

/// Notes `count` more lone surrogates replaced in this entry: one warning
/// per entry, whether they were in its small strings (here) or in long
/// ones lifted out of it ([`super::hoist`]).
pub(super) fn note_replaced(warnings: &mut Vec<FieldWarning>, count: usize) {
    if count == 0 {
        return;
    }
    let found = |n: usize| format!("({n} in this entry)");
    let earlier = warnings.iter_mut().find(|w| w.problem == LONE);
    match earlier {
        Some(w) => {
            let before = w
                .found
                .trim_start_matches('(')
                .split(' ')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            w.found = found(before + count);
        }
        None => warnings.push(FieldWarning {
            path: String::new(),
            problem: LONE.into(),
            found: found(count),
        }),
    }
}

/// Rewrites every lone `\uD800`–`\uDFFF` escape as `\uFFFD`; returns how
/// many.
fn replace_lone(json: &mut [u8]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i + 1 < json.len() {
        if json[i] != b'\\' {
            i += 1;
            continue;
        }
        if json[i + 1] != b'u' {
            i += 2; // `\\`, `\"`, `\n`, …: never the start of a `\u`
            continue;
        }
        let Some(unit) = unit_at(json, i) else {
            i += 2;
            continue;
        };
        match unit {
            0xD800..=0xDBFF if unit_at(json, i + 6).is_some_and(is_low) => i += 12,
            0xD800..=0xDFFF => {
                json[i + 2..i + 6].copy_from_slice(b"fffd");
                count += 1;
                i += 6;
            }
            _ => i += 6,
        }
    }
    count
}

fn is_low(unit: u32) -> bool {
    (0xDC00..=0xDFFF).contains(&unit)
}

/// The code unit of the `\uXXXX` escape at `at`.
fn unit_at(json: &[u8], at: usize) -> Option<u32> {
    let escape = json.get(at..at + 6)?;
    if &escape[..2] != b"\\u" {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(&escape[2..]).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        let (v, w) =
            parse_replacing(br#"{"a":"x\ud800y","b":"\udc00","c":"\ud83d\ude00"}"#).unwrap();
        assert_eq!(v["a"], "x\u{fffd}y");
        assert_eq!(v["b"], "\u{fffd}");
        assert_eq!(v["c"], "😀", "a pair is kept");
        assert!(w[0].found.contains('2'), "{w:?}");
    }

    #[test]
    fn an_escaped_backslash_is_not_an_escape() {
        assert!(parse_replacing(br#"{"a":"\\ud800"}"#).is_none());
        assert!(
            parse_replacing(br#"{"a":"\ud800"#).is_none(),
            "still broken"
        );
    }
}
