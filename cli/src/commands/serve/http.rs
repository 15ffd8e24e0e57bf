//! Just enough HTTP/1.1 for a static page, with every size and wait bounded: a client can
//! cost the server at most `MAX_HEAD` bytes of memory and one worker for `timeout`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// The longest request line read (a browser's are far shorter); longer gets 414.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// The most bytes of request line plus headers read; more gets 431.
pub const MAX_HEAD: usize = 32 * 1024;
/// The most header lines; more gets 431.
pub const MAX_HEADERS: usize = 100;

/// A request head that was read whole and within the limits.
#[derive(Debug, PartialEq)]
pub struct Request {
    pub method: String,
    pub target: String,
}

/// Why no request could be read; each but `Gone` is answered with its status.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    BadRequest,
    LineTooLong,
    HeadTooLarge,
    Timeout,
    /// The client closed or reset the connection: nobody to answer.
    Gone,
}

impl Refusal {
    pub fn status(&self) -> Option<(u16, &'static str)> {
        match self {
            Refusal::BadRequest => Some((400, "Bad Request")),
            Refusal::LineTooLong => Some((414, "URI Too Long")),
            Refusal::HeadTooLarge => Some((431, "Request Header Fields Too Large")),
            Refusal::Timeout => Some((408, "Request Timeout")),
            Refusal::Gone => None,
        }
    }
}

/// Read a request head from `stream`, giving the client until `deadline` for all of it (a
/// read timeout alone would let a client that sends one byte a second hold a worker forever).
pub fn read_request(stream: &mut TcpStream, deadline: Instant) -> Result<Request, Refusal> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = find(&head, b"\r\n\r\n") {
            return parse(&head[..end]);
        }
        let line_end = find(&head, b"\r\n");
        if line_end.map_or(head.len(), |e| e) > MAX_REQUEST_LINE {
            return Err(Refusal::LineTooLong);
        }
        if head.len() > MAX_HEAD {
            return Err(Refusal::HeadTooLarge);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Refusal::Timeout);
        }
        stream.set_read_timeout(Some(left)).ok();
        // Never read past the limit by more than one chunk.
        let room = (MAX_HEAD + 1 - head.len().min(MAX_HEAD)).min(chunk.len());
        match stream.read(&mut chunk[..room]) {
            Ok(0) => return Err(Refusal::Gone),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(Refusal::Timeout);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(Refusal::Gone),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse(head: &[u8]) -> Result<Request, Refusal> {
    let head = std::str::from_utf8(head).map_err(|_| Refusal::BadRequest)?;
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("");
    if lines.count() > MAX_HEADERS {
        return Err(Refusal::HeadTooLarge);
    }
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if !method.is_empty() && target.starts_with('/') && version.starts_with("HTTP/1.") =>
        {
            Ok(Request {
                method: method.to_string(),
                target: target.to_string(),
            })
        }
        _ => Err(Refusal::BadRequest),
    }
}

/// Headers on every answer: no type sniffing (a `.onnx` is never run as script), and
/// cross-origin isolation so the page may use SharedArrayBuffer and worker threads.
const COMMON_HEADERS: &str = "X-Content-Type-Options: nosniff\r\n\
    Cross-Origin-Opener-Policy: same-origin\r\n\
    Cross-Origin-Embedder-Policy: require-corp\r\n\
    Cross-Origin-Resource-Policy: same-origin\r\n\
    Cache-Control: no-cache\r\n\
    Connection: close\r\n";

/// The status line and headers of an answer whose body is `length` bytes.
pub fn head(status: (u16, &str), content_type: &str, length: u64, extra: &str) -> String {
    format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n{COMMON_HEADERS}{extra}\r\n",
        status.0, status.1
    )
}

/// A short plain-text answer (errors), body included unless the request was HEAD.
pub fn plain(stream: &mut TcpStream, status: (u16, &str), extra: &str, with_body: bool) {
    let body = format!("{} {}\n", status.0, status.1);
    let mut out = head(
        status,
        "text/plain; charset=utf-8",
        body.len() as u64,
        extra,
    );
    if with_body {
        out.push_str(&body);
    }
    stream.write_all(out.as_bytes()).ok();
}

/// Close after answering without resetting the connection: a client still sending (a huge
/// request line) would otherwise get a reset instead of the answer. Reads and drops at most
/// `MAX_HEAD` more bytes, for at most a second.
pub fn close_gently(stream: &mut TcpStream) {
    stream.flush().ok();
    stream.shutdown(Shutdown::Write).ok();
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok();
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < MAX_HEAD {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_parse_or_are_refused() {
        let ok = parse(b"GET /pkg/a.wasm HTTP/1.1\r\nHost: x").unwrap();
        assert_eq!(
            (ok.method.as_str(), ok.target.as_str()),
            ("GET", "/pkg/a.wasm")
        );
        assert_eq!(parse(b"GET /").unwrap_err(), Refusal::BadRequest);
        assert_eq!(
            parse(b"GET http://evil/ HTTP/1.1").unwrap_err(),
            Refusal::BadRequest
        );
        assert_eq!(parse(b"GET / SPDY/3").unwrap_err(), Refusal::BadRequest);
        assert_eq!(parse(b"\xff / HTTP/1.1").unwrap_err(), Refusal::BadRequest);
        let many = format!("GET / HTTP/1.1{}", "\r\nX: y".repeat(MAX_HEADERS + 1));
        assert_eq!(parse(many.as_bytes()).unwrap_err(), Refusal::HeadTooLarge);
    }
}
