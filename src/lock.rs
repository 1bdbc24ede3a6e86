//! The pass lock: an exclusive `flock` on a file held for the whole pass, so
//! two overlapping runs never both act (the second exits 75). The kernel
//! releases it when the process ends, even on SIGKILL.

use crate::error::Error;
use std::fs::{File, OpenOptions};
use std::path::Path;

/// A held lock; released when dropped or when the process exits.
#[derive(Debug)]
pub struct PassLock {
    _file: File,
}

/// Takes the lock at `path` without waiting.
pub fn acquire(path: &Path) -> Result<PassLock, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "cannot create lock directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| {
            Error::Internal(anyhow::anyhow!(
                "cannot open lock file {}: {e}",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(PassLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(format!(
            "another pass holds {}: this one did nothing",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Internal(anyhow::anyhow!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/pool.lock");
        let first = acquire(&path).unwrap();
        assert!(matches!(acquire(&path), Err(Error::Locked(_))));
        drop(first);
        acquire(&path).unwrap();
    }
}
