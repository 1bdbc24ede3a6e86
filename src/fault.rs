//! What went wrong at an I/O boundary (Kamailio's database, Redis, a cloud
//! API, a provider command, a secret): one variant per kind of failure an
//! operator acts on differently. `check`'s reason and the exit status follow
//! from the variant, never from the wording; the message is a sentence, built
//! from the client's typed error (never its `Debug` form) and printed once.

use crate::exit::Exit;
use std::io;

/// The wording of a read that got no answer within its timeout.
const TIMED_OUT: &str = "timed out: the server did not answer within the timeout";

/// A failed call to a dependency, classified. `Display` is the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The host name does not resolve.
    #[error("{0}")]
    Dns(String),
    /// Nothing listens there (connection refused, host or network unreachable, reset).
    #[error("{0}")]
    Refused(String),
    /// No answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The credentials were refused.
    #[error("{0}")]
    Auth(String),
    /// Authenticated, but the account may not do what was asked.
    #[error("{0}")]
    Privilege(String),
    /// Reached, but the database or store lacks what scaler needs (a table,
    /// a column, a script).
    #[error("{0}")]
    Schema(String),
    /// A secret could not be read (`*_env` unset, `*_file` unreadable, a
    /// missing `*_credential`, two forms given).
    #[error("{0}")]
    Secret(String),
    /// The service answered and turned the request down (an API's 4xx other
    /// than authentication: quota, bad request, not found).
    #[error("{0}")]
    Rejected(String),
    /// The answer cannot be read (not JSON, a field missing, a bad value).
    #[error("{0}")]
    BadData(String),
    /// A configured value cannot be used (a bad URL, a missing setting).
    #[error("{0}")]
    Config(String),
    /// Anything else that leaves the dependency unusable (a 5xx, a TLS
    /// failure, a lost connection, a command that failed).
    #[error("{0}")]
    Unavailable(String),
}

impl Fault {
    /// An unavailable dependency.
    pub fn unavailable(message: impl Into<String>) -> Fault {
        Fault::Unavailable(message.into())
    }

    /// An answer that cannot be read.
    pub fn bad_data(message: impl Into<String>) -> Fault {
        Fault::BadData(message.into())
    }

    /// A configured value that cannot be used.
    pub fn config(message: impl Into<String>) -> Fault {
        Fault::Config(message.into())
    }

    /// A secret that cannot be read.
    pub fn secret(message: impl Into<String>) -> Fault {
        Fault::Secret(message.into())
    }

    /// A request the service turned down.
    pub fn rejected(message: impl Into<String>) -> Fault {
        Fault::Rejected(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Fault::Dns(m)
            | Fault::Refused(m)
            | Fault::Timeout(m)
            | Fault::Auth(m)
            | Fault::Privilege(m)
            | Fault::Schema(m)
            | Fault::Secret(m)
            | Fault::Rejected(m)
            | Fault::BadData(m)
            | Fault::Config(m)
            | Fault::Unavailable(m) => m,
        }
    }

    /// The same kind of failure with the message rewritten.
    pub fn map(self, f: impl FnOnce(String) -> String) -> Fault {
        match self {
            Fault::Dns(m) => Fault::Dns(f(m)),
            Fault::Refused(m) => Fault::Refused(f(m)),
            Fault::Timeout(m) => Fault::Timeout(f(m)),
            Fault::Auth(m) => Fault::Auth(f(m)),
            Fault::Privilege(m) => Fault::Privilege(f(m)),
            Fault::Schema(m) => Fault::Schema(f(m)),
            Fault::Secret(m) => Fault::Secret(f(m)),
            Fault::Rejected(m) => Fault::Rejected(f(m)),
            Fault::BadData(m) => Fault::BadData(f(m)),
            Fault::Config(m) => Fault::Config(f(m)),
            Fault::Unavailable(m) => Fault::Unavailable(f(m)),
        }
    }

    /// The same failure, its message prefixed with `what: `.
    pub fn context(self, what: impl std::fmt::Display) -> Fault {
        self.map(|m| format!("{what}: {m}"))
    }

