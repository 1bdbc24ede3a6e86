//! Loopback HTTP status servers for probe tests: each listens on its own
//! 127.x address (the addresses the local provider hands out) and answers
//! in a fixed way: a body, an error status, a redirect loop, a huge body, or
//! never (a hung endpoint). Threads end with the test process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How a status server answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this JSON (or any) body.
    Body(String),
    /// This status with an empty body.
    Status(u16),
    /// 302 to itself, forever.
    RedirectLoop,
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// Accepts the connection and never answers.
    Hang,
}

/// The SimpleScaleVM status answer.
pub fn status(termination: bool, capacity: i64) -> Answer {
    Answer::Body(format!(
        "{{\"termination\": {termination}, \"capacity\": {capacity}}}"
    ))
}

/// Starts a server on `ip:port` (port 0: any) and returns its address.
pub fn serve(ip: &str, port: u16, answer: Answer) -> SocketAddr {
    let listener =
        TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("bind {ip}:{port}: {e}"));
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || handle(stream, &answer, addr));
        }
    });
    addr
}

fn handle(mut stream: TcpStream, answer: &Answer, addr: SocketAddr) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let mut request = Vec::new();
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let response = match answer {
        Answer::Body(body) => {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Answer::Status(code) => {
            format!("HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        Answer::RedirectLoop => {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: http://{addr}/again\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
        }
        Answer::Huge(size) => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let chunk = vec![b' '; 8192];
            let mut left = *size;
            while left > 0 {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
            }
            return;
        }
        Answer::Hang => {
            std::thread::sleep(Duration::from_secs(120));
            return;
        }
    };
    let _ = stream.write_all(response.as_bytes());
}

/// A free port on `ip` (bound then released).
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
