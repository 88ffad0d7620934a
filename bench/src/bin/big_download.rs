//! big_download: record's memory while a big file crosses it.
//!
//! A client downloads one file through `record -m regular` (CONNECT, TLS
//! interception, the upstream over TLS too), as `curl` of a release
//! tarball does under `record -- claude`. The file is incompressible bytes
//! from an in-process HTTPS upstream. Each size runs in a fresh record,
//! side by side, so the rows show whether record's memory grows with the
//! body: record's idle peak RSS (VmHWM), its peak while the body crosses it
//! and is written to the archive, the ratio of the peaks against the
//! smallest size, the download's speed, and the archive read back (the
//! entry is there with the body's size; all of its base64 is in the file).
//!
//!     cargo build --release -p cctap-recorder -p cctap-bench
//!     target/release/big_download --sizes-mib 16,1024
//!
//! Needs room in `$TMPDIR` for the spill file (the body's size) and in
//! `--dir` for the archive (about the body's size, compressed).

use anyhow::{bail, Context};
use cctap_bench::procs::{free_port, status_kib, Proc};
use cctap_bench::tls;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const MIB: u64 = 1 << 20;

/// Peak RSS of record while a big download crosses it, against a small one.
#[derive(Debug, Parser)]
struct Args {
    /// Download sizes in MiB, one fresh record each; the first is the baseline.
    #[arg(long, value_delimiter = ',', default_value = "16,1024")]
    sizes_mib: Vec<u64>,
    /// The record binary [default: beside this one].
    #[arg(long)]
    record: Option<PathBuf>,
    /// Where archives go [default: a temporary directory, removed after].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Archive suffix: `har.zst` (record's default) or `har`.
    #[arg(long, default_value = "har.zst")]
    format: String,
}

/// One size's figures.
struct Row {
    size_mib: u64,
    idle_mib: f64,
    peak_mib: f64,
    download_s: f64,
    written_s: f64,
    archive_mib: f64,
    read_back: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let record = match &args.record {
        Some(r) => r.clone(),
        None => std::env::current_exe()?.with_file_name("record"),
    };
    let temp = tempfile_dir(args.dir.as_deref())?;
    let (pem, server) = tls::self_signed_server()?;
    let up_cert = temp.join("upstream.pem");
    std::fs::write(&up_cert, pem)?;
    let upstream = TcpListener::bind("127.0.0.1:0").await?;
    let up_port = upstream.local_addr()?.port();
    tokio::spawn(serve_upstream(
        upstream,
        tokio_rustls::TlsAcceptor::from(Arc::new(server)),
    ));
    let mut rows = Vec::new();
    for &size_mib in &args.sizes_mib {
        eprintln!("big_download: {size_mib} MiB through record -m regular …");
        rows.push(one(&record, &temp, up_port, size_mib, &args.format).await?);
    }
    print(&rows, &args.format);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    Ok(())
}

fn tempfile_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(d) => d.to_owned(),
        None => std::env::temp_dir().join(format!("cctap-big-download-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Downloads `size_mib` through a fresh record and measures it.
async fn one(
    record: &Path,
    dir: &Path,
    up_port: u16,
    size_mib: u64,
    format: &str,
) -> anyhow::Result<Row> {
    let port = free_port()?;
    let archive = dir.join(format!("download-{size_mib}.{format}"));
    let mut cmd = Command::new(record);
    cmd.args([
        "-m",
        "regular",
        "-q",
        "--ssl-insecure",
        "-p",
        &port.to_string(),
    ]);
    cmd.arg("--confdir").arg(dir.join("record-conf"));
    cmd.arg("-o").arg(&archive);
    let mut proc = Proc::spawn(
        "record",
        &mut cmd,
        &dir.join(format!("record-{size_mib}.log")),
    )?;
    proc.wait_port(port, Duration::from_secs(15))?;
    let pid = proc.pid();
    let idle_mib = kib_mib(status_kib(pid, "VmHWM:"));
    let sampler = Sampler::start(pid);

    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls::client_config(
        &dir.join("record-conf").join("cctap-ca-cert.pem"),
    )?));
    let start = Instant::now();
    let got = download(&connector, port, up_port, size_mib * MIB).await?;
    let download_s = start.elapsed().as_secs_f64();
    if got != size_mib * MIB {
        bail!("the client got {got} bytes of {}", size_mib * MIB);
    }
    // Stopping waits for the writer to finish the entry and the archive.
    let status = tokio::task::spawn_blocking(move || proc.stop(Duration::from_secs(900))).await??;
    let written_s = start.elapsed().as_secs_f64();
    let peak_mib = sampler.stop();
    if !status.success() {
        bail!("record exited with {status}");
    }
    let archive_mib = std::fs::metadata(&archive)?.len() as f64 / MIB as f64;
    let read_back = read_back(&archive, size_mib * MIB)?;
    Ok(Row {
        size_mib,
        idle_mib,
        peak_mib,
        download_s,
        written_s,
        archive_mib,
        read_back,
    })
}

