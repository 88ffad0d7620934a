//! What the fake upstream does with one request: the switches a test flips.
//!
//! A behaviour is a comma-separated list of directives, given per request in
//! the `x-fake-behaviour` header, or for every request by the builder or the
//! program's `--behaviour` flag (a header replaces the default whole):
//!
//! | directive | effect |
//! | --- | --- |
//! | `status=N` | answer N with Anthropic's error JSON (529: `overloaded_error`) |
//! | `first=N` | with `status`: only the server's first N such answers fail, later ones succeed (a retry) |
//! | `reset-after=K` | stream events `0..K`, then cut the connection mid-body |
//! | `stall-before=K` | hold before event K until the client goes away |
//! | `stall-before=K:MS` | hold before event K for MS milliseconds |
//! | `head-after=MS` | hold the response head for MS milliseconds (silent before the head) |
//! | `gate` | hold before event 1 until the test calls `release_gate` |
//! | `pace=MS` | wait MS milliseconds between events |
//! | `deltas=N` | split the reply over N `content_block_delta` events |
//! | `gzip` | JSON answers gzip-encoded (`content-encoding: gzip`) |
//! | `encoding=E` | JSON answers encoded with E: `gzip`, `deflate`, `br`, `zstd` |
//! | `binary=N` | answer N bytes of non-UTF-8 `application/octet-stream` |
//! | `echo` | answer the request body, byte for byte, with its content type |
//! | `early` | answer `{"first_chunk_bytes": N}` as soon as the first body chunk arrives |
//!
//! Event indexes count from 0: event 0 is `message_start`.

use super::encode::Encoding;
use std::time::Duration;

/// The request header that carries a per-request behaviour.
pub const BEHAVIOUR_HEADER: &str = "x-fake-behaviour";

/// How long a stall without a duration lasts: longer than any test.
const STALL_FOREVER: Duration = Duration::from_secs(3600);

/// A parsed behaviour; the default answers normally.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behaviour {
    pub status: Option<u16>,
    pub first: Option<u64>,
    pub reset_after: Option<usize>,
    pub stall_before: Option<(usize, Duration)>,
    pub head_after: Option<Duration>,
    pub gate: bool,
    pub pace: Option<Duration>,
    pub deltas: Option<usize>,
    pub encoding: Option<Encoding>,
    pub binary: Option<usize>,
    pub echo: bool,
    pub early: bool,
}

/// A directive the fake upstream does not know.
#[derive(Debug, thiserror::Error)]
#[error(
    "bad fake-upstream behaviour {directive:?}: {why} (see tests/support/upstream/behaviour.rs)"
)]
pub struct BehaviourError {
    pub directive: String,
    pub why: &'static str,
}

impl Behaviour {
    /// Parses `gate,pace=10`-style text; empty text is the default.
    pub fn parse(text: &str) -> Result<Behaviour, BehaviourError> {
        let mut b = Behaviour::default();
        for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            b.apply(directive)?;
        }
        Ok(b)
    }

    fn apply(&mut self, directive: &str) -> Result<(), BehaviourError> {
        let bad = |why| BehaviourError {
            directive: directive.to_owned(),
            why,
        };
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (directive, None),
        };
        let number = |v: Option<&str>| -> Result<u64, BehaviourError> {
            v.ok_or_else(|| bad("needs =NUMBER"))?
                .parse()
                .map_err(|_| bad("not a number"))
        };
        match name {
            "status" => self.status = Some(number(value)? as u16),
            "first" => self.first = Some(number(value)?),
            "reset-after" => self.reset_after = Some(number(value)? as usize),
            "stall-before" => {
                let v = value.ok_or_else(|| bad("needs =K or =K:MS"))?;
                let (k, ms) = match v.split_once(':') {
                    Some((k, ms)) => (k, Some(ms)),
                    None => (v, None),
                };
                let k = number(Some(k))? as usize;
                let hold = match ms {
                    Some(ms) => Duration::from_millis(number(Some(ms))?),
                    None => STALL_FOREVER,
                };
                self.stall_before = Some((k, hold));
            }
            "head-after" => self.head_after = Some(Duration::from_millis(number(value)?)),
            "gate" => self.gate = true,
            "pace" => self.pace = Some(Duration::from_millis(number(value)?)),
            "deltas" => self.deltas = Some((number(value)? as usize).max(1)),
            "gzip" => self.encoding = Some(Encoding::Gzip),
            "encoding" => {
                let name = value.ok_or_else(|| bad("needs =gzip|deflate|br|zstd"))?;
                self.encoding = Some(Encoding::parse(name).ok_or_else(|| bad("unknown encoding"))?);
            }
            "binary" => self.binary = Some(number(value)? as usize),
            "echo" => self.echo = true,
            "early" => self.early = true,
            _ => return Err(bad("unknown directive")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_directive() {
        let b = Behaviour::parse(
            "gate, pace=5,deltas=3,reset-after=4,stall-before=2:50,gzip,binary=7,echo,status=529",
        )
        .unwrap();
        assert!(b.gate && b.echo);
        assert_eq!(b.encoding, Some(Encoding::Gzip));
        assert_eq!(
            Behaviour::parse("encoding=br").unwrap().encoding,
            Some(Encoding::Br)
        );
        assert_eq!(b.pace, Some(Duration::from_millis(5)));
        assert_eq!(b.deltas, Some(3));
        assert_eq!(b.reset_after, Some(4));
        assert_eq!(b.stall_before, Some((2, Duration::from_millis(50))));
        assert_eq!(
            Behaviour::parse("head-after=40").unwrap().head_after,
            Some(Duration::from_millis(40))
        );
        assert_eq!(b.binary, Some(7));
        assert_eq!(b.status, Some(529));
        assert_eq!(Behaviour::parse("").unwrap(), Behaviour::default());
        assert_eq!(
            Behaviour::parse("stall-before=3").unwrap().stall_before,
            Some((3, STALL_FOREVER))
        );
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        assert!(Behaviour::parse("explode").is_err());
        assert!(Behaviour::parse("pace=soon").is_err());
        assert!(Behaviour::parse("status").is_err());
    }
}
