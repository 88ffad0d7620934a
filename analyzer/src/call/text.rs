//! A request's texts read straight out of its JSON, piece by piece: a JSON
//! string's runs between escapes are handed out as borrowed slices, so
//! classifying a call or printing a 200 MB message holds no copy of it.
//! Anything unexpected is an `Err`, and the caller reads the text the
//! ordinary way ([`super::request::MessagesRequest::first_user_text`]),
//! which is never wrong, only costlier.
use serde::Deserialize;
use serde_json::value::RawValue;

/// Not the JSON the piecewise reading expects: read it the ordinary way.
#[derive(Debug, PartialEq)]
pub struct Unexpected;

/// Hands `f` the decoded contents of the JSON string `raw` (quotes
/// included) in pieces. `Err` for what serde_json refuses to decode (a
/// lone surrogate) or for a value that is not a string.
pub fn string_pieces(raw: &str, f: &mut dyn FnMut(&str)) -> Result<(), Unexpected> {
    let inner = raw
        .trim()
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or(Unexpected)?;
    let b = inner.as_bytes();
    let mut at = 0;
    let mut buf = [0u8; 4];
    while at < b.len() {
        let Some(k) = memchr::memchr(b'\\', &b[at..]) else {
            f(&inner[at..]);
            break;
        };
        if k > 0 {
            // `\` is ASCII: the run ends on a character boundary.
            f(&inner[at..at + k]);
        }
        at += k + 1;
        let c = *b.get(at).ok_or(Unexpected)?;
        at += 1;
        let ch = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (ch, used) = unicode_escape(&b[at..])?;
                at += used;
                ch
            }
            _ => return Err(Unexpected),
        };
        f(ch.encode_utf8(&mut buf));
    }
    Ok(())
}

/// The character of a `\u` escape whose digits start `rest` and the bytes
/// it used; a surrogate must be a pair, as serde_json has it.
fn unicode_escape(rest: &[u8]) -> Result<(char, usize), Unexpected> {
    let unit = hex4(rest)?;
    match unit {
        0xD800..=0xDBFF => {
            if rest.get(4..6) != Some(b"\\u") {
                return Err(Unexpected);
            }
            let low = hex4(&rest[6..])?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(Unexpected);
            }
            let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            Ok((char::from_u32(c).ok_or(Unexpected)?, 10))
        }
        _ => Ok((char::from_u32(unit).ok_or(Unexpected)?, 4)),
    }
}

fn hex4(b: &[u8]) -> Result<u32, Unexpected> {
    let digits = std::str::from_utf8(b.get(..4).ok_or(Unexpected)?).map_err(|_| Unexpected)?;
    u32::from_str_radix(digits, 16).map_err(|_| Unexpected)
}

/// A content block's kind and text, unparsed.
#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
}

/// Hands `f` a message's `content` text as `first_user_text` joins it:
/// a string whole; of an array, each `text` block's text (a block that is
/// not an object counts as an empty one), joined with newlines.
pub fn content_text_pieces(content: &str, f: &mut dyn FnMut(&str)) -> Result<(), Unexpected> {
    let content = content.trim_start();
    let items: Vec<&RawValue> = match content.as_bytes().first() {
        Some(b'"') => return string_pieces(content, f),
        Some(b'[') => serde_json::from_str(content).map_err(|_| Unexpected)?,
        _ => vec![serde_json::from_str(content).map_err(|_| Unexpected)?],
    };
    let mut first = true;
    for item in items {
        let is_object = item.get().starts_with('{');
        let block: RawBlock = if is_object {
            serde_json::from_str(item.get()).map_err(|_| Unexpected)?
        } else {
            RawBlock {
                kind: None,
                text: None,
            }
        };
        let kind: Option<String> = block
            .kind
            .and_then(|k| serde_json::from_str::<serde_json::Value>(k.get()).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        if kind.as_deref().unwrap_or("text") != "text" {
            continue;
        }
        if !first {
            f("\n");
        }
        first = false;
        if let Some(text) = block.text.filter(|t| t.get().starts_with('"')) {
            string_pieces(text.get(), f)?;
        }
    }
    Ok(())
}

/// Where [`message_blocks`] hands a request's messages, block by block.
pub trait BlockSink {
    /// Block `kind` of message `index` (sent by `role`) starts.
    fn block(&mut self, index: usize, role: &str, kind: &str);
    /// A piece of that block's text.
    fn text(&mut self, piece: &str);
}

/// A sink that keeps nothing: a dry run checks that the pieces can be had.
pub struct Nowhere;

impl BlockSink for Nowhere {
    fn block(&mut self, _: usize, _: &str, _: &str) {}
    fn text(&mut self, _: &str) {}
}

/// The blocks of the `messages` array `raw` as `messages()` makes them
/// (`block_of`), a string text handed out in pieces, any other block
/// parsed alone; the number of messages. `Err` where that could differ:
/// a lone surrogate anywhere (serde_json refuses the array, and
/// `messages()` is empty).
pub fn message_blocks(raw: &str, sink: &mut dyn BlockSink) -> Result<usize, Unexpected> {
    if has_lone_surrogate(raw) {
        return Err(Unexpected);
    }
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw) else {
        return Ok(0); // not an array: no messages
    };
    for (i, item) in items.iter().enumerate() {
        let Some(fields) = fields_of(item) else {
            continue; // not an object: no blocks
        };
        let role = string_of(last(&fields, "role")).unwrap_or_else(|| "?".into());
        if let Some(content) = last(&fields, "content") {
            content_blocks(i, &role, content, sink)?;
        }
    }
    Ok(items.len())
}

