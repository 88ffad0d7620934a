//! Opening the files `record` writes (archives, flow files): they hold
//! whole prompts and tool output, so they are created `0600`, and a path
//! that is a symbolic link is refused rather than followed (someone could
//! have planted one where a run will write).
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// How to open an output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// Create it, or empty an existing file.
    Truncate,
    /// Create it only if nothing is there (`O_EXCL`): for default names.
    New,
    /// Create it, or write after what is there (`-w +FILE`).
    Append,
}

/// Opens `path` for writing as [`Open`] says: `0600` when created (an
/// existing file emptied is set to `0600` too), never through a symlink.
pub fn open_private(path: &Path, how: Open) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW);
    match how {
        Open::Truncate => options.create(true).truncate(true),
        Open::New => options.create_new(true),
        Open::Append => options.create(true).append(true),
    };
    let file = options.open(path).map_err(|e| explain(path, e))?;
    if how == Open::Truncate {
        let meta = file.metadata()?;
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// `ELOOP` from `O_NOFOLLOW` says "too many levels of symbolic links";
/// say what it means here.
fn explain(path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        io::Error::new(
            e.kind(),
            format!(
                "{} is a symbolic link; record does not write through one (remove it, or name the real file)",
                path.display()
            ),
        )
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_and_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.har");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_private(&path, Open::Truncate).unwrap());
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!((meta.len(), meta.permissions().mode() & 0o777), (0, 0o600));

        let fresh = dir.path().join("b.har");
        drop(open_private(&fresh, Open::Append).unwrap());
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(open_private(&fresh, Open::New).is_err(), "O_EXCL");

        let target = dir.path().join("victim");
        std::fs::write(&target, "keep me").unwrap();
        let link = dir.path().join("planted.har");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for how in [Open::Truncate, Open::Append, Open::New] {
            let err = open_private(&link, how).unwrap_err();
            assert!(
                how == Open::New || err.to_string().contains("symbolic link"),
                "{err}"
            );
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }
}
