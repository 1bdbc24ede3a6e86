//! Whether the files a pass writes are usable by the user it runs as: the
//! pass lock, the state file, the metrics textfile, the `local` provider's
//! cloud file, and the lock files beside them. Checked before a pass acts
//! (and by `check`), so a file left by a pass run as another user, or a
//! directory this user cannot write, is a configuration error (exit 78) that
//! names the path and the fix, instead of a pass failing halfway every
//! minute. scaler's own files (lock, state, local cloud) must belong to the
//! user running the pass, and root must not write into a directory another
//! user owns (its files would lock that user out: run passes by hand as the
//! directory's owner, `sudo -u scaler …`); the metrics file, replaced by a
//! rename and only read by a collector, needs a writable directory.

use crate::config::{Config, ProviderConfig};
use crate::error::Error;
use crate::lock::Backend;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a file is for, in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The pass lock (`lock.path`).
    Lock,
    /// The state file (`state.path`) and its lock.
    State,
    /// The metrics textfile.
    Metrics,
    /// The `local` provider's state file and its lock.
    LocalCloud,
}

impl Role {
    fn what(self) -> &'static str {
        match self {
            Role::Lock => "lock file",
            Role::State => "state file",
            Role::Metrics => "metrics file",
            Role::LocalCloud => "local provider state file",
        }
    }

    /// Whether the file is scaler's own, so it must belong to the user
    /// running the pass. The metrics file is only replaced (by a rename) and
    /// read by a collector: its directory must be writable, its owner is
    /// whoever wrote it last.
    fn owned(self) -> bool {
        self != Role::Metrics
    }

    fn key(self) -> &'static str {
        match self {
            Role::Lock => "lock.path",
            Role::State => "state.path",
            Role::Metrics => "metrics.textfile (or --metrics-file)",
            Role::LocalCloud => "provider.state_file",
        }
    }
}

/// One file a pass writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// What it is for.
    pub role: Role,
    /// Where it is.
    pub path: PathBuf,
    /// Replaced by a rename (its directory must be writable), rather than
    /// opened in place.
    pub replaced: bool,
}

fn sidecar_lock(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The files a `run` or `cleanup` pass of `config` may write.
pub fn written(config: &Config, metrics_flag: Option<&Path>) -> Vec<Written> {
    let file = |role, path: &Path, replaced| Written {
        role,
        path: path.to_path_buf(),
        replaced,
    };
    let mut files = Vec::new();
    if config.lock.backend == Backend::File {
        files.push(file(Role::Lock, &config.lock.path, false));
    }
    files.push(file(Role::State, &config.state_path, true));
    files.push(file(Role::State, &sidecar_lock(&config.state_path), false));
    if let Some(textfile) = crate::metrics::textfile(config, metrics_flag) {
        files.push(file(Role::Metrics, textfile, true));
    }
    if let ProviderConfig::Local(local) = &config.provider {
        files.push(file(Role::LocalCloud, &local.state_file, true));
        files.push(file(
            Role::LocalCloud,
            &sidecar_lock(&local.state_file),
            false,
        ));
    }
    files
}

/// A user, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The numeric id.
    pub uid: u32,
    /// The name, when the user database has one.
    pub name: Option<String>,
}

impl User {
    /// The user with this id, named from the user database.
    pub fn from_uid(uid: u32) -> User {
        User {
            uid,
            name: user_name(uid),
        }
    }

    /// The effective user of this process.
    pub fn current() -> User {
        // SAFETY: geteuid has no preconditions and cannot fail.
        User::from_uid(unsafe { libc::geteuid() })
    }

    /// The name for a command line (`sudo -u NAME`, `chown NAME`).
    fn arg(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("#{}", self.uid))
    }
}

impl std::fmt::Display for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} (uid {})", self.uid),
            None => write!(f, "uid {}", self.uid),
        }
    }
}

fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to fill.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to memory that outlives the call, and the
    // buffer's length is the one given.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string in `buffer`.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// Whether this process may write (and, for a directory, enter) `path`, by
