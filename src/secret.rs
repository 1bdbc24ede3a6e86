//! Secrets (passwords, tokens, keys): where they come from (`*_env`,
//! `*_file`, or in clear when the user insists) and a type that never prints
//! its value, so a secret cannot leak into a log, a report or a panic.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

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

/// The three ways a secret can be given in the configuration, as written.
/// Embed it in a section with `#[serde(flatten)]`-free explicit fields: the
/// caller passes the three values and the key's base name.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SecretSource {
    /// The value in clear (discouraged).
    pub value: Option<String>,
    /// The name of an environment variable holding it.
    pub env: Option<String>,
    /// A file holding it (trailing newline removed).
    pub file: Option<PathBuf>,
}

impl SecretSource {
    /// Builds a source from the `NAME`, `NAME_env` and `NAME_file` keys.
    pub fn new(value: Option<String>, env: Option<String>, file: Option<PathBuf>) -> SecretSource {
        SecretSource { value, env, file }
    }

    /// Whether any of the three forms was given.
    pub fn is_given(&self) -> bool {
        self.value.is_some() || self.env.is_some() || self.file.is_some()
    }

    /// Checks, without reading anything, that at most one form is given
    /// (the configuration loader calls this; [`resolve`](Self::resolve) too).
    pub fn check_forms(&self, key: &str) -> Result<(), String> {
        let given = [
            self.value.is_some(),
            self.env.is_some(),
            self.file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(format!(
                "{key}: give only one of {key}, {key}_env and {key}_file"
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
            return match std::fs::read_to_string(path) {
                Ok(text) => Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n'])))),
                Err(e) => Err(format!("{key}_file: cannot read {}: {e}", path.display())),
            };
        }
        Ok(None)
    }
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
}
