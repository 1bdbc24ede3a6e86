//! `config import` of a SimpleScaleVM `.env` file: one `replicas` pool on
//! the `openstack` provider whose membership is SimpleScaleVM's metadata
//! pair (and server name), so the replicas it started are adopted. Both
//! generations of variable names are read (`OPENSTACK_SCALED_FLAVOR` and
//! v2.0.0's `OPENSTACK_FLAVOR`, …). Secrets are never copied: `OS_PASSWORD`
//! and the application credential secret stay in the environment, which
//! the provider reads. The self-autoscaling settings are reported as
//! replaced by a shared `[lock]`.

use super::{ImportError, Imported};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Choices the `.env` cannot make.
#[derive(Debug, Clone)]
pub struct EnvOptions {
    /// `pool.name` (default `replicas`).
    pub pool_name: Option<String>,
    /// `max_replicas` (SimpleScaleVM had no cap).
    pub max_replicas: u32,
    /// `schedule.timezone`.
    pub timezone: String,
    /// The input's name, for the header comment and errors.
    pub source_name: String,
}

/// Whether `text` looks like a SimpleScaleVM `.env` (not JSON, and naming
/// at least one of its variables).
pub fn detect(text: &str) -> bool {
    !text.trim_start().starts_with('{')
        && parse_env(text).is_ok_and(|vars| {
            vars.keys()
                .any(|k| k.starts_with("REPLICA_") || k.starts_with("OPENSTACK_"))
        })
}

/// `KEY=VALUE` lines (`export` allowed, `#` comments, single or double
/// quotes) as a map; an error names the first line that is neither.
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: not KEY=VALUE", n + 1))?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("line {}: invalid variable name {key:?}", n + 1));
        }
        let value = value.trim();
        let value = match value.chars().next() {
            Some(q @ ('"' | '\'')) if value.len() >= 2 && value.ends_with(q) => {
                value[1..value.len() - 1].to_string()
            }
            // An unquoted value ends at a comment.
            _ => value
                .split(" #")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

/// A TOML string literal.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

struct Env<'a> {
    vars: BTreeMap<String, String>,
    used: Vec<&'a str>,
    source_name: &'a str,
}