/// its effective ids, as the kernel would decide.
fn access(path: &Path, directory: bool) -> std::io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let mode = if directory {
        libc::W_OK | libc::X_OK
    } else {
        libc::W_OK
    };
    // SAFETY: c_path is a valid NUL-terminated string for the whole call.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), mode, libc::AT_EACCESS) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The fix for a file that belongs to `owner` while the pass runs as `me`.
fn foreign_file(file: &Written, owner: &User, me: &User) -> String {
    let path = file.path.display();
    let head = format!(
        "{} {path} belongs to {owner}, but this pass runs as {me}",
        file.role.what()
    );
    if owner.uid == 0 {
        format!(
            "{head}: a pass run as root left it; remove it or `chown {me_arg}: {path}`, \
             and run passes by hand as that user (`sudo -u {me_arg} scaler …`)",
            me_arg = me.arg()
        )
    } else {
        format!(
            "{head}: run scaler as its owner (`sudo -u {owner_arg} scaler …`), or \
             `chown {me_arg}: {path}`",
            owner_arg = owner.arg(),
            me_arg = me.arg()
        )
    }
}

/// What is wrong with the directory `file` would be created or replaced in.
fn directory_problem(file: &Written, me: &User) -> Option<String> {
    let parent = parent_of(&file.path);
    let existing = parent
        .ancestors()
        .find(|d| d.exists())
        .unwrap_or(Path::new("/"));
    let what = file.role.what();
    let path = file.path.display();
    if !existing.is_dir() {
        return Some(format!(
            "{what} {path}: {} is not a directory; set {} to another path",
            existing.display(),
            file.role.key()
        ));
    }
    let Err(e) = access(existing, true) else {
        return None;
    };
    let hint = if e.raw_os_error() == Some(libc::EROFS) {
        " (read-only: under systemd, the unit's ReadWritePaths= must list it)"
    } else {
        ""
    };
    let me_arg = me.arg();
    let (creates, fix) = if existing == parent {
        (
            String::new(),
            format!(
                "give that user write access (`setfacl -m u:{me_arg}:rwx {}`)",
                parent.display()
            ),
        )
    } else {
        (
            format!(" (to create {})", parent.display()),
            format!(
                "create the directory for that user (`install -d -o {me_arg} {}`)",
                parent.display()
            ),
        )
    };
    Some(format!(
        "{what} {path}: {me} cannot write in {}{creates}: {e}{hint}; {fix}, run scaler as \
         a user who can, or set {} to another path",
        existing.display(),
        file.role.key(),
    ))
}

/// What makes `file` unusable by `me`, if anything.
pub fn problem(file: &Written, me: &User) -> Option<String> {
    let what = file.role.what();
    let path = file.path.display();
    let parent = parent_of(&file.path);
    if me.uid == 0
        && file.role.owned()
        && let Ok(dir) = std::fs::metadata(parent)
        && dir.is_dir()
        && dir.uid() != 0
    {
        // Said of the directory, so files sharing it give one message.
        let owner = User::from_uid(dir.uid());
        return Some(format!(
            "{} belongs to {owner}: a pass run as root would leave files there that \
             passes as {owner} cannot use; run scaler as that user (`sudo -u {} scaler …`)",
            parent.display(),
            owner.arg()
        ));
    }
    match std::fs::metadata(&file.path) {
        Ok(meta) if meta.is_dir() => Some(format!(
            "{what} {path} is a directory; set {} to a file path",
            file.role.key()
        )),
        Ok(meta) if file.role.owned() && meta.uid() != me.uid => {
            Some(foreign_file(file, &User::from_uid(meta.uid()), me))
        }
        // Replaced by a rename: what matters is the directory.
        Ok(_) if file.replaced => directory_problem(file, me),
        Ok(_) => match access(&file.path, false) {
            Err(e) => Some(format!(
                "{what} {path} is not writable by {me}: {e}; `chmod u+w {path}`"
            )),
            Ok(()) => None,
        },
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            directory_problem(file, me)
        }
        Err(e) => Some(format!("{what} {path}: {e}")),
    }
}

