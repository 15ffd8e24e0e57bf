//! `gantry data fetch` against a local HTTP server on 127.0.0.1 serving the real files.

mod common;

use flate2::Compression;
use flate2::write::GzEncoder;
use gantry_trainer::data::fetch::{FetchOptions, fetch};
use gantry_trainer::data::{DatasetName, ImageDataset, Split};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A static file server that honours `Range: bytes=N-` and, for files named in `cut_once`,
/// closes the first connection halfway through the body (a dropped download).
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(files: HashMap<String, Vec<u8>>, cut_once: Vec<String>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let files = Arc::new(files);
    let cut = Arc::new(Mutex::new(cut_once));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (files, cut, log) = (files.clone(), cut.clone(), log.clone());
            std::thread::spawn(move || handle(stream, &files, &cut, &log));
        }
    });
    Server { base, requests }
}

fn handle(
    mut stream: TcpStream,
    files: &HashMap<String, Vec<u8>>,
    cut: &Mutex<Vec<String>>,
    log: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut range_start = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            range_start = value.trim().trim_end_matches('-').parse::<usize>().ok();
        }
    }
    let name = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_string();
    log.lock().unwrap().push(format!("{name} {range_start:?}"));
    let Some(body) = files.get(&name) else {
        write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        return;
    };
    let start = range_start.unwrap_or(0);
    let status = if range_start.is_some() {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let rest = &body[start..];
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        rest.len()
    )
    .unwrap();
    let mut cut = cut.lock().unwrap();
    if let Some(i) = cut.iter().position(|n| n == &name) {
        cut.remove(i);
        stream.write_all(&rest[..rest.len() / 2]).ok();
        return; // the connection drops mid-body
    }
    stream.write_all(rest).ok();
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The four real MNIST files, gzipped as the official mirrors serve them.
fn mnist_files() -> HashMap<String, Vec<u8>> {
    let data = common::data_dir().join("mnist");
    DatasetName::Mnist
        .files()
        .expect("IDX files")
        .all()
        .iter()
        .map(|f| {
            (
                format!("{}.gz", f.name),
                gz(&std::fs::read(data.join(f.name)).unwrap()),
            )
        })
        .collect()
}

#[test]
fn fetch_downloads_verifies_and_resumes() {
    let server = serve(mnist_files(), vec!["train-images-idx3-ubyte.gz".into()]);
    let out = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        mirrors: vec![server.base.clone()],
        show_progress: false,
    };

    // First attempt: the big file's connection drops halfway.
    let err = fetch(DatasetName::Mnist, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("resume"), "{err}");
    let part = out.path().join("mnist/train-images-idx3-ubyte.gz.part");
    assert!(part.exists(), "the partial download is kept for resuming");
    assert!(!out.path().join("mnist/train-images-idx3-ubyte.gz").exists());

    // Second attempt resumes with a Range request and completes.
    fetch(DatasetName::Mnist, out.path(), &options).unwrap();
    let half = std::fs::metadata(out.path().join("mnist/train-images-idx3-ubyte.gz"))
        .unwrap()
        .len()
        / 2;
    let requests = server.requests.lock().unwrap().clone();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("train-images-idx3-ubyte.gz Some(") && !r.ends_with("Some(0)")),
        "expected a Range request, saw {requests:?} (half = {half})"
    );
    assert!(!part.exists());

    let train = ImageDataset::load_idx(DatasetName::Mnist, out.path(), Split::Train).unwrap();
    assert_eq!(train.len(), 60_000);

    // Present files are not downloaded again.
    let before = server.requests.lock().unwrap().len();
    fetch(DatasetName::Mnist, out.path(), &options).unwrap();
    assert_eq!(server.requests.lock().unwrap().len(), before);
}

#[test]
fn fetch_rejects_a_file_with_the_wrong_content() {
    let mut files = mnist_files();
    // A mirror serving Fashion-MNIST under MNIST's names: valid IDX, wrong data.
    let fashion = common::data_dir().join("fashion-mnist/t10k-labels-idx1-ubyte.gz");
    files.insert(
        "t10k-labels-idx1-ubyte.gz".into(),
        std::fs::read(fashion).unwrap(),
    );
    let server = serve(files, vec![]);
    let out = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        mirrors: vec![server.base],
        show_progress: false,
    };
    let err = fetch(DatasetName::Mnist, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checksum mismatch for t10k-labels-idx1-ubyte"),
        "{err}"
    );
    let dir = out.path().join("mnist");
    assert!(!dir.join("t10k-labels-idx1-ubyte.gz").exists());
    assert!(!dir.join("t10k-labels-idx1-ubyte.gz.part").exists());
}