    /// The word `check` prints after `FAILED` and in the JSON `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Fault::Dns(_) => "dns",
            Fault::Refused(_) => "refused",
            Fault::Timeout(_) => "timeout",
            Fault::Auth(_) => "auth",
            Fault::Privilege(_) => "privilege",
            Fault::Schema(_) => "schema",
            Fault::Secret(_) => "secret",
            Fault::Rejected(_) => "rejected",
            Fault::BadData(_) => "data",
            Fault::Config(_) => "config",
            Fault::Unavailable(_) => "error",
        }
    }

    /// The exit status of a command this failure ends: a value of the
    /// configuration (or a secret it names) is a configuration error, the
    /// rest a dependency that was unavailable.
    pub fn exit(&self) -> Exit {
        match self {
            Fault::Secret(_) | Fault::Config(_) => Exit::Config,
            _ => Exit::Unavailable,
        }
    }

    /// A socket or file error, by its kind; the message is the error's own.
    pub fn io(e: &io::Error) -> Fault {
        use io::ErrorKind as K;
        match e.kind() {
            K::WouldBlock | K::TimedOut => Fault::Timeout(TIMED_OUT.to_string()),
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::AddrNotAvailable => Fault::Refused(one_line(e)),
            K::PermissionDenied => Fault::Privilege(one_line(e)),
            _ => Fault::Unavailable(one_line(e)),
        }
    }

    /// A MySQL client error: the server's own sentence with its error number,
    /// or the socket's error.
    pub fn mysql(e: &mysql::Error) -> Fault {
        use mysql::DriverError as D;
        match e {
            mysql::Error::IoError(io) => Fault::io(io),
            // The packet codec wraps the socket's error (its type is not exported).
            mysql::Error::CodecError(codec) => {
                match std::error::Error::source(codec).and_then(|s| s.downcast_ref::<io::Error>()) {
                    Some(io) => Fault::io(io),
                    None => Fault::Unavailable(format!("the connection broke: {codec}")),
                }
            }
            mysql::Error::MySqlError(server) => mysql_server(server.code, &server.message),
            mysql::Error::DriverError(D::ConnectTimeout | D::Timeout) => {
                Fault::Timeout(TIMED_OUT.to_string())
            }
            mysql::Error::DriverError(D::CouldNotConnect(Some((address, description, kind)))) => {
                Fault::io(&io::Error::new(
                    *kind,
                    format!("could not connect to {address}: {description}"),
                ))
            }
            mysql::Error::DriverError(driver) => Fault::Unavailable(driver.to_string()),
            mysql::Error::UrlError(url) => Fault::Config(format!("invalid URL: {url}")),
            mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => {
                Fault::BadData("a value of an unexpected type".to_string())
            }
            #[allow(unreachable_patterns)]
            other => Fault::Unavailable(one_line(other)),
        }
    }

    /// A Redis client error: by the server's error code, or the socket's error.
    pub fn redis(e: &redis::RedisError) -> Fault {
        use redis::{ErrorKind as K, ServerErrorKind as S};
        if e.is_timeout() {
            return Fault::Timeout(TIMED_OUT.to_string());
        }
        if e.is_connection_refusal() {
            return Fault::Refused(one_line(e));
        }
        let message = one_line(e);
        match (e.kind(), e.code()) {
            (K::AuthenticationFailed, _) | (_, Some("WRONGPASS" | "NOAUTH")) => {
                Fault::Auth(message)
            }
            (K::Server(S::NoPerm), _) | (_, Some("NOPERM")) => Fault::Privilege(message),
            (K::Server(S::NoScript), _) => Fault::Schema(message),
            (K::InvalidClientConfig, _) => Fault::Config(message),
            (K::Parse | K::UnexpectedReturnType, _) => Fault::BadData(message),
            _ => Fault::Unavailable(message),
        }
    }

    /// An HTTP client error with no answer (ureq): by what failed. `detail`
    /// words the transport errors' messages (e.g. the timeout's length).
    pub fn http(e: &ureq::Error, timeout: std::time::Duration) -> Fault {
        match e {
            ureq::Error::Timeout(_) => {
                Fault::Timeout(format!("timed out: no answer within {timeout:?}"))
            }
            ureq::Error::HostNotFound => Fault::Dns("the host name does not resolve".into()),
            ureq::Error::ConnectionFailed => Fault::Refused("cannot connect".into()),
            ureq::Error::Io(io) => Fault::io(io),
            ureq::Error::BodyExceedsLimit(n) => {
                Fault::BadData(format!("the answer is larger than {n} bytes"))
            }
            ureq::Error::BadUri(uri) => Fault::Config(format!("invalid URL {uri}")),
            other => Fault::Unavailable(one_line(other)),
        }
    }

    /// An HTTP answer with a status other than 2xx: refused credentials
    /// (401, 403), a request turned down (other 4xx) or a failing service.
    pub fn http_status(status: u16, message: String) -> Fault {
        match status {
            401 | 403 => Fault::Auth(message),
            400..=499 => Fault::Rejected(message),
            _ => Fault::Unavailable(message),
        }
    }

    /// `Unavailable` or `Refused` turned into `Dns` when `host` does not
    /// resolve: clients report a failed lookup as an uncategorised I/O error,
    /// so the name is looked up again, only after a failure.
    pub fn or_dns(self, host: &str, port: u16) -> Fault {
        use std::net::ToSocketAddrs;
        match self {
            Fault::Unavailable(m) | Fault::Refused(m)
                if host.parse::<std::net::IpAddr>().is_err()
                    && (host, port).to_socket_addrs().is_err() =>
            {
                Fault::Dns(format!("{m} ({host} does not resolve)"))
            }
            other => other,
        }
    }
}

