//! Tests of the tnetstring codec: mitmproxy's documented examples, every
//! type, every error, and no panic on random or cut input.
use super::*;

fn one(input: &[u8]) -> Result<Value, ParseError> {
    let (v, used) = parse(input)?;
    assert_eq!(used, input.len(), "parse must consume exactly one value");
    Ok(v)
}

#[test]
fn mitmproxy_doc_examples() {
    assert_eq!(
        one(b"11:hello world,").unwrap(),
        Value::bytes("hello world")
    );
    assert_eq!(one(b"5:12345#").unwrap(), Value::Int(12345));
    let list = Value::List(vec![Value::Int(12345), Value::Bool(true), Value::Int(0)]);
    assert_eq!(one(b"19:5:12345#4:true!1:0#]").unwrap(), list);
    assert_eq!(to_vec(&list), b"19:5:12345#4:true!1:0#]");
}

#[test]
fn every_type_round_trips() {
    let v = Value::dict(vec![
        ("null", Value::Null),
        ("t", Value::Bool(true)),
        ("f", Value::Bool(false)),
        ("int", Value::Int(-42)),
        ("min", Value::Int(i64::MIN)),
        ("float", Value::Float(1795612388.7513928)),
        ("big", Value::Float(1e16)),
        ("inf", Value::Float(f64::INFINITY)),
        ("bytes", Value::bytes(vec![0u8, 255, b':', b',', b'}'])),
        ("str", Value::str("café ✓")),
        ("empty", Value::List(vec![])),
        (
            "nested",
            Value::List(vec![Value::dict(vec![("k", Value::Null)])]),
        ),
    ]);
    let bytes = to_vec(&v);
    assert_eq!(bytes.len(), encoded_len(&v));
    assert_eq!(one(&bytes).unwrap(), v);
    assert_eq!(
        v.get("float").and_then(Value::as_f64),
        Some(1795612388.7513928)
    );
    assert_eq!(v.get("str").and_then(Value::as_str), Some("café ✓"));
    assert!(v.get("absent").is_none());
}

#[test]
fn floats_as_python_writes_them() {
    assert_eq!(
        one(b"18:1795612388.7513928^").unwrap(),
        Value::Float(1795612388.7513928)
    );
    assert_eq!(one(b"5:1e+16^").unwrap(), Value::Float(1e16));
    assert_eq!(one(b"3:inf^").unwrap(), Value::Float(f64::INFINITY));
    assert_eq!(to_vec(&Value::Float(5.0)), b"3:5.0^");
}

#[test]
fn byte_keys_of_old_files_are_found() {
    let v = one(b"15:7:version,2:21#}").unwrap();
    assert_eq!(v.get("version"), Some(&Value::Int(21)));
}

#[test]
fn parse_leaves_the_rest() {
    let (v, used) = parse(b"0:~4:true!").unwrap();
    assert_eq!((v, used), (Value::Null, 3));
}

#[test]
fn errors_name_the_problem_and_place() {
    let kind = |input: &[u8]| parse(input).unwrap_err().kind;
    assert_eq!(kind(b""), ErrorKind::Truncated);
    assert_eq!(kind(b"12"), ErrorKind::Truncated);
    assert_eq!(kind(b"5:abc,"), ErrorKind::Truncated);
    assert_eq!(kind(b"3:abc"), ErrorKind::Truncated);
    assert_eq!(kind(b":abc,"), ErrorKind::BadLength);
    assert_eq!(kind(b"x:abc,"), ErrorKind::BadLength);
    assert_eq!(kind(b"9999999999999:a,"), ErrorKind::BadLength);
    assert_eq!(kind(b"1:a?"), ErrorKind::UnknownType(b'?'));
    assert_eq!(kind(b"2:1x#"), ErrorKind::BadInt);
    assert_eq!(kind(b"20:99999999999999999999#"), ErrorKind::BadInt);
    assert_eq!(kind(b"3:1.x^"), ErrorKind::BadFloat);
    assert_eq!(kind(b"3:yes!"), ErrorKind::BadBool);
    assert_eq!(kind(b"1:x~"), ErrorKind::BadNull);
    assert_eq!(kind(b"2:\xff\xfe;"), ErrorKind::BadUtf8);
    assert_eq!(kind(b"4:1:a,}"), ErrorKind::OddDict);
    let e = parse(b"10:3:abc,1:x?]").unwrap_err();
    assert_eq!(
        e,
        ParseError {
            offset: 12,
            kind: ErrorKind::UnknownType(b'?')
        }
    );
    assert!(e.to_string().contains("byte 12"), "{e}");
}

#[test]
fn nesting_is_limited() {
    let mut deep = Value::Null;
    for _ in 0..MAX_DEPTH {
        deep = Value::List(vec![deep]);
    }
    assert_eq!(parse(&to_vec(&deep)).unwrap_err().kind, ErrorKind::TooDeep);
    let mut ok = Value::Null;
    for _ in 0..MAX_DEPTH - 1 {
        ok = Value::List(vec![ok]);
    }
    assert_eq!(one(&to_vec(&ok)).unwrap(), ok);
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn no_panic_on_random_bytes_or_any_cut_or_flip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Random bytes from a tnetstring-ish alphabet, so deep paths are hit.
    let alphabet = b"0123456789:,;#^!~]}truefalsx.-e";
    for _ in 0..20_000 {
        let len = (rng.next() % 40) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
            .collect();
        let _ = parse(&input);
    }
    let sample = Value::dict(vec![
        (
            "request",
            Value::dict(vec![(
                "headers",
                Value::List(vec![Value::List(vec![
                    Value::bytes("Host"),
                    Value::bytes("x"),
                ])]),
            )]),
        ),
        ("ts", Value::Float(1.5)),
        ("n", Value::Int(7)),
    ]);
    let bytes = to_vec(&sample);
    for cut in 0..bytes.len() {
        assert!(parse(&bytes[..cut]).is_err(), "a cut at {cut} must fail");
    }
    for i in 0..bytes.len() {
        for flip in [0u8, b':', b'9', b'}', 0xff] {
            let mut changed = bytes.clone();
            changed[i] = flip;
            let _ = parse(&changed);
        }
    }
}
