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

/// The bytes of a file, gunzipped when they start with the gzip magic number.
pub fn read_maybe_gz(path: &Path) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(raw.as_slice()).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(raw)
    }
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
