//! The IDX format (MNIST, Fashion-MNIST): a magic number, big-endian dimensions, then data.
//!
//! `[0, 0, type, rank]`, then `rank` big-endian `u32` sizes, then the values. gantry only
//! reads unsigned bytes (type `0x08`), which is what both datasets use. The parser checks
//! every length before it slices, so no byte sequence can make it panic.

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// A parsed IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

const UBYTE: u8 = 0x08;

/// Parse IDX bytes, or say in words what is wrong with them.
pub fn parse(bytes: &[u8]) -> Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "too short for an IDX header ({} bytes, need at least 4)",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "wrong magic number {:02x} {:02x} {:02x} {:02x}: not an IDX file (expected 00 00 08 0N)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        ));
    }
    if bytes[2] != UBYTE {
        return Err(format!(
            "IDX value type 0x{:02x} is not supported (expected 0x08, unsigned bytes)",
            bytes[2]
        ));
    }
    let rank = bytes[3] as usize;
    if rank == 0 {
        return Err("IDX rank 0: no dimensions".into());
    }
    let header_len = 4 + 4 * rank;
    let header = bytes.get(4..header_len).ok_or_else(|| {
        format!(
            "truncated header: rank {rank} needs {header_len} bytes, file has {}",
            bytes.len()
        )
    })?;
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("dimensions {dims:?} overflow"))?;
    let body = &bytes[header_len..];
    if body.len() != expected {
        return Err(format!(
            "{} data bytes for dimensions {dims:?}, expected {expected} (truncated or corrupt)",
            body.len()
        ));
    }
    Ok(IdxArray {
        dims,
        data: body.to_vec(),
    })
}

/// The most bytes an IDX file may decode to (header and data): 4 GiB, far above MNIST's
/// 47 MB, far below what would take a machine down.
pub const MAX_DECODED_BYTES: u64 = 4 << 30;

/// The bytes of an IDX file, gunzipped when they start with the gzip magic number.
///
/// A gzip stream is read header first: the dimensions it declares fix how many bytes may
/// follow (at most [`MAX_DECODED_BYTES`]), so a small file that inflates to gigabytes is
/// refused after reading one byte past what its header promised, not after inflating all
/// of it. Errors are `InvalidData` with the reason in words.
pub fn read_maybe_gz(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let invalid = |reason: String| std::io::Error::new(std::io::ErrorKind::InvalidData, reason);
    let mut stream = GzDecoder::new(raw.as_slice());
    let mut out = vec![0u8; 4];
    stream.read_exact(&mut out)?;
    let rank = out[3] as usize;
    out.resize(4 + 4 * rank, 0);
    stream.read_exact(&mut out[4..])?;
    let declared = out[4..]
        .chunks_exact(4)
        .try_fold(1u64, |acc, c| {
            acc.checked_mul(u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64)
        })
        .and_then(|body| body.checked_add(out.len() as u64));
    let total = match declared {
        Some(total) if total <= MAX_DECODED_BYTES => total,
        _ => {
            return Err(invalid(format!(
                "its header declares more than {} GiB of data",
                MAX_DECODED_BYTES >> 30
            )));
        }
    };
    // One byte more than declared tells a longer stream from an exact one.
    stream
        .by_ref()
        .take(total + 1 - out.len() as u64)
        .read_to_end(&mut out)?;
    if out.len() as u64 > total {
        return Err(invalid(format!(
            "it inflates to more than the {total} bytes its header declares"
        )));
    }
    Ok(out)
}

/// Write IDX bytes for `dims` and `data` (used by tests and by tools that make small sets).
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, UBYTE, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0..24).collect();
        let parsed = parse(&encode(&[2, 3, 4], &data)).unwrap();
        assert_eq!(parsed.dims, vec![2, 3, 4]);
        assert_eq!(parsed.data, data);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(parse(&[0, 0]).unwrap_err().contains("too short"));
        assert!(
            parse(b"PK\x03\x04rest")
                .unwrap_err()
                .contains("wrong magic")
        );
        assert!(
            parse(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0])
                .unwrap_err()
                .contains("0x0d")
        );
        let mut truncated = encode(&[10, 28, 28], &[0; 7840]);
        truncated.truncate(1000);
        assert!(parse(&truncated).unwrap_err().contains("truncated"));
        assert!(
            parse(&[0, 0, 8, 3, 0, 0])
                .unwrap_err()
                .contains("truncated header")
        );
        let huge = [
            0, 0, 8, 4, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            255,
        ];
        assert!(parse(&huge).is_err());
    }

    fn gzipped(bytes: &[u8]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), gz.finish().unwrap()).unwrap();
        file
    }

    #[test]
    fn a_gzip_stream_decodes_to_its_declared_size() {
        let bytes = encode(&[3, 4, 5], &[7; 60]);
        assert_eq!(read_maybe_gz(gzipped(&bytes).path()).unwrap(), bytes);
    }

    /// A bomb: a 10-image header, then 64 MiB of zeros (64 KiB compressed). Refused without
    /// inflating past the header's 7,856 bytes, and a header that declares more than the
    /// cap is refused before any data is read.
    #[test]
    fn a_gzip_stream_longer_than_its_header_says_is_refused() {
        let mut bomb = encode(&[10, 28, 28], &[0; 7840]);
        bomb.resize(64 << 20, 0);
        let error = read_maybe_gz(gzipped(&bomb).path()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("7856 bytes its header declares"),
            "{error}"
        );

        let huge = encode(&[1 << 16, 1 << 16, 2], &[]);
        let error = read_maybe_gz(gzipped(&huge).path()).unwrap_err();
        assert!(error.to_string().contains("more than 4 GiB"), "{error}");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_mutated_headers(rank in 0u8..6, dims in proptest::collection::vec(any::<u32>(), 0..6), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = vec![0, 0, 8, rank];
            for d in dims { bytes.extend_from_slice(&d.to_be_bytes()); }
            bytes.extend(tail);
            let _ = parse(&bytes);
        }
    }
}
