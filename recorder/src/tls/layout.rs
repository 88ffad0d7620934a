//! Where the CA lives on disk, and how its files are written.
//!
//! The layout is mitmproxy's confdir layout with basename `cctap`:
//! `cctap-ca.pem` (private key then certificate; 0600), `cctap-ca-cert.pem` and
//! `cctap-ca-cert.cer` (the certificate alone, both PEM: mitmproxy writes the `.cer` as a PEM
//! copy for Android). mitmproxy only ever looks for basename `mitmproxy`, so a newly created
//! CA also gets `mitmproxy-ca*.pem`/`.cer` symlinks to these files: `mitmdump --set
//! confdir=~/.cctap` then uses our CA. In the other direction a confdir holding only
//! `mitmproxy-ca.pem` (e.g. `--confdir ~/.mitmproxy`) is used as it is.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{Result, TlsError};

/// Default confdir, under the home directory.
pub const DEFAULT_CONFDIR_NAME: &str = ".cctap";
/// Our basename in the confdir layout.
pub const BASENAME: &str = "cctap";
/// mitmproxy's fixed basename.
pub const MITMPROXY_BASENAME: &str = "mitmproxy";

/// The CA files of one basename in one confdir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// The confdir itself.
    pub confdir: PathBuf,
    /// `<base>-ca.pem`: private key and certificate. The only secret file.
    pub key_and_cert: PathBuf,
    /// `<base>-ca-cert.pem`: the certificate, for trust stores and `NODE_EXTRA_CA_CERTS`.
    pub cert_pem: PathBuf,
    /// `<base>-ca-cert.cer`: the same PEM under the name Android and Windows users look for.
    pub cert_cer: PathBuf,
}

impl CaFiles {
    /// The files for `basename` in `confdir`.
    pub fn named(confdir: &Path, basename: &str) -> Self {
        Self {
            confdir: confdir.to_path_buf(),
            key_and_cert: confdir.join(format!("{basename}-ca.pem")),
            cert_pem: confdir.join(format!("{basename}-ca-cert.pem")),
            cert_cer: confdir.join(format!("{basename}-ca-cert.cer")),
        }
    }

    /// The layout in use in `confdir`: ours if `cctap-ca.pem` exists, else mitmproxy's if
    /// `mitmproxy-ca.pem` exists, else ours (to be created).
    pub fn in_use(confdir: &Path) -> Self {
        let ours = Self::named(confdir, BASENAME);
        if ours.key_and_cert.exists() {
            return ours;
        }
        let theirs = Self::named(confdir, MITMPROXY_BASENAME);
        if theirs.key_and_cert.exists() {
            return theirs;
        }
        ours
    }
}

/// `~/.cctap`.
pub fn default_confdir() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(DEFAULT_CONFDIR_NAME))
        .ok_or(TlsError::NoHome)
}

/// Creates `dir` (and parents) with mode 0700 if missing; an existing directory is left as the
/// user set it (mitmproxy makes `~/.mitmproxy` 0755; only its key file is private), unless any
/// user may write to it: then anyone could swap the CA or the trust files, and it is refused.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    let create = DirBuilder::new().recursive(true).mode(0o700).create(dir);
    create.map_err(|source| TlsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    match fs::metadata(dir) {
        Ok(meta) if meta.permissions().mode() & 0o002 != 0 => Err(TlsError::WorldWritable {
            path: dir.to_path_buf(),
            mode: meta.permissions().mode() & 0o7777,
        }),
        _ => Ok(()),
    }
}

/// Warns when a key file is readable by other users.
pub fn warn_if_exposed(key_file: &Path) {
    if let Ok(meta) = fs::metadata(key_file) {
        if meta.permissions().mode() & 0o077 != 0 {
            let file = key_file.display();
            tracing::warn!(%file, "CA private key is readable by other users: chmod 600 it");
        }
    }
}

