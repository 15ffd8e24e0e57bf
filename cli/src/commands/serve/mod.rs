//! `gantry serve`: the web page from a folder, safe to leave running where others can reach
//! it. Every request is bounded: its head in size (`http`), its wait in time (`--timeout`),
//! the server in threads (`--threads` workers and a bounded queue; past it, 503 at once),
//! and the files it can name to the folder itself (`files`: no `..`, no symlink out).

mod files;
mod http;

use anyhow::Context;
use clap::Args;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    scripts/build-web.sh && gantry serve            # then open the printed URL\n  \
    gantry serve --dir www --port 8080\n  \
    gantry serve --host 0.0.0.0                     # others on the network can open it too\n\n\
    Only GET and HEAD are answered (405 otherwise); request lines over 8 KiB get 414, heads \
    over 32 KiB or 100 headers 431, a client silent past --timeout 408. Symlinks are followed \
    only when they stay inside --dir.")]
pub struct ServeArgs {
    /// The folder with index.html (the page, its wasm runtime in pkg/, models in models/).
    #[arg(long, default_value = "www")]
    dir: PathBuf,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// IP address to listen on. Anything but a loopback address lets every machine that
    /// can reach this one read the folder; gantry warns when it does.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Worker threads answering requests; up to 4× as many connections wait in a queue and
    /// any more get 503 at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Seconds a client gets to send its request, and then to read each part of the answer.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0,
        "--timeout {}: give a number of seconds above 0 and at most 3600",
        args.timeout
    );
    let server = Server::open(&args)?;
    println!(
        "serving {} at http://{}/",
        args.dir.display(),
        server.listener.local_addr()?
    );
    std::io::stdout().flush().ok();
    server.run();
    Ok(())
}

struct Server {
    root: PathBuf,
    listener: TcpListener,
    threads: usize,
    timeout: Duration,
}

impl Server {
    fn open(args: &ServeArgs) -> anyhow::Result<Server> {
        let root = &args.dir;
        anyhow::ensure!(
            root.join("index.html").is_file(),
            "{}: no index.html here (the page is in www/)",
            root.display()
        );
        if !root.join("pkg/gantry_web_bg.wasm").is_file() {
            eprintln!(
                "warning: {}/pkg/ has no wasm runtime yet: run scripts/build-web.sh",
                root.display()
            );
        }
        let addr = SocketAddr::new(args.host, args.port);
        if !is_loopback(args.host) {
            eprintln!(
                "warning: listening on {}: anyone who can reach this machine can read every file \
                 under {} (use --host 127.0.0.1 to keep it to this machine)",
                args.host,
                root.display()
            );
        }
        let listener =
            TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Server {
            root: root
                .canonicalize()
                .with_context(|| format!("{}: cannot resolve the folder", root.display()))?,
            listener,
            threads: usize::from(args.threads),
            timeout: Duration::from_secs_f64(args.timeout),
        })
    }

    /// Accept forever: connections go to a fixed pool through a bounded queue, so neither
    /// threads nor waiting sockets grow with the number of clients.
    fn run(self) {
        let (queue, waiting) = sync_channel::<TcpStream>(self.threads * 4);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..self.threads {
            let (waiting, root, timeout) = (waiting.clone(), self.root.clone(), self.timeout);
            std::thread::spawn(move || work(&waiting, &root, timeout));
        }
        for stream in self.listener.incoming().flatten() {
            if let Err(TrySendError::Full(mut stream)) = queue.try_send(stream) {
                stream.set_write_timeout(Some(Duration::from_secs(1))).ok();
                http::plain(
                    &mut stream,
                    (503, "Service Unavailable"),
                    "Retry-After: 1\r\n",
                    true,
                );
            }
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn work(waiting: &Mutex<Receiver<TcpStream>>, root: &Path, timeout: Duration) {
    loop {
        let next = waiting.lock().map(|queue| queue.recv());
        let Ok(Ok(mut stream)) = next else { return };
        answer(&mut stream, root, timeout);
        http::close_gently(&mut stream);
    }
}

fn answer(stream: &mut TcpStream, root: &Path, timeout: Duration) {
    stream.set_write_timeout(Some(timeout)).ok();
    let request = match http::read_request(stream, Instant::now() + timeout) {
        Ok(request) => request,
        Err(refusal) => {
            if let Some(status) = refusal.status() {
                http::plain(stream, status, "", true);
            }
            return;
        }
    };
    let with_body = match request.method.as_str() {
        "GET" => true,
        "HEAD" => false,
        _ => {
            http::plain(
                stream,
                (405, "Method Not Allowed"),
                "Allow: GET, HEAD\r\n",
                true,
            );
            return;
        }
    };
    let opened = files::resolve(root, &request.target).and_then(|path| {
        let file = std::fs::File::open(&path).ok()?;
        let length = file.metadata().ok()?.len();
        Some((path, file, length))
    });
    let Some((path, file, length)) = opened else {
        http::plain(stream, (404, "Not Found"), "", with_body);
        return;
    };
    let head = http::head((200, "OK"), files::mime(&path), length, "");
    if stream.write_all(head.as_bytes()).is_err() || !with_body {
        return;
    }
    // Streamed, not read whole: memory stays flat whatever the file's size. The write
    // timeout bounds each write; the deadline bounds a client that reads a byte at a time.
    let deadline = Instant::now() + timeout * 30;
    let mut file = file.take(length);
    let mut buffer = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        match file.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