#[test]
fn fetch_reports_an_unreachable_mirror() {
    let server = serve(HashMap::new(), vec![]);
    let out = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        mirrors: vec![server.base],
        show_progress: false,
    };
    let err = fetch(DatasetName::FashionMnist, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("404"), "{err}");
}

/// A `cifar-10-binary.tar.gz` as the official one is laid out, with `per_batch` records
/// per batch file.
fn cifar10_archive(per_batch: usize) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let names = (1..=5)
        .map(|i| format!("data_batch_{i}.bin"))
        .chain(["test_batch.bin".to_string()]);
    for (b, name) in names.enumerate() {
        let mut records = Vec::new();
        for r in 0..per_batch {
            records.push(((b + r) % 10) as u8);
            records.extend((0..3072).map(|i| (i + r) as u8));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(records.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("cifar-10-batches-bin/{name}"),
            records.as_slice(),
        )
        .unwrap();
    }
    gz(&tar.into_inner().unwrap())
}

#[test]
fn cifar10_downloads_resumes_unpacks_and_loads() {
    let files = HashMap::from([("cifar-10-binary.tar.gz".to_string(), cifar10_archive(3))]);
    let server = serve(files, vec!["cifar-10-binary.tar.gz".into()]);
    let out = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        mirrors: vec![server.base.clone()],
        show_progress: false,
    };
    let err = fetch(DatasetName::Cifar10, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("resume"), "{err}");
    fetch(DatasetName::Cifar10, out.path(), &options).unwrap();
    let train = ImageDataset::load(
        DatasetName::Cifar10,
        &out.path().join("cifar10"),
        Split::Train,
        [3, 32, 32],
        None,
    )
    .unwrap();
    assert_eq!(train.len(), 15);
    let left: Vec<_> = std::fs::read_dir(out.path().join("cifar10"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(
        left,
        vec!["cifar-10-batches-bin"],
        "no archive or temp folder left behind"
    );

    // An archive whose batches do not load is refused and nothing is kept.
    let mut broken = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_cksum();
    broken
        .append_data(
            &mut header,
            "cifar-10-batches-bin/data_batch_1.bin",
            &b"short"[..],
        )
        .unwrap();
    let files = HashMap::from([(
        "cifar-10-binary.tar.gz".to_string(),
        gz(&broken.into_inner().unwrap()),
    )]);
    let server = serve(files, vec![]);
    let out = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        mirrors: vec![server.base.clone()],
        show_progress: false,
    };
    let err = fetch(DatasetName::Cifar10, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("do not load"), "{err}");
    assert_eq!(
        std::fs::read_dir(out.path().join("cifar10"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn svhn_files_are_kept_only_when_they_parse() {
    // Not a MAT-file: refused, nothing kept.
    let files = HashMap::from([
        (
            "train_32x32.mat".to_string(),
            b"<html>moved</html>".to_vec(),
        ),
        ("test_32x32.mat".to_string(), b"<html>moved</html>".to_vec()),
    ]);
    let server = serve(files, vec![]);
    let out = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        mirrors: vec![server.base.clone()],
        show_progress: false,
    };
    let err = fetch(DatasetName::Svhn, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_32x32.mat") && err.contains("not an SVHN file"),
        "{err}"
    );
    assert!(!out.path().join("svhn/train_32x32.mat").exists());

    // Real MAT-files (written by scipy, compressed as MATLAB does) are kept and load.
    let written = tempfile::tempdir().unwrap();
    let mat = written.path().join("svhn.mat");
    common::write_svhn_mat(&mat, true);
    let bytes = std::fs::read(&mat).unwrap();
    let files = HashMap::from([
        ("train_32x32.mat".to_string(), bytes.clone()),
        ("test_32x32.mat".to_string(), bytes),
    ]);
    let server = serve(files, vec!["train_32x32.mat".into()]);
    let options = FetchOptions {
        mirrors: vec![server.base.clone()],
        show_progress: false,
    };
    assert!(
        fetch(DatasetName::Svhn, out.path(), &options).is_err(),
        "the first connection drops"
    );
    fetch(DatasetName::Svhn, out.path(), &options).unwrap();
    let test = ImageDataset::load(
        DatasetName::Svhn,
        &out.path().join("svhn"),
        Split::Test,
        [3, 32, 32],
        None,
    )
    .unwrap();
    assert_eq!(test.labels, vec![0, 3, 1]);

    // CelebA has no download: the error says how to get it.
    let err = fetch(DatasetName::Celeba, out.path(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.contains("img_align_celeba"), "{err}");
}
