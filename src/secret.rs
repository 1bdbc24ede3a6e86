//! Secrets (passwords, tokens, keys): where they come from (`*_env`,
//! `*_file`, `*_credential` — a systemd credential under
//! `$CREDENTIALS_DIRECTORY` — or in clear when the user insists) and a type
//! that never prints its value, so a secret cannot leak into a log, a report
//! or a panic.

use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value. `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from somewhere safe.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value, for the one call that needs it (a connection, a signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The ways a secret can be given in the configuration, as written. Sections
/// declare explicit fields (`NAME`, `NAME_env`, `NAME_file`,
/// `NAME_credential`); the caller builds the source from them and passes
/// the key's base name when resolving.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SecretSource {
    /// The value in clear (discouraged).
    pub value: Option<String>,
    /// The name of an environment variable holding it.
    pub env: Option<String>,
    /// A file holding it (trailing newline removed).
    pub file: Option<PathBuf>,
    /// The name of a systemd credential (`LoadCredential=NAME:...` in the
    /// unit), read from `$CREDENTIALS_DIRECTORY/NAME`.
    pub credential: Option<String>,
}

impl SecretSource {
    /// Builds a source from the `NAME`, `NAME_env` and `NAME_file` keys.
    pub fn new(value: Option<String>, env: Option<String>, file: Option<PathBuf>) -> SecretSource {
        SecretSource {
            value,
            env,
            file,
            credential: None,
        }
    }

    /// Adds the `NAME_credential` key's value.
    pub fn with_credential(mut self, credential: Option<String>) -> SecretSource {
        self.credential = credential;
        self
    }

    /// Whether any of the forms was given.
    pub fn is_given(&self) -> bool {
        self.value.is_some()
            || self.env.is_some()
            || self.file.is_some()
            || self.credential.is_some()
    }

    /// Checks, without reading anything, that at most one form is given
    /// (the configuration loader calls this; [`resolve`](Self::resolve) too).
    pub fn check_forms(&self, key: &str) -> Result<(), String> {
        let given = [
            self.value.is_some(),
            self.env.is_some(),
            self.file.is_some(),
            self.credential.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(format!(
                "{key}: give only one of {key}, {key}_env, {key}_file and {key}_credential"
            ));
        }
        Ok(())
    }

    /// Reads the secret. `key` is the base key name (`sip.password`) used in
    /// error messages; the value itself never appears in one.
    pub fn resolve(&self, key: &str) -> Result<Option<Secret>, String> {
        self.check_forms(key)?;
        if let Some(value) = &self.value {
            return Ok(Some(Secret::new(value.clone())));
        }
        if let Some(var) = &self.env {
            return match std::env::var(var) {
                Ok(value) => Ok(Some(Secret::new(value))),
                Err(std::env::VarError::NotPresent) => {
                    Err(format!("{key}_env: environment variable {var} is not set"))
                }
                Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                    "{key}_env: environment variable {var} is not valid UTF-8"
                )),
            };
        }
        if let Some(path) = &self.file {
            return read_secret_file(path)
                .map(Some)
                .map_err(|e| format!("{key}_file: cannot read {}: {e}", path.display()));
        }
        if let Some(name) = &self.credential {
            let directory = std::env::var_os(CREDENTIALS_DIRECTORY).map(PathBuf::from);
            return credential(name, directory.as_deref())
                .map(Some)
                .map_err(|e| format!("{key}_credential: {e}"));
        }
        Ok(None)
    }
}

/// The variable systemd sets for a unit with `LoadCredential=`.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

fn read_secret_file(path: &Path) -> std::io::Result<Secret> {
    let text = std::fs::read_to_string(path)?;
    Ok(Secret::new(text.trim_end_matches(['\r', '\n'])))
}

/// Reads the credential `name` from `directory` (`$CREDENTIALS_DIRECTORY`).
fn credential(name: &str, directory: Option<&Path>) -> Result<Secret, String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(format!(
            "{name:?} is not a credential name (a file name such as \"kamailio-db-password\")"
        ));
    }
    let Some(directory) = directory else {
        return Err(format!(
            "${CREDENTIALS_DIRECTORY} is not set: systemd sets it for a unit with \
             LoadCredential={name}:/path/to/secret (a pass run by hand has no credentials: \
             start the unit, or use systemd-run -p LoadCredential=...)"
        ));
    };
    let path = directory.join(name);
    read_secret_file(&path).map_err(|e| {
        format!(
            "cannot read credential {} ({e}): does the unit have LoadCredential={name}:...?",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn reads_a_file_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let source = SecretSource::new(None, None, Some(path));
        assert_eq!(
            source.resolve("sip.password").unwrap().unwrap().expose(),
            "s3cret"
        );
    }

    #[test]
    fn refuses_two_forms_and_missing_variables() {
        let both = SecretSource::new(Some("a".into()), Some("B".into()), None);
        assert!(both.resolve("k").unwrap_err().contains("only one"));
        let missing = SecretSource::new(None, Some("SCALER_TEST_SURELY_UNSET_VAR".into()), None);
        let err = missing.resolve("sip.password").unwrap_err();
        assert!(err.contains("SCALER_TEST_SURELY_UNSET_VAR"), "{err}");
    }

    #[test]
    fn reads_a_credential_from_the_credentials_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db-password"), "s3cret\n").unwrap();
        let secret = credential("db-password", Some(dir.path())).unwrap();
        assert_eq!(secret.expose(), "s3cret");
        let missing = credential("other", Some(dir.path())).unwrap_err();
        assert!(missing.contains("LoadCredential=other:"), "{missing}");
        let unset = credential("db-password", None).unwrap_err();
        assert!(
            unset.contains("$CREDENTIALS_DIRECTORY is not set"),
            "{unset}"
        );
        for bad in ["", "..", "a/b"] {
            assert!(credential(bad, Some(dir.path())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_credential_and_another_form_are_refused() {
        let both = SecretSource::new(None, Some("B".into()), None)
            .with_credential(Some("db-password".into()));
        assert!(both.is_given());
        let err = both.resolve("sip.password").unwrap_err();
        assert!(err.contains("sip.password_credential"), "{err}");
    }
}
