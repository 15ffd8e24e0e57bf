//! NumPy's `.npy` format, as far as gantry needs it: little-endian `f8`, `f4` or `u1`
//! arrays in C order. It is how scikit-image ships the LFW face crops.

/// A parsed array: its shape and its values as `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Parse a `.npy` file's bytes; the error says what was wrong.
pub fn parse(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("header runs past the end of the file")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let descr = header_value(header, "descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if header_value(header, "fortran_order")? != "False" {
        return Err("Fortran-order arrays are not supported".into());
    }
    let shape = parse_shape(&header_value(header, "shape")?)?;
    let body = &bytes[start + header_len..];
    let (width, read): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
        "<f4" => (4, |b| {
            f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64
        }),
        "|u1" => (1, |b| b[0] as f64),
        other => return Err(format!("unsupported dtype {other} (need <f8, <f4 or |u1)")),
    };
    // A crafted shape's product can exceed usize: checked, then compared with the file.
    let needed = shape
        .iter()
        .try_fold(width, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} is larger than any file"))?;
    if body.len() < needed {
        return Err(format!(
            "truncated: shape {shape:?} needs {needed} bytes of data, file has {}",
            body.len()
        ));
    }
    let data = body[..needed].chunks_exact(width).map(read).collect();
    Ok(NpyArray { shape, data })
}

/// The text after `'key':` up to the next top-level comma or closing brace.
fn header_value(header: &str, key: &str) -> Result<String, String> {
    let at = header
        .find(&format!("'{key}':"))
        .ok_or_else(|| format!("header has no '{key}'"))?;
    let rest = header[at + key.len() + 3..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| format!("header's '{key}' is not terminated"))?;
    Ok(rest[..end].trim().to_string())
}

fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    text.trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad shape {text}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn reads_f8_arrays_in_c_order() {
        let body: Vec<u8> = [0.0f64, 0.5, 1.0, 0.25, 0.75, 0.125]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let array = parse(&npy("<f8", "(2, 3)", &body)).unwrap();
        assert_eq!(array.shape, vec![2, 3]);
        assert_eq!(array.data, vec![0.0, 0.5, 1.0, 0.25, 0.75, 0.125]);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse(b"PK\x03\x04 not npy").unwrap_err().contains("magic"));
        let short = npy("<f8", "(2, 3)", &[0; 8]);
        assert!(parse(&short).unwrap_err().contains("truncated"));
        let complex = npy("<c16", "(1,)", &[0; 16]);
        assert!(parse(&complex).unwrap_err().contains("unsupported dtype"));
    }

    /// A shape whose product wraps around usize must not pass the length check.
    #[test]
    fn refuses_a_shape_whose_product_overflows() {
        let wrapping = npy("<f8", "(2305843009213693952, 8, 25)", &[0; 64]);
        assert!(
            parse(&wrapping)
                .unwrap_err()
                .contains("larger than any file")
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_a_mutated_file(
            at in 0usize..200,
            byte in proptest::prelude::any::<u8>(),
            cut in 0usize..220,
        ) {
            let mut file = npy("<f4", "(3, 5, 2)", &[0; 120]);
            if at < file.len() {
                file[at] = byte;
            }
            file.truncate(cut.max(1));
            let _ = parse(&file);
        }
    }
}