/// Writes a secret file that must not exist yet, created 0600 (never widened then narrowed).
/// Returns `false` when another process created `path` first; the caller then loads theirs.
///
/// The content goes to a temporary file first and is hard-linked into place, so `path` never
/// holds a half-written key and two racing `record` starts agree on one CA.
pub fn write_new_secret(path: &Path, content: &[u8]) -> Result<bool> {
    let tmp = temp_sibling(path);
    let write_err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    write_file(&tmp, content, 0o600).map_err(write_err)?;
    let linked = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        // Filesystems without hard links: a plain rename, losing only the race protection.
        Err(_) => fs::rename(&tmp, path).map(|()| true).map_err(write_err),
    };
    let _ = fs::remove_file(&tmp);
    linked
}

/// Writes a public file (certificates, bundles) atomically, mode 0644, replacing any old one.
pub fn write_public(path: &Path, content: &[u8]) -> Result<()> {
    let tmp = temp_sibling(path);
    let write_err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    write_file(&tmp, content, 0o644).map_err(write_err)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        write_err(e)
    })
}

/// Writes `content` to `path` unless it already holds exactly that.
pub fn refresh_public(path: &Path, content: &[u8]) -> Result<()> {
    match fs::read(path) {
        Ok(old) if old == content => Ok(()),
        _ => write_public(path, content),
    }
}

/// Adds `mitmproxy-ca*` symlinks to our files where no such file exists, so mitmproxy pointed
/// at this confdir uses our CA. Best effort: a failure only costs that convenience.
pub fn link_mitmproxy_names(ours: &CaFiles) {
    let theirs = CaFiles::named(&ours.confdir, MITMPROXY_BASENAME);
    let pairs = [
        (&theirs.key_and_cert, &ours.key_and_cert),
        (&theirs.cert_pem, &ours.cert_pem),
        (&theirs.cert_cer, &ours.cert_cer),
    ];
    for (link, target) in pairs {
        // Relative targets keep the confdir movable.
        let Some(name) = target.file_name() else {
            continue;
        };
        match std::os::unix::fs::symlink(name, link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => tracing::debug!(link = %link.display(), error = %e, "no mitmproxy alias"),
        }
    }
}

/// Creates `path` fresh with `mode` and writes `content`, synced to disk.
fn write_file(path: &Path, content: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

/// `<path>.tmp-<pid>-<n>` beside `path`, so the final rename or link stays on one filesystem;
/// unique per process and per call, so concurrent writers never share a temporary file.
fn temp_sibling(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn a_world_writable_dir_is_refused_with_the_fix() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("confdir");
        fs::create_dir(&dir).expect("dir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = ensure_private_dir(&dir).expect_err("a 0777 confdir was used");
        let text = err.to_string();
        assert!(
            text.contains("chmod 700") && text.contains("0777"),
            "{text}"
        );
        // mitmproxy's 0755 is fine.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        ensure_private_dir(&dir).expect("a 0755 confdir");
    }

    #[test]
    fn private_dir_is_0700_and_secret_is_0600() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a/b/confdir");
        ensure_private_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), 0o700);

        let key = dir.join("k.pem");
        assert!(write_new_secret(&key, b"secret").expect("write"));
        assert_eq!(mode(&key), 0o600);
        assert_eq!(fs::read(&key).expect("read"), b"secret");
        // Second writer loses the race and leaves the first content in place.
        assert!(!write_new_secret(&key, b"other").expect("second"));
        assert_eq!(fs::read(&key).expect("read"), b"secret");
        let leftovers: Vec<_> = fs::read_dir(&dir).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "temporary files removed");
    }

    #[test]
    fn in_use_prefers_ours_then_mitmproxy() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        assert_eq!(CaFiles::in_use(dir), CaFiles::named(dir, BASENAME));
        fs::write(dir.join("mitmproxy-ca.pem"), b"x").expect("write");
        assert_eq!(
            CaFiles::in_use(dir),
            CaFiles::named(dir, MITMPROXY_BASENAME)
        );
        fs::write(dir.join("cctap-ca.pem"), b"x").expect("write");
        assert_eq!(CaFiles::in_use(dir), CaFiles::named(dir, BASENAME));
    }

    #[test]
    fn write_errors_name_the_path() {
        let err = write_public(Path::new("/nonexistent-dir-cctap/x.pem"), b"x").expect_err("fails");
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent-dir-cctap/x.pem") && text.contains("--confdir"),
            "{text}"
        );
    }
}
