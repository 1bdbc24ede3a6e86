//! SIP and SIPS URIs as RFC 3261 (section 19.1 and the grammar of section
//! 25) writes them, as far as a scaler needs them: the scheme
//! (case-insensitive), the optional user part, the host (IPv4, IPv6
//! reference or host name), the port and the parameters, inside an optional
//! `name-addr` (display name and angle brackets). Anything else is an error
//! naming what is wrong, never a guess.

use crate::pool::is_host_name;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host part of a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An IPv4 address or an IPv6 reference.
    Ip(IpAddr),
    /// A host name, lower-cased (host names compare case-insensitively).
    Name(String),
}

/// A parsed `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sips:`.
    pub secure: bool,
    /// The user part, unescaped, when the URI has one.
    pub user: Option<String>,
    /// The host.
    pub host: Host,
    /// The port, when written.
    pub port: Option<u16>,
    /// The URI parameters: lower-case names, values as written (empty for a
    /// parameter without `=`).
    pub params: Vec<(String, String)>,
}

impl SipUri {
    /// Parses `text`: an `addr-spec` (`sip:user@host:port;params?headers`) or
    /// a `name-addr` (`"Display" <sip:…>;header-params`).
    pub fn parse(text: &str) -> Result<SipUri, String> {
        let spec = addr_spec(text.trim())?;
        let (scheme, rest) = spec.split_once(':').ok_or("no URI scheme")?;
        let secure = if scheme.eq_ignore_ascii_case("sips") {
            true
        } else if scheme.eq_ignore_ascii_case("sip") {
            false
        } else {
            return Err(format!("scheme {scheme:?} is not sip or sips"));
        };
        let (user, rest) = match rest.split('@').count() {
            1 => (None, rest),
            2 => {
                let (userinfo, rest) = rest.split_once('@').ok_or("no host")?;
                let user = userinfo.split(':').next().unwrap_or_default();
                if user.is_empty() {
                    return Err("empty user part before '@'".into());
                }
                (Some(unescape(user)?), rest)
            }
            _ => return Err("more than one '@'".into()),
        };
        let end = rest.find([';', '?']).unwrap_or(rest.len());
        let (host, port) = host_port(&rest[..end])?;
        let params_end = rest.find('?').unwrap_or(rest.len());
        let params = rest[end..params_end]
            .split(';')
            .skip(1)
            .map(|param| match param.split_once('=') {
                Some((name, value)) => (name.to_ascii_lowercase(), value.to_string()),
                None => (param.to_ascii_lowercase(), String::new()),
            })
            .collect();
        Ok(SipUri {
            secure,
            user,
            host,
            port,
            params,
        })
    }

    /// The port, or the scheme's default (5060, 5061 for `sips:`).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 5061 } else { 5060 })
    }

    /// The value of parameter `name` (lower-case).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The host and port of Kamailio's `alias=IP~PORT~PROTO` parameter (set
    /// by nathelper's `add_contact_alias`), when there is one.
    pub fn alias(&self) -> Option<Result<(IpAddr, u16), String>> {
        let value = self.param("alias")?;
        let bad = || format!("alias {value:?} is not IP~PORT~PROTO");
        let mut parts = value.split('~');
        let parsed = (|| {
            let ip = parts.next()?;
            let ip = ip
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .unwrap_or(ip);
            let ip: IpAddr = ip.parse().ok()?;
            let port: u16 = parts.next()?.parse().ok()?;
            Some((ip, port))
        })();
        Some(parsed.ok_or_else(bad))
    }
}

/// The `addr-spec` of `text`: the part inside `<…>` of a `name-addr`, after
/// an optional display name (a token list or a quoted string).
fn addr_spec(text: &str) -> Result<&str, String> {
    if text.is_empty() {
        return Err("empty".into());
    }
    let after_name = if let Some(quoted) = text.strip_prefix('"') {
        let mut escaped = false;
        let close = quoted
            .char_indices()
            .find(|&(_, c)| {
                let end = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                end
            })
            .map(|(i, _)| i)
            .ok_or("unterminated quoted display name")?;
        let rest = quoted[close + 1..].trim_start();
        if !rest.starts_with('<') {
            return Err("a display name without <URI>".into());
        }
        rest
    } else {
        text
    };
    match after_name.find('<') {
        Some(open) => {
            let display = &after_name[..open];
            if display.contains(['>', '@', ':', ';']) {
                return Err(format!("display name {display:?} is not a token list"));
            }
            let inner = &after_name[open + 1..];
            let close = inner.find('>').ok_or("'<' without '>'")?;
            Ok(inner[..close].trim())
        }
        None if after_name.contains('>') => Err("'>' without '<'".into()),
        None => Ok(after_name),
    }
}

