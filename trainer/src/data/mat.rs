//! MATLAB's level-5 MAT-file format, as far as SVHN needs it: numeric matrices, stored
//! plain or zlib-compressed (`miCOMPRESSED`), little-endian. Numbers keep their stored
//! width where that matters (SVHN's images are 73,257 × 3 KB of `uint8`).

use flate2::read::ZlibDecoder;
use std::collections::HashMap;
use std::io::Read;

/// A matrix's values in column-major order.
#[derive(Debug, Clone, PartialEq)]
pub enum MatData {
    U8(Vec<u8>),
    F64(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatArray {
    /// MATLAB dimensions, first index fastest.
    pub dims: Vec<usize>,
    pub data: MatData,
}

impl MatArray {
    /// Every value as `f64` (fine for small arrays such as labels).
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.data {
            MatData::U8(v) => v.iter().map(|&b| b as f64).collect(),
            MatData::F64(v) => v.clone(),
        }
    }
}

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// Every numeric matrix in a MAT-file, by variable name.
pub fn parse(bytes: &[u8]) -> Result<HashMap<String, MatArray>, String> {
    if bytes.len() < 128 {
        return Err("too short for a MAT-file header (128 bytes)".into());
    }
    if bytes.starts_with(b"\x89HDF") || bytes[..128].windows(7).any(|w| w == b"MATLAB 7.3") {
        return Err(
            "MATLAB 7.3 (HDF5) files are not supported; save with -v7 or scipy.io.savemat".into(),
        );
    }
    match &bytes[126..128] {
        b"IM" => {}
        b"MI" => return Err("big-endian MAT-files are not supported".into()),
        _ => return Err("not a MATLAB level-5 MAT-file (no endian indicator)".into()),
    }
    let mut arrays = HashMap::new();
    read_elements(&bytes[128..], &mut arrays)?;
    Ok(arrays)
}

fn read_elements(mut rest: &[u8], arrays: &mut HashMap<String, MatArray>) -> Result<(), String> {
    while rest.len() >= 8 {
        let (kind, data, next) = element(rest)?;
        match kind {
            MI_COMPRESSED => {
                // Capped: a few kilobytes of zlib can claim gigabytes.
                let cap = super::idx::MAX_DECODED_BYTES;
                let mut inflated = Vec::new();
                ZlibDecoder::new(data)
                    .take(cap + 1)
                    .read_to_end(&mut inflated)
                    .map_err(|e| format!("corrupt compressed element: {e}"))?;
                if inflated.len() as u64 > cap {
                    return Err(format!(
                        "a compressed element inflates to more than {} GiB",
                        cap >> 30
                    ));
                }
                read_elements(&inflated, arrays)?;
            }
            MI_MATRIX => {
                if let Some((name, array)) = matrix(data)? {
                    arrays.insert(name, array);
                }
            }
            _ => {}
        }
        rest = next;
    }
    Ok(())
}

/// One tagged element: its type, its data and what follows it (8-byte aligned).
fn element(bytes: &[u8]) -> Result<(u32, &[u8], &[u8]), String> {
    if bytes.len() < 8 {
        return Err(format!(
            "element tag of {} bytes, expected 8 (truncated?)",
            bytes.len()
        ));
    }
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let first = word(0);
    if first >> 16 != 0 {
        // Small data element: type and size share the first word, data the second.
        let (kind, size) = (first & 0xffff, (first >> 16) as usize);
        if size > 4 {
            return Err(format!("small element of {size} bytes"));
        }
        return Ok((kind, &bytes[4..4 + size], &bytes[8..]));
    }
    let size = word(4) as usize;
    let end = 8usize
        .checked_add(size)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            format!("element of {size} bytes runs past the end of the file (truncated?)")
        })?;
    // Compressed elements are not padded; everything else is padded to 8 bytes.
    let next = if first == MI_COMPRESSED {
        end
    } else {
        end.div_ceil(8) * 8
    };
    Ok((first, &bytes[8..end], &bytes[next.min(bytes.len())..]))
}

/// A numeric matrix's name and values; `None` for cells, structs, sparse and text.
fn matrix(bytes: &[u8]) -> Result<Option<(String, MatArray)>, String> {
    let (_, flags, rest) = element(bytes)?;
    let class = flags.first().copied().unwrap_or(0);
    let complex = flags.get(1).is_some_and(|f| f & 0x08 != 0);
    // mxDOUBLE_CLASS (6) … mxUINT64_CLASS (15) are numeric.
    if !(6..=15).contains(&class) || complex {
        return Ok(None);
    }
    let (_, dims, rest) = element(rest)?;
    let dims: Vec<usize> = dims
        .chunks_exact(4)
        .map(|c| {
            let d = i32::from_le_bytes(c.try_into().expect("4 bytes"));
            usize::try_from(d).map_err(|_| format!("negative dimension {d}"))
        })
        .collect::<Result<_, _>>()?;
    let (_, name, rest) = element(rest)?;
    let name = String::from_utf8_lossy(name).to_string();
    let (kind, values, _) = element(rest)?;
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("variable {name}: dimensions {dims:?} overflow"))?;
    let data = match kind {
        MI_UINT8 => MatData::U8(values.to_vec()),
        _ => MatData::F64(numbers(kind, values)?),
    };
    let len = match &data {
        MatData::U8(v) => v.len(),
        MatData::F64(v) => v.len(),
    };
    if len != count {
        return Err(format!(
            "variable {name}: {len} values for dimensions {dims:?}"
        ));
    }
    Ok(Some((name, MatArray { dims, data })))
}

fn numbers(kind: u32, bytes: &[u8]) -> Result<Vec<f64>, String> {
    macro_rules! read {
        ($t:ty) => {
            bytes
                .chunks_exact(std::mem::size_of::<$t>())
                .map(|c| <$t>::from_le_bytes(c.try_into().expect("width")) as f64)
                .collect()
        };
    }
    Ok(match kind {
        MI_INT8 => read!(i8),
        MI_INT16 => read!(i16),
        MI_UINT16 => read!(u16),
        MI_INT32 => read!(i32),
        MI_UINT32 => read!(u32),
        MI_SINGLE => read!(f32),
        MI_DOUBLE => read!(f64),
        other => return Err(format!("unsupported numeric storage type {other}")),
    })
}