/// `GET /SIZE` through a CONNECT tunnel; the body's length.
async fn download(
    connector: &tokio_rustls::TlsConnector,
    proxy: u16,
    up_port: u16,
    size: u64,
) -> anyhow::Result<u64> {
    let mut tls = tls::open(connector, Some(proxy), up_port).await?;
    let req =
        format!("GET /{size} HTTP/1.1\r\nhost: 127.0.0.1:{up_port}\r\nconnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut body = 0u64;
    loop {
        let n = match tls.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            // rustls: the peer closed without close_notify after the body.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        };
        if head.ends_with(b"\r\n\r\n") {
            body += n as u64;
            continue;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            body += (head.len() - at - 4) as u64;
            head.truncate(at + 4);
        }
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        bail!("answered {:?}", String::from_utf8_lossy(&head));
    }
    Ok(body)
}

/// Serves `GET /SIZE`: SIZE incompressible bytes, one request a connection.
async fn serve_upstream(listener: TcpListener, acceptor: tokio_rustls::TlsAcceptor) {
    while let Ok((sock, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(sock).await else {
                return;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if tls.read(&mut byte).await.unwrap_or(0) == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            let size: u64 = String::from_utf8_lossy(&head)
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.trim_start_matches('/').parse().ok())
                .unwrap_or(0);
            let top = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {size}\r\n\r\n"
            );
            if tls.write_all(top.as_bytes()).await.is_err() {
                return;
            }
            let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
            let mut piece = vec![0u8; 256 * 1024];
            let mut left = size;
            while left > 0 {
                noise.fill(&mut piece);
                let n = left.min(piece.len() as u64) as usize;
                if tls.write_all(&piece[..n]).await.is_err() {
                    return;
                }
                left -= n as u64;
            }
            let _ = tls.shutdown().await;
        });
    }
}

/// xorshift64: bytes no compressor shrinks, cheap to make.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            chunk.copy_from_slice(&self.0.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Samples a process's peak RSS (VmHWM) until stopped or it exits.
struct Sampler {
    done: Arc<AtomicBool>,
    peak_kib: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let done = Arc::new(AtomicBool::new(false));
        let peak_kib = Arc::new(AtomicU64::new(0));
        let (d, p) = (done.clone(), peak_kib.clone());
        let thread = std::thread::spawn(move || {
            while !d.load(Relaxed) {
                match status_kib(pid, "VmHWM:") {
                    Some(kib) => p.fetch_max(kib, Relaxed),
                    None => break, // Exited.
                };
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Sampler {
            done,
            peak_kib,
            thread,
        }
    }

    /// The highest VmHWM seen, in MiB.
    fn stop(self) -> f64 {
        self.done.store(true, Relaxed);
        let _ = self.thread.join();
        self.peak_kib.load(Relaxed) as f64 / 1024.0
    }
}

fn kib_mib(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |k| k as f64 / 1024.0)
}

/// Reads the archive back as `analyze` does: the download's entry with its
/// size, its base64 text (cut at the reader's 64 MiB string bound, with the
/// warning, past that); and the whole document streamed through, to show
/// that all of the base64 is in the file.
fn read_back(archive: &Path, size: u64) -> anyhow::Result<String> {
    let base64_len = size.div_ceil(3) * 4;
    let reader = cctap_archive::AnyReader::open(archive)?;
    let mut found = None;
    let mut entries = 0;
    for entry in reader {
        let entry = entry?;
        entries += 1;
        if entry.har.request.url.ends_with(&format!("/{size}")) {
            let content = &entry.har.response.content;
            let text_len = content.text.as_ref().map_or(0, String::len) as u64;
            let cut = entry.warnings.iter().any(|w| w.problem.contains("was cut"));
            found = Some((content.size, content.encoding.clone(), text_len, cut));
        }
    }
    let Some((content_size, encoding, text_len, cut)) = found else {
        bail!(
            "{}: no entry for the download among {entries}",
            archive.display()
        );
    };
    let text_ok = text_len == base64_len
        || (cut && text_len == cctap_archive::reader::MAX_STRING.min(base64_len));
    if content_size != size as i64 || encoding.as_deref() != Some("base64") || !text_ok {
        bail!("the entry has size {content_size}, encoding {encoding:?}, {text_len} text bytes");
    }
    let document = document_len(archive)?;
    if document < base64_len {
        bail!("the document is {document} bytes, less than the body's base64");
    }
    let how = if cut {
        "text read back cut at 64 MiB with the warning"
    } else {
        "text read back whole"
    };
    let plural = if entries == 1 { "entry" } else { "entries" };
    Ok(format!(
        "{entries} {plural}; the body's: {size} bytes, base64, {how}; document {:.0} MiB",
        document as f64 / MIB as f64
    ))
}

/// The archive's decompressed length, streamed.
fn document_len(archive: &Path) -> anyhow::Result<u64> {
    let file = std::fs::File::open(archive)?;
    let mut decoded: Box<dyn std::io::Read> = match archive.extension() {
        Some(e) if e == "zst" => Box::new(zstd::stream::read::Decoder::new(file)?),
        _ => Box::new(file),
    };
    Ok(std::io::copy(&mut decoded, &mut std::io::sink())?)
}

fn print(rows: &[Row], format: &str) {
    println!(
        "record -m regular -o download.{format}, one download each (release; VmHWM from /proc):"
    );
    println!();
    println!(
        "| download | record idle peak | peak during download + write | over idle | × the first row's peak | download | until archived | archive | read back |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let base = rows.first().map_or(f64::NAN, |r| r.peak_mib);
    for r in rows {
        println!(
            "| {} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2}× | {:.1} s ({:.0} MiB/s) | {:.1} s | {:.1} MiB | {} |",
            r.size_mib,
            r.idle_mib,
            r.peak_mib,
            r.peak_mib - r.idle_mib,
            r.peak_mib / base,
            r.download_s,
            r.size_mib as f64 / r.download_s,
            r.written_s,
            r.archive_mib,
            r.read_back
        );
    }
}
