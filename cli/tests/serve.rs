//! `gantry serve` faced as a hostile network would face it, over loopback: every limit the
//! help text promises is driven here, each bounded in time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Served {
    child: Child,
    addr: String,
    stderr: std::process::ChildStderr,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn serve(dir: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["serve", "--dir", dir.to_str().unwrap(), "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim()
        .trim_end_matches('/')
        .to_string();
    let stderr = child.stderr.take().unwrap();
    Served {
        child,
        addr,
        stderr,
    }
}

fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Send `request` raw and read the whole answer (the server closes after each).
fn ask(addr: &str, request: &[u8]) -> String {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok();
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(addr: &str, path: &str) -> String {
    ask(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
}

fn status(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

fn page(dir: &Path) {
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    std::fs::write(dir.join("index.html"), "<p>gantry</p>").unwrap();
    std::fs::write(dir.join("pkg/gantry_web_bg.wasm"), b"\0asm").unwrap();
}

fn proc_status(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn it_serves_the_page_with_the_headers_browsers_want_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    page(&www);
    std::fs::write(dir.path().join("secret"), "not for the web").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret"), www.join("leak")).unwrap();
    std::os::unix::fs::symlink("/etc", www.join("etc")).unwrap();
    std::os::unix::fs::symlink(www.join("index.html"), www.join("home.html")).unwrap();
    let server = serve(&www, &[]);
    let addr = &server.addr;

    let index = get(addr, "/");
    assert_eq!(status(&index), "HTTP/1.1 200 OK", "{index}");
    for header in [
        "Content-Type: text/html; charset=utf-8",
        "X-Content-Type-Options: nosniff",
        "Cross-Origin-Opener-Policy: same-origin",
        "Cross-Origin-Embedder-Policy: require-corp",
        "Content-Length: 13",
    ] {
        assert!(index.contains(header), "no {header:?} in {index}");
    }
    assert!(index.ends_with("<p>gantry</p>"), "{index}");

    let head = ask(addr, b"HEAD /pkg/gantry_web_bg.wasm HTTP/1.1\r\n\r\n");
    assert_eq!(status(&head), "HTTP/1.1 200 OK", "{head}");
    assert!(head.contains("Content-Type: application/wasm"), "{head}");
    assert!(
        head.ends_with("\r\n\r\n"),
        "HEAD must not carry a body: {head}"
    );

    assert!(get(addr, "/home.html").ends_with("<p>gantry</p>"));
    for escape in [
        "/leak",
        "/etc/passwd",
        "/../secret",
        "/%2e%2e/secret",
        "/..%2fsecret",
    ] {
        let answer = get(addr, escape);
        assert_eq!(
            status(&answer),
            "HTTP/1.1 404 Not Found",
            "{escape}: {answer}"
        );
        assert!(!answer.contains("not for the web") && !answer.contains("root:"));
    }

    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let answer = ask(addr, format!("{method} / HTTP/1.1\r\n\r\n").as_bytes());
        assert_eq!(
            status(&answer),
            "HTTP/1.1 405 Method Not Allowed",
            "{answer}"
        );
        assert!(answer.contains("Allow: GET, HEAD"), "{answer}");
    }
    assert_eq!(
        status(&ask(addr, b"GET\r\n\r\n")),
        "HTTP/1.1 400 Bad Request"
    );

    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    assert_eq!(
        status(&ask(addr, long_line.as_bytes())),
        "HTTP/1.1 414 URI Too Long"
    );
    let big_head = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        "X-Pad: 0123456789\r\n".repeat(2_000)
    );
    assert_eq!(
        status(&ask(addr, big_head.as_bytes())),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[test]
fn slow_idle_and_huge_clients_cost_bounded_time_threads_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    page(dir.path());
    let server = serve(dir.path(), &["--threads", "2", "--timeout", "1"]);
    let addr = server.addr.clone();
    let pid = server.child.id();

    // Silent, and one byte every 200 ms: both are cut off at the one-second deadline.
    let started = Instant::now();
    let mut idle = connect(&addr);
    let mut answer = String::new();
    idle.read_to_string(&mut answer).ok();
    assert_eq!(status(&answer), "HTTP/1.1 408 Request Timeout", "{answer}");
    let mut slow = connect(&addr);
    let trickle = std::thread::spawn(move || {
        for byte in b"GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*byte]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let mut answer = String::new();
        slow.read_to_string(&mut answer).ok();
        answer
    });
    let answer = trickle.join().unwrap();
    assert_eq!(status(&answer), "HTTP/1.1 408 Request Timeout", "{answer}");
    assert!(started.elapsed() < Duration::from_secs(15));

    // A 300 MB request line: the server reads 8 KiB of it, answers and closes.
    let rss_before = proc_status(pid, "VmRSS:");
    let mut huge = connect(&addr);
    huge.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    huge.write_all(b"GET /").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0usize;
    while sent < 300 << 20 && huge.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(
        sent < 300 << 20,
        "the server read all 300 MB of a request line"
    );
    drop(huge);
    let rss_after = proc_status(pid, "VmRSS:");
    assert!(
        rss_after < rss_before + 16 * 1024,
        "RSS grew from {rss_before} kB to {rss_after} kB"
    );

    // Fifty idle connections: two workers and a queue of eight hold ten, the rest are told
    // 503 at once; the thread count never follows the clients.
    let threads_before = proc_status(pid, "Threads:");
    let idle: Vec<TcpStream> = (0..50).map(|_| connect(&addr)).collect();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(proc_status(pid, "Threads:"), threads_before);
    let busy = idle
        .into_iter()
        .map(|mut s| {
            let mut answer = String::new();
            s.read_to_string(&mut answer).ok();
            answer
        })
        .filter(|a| status(a) == "HTTP/1.1 503 Service Unavailable")
        .count();
    assert!(
        (30..=48).contains(&busy),
        "{busy} of 50 idle connections got 503"
    );
    // Once the idle ones have timed out, a real request is answered again.
    assert_eq!(status(&get(&addr, "/")), "HTTP/1.1 200 OK");
}

#[test]
fn listening_beyond_loopback_warns_and_bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    page(dir.path());
    let mut server = serve(dir.path(), &["--host", "0.0.0.0"]);
    let port = server.addr.rsplit(':').next().unwrap().to_string();
    assert_eq!(
        status(&get(&format!("127.0.0.1:{port}"), "/")),
        "HTTP/1.1 200 OK"
    );
    server.child.kill().unwrap();
    let mut warning = String::new();
    server.stderr.read_to_string(&mut warning).unwrap();
    assert!(
        warning.contains("warning: listening on 0.0.0.0: anyone who can reach this machine"),
        "{warning}"
    );

    for bad in [
        &["--timeout", "0"][..],
        &["--threads", "0"],
        &["--host", "localhost:80"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args([
                "serve",
                "--dir",
                dir.path().to_str().unwrap(),
                "--port",
                "0",
            ])
            .args(bad)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(bad[0]) || err.contains("timeout"),
            "{bad:?}: {err}"
        );
    }
}
