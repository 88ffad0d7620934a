//! Real clients against a leaf, trusting the CA only through the files `trust.rs` writes:
//! Node (Claude Code's runtime) via `NODE_EXTRA_CA_CERTS`, curl via `CURL_CA_BUNDLE`.
//! Each is skipped, saying so, when the program is not installed.

use std::path::Path;
use std::sync::Arc;

use super::ca::{generate_pem, CertificateAuthority};
use super::leaf::{Alpn, LeafMinter};
use super::test_support::{run_client, serve_https};
use super::trust::ChildTrust;

/// Node script: GET the URL, print `STATUS BODY`, exit 1 with the error otherwise.
const NODE_GET: &str = "require('https').get(process.argv[1], r => { let b = ''; \
    r.on('data', d => b += d); r.on('end', () => console.log(r.statusCode, b)); }) \
    .on('error', e => { console.error(e.code || e.message); process.exit(1); });";

fn ca() -> Arc<CertificateAuthority> {
    let (text, _) = generate_pem().expect("generate");
    Arc::new(CertificateAuthority::from_pem(text.as_bytes(), Path::new("t")).expect("ca"))
}

#[tokio::test]
async fn node_trusts_leaves_through_node_extra_ca_certs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca = ca();
    let trust = ChildTrust::write(&ca, tmp.path(), None).expect("trust files");
    let minter = LeafMinter::new(Arc::clone(&ca)).expect("minter");
    for host in ["localhost", "127.0.0.1"] {
        let port = serve_https(minter.server_config(host, Alpn::Http11).expect("cfg"), 1).await;
        let url = format!("https://{host}:{port}/");
        let env = [("NODE_EXTRA_CA_CERTS", trust.node_extra_ca_certs.as_path())];
        let Some(out) = run_client("node", &["-e", NODE_GET, &url], &env).await else {
            return;
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.trim(), "200 ok", "{host}");
    }
    // Control: without the variable Node refuses the same leaf.
    let port = serve_https(
        minter
            .server_config("localhost", Alpn::Http11)
            .expect("cfg"),
        1,
    )
    .await;
    let url = format!("https://localhost:{port}/");
    let out = run_client("node", &["-e", NODE_GET, &url], &[])
        .await
        .expect("node ran before");
    assert!(
        !out.status.success(),
        "Node must not trust the leaf without our CA"
    );
}

#[tokio::test]
async fn curl_trusts_leaves_through_the_bundle_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca = ca();
    let trust = ChildTrust::write(&ca, tmp.path(), None).expect("trust files");
    let minter = LeafMinter::new(Arc::clone(&ca)).expect("minter");
    let config = minter
        .server_config("localhost", Alpn::Http11)
        .expect("cfg");
    let port = serve_https(config, 1).await;
    let url = format!("https://localhost:{port}/");
    let env = [("CURL_CA_BUNDLE", trust.ca_bundle.as_path())];
    let args = ["-sS", "--http1.1", "--max-time", "10", &url];
    let Some(out) = run_client("curl", &args, &env).await else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok");
    // Control: curl's own trust store does not know our CA.
    let port = serve_https(
        minter
            .server_config("localhost", Alpn::Http11)
            .expect("cfg"),
        1,
    )
    .await;
    let url = format!("https://localhost:{port}/");
    let args = ["-sS", "--http1.1", "--max-time", "10", &url];
    let out = run_client("curl", &args, &[])
        .await
        .expect("curl ran before");
    assert!(
        !out.status.success(),
        "curl must not trust the leaf without the bundle"
    );
}