impl<'a> Env<'a> {
    /// The first of `names` that is set and not empty.
    fn get(&mut self, names: &[&'a str]) -> Option<String> {
        self.used.extend_from_slice(names);
        names
            .iter()
            .find_map(|n| self.vars.get(*n).filter(|v| !v.is_empty()).cloned())
    }

    fn required(&mut self, names: &[&'a str]) -> Result<String, ImportError> {
        self.get(names)
            .ok_or_else(|| self.invalid(names[0], "is required"))
    }

    fn number(&mut self, names: &[&'a str], default: Option<u32>) -> Result<u32, ImportError> {
        match self.get(names) {
            Some(text) => text
                .parse()
                .map_err(|_| self.invalid(names[0], format!("{text:?} is not a whole number"))),
            None => default.ok_or_else(|| self.invalid(names[0], "is required")),
        }
    }

    fn flag(&mut self, name: &'a str) -> bool {
        self.get(&[name])
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
    }

    fn invalid(&self, key: &str, message: impl Into<String>) -> ImportError {
        ImportError::Invalid {
            source_name: self.source_name.to_string(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Converts a SimpleScaleVM `.env` into the TOML of one replica pool.
pub fn import(text: &str, options: &EnvOptions) -> Result<Imported, ImportError> {
    let vars = parse_env(text).map_err(|message| ImportError::Invalid {
        source_name: options.source_name.clone(),
        key: "(file)".into(),
        message,
    })?;
    let mut env = Env {
        vars,
        used: Vec::new(),
        source_name: &options.source_name,
    };
    let mut notes = Vec::new();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Converted from {} (SimpleScaleVM) by `scaler config import` (scaler {}).\n\
         # Read every NOTE below, then validate with `scaler check -c FILE`: it lists\n\
         # the replicas the membership filter adopts before the first `run`.\n",
        options.source_name,
        env!("CARGO_PKG_VERSION")
    );
    pool_sections(&mut env, &mut out, options)?;
    probe_section(&mut env, &mut out)?;
    provider_section(&mut env, &mut out, &mut notes)?;
    leftovers(&mut env, &mut out, &mut notes);
    for note in &notes {
        let _ = writeln!(out, "# NOTE: {note}");
    }
    Ok(Imported { toml: out, notes })
}

/// `[pool]`, `[schedule]` and `[replicas]`.
fn pool_sections<'a>(
    env: &mut Env<'a>,
    out: &mut String,
    options: &EnvOptions,
) -> Result<(), ImportError> {
    let capacity = env.number(&["REPLICA_CAPACITY"], None)?;
    let min_available = env.number(&["REPLICA_MIN_AVAILABLE_RESOURCES"], None)?;
    let flavor = env.required(&["OPENSTACK_SCALED_FLAVOR", "OPENSTACK_FLAVOR"])?;
    let name = options.pool_name.as_deref().unwrap_or("replicas");
    let _ = writeln!(
        out,
        "[pool]\nname = {}\nkind = \"replicas\"\n\
         no_public_ip_timeout = \"off\"   # SimpleScaleVM did not check public addresses\n",
        quote(name)
    );
    let _ = writeln!(
        out,
        "[schedule]\ntimezone = {}\n[schedule.default]\n\
         # max_replicas: SimpleScaleVM had no cap (from --max-gateways).\n\
         \"00:00\" = {{ min_available = {min_available}, max_replicas = {} }}   # REPLICA_MIN_AVAILABLE_RESOURCES\n",
        quote(&options.timezone),
        options.max_replicas
    );
    let _ = writeln!(
        out,
        "[replicas]\nreplica_capacity = {capacity}   # REPLICA_CAPACITY\ninstance_type = {}\n",
        quote(&flavor)
    );
    Ok(())
}

/// `[probe]` from `REPLICA_API_PROTOCOL/PORT/PATH/CAPACITY_KEY/TERMINATION_KEY`.
fn probe_section<'a>(env: &mut Env<'a>, out: &mut String) -> Result<(), ImportError> {
    let protocol = env
        .get(&["REPLICA_API_PROTOCOL"])
        .unwrap_or_else(|| "http".into())
        .to_ascii_lowercase();
    if !matches!(protocol.as_str(), "http" | "https") {
        return Err(env.invalid(
            "REPLICA_API_PROTOCOL",
            format!("{protocol:?} is not http or https"),
        ));
    }
    let port = env.number(
        &["REPLICA_API_PORT"],
        Some(if protocol == "https" { 443 } else { 80 }),
    )?;
    let path = env.get(&["REPLICA_API_PATH"]).unwrap_or_else(|| "/".into());
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let capacity_key = env
        .get(&["REPLICA_API_CAPACITY_KEY"])
        .unwrap_or_else(|| "capacity".into());
    let termination_key = env
        .get(&["REPLICA_API_TERMINATION_KEY"])
        .unwrap_or_else(|| "termination".into());
    let _ = writeln!(
        out,
        "[probe]\nurl = {}\ncapacity_key = {}\ntermination_key = {}\n",
        quote(&format!("{protocol}://{{ip}}:{port}{path}")),
        quote(&capacity_key),
        quote(&termination_key)
    );
    Ok(())
}

/// `[provider]` (openstack) and `[provider.membership]`.
fn provider_section<'a>(
    env: &mut Env<'a>,
    out: &mut String,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    let image = env.required(&["OPENSTACK_SCALED_IMAGE", "OPENSTACK_IMAGE"])?;
    let flavor = env.required(&["OPENSTACK_SCALED_FLAVOR", "OPENSTACK_FLAVOR"])?;
    let _ = writeln!(out, "[provider]\nkind = \"openstack\"");
    for (key, var) in [
        ("auth_url", "OS_AUTH_URL"),
        ("region", "OS_REGION_NAME"),
        ("interface", "OS_INTERFACE"),
        ("auth_type", "OS_AUTH_TYPE"),
        ("username", "OS_USERNAME"),
        ("user_domain_name", "OS_USER_DOMAIN_NAME"),
        ("project_name", "OS_PROJECT_NAME"),
        ("project_id", "OS_PROJECT_ID"),
        ("project_domain_name", "OS_PROJECT_DOMAIN_NAME"),
        ("application_credential_id", "OS_APPLICATION_CREDENTIAL_ID"),
    ] {
        if let Some(value) = env.get(&[var]) {
            let _ = writeln!(out, "{key} = {}   # {var}", quote(&value));
        }
    }
    for secret in ["OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET"] {
        if env.get(&[secret]).is_some() {
            notes.push(format!(
                "{secret} is not copied: keep it in the environment of `scaler run` (the provider reads it), or use the provider's *_file key"
            ));
        }
    }
    let _ = writeln!(
        out,
        "image = {}\nflavors = [{}]   # vCPUs read from Nova",
        quote(&image),
        quote(&flavor)
    );
    if let Some(network) = env.get(&["OPENSTACK_SCALED_NETWORK", "OPENSTACK_NETWORK"]) {
        let _ = writeln!(out, "networks = [{}]", quote(&network));
    }
    if let Some(key) = env.get(&["OPENSTACK_KEYPAIR", "OPENSTACK_KEY_PAIR"]) {
        let _ = writeln!(out, "key_name = {}", quote(&key));
    }
    if let Some(file) = env.get(&[
        "OPENSTACK_SCALED_CLOUD_INIT_FILE",
        "OPENSTACK_CLOUD_INIT_FILE",
    ]) {
        let _ = writeln!(
            out,
            "user_data_template = {}   # relative to this file",
            quote(&file)
        );
        notes.push(format!(
            "the cloud-init file {file} becomes provider.user_data_template: a relative path is read next to this configuration, and every {{{{...}}}} in it is a scaler placeholder"
        ));
    }
    let description = env.get(&["OPENSTACK_FLOATING_IP_DESCRIPTION"]);
    if env.flag("EXTERNAL_ADDRESS_MANAGEMENT") {
        let description = description.unwrap_or_else(|| "scaled".into());
        let _ = writeln!(out, "floating_ip_description = {}", quote(&description));
    }
    membership_section(env, out);
    Ok(())
}

/// `[provider.membership]` from SimpleScaleVM's metadata pair and name.
fn membership_section<'a>(env: &mut Env<'a>, out: &mut String) {
    let key = env
        .get(&["OPENSTACK_METADATA_KEY"])
        .unwrap_or_else(|| "group".into());
    let value = env
        .get(&[
            "OPENSTACK_METADATA_SCALED_VALUE",
            "OPENSTACK_METADATA_VALUE",
        ])
        .unwrap_or_else(|| "scaled".into());
    let _ = writeln!(
        out,
        "\n# SimpleScaleVM's replicas: adopted (counted, destroyed only once they have\n\
         # answered a probe asking for termination); `scaler check` lists them.\n\
         [provider.membership]\nmetadata = {{ {} = {} }}",
        quote(&key),
        quote(&value)
    );
    if let Some(name) = env.get(&["OPENSTACK_SCALED_NAME"]) {
        let _ = writeln!(out, "name = {}", quote(&name));
    }
    out.push('\n');
}

/// The self-autoscaling settings and anything unknown: comments and notes.
fn leftovers(env: &mut Env<'_>, out: &mut String, notes: &mut Vec<String>) {
    let autoscaling: Vec<String> = env
        .vars
        .keys()
        .filter(|k| {
            *k == "ENABLE_AUTOSCALING"
                || k.starts_with("AUTOSCALING_")
                || k.starts_with("OPENSTACK_AUTOSCALER_")
                || *k == "OPENSTACK_METADATA_AUTOSCALER_VALUE"
        })
        .cloned()
        .collect();
    if !autoscaling.is_empty() {
        notes.push(format!(
            "{}: SimpleScaleVM's self-autoscaling (scalers electing one another) is replaced by a shared [lock] (kind mysql or redis) on every host that runs scaler",
            autoscaling.join(", ")
        ));
    }
    let skipped: Vec<String> = env
        .vars
        .keys()
        .filter(|k| !env.used.contains(&k.as_str()) && !autoscaling.contains(k))
        .cloned()
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "# Not converted: {}", skipped.join(", "));
        notes.push(format!("not converted: {}", skipped.join(", ")));
    }
}