fn content_blocks(
    i: usize,
    role: &str,
    content: &RawValue,
    sink: &mut dyn BlockSink,
) -> Result<(), Unexpected> {
    let c = content.get();
    if c.starts_with('"') {
        sink.block(i, role, "text");
        return string_pieces(c, &mut |p| sink.text(p));
    }
    if c.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(c).map_err(|_| Unexpected)?;
        return items
            .into_iter()
            .try_for_each(|item| one_block(i, role, item, sink));
    }
    one_block(i, role, content, sink)
}

fn one_block(
    i: usize,
    role: &str,
    item: &RawValue,
    sink: &mut dyn BlockSink,
) -> Result<(), Unexpected> {
    if let Some(fields) = fields_of(item) {
        let kind = string_of(last(&fields, "type")).unwrap_or_else(|| "text".into());
        let text = match kind.as_str() {
            "text" | "thinking" => Some(last(&fields, &kind).filter(|t| t.get().starts_with('"'))),
            "tool_result" => last(&fields, "content")
                .filter(|c| c.get().starts_with('"'))
                .map(Some),
            _ => None,
        };
        if let Some(text) = text {
            sink.block(i, role, &kind);
            return match text {
                Some(t) => string_pieces(t.get(), &mut |p| sink.text(p)),
                None => Ok(()),
            };
        }
    }
    let value = serde_json::from_str(item.get()).map_err(|_| Unexpected)?;
    let block = super::request::block_of(value);
    sink.block(i, role, &block.kind);
    sink.text(&block.text);
    Ok(())
}

/// An object's fields, `None` for any other value.
fn fields_of(raw: &RawValue) -> Option<Vec<(String, &RawValue)>> {
    if !raw.get().starts_with('{') {
        return None;
    }
    let super::request::Fields(fields) = serde_json::from_str(raw.get()).ok()?;
    Some(fields)
}

/// The field `key` as a `Value` map has it: the last one of that name.
fn last<'a>(fields: &[(String, &'a RawValue)], key: &str) -> Option<&'a RawValue> {
    fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
}

/// A raw value that is a JSON string, decoded.
fn string_of(raw: Option<&RawValue>) -> Option<String> {
    serde_json::from_str::<String>(raw?.get()).ok()
}

/// Whether the JSON text holds a `\uD800`–`\uDFFF` escape not in a pair.
fn has_lone_surrogate(json: &str) -> bool {
    let b = json.as_bytes();
    let mut at = 0;
    while let Some(k) = memchr::memchr(b'\\', &b[at..]) {
        at += k;
        if b.get(at + 1) != Some(&b'u') {
            at += 2; // `\\`, `\"`, `\n`, …: never the start of a `\u`
            continue;
        }
        match unicode_escape(&b[at + 2..]) {
            Ok((_, used)) => at += 2 + used,
            Err(_) if hex4(&b[at + 2..]).is_ok_and(|u| (0xD800..=0xDFFF).contains(&u)) => {
                return true
            }
            Err(_) => at += 2,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(raw: &str) -> Result<String, Unexpected> {
        let mut out = String::new();
        string_pieces(raw, &mut |s| out.push_str(s))?;
        Ok(out)
    }

    #[test]
    fn strings_decode_as_serde_json_decodes_them() {
        for json in [
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\u20ac\ud83d\ude00 and \u0000 café""#,
            r#""\\u0041 is not an escape""#,
            r#""""#,
        ] {
            let want: String = serde_json::from_str(json).unwrap();
            assert_eq!(joined(json).unwrap(), want, "{json}");
        }
        for refused in [
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\ud800\u0041""#,
            "12",
            r#""\x""#,
        ] {
            assert_eq!(joined(refused), Err(Unexpected), "{refused}");
        }
    }
}