/// `host[:port]`: an IPv4 address, an `[IPv6]` reference or a host name.
fn host_port(text: &str) -> Result<(Host, Option<u16>), String> {
    let port = |p: &str| -> Result<u16, String> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("port {p:?} is not a number"));
        }
        p.parse().map_err(|_| format!("port {p} is out of range"))
    };
    if let Some(v6) = text.strip_prefix('[') {
        let (ip, after) = v6.split_once(']').ok_or("'[' without ']'")?;
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("[{ip}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(port(after.strip_prefix(':').ok_or("junk after ']'")?)?),
        };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match text.split_once(':') {
        Some((host, p)) => (host, Some(port(p)?)),
        None => (text, None),
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(ip)), port));
    }
    if is_host_name(host) {
        let name = host.strip_suffix('.').unwrap_or(host);
        return Ok((Host::Name(name.to_ascii_lowercase()), port));
    }
    Err(format!(
        "host {host:?} is neither an IP address nor a host name"
    ))
}

/// `%XX` escapes decoded; the result must be UTF-8.
fn unescape(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad escape in user part {text:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("user part {text:?} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Host {
        Host::Ip(s.parse().unwrap())
    }

    fn parts(text: &str) -> (Option<String>, Host, Option<u16>) {
        let uri = SipUri::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (uri.user, uri.host, uri.port)
    }

    #[test]
    fn parses_what_kamailio_and_gateways_write() {
        let user = |u: &str| Some(u.to_string());
        assert_eq!(
            parts("sip:127.0.1.10.mediagw.0@127.0.2.10:5060;transport=udp"),
            (user("127.0.1.10.mediagw.0"), ip("127.0.2.10"), Some(5060))
        );
        assert_eq!(
            parts("sip:127.0.1.10:5270"),
            (None, ip("127.0.1.10"), Some(5270))
        );
        assert_eq!(
            parts("<sip:gw@[::1]:5060>"),
            (user("gw"), ip("::1"), Some(5060))
        );
        assert_eq!(parts("sip:[2001:db8::5]"), (None, ip("2001:db8::5"), None));
        assert_eq!(parts("sip:gw@10.0.0.1"), (user("gw"), ip("10.0.0.1"), None));
    }

    #[test]
    fn the_scheme_is_case_insensitive_and_sips_has_its_own_default_port() {
        let uri = SipUri::parse("SIP:gw@10.0.0.1").unwrap();
        assert!(!uri.secure);
        assert_eq!(uri.port_or_default(), 5060);
        let uri = SipUri::parse("SiPs:gw@10.0.0.1").unwrap();
        assert!(uri.secure);
        assert_eq!(uri.port_or_default(), 5061);
    }

    #[test]
    fn reads_display_names_brackets_passwords_params_and_headers() {
        let uri =
            SipUri::parse("\"Gate <way> \\\" 1\" <sip:gw:secret@Host-1.Example.COM:5070;Alias=10.0.0.1~5072~1;lr?subject=x>;expires=60")
                .unwrap();
        assert_eq!(uri.user.as_deref(), Some("gw"));
        assert_eq!(uri.host, Host::Name("host-1.example.com".into()));
        assert_eq!(uri.port, Some(5070));
        assert_eq!(uri.param("lr"), Some(""));
        assert_eq!(uri.alias(), Some(Ok(("10.0.0.1".parse().unwrap(), 5072))));
        let uri = SipUri::parse("Gateway One <sip:%67w@10.0.0.2>").unwrap();
        assert_eq!(uri.user.as_deref(), Some("gw"));
        // A user part may hold ';' and '?' (user-unreserved).
        let uri = SipUri::parse("sip:a;b?c@10.0.0.3;transport=tcp").unwrap();
        assert_eq!(uri.user.as_deref(), Some("a;b?c"));
        assert_eq!(uri.param("transport"), Some("tcp"));
        assert_eq!(
            SipUri::parse("sip:u@10.0.0.1;alias=[::1]~5060~1")
                .unwrap()
                .alias(),
            Some(Ok(("::1".parse().unwrap(), 5060)))
        );
        assert!(
            SipUri::parse("sip:u@10.0.0.1;alias=x~y")
                .unwrap()
                .alias()
                .unwrap()
                .is_err()
        );
        assert_eq!(SipUri::parse("sip:u@10.0.0.1").unwrap().alias(), None);
    }

    #[test]
    fn refuses_what_is_not_a_sip_uri() {
        for bad in [
            "",
            "garbage",
            "tel:+33123456789",
            "http://10.0.0.1/",
            "sip:",
            "sip:@10.0.0.1",
            "sip:a@b@10.0.0.1",
            "sip:gw@1.2.3.4:notaport",
            "sip:gw@1.2.3.4:99999",
            "sip:gw@1.2.3.4:",
            "sip:gw@[::1",
            "sip:gw@[::1]x",
            "sip:gw@[zz::1]",
            "sip:gw@999.1.1.1",
            "sip:gw@under_score.example",
            "sip:gw@-bad.example",
            "<sip:gw@10.0.0.1",
            "sip:gw@10.0.0.1>",
            "\"unterminated <sip:gw@10.0.0.1>",
            "sip:%zz@10.0.0.1",
            "sip:%ff@10.0.0.1",
        ] {
            assert!(SipUri::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
