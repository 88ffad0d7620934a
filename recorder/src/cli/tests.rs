//! The flags as a user types them, resolved into a `Config`.
use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("record").chain(args.iter().copied()))
}

fn config(args: &[&str], env: Option<&str>) -> Config {
    let now = time::macros::datetime!(2026-11-25 12:45:00 UTC);
    parse(args)
        .unwrap()
        .into_config(env.map(Into::into), now)
        .unwrap()
}

#[test]
fn defaults() {
    let c = config(&[], None);
    assert_eq!(c.mode, Mode::Forward(None), "regular, as mitmdump");
    assert_eq!(
        config(&["-m", "reverse"], None).mode,
        Mode::Reverse("https://api.anthropic.com".parse().unwrap())
    );
    assert_eq!(
        c.targets.har,
        Some(PathBuf::from("cctap-20261125T124500Z.har.zst"))
    );
    assert_eq!(c.targets.flows, None);
    assert_eq!(c.listen_port, 8080);
    assert_eq!(c.listen_host, "127.0.0.1");
    assert!(c.redact && !c.quiet && c.command.is_empty());
}

#[test]
fn a_command_picks_a_free_port_and_the_users_base_url() {
    let c = config(
        &["-q", "-m", "reverse", "--", "claude", "-p", "hi"],
        Some("https://api.z.ai/api/anthropic"),
    );
    assert_eq!(c.listen_port, 0);
    assert_eq!(c.command, ["claude", "-p", "hi"]);
    assert_eq!(
        c.mode,
        Mode::Reverse("https://api.z.ai/api/anthropic".parse().unwrap())
    );
    assert!(c.quiet);
    assert_eq!(config(&["-p", "9", "--", "x"], None).listen_port, 9);
}

#[test]
fn modes() {
    let c = config(
        &["-m", "reverse:http://127.0.0.1:9000", "-o", "-"],
        Some("https://ignored"),
    );
    assert_eq!(
        c.mode,
        Mode::Reverse("http://127.0.0.1:9000".parse().unwrap())
    );
    assert_eq!(config(&["--mode", "offline"], None).mode, Mode::Offline);
    assert_eq!(config(&["-m", "regular"], None).mode, Mode::Forward(None));
    assert!(matches!(
        config(&["-m", "upstream:http://127.0.0.1:3128"], None).mode,
        Mode::Forward(Some(_))
    ));
    for bad in [
        "upstream:https://x",
        "socks5",
        "reverse:ftp://x",
        "reverse:",
    ] {
        let e = parse(&["-m", bad]).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad}");
    }
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        &["--nope"][..],
        &["-p", "99999"],
        &["--ssl-insecure", "--upstream-ca", "x.pem"],
        &["-o"],
        &["--ignore-hosts", "a", "--allow-hosts", "b"],
    ] {
        assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
    }
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let err = parse(&["-m", "reverse"])
        .unwrap()
        .into_config(Some("not a url".into()), now)
        .unwrap_err();
    assert!(err.to_string().contains("ANTHROPIC_BASE_URL"), "{err}");
    let err = parse(&["--ignore-hosts", "("])
        .unwrap()
        .into_config(None, now)
        .unwrap_err();
    assert!(err.to_string().contains("--ignore-hosts"), "{err}");
}

#[test]
fn w_writes_flows_and_no_har_unless_o_is_given() {
    let c = config(&["-w", "s.flows"], None);
    assert_eq!(c.targets.har, None, "-w alone: flows only, as mitmdump");
    let flows = c.targets.flows.unwrap();
    assert_eq!(
        (flows.path, flows.append),
        (PathBuf::from("s.flows"), false)
    );
    let c = config(&["-o", "s.har", "--save-stream-file", "s.flows"], None);
    assert_eq!(c.targets.har, Some(PathBuf::from("s.har")));
    assert!(c.targets.flows.is_some());
    let flows = config(&["-w", "+old.flows"], None).targets.flows.unwrap();
    assert_eq!(
        (flows.path, flows.append),
        (PathBuf::from("old.flows"), true)
    );
    let c = config(&["-w", "-", "-o", "x.har"], None);
    assert!(c.targets.to_stdout());
}

#[test]
fn w_and_o_may_not_share_a_file() {
    let now = time::OffsetDateTime::UNIX_EPOCH;
    for (args, says) in [
        (&["-o", "-", "-w", "-"][..], "standard output"),
        (&["-o", "x", "-w", "x"], "same file"),
        (&["-o", "x", "-w", "+x"], "same file"),
        (&["-w", "+"], "-w +FILE"),
    ] {
        let err = parse(args).unwrap().into_config(None, now).unwrap_err();
        assert!(err.to_string().contains(says), "{args:?}: {err}");
    }
}

#[test]
fn help_teaches() {
    let help = parse(&["--help"]).unwrap_err().to_string();
    assert!(
        help.contains("Examples:") && help.contains("Exit status:"),
        "{help}"
    );
    assert!(
        help.contains("record -w s.flows -- claude -p hi") && help.contains("mitmproxy -r s.flows"),
        "{help}"
    );
}

#[test]
fn upstream_timeout_takes_seconds_with_fractions_and_0_for_none() {
    use std::time::Duration;
    assert_eq!(
        config(&[], None).upstream_timeout,
        Some(Duration::from_secs(600)),
        "the SDKs' own request timeout"
    );
    let t = |v: &str| config(&["--upstream-timeout", v], None).upstream_timeout;
    assert_eq!(t("0.5"), Some(Duration::from_millis(500)));
    assert_eq!(t("30"), Some(Duration::from_secs(30)));
    assert_eq!(t("0"), None, "0: no limit");
    for bad in ["-1", "NaN", "inf", "soon", "", "1e400"] {
        let err = parse(&["--upstream-timeout", bad]).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{bad}");
        assert!(
            err.to_string().contains("number of seconds"),
            "{bad}: {err}"
        );
    }
    let help = parse(&["--help"]).unwrap_err().to_string();
    assert!(
        help.contains("504 Gateway Timeout") && help.contains("[default: 600]"),
        "{help}"
    );
}
