//! Credentials reach upstream unchanged but never the archive: headers and
//! bodies hold `redacted:<kind>:<fp>` markers, and no byte of the fake keys
//! is anywhere in the decompressed file.

use crate::common::*;
use cctap_tests::archive;
use cctap_tests::upstream::FakeUpstream;
use sha2::{Digest, Sha256};

/// `redacted:<kind>:<first 12 hex of sha256>` as FORMAT.md defines it.
fn marker(kind: &str, secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("redacted:{kind}:{}", &hex[..12])
}

/// The part of a fake key that is its own (past the family prefix).
fn secret_part(key: &str) -> &str {
    &key[13..]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_become_markers_and_vanish_from_the_file() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let http = client();
        let leaky_body =
            messages_body(true).replace("say hi", &format!("my key is {FAKE_API_KEY} keep it"));
        let by_key = http
            .post(format!("{}/v1/messages", session.url()))
            .header("x-api-key", FAKE_API_KEY)
            .body(leaky_body.clone())
            .send()
            .await
            .expect("send with x-api-key");
        by_key.text().await.expect("stream");
        let by_token = http
            .post(format!("{}/v1/messages", session.url()))
            .header("Authorization", format!("Bearer {FAKE_OAUTH_TOKEN}"))
            .body(messages_body(false))
            .send()
            .await
            .expect("send with bearer token");
        by_token.text().await.expect("json");

        let seen = session.upstream.requests();
        assert_eq!(
            seen[0].header("x-api-key"),
            Some(FAKE_API_KEY),
            "upstream must get the real key"
        );
        assert_eq!(
            seen[0].body,
            bytes_of(&leaky_body),
            "upstream must get the body unredacted"
        );
        let bearer = format!("Bearer {FAKE_OAUTH_TOKEN}");
        assert_eq!(seen[1].header("authorization"), Some(bearer.as_str()));

        let path = session.archive.clone();
        let (entries, _, _dir) = session.finish().await;
        let keyed = entries
            .iter()
            .find(|e| req_header(e, "x-api-key").is_some())
            .expect("x-api-key entry");
        assert_eq!(
            req_header(keyed, "x-api-key"),
            Some(marker("sk-ant-api03", FAKE_API_KEY).as_str())
        );
        let body = keyed.request_text().unwrap_or("");
        assert!(
            body.contains(&marker("sk-ant-api03", FAKE_API_KEY)),
            "key in the body must be a marker: {body}"
        );
        assert!(
            keyed.redacted.iter().any(|p| p.contains("x-api-key")),
            "_redacted: {:?}",
            keyed.redacted
        );
        assert!(
            keyed.redacted.iter().any(|p| p.contains("postData")),
            "_redacted: {:?}",
            keyed.redacted
        );
        let tokened = entries
            .iter()
            .find(|e| req_header(e, "authorization").is_some())
            .expect("authorization entry");
        let want = format!("Bearer {}", marker("sk-ant-oat01", FAKE_OAUTH_TOKEN));
        assert_eq!(req_header(tokened, "authorization"), Some(want.as_str()));

        let bytes = archive::decompressed(&path).expect("decompress");
        let text = String::from_utf8_lossy(&bytes);
        for key in [FAKE_API_KEY, FAKE_OAUTH_TOKEN] {
            assert!(
                !text.contains(secret_part(key)),
                "a fake key's bytes are in the archive"
            );
        }
        assert!(
            !text.contains("FAKEFAKEFAKE"),
            "part of a fake key is in the archive"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redact_keeps_keys_and_says_so() {
    bounded("test", LIMIT, async {
        let session = Session::with(FakeUpstream::builder(), "har", &["--no-redact"]).await;
        let response = client()
            .post(format!("{}/v1/messages", session.url()))
            .header("x-api-key", FAKE_API_KEY)
            .body(messages_body(false))
            .send()
            .await
            .expect("send");
        response.text().await.expect("json");
        let stderr = session.recorder.stderr().to_lowercase();
        assert!(
            stderr.contains("redact") || stderr.contains("secret"),
            "--no-redact must warn on stderr:\n{stderr}"
        );
        let (entries, _, _dir) = session.finish().await;
        assert_eq!(req_header(&entries[0], "x-api-key"), Some(FAKE_API_KEY));
        assert!(entries[0].redacted.is_empty());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_in_urls_other_headers_and_responses_are_redacted_too() {
    bounded("test", LIMIT, async {
        let session = Session::start().await;
        let body = format!("{{\"note\":\"oauth {FAKE_OAUTH_TOKEN} end\"}}");
        let response = client()
            .post(format!(
                "{}/v1/messages?debug_key={FAKE_API_KEY}",
                session.url()
            ))
            .header(cctap_tests::upstream::BEHAVIOUR_HEADER, "echo")
            .header("content-type", "application/json")
            .header("x-debug-note", format!("client used {FAKE_API_KEY}"))
            .body(body.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(
            response.text().await.expect("echo"),
            body,
            "the client gets the secret back unchanged"
        );
        let seen = &session.upstream.requests()[0];
        assert!(
            seen.path.contains(FAKE_API_KEY),
            "upstream gets the URL unchanged"
        );
        let path = session.archive.clone();
        let (entries, _, _dir) = session.finish().await;
        let e = &entries[0];
        assert!(
            e.har
                .request
                .url
                .contains(&marker("sk-ant-api03", FAKE_API_KEY)),
            "url: {}",
            e.har.request.url
        );
        let note = req_header(e, "x-debug-note").unwrap_or("");
        assert!(
            note.contains(&marker("sk-ant-api03", FAKE_API_KEY)),
            "x-debug-note: {note}"
        );
        let answer = e.response_text().unwrap_or("");
        assert!(
            answer.contains(&marker("sk-ant-oat01", FAKE_OAUTH_TOKEN)),
            "response body: {answer}"
        );
        let bytes = archive::decompressed(&path).expect("decompress");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("FAKEFAKEFAKE"),
            "part of a fake key is in the archive"
        );
    })
    .await
}

mod families;
mod raw_upstream;
mod recoverable;
