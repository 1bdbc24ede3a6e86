//! The crate's error type: one variant per kind of failure an operator has to
//! tell apart, each mapped to its exit status.

use crate::exit::Exit;

/// A failure that ends a command. `Display` is the message printed once on stderr.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is missing, unreadable or invalid.
    #[error("{0}")]
    Config(String),
    /// A dependency (database, Redis, provider) could not be observed.
    #[error("{0}")]
    Unavailable(String),
    /// A dependency failed in a classified way (its kind gives the exit status).
    #[error(transparent)]
    Fault(#[from] crate::fault::Fault),
    /// Another pass holds the lock.
    #[error("{0}")]
    Locked(String),
    /// A bad command-line value, or a file named on the command line that
    /// cannot be used (a `simulate` trace).
    #[error("{0}")]
    Usage(String),
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// The exit status this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) => Exit::Config,
            Error::Unavailable(_) => Exit::Unavailable,
            Error::Fault(fault) => fault.exit(),
            Error::Locked(_) => Exit::Locked,
            Error::Usage(_) => Exit::Usage,
            Error::Internal(_) => Exit::Internal,
        }
    }
}

impl Error {
    /// This error as a classified failure (for `check`'s reason): a
    /// configuration error is `config`, an unavailable dependency `error`.
    pub fn into_fault(self) -> crate::fault::Fault {
        use crate::fault::Fault;
        match self {
            Error::Fault(fault) => fault,
            Error::Config(m) | Error::Usage(m) => Fault::Config(m),
            Error::Unavailable(m) | Error::Locked(m) => Fault::Unavailable(m),
            Error::Internal(e) => Fault::Unavailable(format!("{e:#}")),
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
