//! `record ca init | path | export`: the local CA without running a proxy.
//!
//! Parsed apart from the proxy's flags (the proxy takes a trailing COMMAND,
//! which clap cannot mix with subcommands), when the first argument is `ca`.

use crate::tls::{self, CaSource};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Manages the CA that forward mode signs leaf certificates with.
#[derive(Debug, Parser)]
#[command(
    name = "record ca",
    after_help = "Examples:\n  record ca init\n  record ca export > cctap-ca.pem\n  \
export NODE_EXTRA_CA_CERTS=\"$(record ca path)\"\n  \
record ca export --ca ~/.mitmproxy/mitmproxy-ca.pem\n\n\
Exit status: 0 done, 1 the CA cannot be read or written, 2 bad usage."
)]
pub struct CaCli {
    #[command(subcommand)]
    pub action: CaAction,

    /// Where the CA lives [default: ~/.cctap].
    #[arg(long, value_name = "DIR", global = true)]
    pub confdir: Option<PathBuf>,

    /// Use this CA file (key and certificate in one PEM) instead of a confdir.
    #[arg(long, value_name = "FILE", global = true)]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// Create the CA in the confdir if there is none; print its files.
    Init,
    /// Print the CA certificate's file name (creates nothing).
    Path,
    /// Print the CA certificate (PEM) for NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, trust stores.
    Export,
}

/// `record ca bogus` or `record ca`: clap's error, then the choices.
fn is_bad_subcommand(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::InvalidSubcommand | ErrorKind::MissingSubcommand
    )
}

/// True when `args` (without the program name) ask for `record ca`.
pub fn wanted(args: &[OsString]) -> bool {
    args.first().is_some_and(|a| a == "ca")
}

/// Runs `record ca …`; `args` starts with `ca`.
pub fn run(args: Vec<OsString>) -> ExitCode {
    let parsed = CaCli::command()
        .bin_name("record ca")
        .try_get_matches_from(args)
        .and_then(|m| CaCli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if is_bad_subcommand(&e) => {
            let _ = e.print();
            eprintln!(
                "record ca takes one of: init (create the CA), path (print its file name), \
                 export (print the certificate)"
            );
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    match act(&cli) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("record: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn act(cli: &CaCli) -> Result<String, tls::TlsError> {
    let source = CaSource::from_options(cli.confdir.clone(), cli.ca.clone())?;
    match (&cli.action, &source) {
        (CaAction::Export, _) => tls::export_pem(&source),
        (CaAction::Path, CaSource::Confdir(dir)) => Ok(line(&tls::paths(dir).cert_pem)),
        (CaAction::Path, CaSource::File(file)) => Ok(line(file)),
        (CaAction::Init, CaSource::Confdir(dir)) => {
            let (files, created) = tls::init(dir)?;
            let verb = if created { "created" } else { "already there" };
            Ok(format!(
                "{verb}: {}\ncertificate: {}\ncertificate (.cer): {}\n",
                files.key_and_cert.display(),
                files.cert_pem.display(),
                files.cert_cer.display()
            ))
        }
        (CaAction::Init, CaSource::File(file)) => {
            tls::open(&source)?;
            Ok(format!(
                "using {} as is (--ca files are never created)\n",
                file.display()
            ))
        }
    }
}

fn line(path: &std::path::Path) -> String {
    format!("{}\n", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> CaCli {
        CaCli::try_parse_from(args.iter().copied()).unwrap()
    }

    #[test]
    fn init_then_path_and_export_name_the_same_certificate() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("conf");
        let dir_arg = dir.to_str().unwrap();
        let path = act(&cli(&["ca", "path", "--confdir", dir_arg])).unwrap();
        assert!(!dir.exists(), "path creates nothing");
        let init = act(&cli(&["ca", "init", "--confdir", dir_arg])).unwrap();
        assert!(init.starts_with("created: "), "{init}");
        assert!(act(&cli(&["ca", "--confdir", dir_arg, "init"]))
            .unwrap()
            .starts_with("already there"));
        let exported = act(&cli(&["ca", "export", "--confdir", dir_arg])).unwrap();
        assert_eq!(std::fs::read_to_string(path.trim_end()).unwrap(), exported);
        assert!(wanted(&["ca".into()]) && !wanted(&["-m".into(), "ca".into()]));
    }
}
