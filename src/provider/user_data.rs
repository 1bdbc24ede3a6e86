//! User data templates shared by the cloud providers (`ec2`, `openstack`):
//! a file whose `{{name}}` placeholders are filled from
//! `[provider.user_data_vars]` and from built-ins, the way SIPMediaGW built
//! its SIP and media role scripts.
//!
//! Built-in variables:
//! - `{{pool}}`: the pool name (`pool.name`);
//! - `{{instance_name}}`: the name of the instance being created
//!   (`<pool>-<timestamp>-<n>`).
//!
//! Every `{{...}}` in the file is a placeholder (spaces inside the braces are
//! allowed: `{{ pool }}`); a name that is neither a built-in nor a key of
//! `user_data_vars`, an unclosed `{{` or an invalid name is an error found
//! when the configuration is loaded (exit 78), never a script that boots
//! with a hole in it. Variables may not redefine a built-in.
//!
//! ```
//! # use scaler::provider::user_data::UserData;
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("init.sh");
//! std::fs::write(&path, "#!/bin/sh\necho {{role}} {{ instance_name }}\n").unwrap();
//! let vars = [("role".to_string(), "sip".to_string())].into();
//! let user_data = UserData::load(&path, "gw", &vars).unwrap();
//! assert_eq!(user_data.render("gw-20260101000000-0"), "#!/bin/sh\necho sip gw-20260101000000-0\n");
//! ```

use std::collections::BTreeMap;
use std::path::Path;

/// Names filled in by `scaler` itself.
pub const BUILT_INS: [&str; 2] = ["pool", "instance_name"];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Text copied as is.
    Text(String),
    /// A value known when the configuration is loaded (a user variable or the pool).
    Fixed(String),
    /// `{{instance_name}}`.
    InstanceName,
}

/// A loaded, checked user data template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pieces: Vec<Piece>,
}

impl UserData {
    /// Reads the template at `path` and checks every placeholder against
    /// `vars` (from `[provider.user_data_vars]`) and the built-ins. The error
    /// names the file, the line and the variable.
    pub fn load(
        path: &Path,
        pool: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<UserData, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read user data template {}: {e}", path.display()))?;
        UserData::parse(&text, pool, vars)
            .map_err(|e| format!("user data template {}: {e}", path.display()))
    }

    /// Checks a template given as text (what [`UserData::load`] does after
    /// reading the file).
    pub fn parse(
        text: &str,
        pool: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<UserData, String> {
        if let Some(name) = vars.keys().find(|k| BUILT_INS.contains(&k.as_str())) {
            return Err(format!(
                "user_data_vars.{name}: {{{{{name}}}}} is a built-in and cannot be redefined"
            ));
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut consumed = 0;
        while let Some(open) = rest.find("{{") {
            let line = line_of(text, consumed + open);
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("line {line}: `{{{{` is not closed by `}}}}`"))?;
            let name = after[..close].trim();
            if !valid_name(name) {
                return Err(format!(
                    "line {line}: invalid variable name {name:?} (use letters, digits, '_', '-' or '.')"
                ));
            }
            pieces.push(match name {
                "pool" => Piece::Fixed(pool.to_string()),
                "instance_name" => Piece::InstanceName,
                _ => Piece::Fixed(vars.get(name).cloned().ok_or_else(|| {
                    format!(
                        "line {line}: variable {{{{{name}}}}} is not defined \
                         (add it to [provider.user_data_vars]; built-ins: pool, instance_name)"
                    )
                })?),
            });
            let skip = open + 2 + close + 2;
            consumed += skip;
            rest = &rest[skip..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(UserData { pieces })
    }

    /// The user data for the instance named `instance_name`.
    pub fn render(&self, instance_name: &str) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) | Piece::Fixed(text) => out.push_str(text),
                Piece::InstanceName => out.push_str(instance_name),
            }
        }
        out
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Line (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_user_variables_and_built_ins() {
        let template = "#!/bin/bash\nROLE={{role}}\nSIP={{ sip.server }}:{{port}}\n\
                        echo {{pool}}/{{instance_name}} > /etc/hostname\n# {no} {single} }}\n";
        let data = UserData::parse(
            template,
            "gw",
            &vars(&[
                ("role", "sip"),
                ("sip.server", "10.0.0.1"),
                ("port", "5060"),
            ]),
        )
        .unwrap();
        assert_eq!(
            data.render("gw-20260101000000-3"),
            "#!/bin/bash\nROLE=sip\nSIP=10.0.0.1:5060\n\
             echo gw/gw-20260101000000-3 > /etc/hostname\n# {no} {single} }}\n"
        );
        // The instance name changes per render; the rest does not.
        assert!(data.render("gw-x-1").contains("gw/gw-x-1"));
    }

    #[test]
    fn values_are_not_expanded_again() {
        let data = UserData::parse("{{a}}", "gw", &vars(&[("a", "{{b}}")])).unwrap();
        assert_eq!(data.render("n"), "{{b}}");
    }

    #[test]
    fn a_missing_variable_names_it_and_its_line() {
        let err = UserData::parse(
            "one\ntwo {{role}}\nthree {{missing}}\n",
            "gw",
            &vars(&[("role", "x")]),
        )
        .unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("{{missing}} is not defined"), "{err}");
    }

    #[test]
    fn unclosed_and_invalid_placeholders_are_errors() {
        let err = UserData::parse("a\nb {{role\n", "gw", &BTreeMap::new()).unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("not closed"),
            "{err}"
        );
        let err = UserData::parse("{{ }}", "gw", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("invalid variable name"), "{err}");
        let err = UserData::parse("{{a b}}", "gw", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("invalid variable name"), "{err}");
    }

    #[test]
    fn built_ins_cannot_be_redefined() {
        let err = UserData::parse("x", "gw", &vars(&[("pool", "other")])).unwrap_err();
        assert!(err.contains("user_data_vars.pool"), "{err}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("init.sh");
        std::fs::write(&path, "{{nope}}").unwrap();
        let err = UserData::load(&path, "gw", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("init.sh") && err.contains("nope"), "{err}");
        let err =
            UserData::load(&dir.path().join("absent.sh"), "gw", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("cannot read user data template"), "{err}");
    }
}