/// Every problem with the files a pass of `config` writes, one message each.
pub fn problems(config: &Config, metrics_flag: Option<&Path>) -> Vec<String> {
    let me = User::current();
    let mut problems: Vec<String> = Vec::new();
    for found in written(config, metrics_flag)
        .iter()
        .filter_map(|file| problem(file, &me))
    {
        if !problems.contains(&found) {
            problems.push(found);
        }
    }
    problems
}

/// Fails with a configuration error naming each unusable file, before a
/// pass that writes (a `run` or `cleanup` that is not a dry run) acts.
pub fn check(config: &Config, metrics_flag: Option<&Path>) -> Result<(), Error> {
    let problems = problems(config, metrics_flag);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{}: {}",
        config.path.display(),
        problems.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(dir: &Path, name: &str, replaced: bool) -> Written {
        Written {
            role: Role::Metrics,
            path: dir.join(name),
            replaced,
        }
    }

    #[test]
    fn a_missing_file_in_a_writable_directory_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let me = User::current();
        assert_eq!(problem(&written(dir.path(), "a/b/m.prom", true), &me), None);
        std::fs::write(dir.path().join("m.prom"), "").unwrap();
        assert_eq!(problem(&written(dir.path(), "m.prom", true), &me), None);
    }

    #[test]
    fn a_file_of_another_user_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass.lock"), "").unwrap();
        let file = Written {
            role: Role::Lock,
            ..written(dir.path(), "pass.lock", false)
        };
        // As seen by a user who does not own it (whoever runs the test owns it).
        let me = User::current();
        let other = User {
            uid: me.uid + 4242,
            name: Some("scaler".into()),
        };
        let message = problem(&file, &other).unwrap();
        assert!(
            message.contains(&format!("{}", file.path.display())),
            "{message}"
        );
        assert!(message.contains(&format!("belongs to {me}")), "{message}");
        if me.uid == 0 {
            assert!(message.contains("chown scaler:"), "{message}");
            assert!(message.contains("sudo -u scaler"), "{message}");
        }
    }

    #[test]
    fn a_directory_in_place_of_the_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("m.prom")).unwrap();
        let message = problem(&written(dir.path(), "m.prom", true), &User::current()).unwrap();
        assert!(message.contains("is a directory"), "{message}");
        assert!(message.contains("metrics.textfile"), "{message}");
    }

    #[test]
    fn a_file_where_a_directory_should_be_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "").unwrap();
        let message = problem(&written(dir.path(), "f/m.prom", true), &User::current()).unwrap();
        assert!(message.contains("is not a directory"), "{message}");
    }

    #[test]
    fn root_is_refused_another_users_directory_but_not_a_collectors() {
        if User::current().uid != 0 {
            return; // Needs chown: the suite runs as root here and in CI.
        }
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(4242), Some(4242)).unwrap();
        let root = User::from_uid(0);
        let lock = Written {
            role: Role::Lock,
            ..written(dir.path(), "pass.lock", false)
        };
        let message = problem(&lock, &root).unwrap();
        assert!(message.contains("belongs to"), "{message}");
        assert!(message.contains("sudo -u "), "{message}");
        // node_exporter's directory: root's metrics file there harms no one.
        assert_eq!(problem(&written(dir.path(), "m.prom", true), &root), None);
        std::fs::write(dir.path().join("m.prom"), "").unwrap();
        std::os::unix::fs::chown(dir.path().join("m.prom"), Some(4242), None).unwrap();
        assert_eq!(problem(&written(dir.path(), "m.prom", true), &root), None);
    }

    #[test]
    fn users_are_named() {
        assert_eq!(User::from_uid(0).name.as_deref(), Some("root"));
        assert_eq!(format!("{}", User::from_uid(0)), "root (uid 0)");
        let nobody = User {
            uid: 4_000_000_000,
            name: None,
        };
        assert_eq!(nobody.to_string(), "uid 4000000000");
        assert_eq!(nobody.arg(), "#4000000000");
    }
}
