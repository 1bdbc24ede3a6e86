//! Static checks of the connection settings: URLs that must parse, secrets
//! given in one form only, timeouts that are not zero. These are what a pass
//! would refuse when it connects; refusing them at load makes `run`, `check`
//! and `check --offline` refuse the same files. No secret is read and nothing
//! connects here.

use super::{Config, ProviderConfig, key_line};
use crate::lock::Backend;
use crate::secret::SecretSource;
use std::time::Duration;

/// The first problem of the connection settings, as `line N: key: message`.
pub(super) fn check(config: &Config, text: &str) -> Result<(), String> {
    // `line N: section.key: message`.
    let at = |section: &str, key: &str, message: String| match key_line(text, &[section, key]) {
        Some(line) => format!("line {line}: {section}.{key}: {message}"),
        None => format!("{section}.{key}: {message}"),
    };
    for (section, key, source) in secrets(config) {
        // `check_forms` says `key: give only one of ...`; the line is that
        // of the last form written.
        source.check_forms(key).map_err(|e| {
            let message = e.strip_prefix(&format!("{key}: ")).unwrap_or(&e);
            let line = ["", "_env", "_file", "_credential"]
                .iter()
                .filter_map(|form| key_line(text, &[section, &format!("{key}{form}")]))
                .max();
            match line {
                Some(line) => format!("line {line}: {section}.{key}: {message}"),
                None => format!("{section}.{key}: {message}"),
            }
        })?;
    }
    for (section, key, duration) in timeouts(config) {
        if duration.is_zero() {
            return Err(at(section, key, "must be more than 0s".into()));
        }
    }
    if let Some(sip) = &config.sip {
        mysql_url(&sip.url).map_err(|e| at("sip", "url", e))?;
    }
    if let Some(media) = &config.media {
        let info = redis_url(&media.url).map_err(|e| at("media", "url", e))?;
        if info.redis_settings().password().is_some() && media.password_source().is_given() {
            return Err(at(
                "media",
                "url",
                "the URL has a password: give it there or in media.password*, not both".into(),
            ));
        }
    }
    if let Some(url) = &config.lock.url {
        let parsed = match config.lock.backend {
            Backend::Mysql => mysql_url(url),
            Backend::Redis => redis_url(url).map(|_| ()),
            Backend::File => Ok(()),
        };
        parsed.map_err(|e| at("lock", "url", e))?;
    }
    Ok(())
}

fn mysql_url(url: &str) -> Result<(), String> {
    mysql::Opts::from_url(url).map(|_| ()).map_err(|e| {
        format!(
            "invalid MySQL URL {} ({e}); expected mysql://user@host:port/database",
            crate::pool::sip::redacted_url(url)
        )
    })
}

fn redis_url(url: &str) -> Result<redis::ConnectionInfo, String> {
    redis::IntoConnectionInfo::into_connection_info(url).map_err(|e| {
        format!(
            "invalid Redis URL {} ({e}); expected redis://host:port/db",
            crate::pool::sip::redacted_url(url)
        )
    })
}

/// Every secret of the file: section, base key, source.
fn secrets(config: &Config) -> Vec<(&'static str, &'static str, SecretSource)> {
    let mut out = Vec::new();
    if let Some(sip) = &config.sip {
        out.push(("sip", "password", sip.password_source()));
    }
    if let Some(media) = &config.media {
        out.push(("media", "password", media.password_source()));
    }
    if let Some(probe) = &config.probe {
        out.push(("probe", "token", probe.token_source()));
    }
    // The lock inherits [sip]'s password unless it has its own: checked above.
    out.push(("lock", "password", config.lock.password.clone()));
    // The providers build their sources once, for the loader and for use.
    let provider: Vec<(&'static str, SecretSource)> = match &config.provider {
        ProviderConfig::Ec2(ec2) => ec2.secret_sources().into(),
        ProviderConfig::OpenStack(openstack) => openstack.secret_sources().into(),
        ProviderConfig::Local(_) | ProviderConfig::Command(_) => Vec::new(),
    };
    out.extend(
        provider
            .into_iter()
            .map(|(key, source)| ("provider", key, source)),
    );
    out
}

/// The network timeouts that must not be zero (a zero timeout fails every
/// call): section, key, value. The providers check their own.
fn timeouts(config: &Config) -> Vec<(&'static str, &'static str, Duration)> {
    let mut out = Vec::new();
    if let Some(sip) = &config.sip {
        out.push(("sip", "connect_timeout", sip.connect_timeout.0));
        out.push(("sip", "query_timeout", sip.query_timeout.0));
    }
    if let Some(media) = &config.media {
        out.push(("media", "connect_timeout", media.connect_timeout.0));
        out.push(("media", "command_timeout", media.command_timeout.0));
    }
    if let ProviderConfig::OpenStack(openstack) = &config.provider {
        out.push(("provider", "connect_timeout", openstack.connect_timeout.0));
        out.push(("provider", "timeout", openstack.timeout.0));
    }
    out
}
