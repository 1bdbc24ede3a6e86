//! Operator wording of MySQL and Redis client errors. A socket read timeout
//! surfaces from both clients as the bare system error "Resource temporarily
//! unavailable (os error 11)"; here it says that the server did not answer
//! in time, which is what happened. Other errors keep the client's message,
//! on one line.

use std::io;

const TIMED_OUT: &str = "timed out: the server did not answer within the timeout";

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// A MySQL client error, for a message.
pub fn mysql(e: &mysql::Error) -> String {
    let io = match e {
        mysql::Error::IoError(io) => Some(io),
        // The packet codec wraps the socket's error (its type is not exported).
        mysql::Error::CodecError(codec) => {
            std::error::Error::source(codec).and_then(|source| source.downcast_ref::<io::Error>())
        }
        _ => None,
    };
    match io {
        Some(io) if is_timeout(io) => TIMED_OUT.to_string(),
        _ => e.to_string().replace('\n', " "),
    }
}

/// A Redis client error, for a message.
pub fn redis(e: &redis::RedisError) -> String {
    if e.is_timeout() {
        TIMED_OUT.to_string()
    } else {
        e.to_string().replace('\n', " ")
    }
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
        for message in [
            mysql(&mysql::Error::IoError(would_block())),
            redis(&redis::RedisError::from(would_block())),
            redis(&redis::RedisError::from(io::Error::from(
                io::ErrorKind::TimedOut,
            ))),
        ] {
            assert!(message.starts_with("timed out"), "{message}");
            assert!(!message.contains("os error"), "{message}");
        }
    }

    #[test]
    fn other_errors_keep_their_message() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let message = mysql(&mysql::Error::IoError(refused));
        assert!(message.contains("connection refused"), "{message}");
        assert!(!message.contains("timed out"), "{message}");
    }
}
