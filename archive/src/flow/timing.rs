//! Timestamps between the two models. A flow keeps moments (seconds since
//! the epoch): request start/end, response start/end, and its server
//! connection's start, TCP and TLS set-up. HAR keeps a start and
//! sequential durations in ms: blocked, dns, connect, send, wait, receive,
//! where `connect` includes `ssl` (HAR 1.2: "If this field is defined then
//! the time is also included in the connect field"), so `time` never counts
//! the TLS set-up twice.
//!
//! The request's start is the entry's `startedDateTime`. A connection that
//! was opened for this request, within its span, becomes
//! blocked (request start → connection start), connect and ssl, and `send`
//! is what is left of the request's span; one opened before the request
//! (mitmproxy's reverse mode connects as the client does), reused, or
//! finished only after the request ended does not fit HAR's sequence and is
//! reported as `-1` (HAR: "does not apply to the current request"). So flow
//! → entry → flow keeps every request and response moment exactly, and the
//! connection's where HAR can say them.
use crate::model::Timings;

/// The moments a flow keeps, in seconds since the epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FlowTimes {
    pub request_start: f64,
    pub request_end: Option<f64>,
    pub response_start: Option<f64>,
    pub response_end: Option<f64>,
    /// The server connection's start, TCP and TLS set-up.
    pub conn_start: Option<f64>,
    pub tcp_setup: Option<f64>,
    pub tls_setup: Option<f64>,
    /// When the flow failed, if it did.
    pub error_at: Option<f64>,
}

/// Milliseconds from `a` to `b`.
fn ms(a: f64, b: f64) -> f64 {
    (b - a) * 1000.0
}

/// The entry's total `time` and `timings`; `reused` says an earlier flow
/// already accounted for the connection.
pub(crate) fn to_har(t: &FlowTimes, reused: bool) -> (f64, Timings) {
    let start = t.request_start;
    let request_end = t.request_end.unwrap_or(start);
    let mut timings = Timings {
        blocked: Some(-1.0),
        dns: Some(-1.0),
        connect: Some(-1.0),
        ssl: Some(-1.0),
        send: 0.0,
        wait: 0.0,
        receive: 0.0,
        comment: None,
    };
    let mut setup = 0.0;
    if let (false, Some(conn), Some(tcp)) = (reused, t.conn_start, t.tcp_setup) {
        let ready = t.tls_setup.unwrap_or(tcp);
        if conn >= start && ready <= request_end && t.request_end.is_some() {
            let blocked = ms(start, conn);
            timings.blocked = Some(if blocked > 0.0 { blocked } else { -1.0 });
            timings.connect = Some(ms(conn, ready));
            timings.ssl = Some(t.tls_setup.map_or(-1.0, |tls| ms(tcp, tls)));
            setup = ms(start, ready);
        }
    }
    timings.send = (ms(start, request_end) - setup).max(0.0);
    match t.response_start {
        Some(head) => {
            timings.wait = ms(request_end, head).max(0.0);
            timings.receive = t.response_end.map_or(0.0, |end| ms(head, end).max(0.0));
        }
        None => {
            timings.wait = t.error_at.map_or(0.0, |at| ms(request_end, at).max(0.0));
        }
    }
    let total = [
        timings.blocked.unwrap_or(-1.0),
        timings.connect.unwrap_or(-1.0),
        timings.send,
        timings.wait,
        timings.receive,
    ]
    .iter()
    .filter(|v| **v > 0.0)
    .sum();
    (total, timings)
}

