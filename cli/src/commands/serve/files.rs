//! Which file a request names, and what type to say it is.

use std::path::{Component, Path, PathBuf};

/// The MIME types browsers insist on: `application/wasm` for streaming compilation,
/// `text/javascript` for modules (with `nosniff` they refuse anything else).
pub fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "md" => "text/markdown; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `%XX` escapes decoded; `None` for a bad escape, a NUL or bytes that are not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    (!out.contains(&0)).then_some(())?;
    String::from_utf8(out).ok()
}

/// The file a request target names inside `root` (already canonical), or `None`: a path
/// that climbs out (`..`, escaped or not), a symlink that leads out of the root, a missing
/// file. Symlinks that stay inside the root are followed.
pub fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = percent_decode(target.split(['?', '#']).next().unwrap_or("/"))?;
    let mut out = root.to_path_buf();
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    // Lexically inside is not enough: a symlink in the folder may point anywhere.
    let real = out.canonicalize().ok()?;
    (real.starts_with(root) && real.is_file()).then_some(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(root.join("index.html"), "hi").unwrap();
        std::fs::write(root.join("pkg/a b.wasm"), "w").unwrap();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(&root, "/pkg/a%20b.wasm?v=1"),
            Some(root.join("pkg/a b.wasm"))
        );
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/pkg/%2e%2e/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(&root, "/pkg%2f..%2f..%2fetc/passwd"), None);
        assert_eq!(resolve(&root, "/index.html%00.png"), None);
        assert_eq!(resolve(&root, "/%zz"), None);
        assert_eq!(resolve(&root, "/missing.js"), None);
        assert_eq!(mime(Path::new("x.wasm")), "application/wasm");
    }

    #[test]
    fn symlinks_are_followed_only_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir_all(root.join("models")).unwrap();
        std::fs::write(root.join("models/a.onnx"), "m").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(root.join("models/a.onnx"), root.join("latest.onnx")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("leak")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        let root = root.canonicalize().unwrap();
        assert_eq!(
            resolve(&root, "/latest.onnx"),
            Some(root.join("models/a.onnx"))
        );
        assert_eq!(resolve(&root, "/leak"), None);
        assert_eq!(resolve(&root, "/etc/passwd"), None);
    }
}
