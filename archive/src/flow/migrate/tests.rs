use super::*;

fn flow(version: Value, request: Value, response: Value) -> Value {
    Value::Dict(vec![
        (Value::bytes("version"), version),
        (Value::bytes("type"), Value::bytes("http")),
        (Value::bytes("request"), request),
        (Value::bytes("response"), response),
    ])
}

#[test]
fn versions_are_ordered_across_tuples_and_integers() {
    let v = |x: Value| version_of(&Value::dict(vec![("version", x)])).unwrap();
    let tuple = |a, b| Value::List(vec![Value::Int(a), Value::Int(b), Value::Int(1)]);
    let order = [
        v(tuple(0, 10)),
        v(tuple(0, 11)),
        v(tuple(0, 18)),
        v(tuple(1, 0)),
        v(tuple(3, 0)),
        v(Value::Int(4)),
        v(Value::Int(21)),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert_eq!(order[1], V0_11);
}

#[test]
fn a_0_11_flow_gets_todays_field_names() {
    let mut f = flow(
        Value::List(vec![Value::Int(0), Value::Int(11), Value::Int(3)]),
        Value::Dict(vec![
            (
                Value::bytes("httpversion"),
                Value::List(vec![Value::Int(1), Value::Int(1)]),
            ),
            (Value::bytes("timestamp_end"), Value::Float(10.0)),
        ]),
        Value::Dict(vec![
            (
                Value::bytes("httpversion"),
                Value::List(vec![Value::Int(1), Value::Int(0)]),
            ),
            (Value::bytes("code"), Value::Int(200)),
            (Value::bytes("msg"), Value::bytes("OK")),
            (Value::bytes("timestamp_start"), Value::Null),
        ]),
    );
    migrate(&mut f, &mut Handshakes::default()).unwrap();
    let resp = f.get("response").unwrap();
    assert_eq!(resp.get("status_code").and_then(Value::as_i64), Some(200));
    assert_eq!(resp.get("reason").and_then(Value::as_str), Some("OK"));
    assert_eq!(
        resp.get("http_version").and_then(Value::as_str),
        Some("HTTP/1.0")
    );
    assert_eq!(
        resp.get("timestamp_start").and_then(Value::as_f64),
        Some(10.0)
    );
    let req = f.get("request").unwrap();
    assert_eq!(
        req.get("http_version").and_then(Value::as_str),
        Some("HTTP/1.1")
    );
}

#[test]
fn older_than_0_11_is_refused_as_mitmproxy_does() {
    let mut f = flow(
        Value::List(vec![Value::Int(0), Value::Int(10), Value::Int(1)]),
        Value::Null,
        Value::Null,
    );
    let err = migrate(&mut f, &mut Handshakes::default()).unwrap_err();
    assert!(err.to_string().contains("older than 0.11"), "{err}");
}