/// The flow's moments from an entry's start (seconds since the epoch),
/// total `time` and `timings`. Blocked and dns come before the
/// connection, as HAR orders them.
pub(crate) fn from_har(start: f64, time: f64, timings: &Timings, has_response: bool) -> FlowTimes {
    let pos = |v: Option<f64>| v.filter(|v| *v > 0.0).unwrap_or(0.0);
    let secs = |ms: f64| ms / 1000.0;
    let (blocked, dns, ssl) = (pos(timings.blocked), pos(timings.dns), timings.ssl);
    let mut t = FlowTimes {
        request_start: start,
        ..FlowTimes::default()
    };
    let mut setup = blocked + dns;
    if let Some(connect) = timings.connect.filter(|c| *c >= 0.0) {
        // `ssl` is the end of `connect`, not after it.
        let tls = ssl.filter(|s| *s >= 0.0).map(|s| s.min(connect));
        let conn = start + secs(blocked);
        let ready = conn + secs(dns + connect);
        t.conn_start = Some(conn);
        t.tcp_setup = Some(ready - secs(tls.unwrap_or(0.0)));
        t.tls_setup = tls.map(|_| ready);
        setup += connect;
    }
    let request_end = start + secs(setup + timings.send.max(0.0));
    t.request_end = Some(request_end);
    if has_response {
        let head = request_end + secs(timings.wait.max(0.0));
        t.response_start = Some(head);
        t.response_end = Some(head + secs(timings.receive.max(0.0)));
    }
    t.error_at = Some(start + secs(time.max(0.0)));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_795_612_388.748_410_5;

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 2e-6,
            (None, None) => true,
            _ => false,
        }
    }

    fn assert_moments_kept(t: &FlowTimes, back: &FlowTimes) {
        assert!((t.request_start - back.request_start).abs() < 2e-6);
        assert!(close(t.request_end, back.request_end), "{t:?}\n{back:?}");
        assert!(
            close(t.response_start, back.response_start),
            "{t:?}\n{back:?}"
        );
        assert!(close(t.response_end, back.response_end), "{t:?}\n{back:?}");
    }

    #[test]
    fn a_connection_inside_the_request_round_trips_whole() {
        let t = FlowTimes {
            request_start: T0,
            conn_start: Some(T0 + 0.001),
            tcp_setup: Some(T0 + 0.004),
            tls_setup: Some(T0 + 0.020),
            request_end: Some(T0 + 0.025),
            response_start: Some(T0 + 0.300),
            response_end: Some(T0 + 1.250),
            ..FlowTimes::default()
        };
        let (time, timings) = to_har(&t, false);
        // HAR's connect includes ssl: TCP 3 ms + TLS 16 ms.
        assert!((timings.connect.unwrap() - 19.0).abs() < 1e-3);
        assert!((timings.ssl.unwrap() - 16.0).abs() < 1e-3);
        assert!((timings.send - 5.0).abs() < 1e-3);
        assert!((time - 1250.0).abs() < 1e-3);
        let back = from_har(T0, time, &timings, true);
        assert_moments_kept(&t, &back);
        assert!(close(t.conn_start, back.conn_start));
        assert!(close(t.tcp_setup, back.tcp_setup));
        assert!(close(t.tls_setup, back.tls_setup));
    }

    #[test]
    fn an_earlier_or_reused_connection_is_minus_one_and_moments_are_kept() {
        let t = FlowTimes {
            request_start: T0,
            conn_start: Some(T0 - 0.5),
            tcp_setup: Some(T0 - 0.4),
            request_end: Some(T0 + 0.01),
            response_start: Some(T0 + 0.2),
            response_end: Some(T0 + 0.9),
            ..FlowTimes::default()
        };
        for reused in [false, true] {
            let (time, timings) = to_har(&t, reused);
            assert_eq!(timings.connect, Some(-1.0));
            assert!((time - 900.0).abs() < 1e-3);
            let back = from_har(T0, time, &timings, true);
            assert_moments_kept(&t, &back);
            assert_eq!(back.conn_start, None);
        }
    }

    #[test]
    fn an_entry_round_trips_through_flow_moments() {
        let timings = Timings {
            blocked: Some(-1.0),
            dns: Some(-1.0),
            connect: Some(1.25),
            ssl: Some(-1.0),
            send: 0.5,
            wait: 300.0,
            receive: 512.0,
            comment: None,
        };
        let t = from_har(T0, 813.75, &timings, true);
        let (time, back) = to_har(&t, false);
        assert!((time - 813.75).abs() < 1e-3);
        for (a, b) in [
            (back.connect, timings.connect),
            (Some(back.send), Some(0.5)),
            (Some(back.wait), Some(300.0)),
            (Some(back.receive), Some(512.0)),
        ] {
            assert!((a.unwrap() - b.unwrap()).abs() < 1e-3, "{back:?}");
        }
        assert_eq!(back.ssl, Some(-1.0));
    }

    #[test]
    fn ssl_inside_connect_is_counted_once() {
        // As browsers and `record` write it: connect 50 ms of which TLS 30.
        let timings = Timings {
            blocked: Some(-1.0),
            dns: Some(-1.0),
            connect: Some(50.0),
            ssl: Some(30.0),
            send: 1.0,
            wait: 100.0,
            receive: 10.0,
            comment: None,
        };
        let t = from_har(T0, 161.0, &timings, true);
        assert!(close(t.tcp_setup, Some(T0 + 0.020)), "{t:?}");
        assert!(close(t.tls_setup, Some(T0 + 0.050)), "{t:?}");
        assert!(close(t.response_end, Some(T0 + 0.161)), "{t:?}");
        let (time, back) = to_har(&t, false);
        assert!((time - 161.0).abs() < 1e-3, "{time}");
        assert!((back.connect.unwrap() - 50.0).abs() < 1e-3, "{back:?}");
        assert!((back.ssl.unwrap() - 30.0).abs() < 1e-3, "{back:?}");
    }

    #[test]
    fn a_failed_flow_keeps_its_error_moment() {
        let t = FlowTimes {
            request_start: T0,
            request_end: Some(T0 + 0.01),
            error_at: Some(T0 + 2.0),
            ..FlowTimes::default()
        };
        let (time, timings) = to_har(&t, false);
        assert!((time - 2000.0).abs() < 1e-3);
        let back = from_har(T0, time, &timings, false);
        assert!(close(back.error_at, t.error_at));
        assert_eq!(back.response_start, None);
    }
}