/// A MySQL server error by its number.
fn mysql_server(code: u16, message: &str) -> Fault {
    let message = format!("{} (MySQL error {code})", message.replace('\n', " "));
    match code {
        // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR is privilege below.
        1045 | 1698 => Fault::Auth(message),
        // ER_DBACCESS_DENIED, ER_TABLEACCESS_DENIED, ER_COLUMNACCESS_DENIED,
        // ER_SPECIFIC_ACCESS_DENIED, ER_PROCACCESS_DENIED.
        1044 | 1142 | 1143 | 1227 | 1370 => Fault::Privilege(message),
        // ER_BAD_DB, ER_BAD_FIELD, ER_NO_SUCH_TABLE.
        1049 | 1054 | 1146 => Fault::Schema(message),
        _ => Fault::Unavailable(message),
    }
}

/// An error's message on one line.
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn would_block() -> io::Error {
        io::Error::from_raw_os_error(libc::EAGAIN)
    }

    #[test]
    fn read_timeouts_say_timed_out() {
        assert!(would_block().to_string().contains("os error 11"));
        for fault in [
            Fault::mysql(&mysql::Error::IoError(would_block())),
            Fault::redis(&redis::RedisError::from(would_block())),
            Fault::redis(&redis::RedisError::from(io::Error::from(
                io::ErrorKind::TimedOut,
            ))),
        ] {
            assert!(matches!(fault, Fault::Timeout(_)), "{fault:?}");
            assert!(fault.message().starts_with("timed out"), "{fault}");
            assert!(!fault.message().contains("os error"), "{fault}");
        }
    }

    #[test]
    fn other_errors_keep_the_io_errors_wording() {
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let fault = Fault::mysql(&mysql::Error::IoError(refused()));
        assert_eq!(fault, Fault::Refused(refused().to_string()));
        assert!(!fault.message().contains("IoError"), "{fault}");
    }

    #[test]
    fn server_errors_are_classified_by_number() {
        let server = |code, message: &str| {
            Fault::mysql(&mysql::Error::MySqlError(mysql::MySqlError {
                state: "42000".into(),
                message: message.into(),
                code,
            }))
        };
        let denied = server(1045, "Access denied for user 'scaler'@'localhost'");
        assert!(matches!(denied, Fault::Auth(_)), "{denied:?}");
        assert_eq!(
            denied.message(),
            "Access denied for user 'scaler'@'localhost' (MySQL error 1045)"
        );
        assert!(matches!(
            server(1142, "UPDATE command denied"),
            Fault::Privilege(_)
        ));
        assert!(matches!(
            server(1146, "Table 'k.location' doesn't exist"),
            Fault::Schema(_)
        ));
        assert!(matches!(
            server(1205, "Lock wait timeout"),
            Fault::Unavailable(_)
        ));
    }

    #[test]
    fn connect_failures_keep_the_socket_kind() {
        let fault = Fault::mysql(&mysql::Error::DriverError(
            mysql::DriverError::CouldNotConnect(Some((
                "127.0.0.1:1".into(),
                "Connection refused (os error 111)".into(),
                io::ErrorKind::ConnectionRefused,
            ))),
        ));
        assert_eq!(
            fault,
            Fault::Refused(
                "could not connect to 127.0.0.1:1: Connection refused (os error 111)".into()
            )
        );
    }

    #[test]
    fn unresolvable_names_are_dns_failures() {
        let fault = Fault::unavailable("failed").or_dns("db.invalid", 3306);
        assert!(matches!(fault, Fault::Dns(_)), "{fault:?}");
        let fault = Fault::unavailable("failed").or_dns("127.0.0.1", 3306);
        assert!(matches!(fault, Fault::Unavailable(_)), "{fault:?}");
        let fault = Fault::Auth("denied".into()).or_dns("db.invalid", 3306);
        assert!(matches!(fault, Fault::Auth(_)), "{fault:?}");
    }

    #[test]
    fn secrets_and_settings_are_configuration_errors() {
        assert_eq!(Fault::secret("x").exit(), Exit::Config);
        assert_eq!(Fault::config("x").exit(), Exit::Config);
        assert_eq!(Fault::unavailable("x").exit(), Exit::Unavailable);
        assert_eq!(Fault::Timeout("x".into()).exit(), Exit::Unavailable);
    }
}
