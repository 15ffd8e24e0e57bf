//! ONNX external data: weights kept in files beside the `.onnx` (PyTorch's dynamo exporter
//! writes `model.onnx.data` by default). A browser has no folder to read them from, so
//! the caller hands over the files it was given, by name, and their bytes are moved into
//! each tensor's `raw_data` before anything else reads the model.

use crate::{ModelProto, TensorProto};
use std::collections::HashMap;

/// Every tensor of `model` (initializers and `Constant` values) whose bytes are external,
/// filled from `files` (file name → bytes). Refused with the tensor named: a location that
/// leaves the model's folder (`..`, an absolute path), a file not given, an offset or
/// length past the end of its file.
pub fn inline_external_data(
    model: &mut ModelProto,
    files: &HashMap<String, Vec<u8>>,
) -> Result<(), String> {
    let Some(graph) = model.graph.as_mut() else {
        return Ok(());
    };
    let constants = graph
        .node
        .iter_mut()
        .flat_map(|n| n.attribute.iter_mut())
        .filter_map(|a| a.t.as_mut());
    for tensor in graph.initializer.iter_mut().chain(constants) {
        if tensor.data_location == 1 {
            inline(tensor, files)?;
        }
    }
    Ok(())
}

/// Whether any tensor of `model` keeps its bytes outside the file.
pub fn external_files(model: &ModelProto) -> Vec<String> {
    let mut names: Vec<String> = model
        .graph
        .iter()
        .flat_map(|g| g.initializer.iter())
        .filter(|t| t.data_location == 1)
        .filter_map(|t| entry(t, "location").map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn entry<'a>(tensor: &'a TensorProto, key: &str) -> Option<&'a str> {
    tensor
        .external_data
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.value.as_str())
}

fn inline(tensor: &mut TensorProto, files: &HashMap<String, Vec<u8>>) -> Result<(), String> {
    let name = tensor.name.clone();
    let location = entry(tensor, "location")
        .ok_or_else(|| format!("tensor `{name}`: external data without a location"))?
        .to_string();
    let escapes = location.starts_with('/')
        || location.starts_with('\\')
        || location.contains(':')
        || location.split(['/', '\\']).any(|part| part == "..");
    if escapes {
        return Err(format!(
            "tensor `{name}`: external data location `{location}` is outside the model's folder"
        ));
    }
    let file_name = location.rsplit(['/', '\\']).next().unwrap_or(&location);
    let bytes = files.get(file_name).ok_or_else(|| {
        format!(
            "tensor `{name}` keeps its weights in `{file_name}`, a file beside the .onnx: \
             give that file too (drop both on the page, or pass it to Generator.fromFiles)"
        )
    })?;
    let number = |key: &str| -> Result<Option<u64>, String> {
        entry(tensor, key)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    format!("tensor `{name}`: external data {key} `{v}` is not a number")
                })
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    let length = match number("length")? {
        Some(length) => length,
        None => (bytes.len() as u64).saturating_sub(offset),
    };
    let end = offset
        .checked_add(length)
        .filter(|&end| end <= bytes.len() as u64);
    let Some(end) = end else {
        return Err(format!(
            "tensor `{name}`: external data at offset {offset}, length {length} runs past the end of `{file_name}` ({} bytes)",
            bytes.len()
        ));
    };
    tensor.raw_data = bytes[offset as usize..end as usize].to_vec();
    tensor.data_location = 0;
    tensor.external_data.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tensor_f32;
    use crate::{GraphProto, StringStringEntryProto};

    fn external(location: &str, offset: &str, length: &str) -> ModelProto {
        let mut t = tensor_f32("w", &[2], &[0.0, 0.0]);
        t.raw_data.clear();
        t.data_location = 1;
        t.external_data = [
            ("location", location),
            ("offset", offset),
            ("length", length),
        ]
        .into_iter()
        .map(|(k, v)| StringStringEntryProto {
            key: k.into(),
            value: v.into(),
        })
        .collect();
        ModelProto {
            graph: Some(GraphProto {
                initializer: vec![t],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn weights_beside_the_file_are_read_and_bad_references_refused() {
        let data: Vec<u8> = [7.0f32, 1.5, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let files = HashMap::from([("g.onnx.data".to_string(), data)]);
        let mut model = external("g.onnx.data", "4", "8");
        assert_eq!(external_files(&model), vec!["g.onnx.data".to_string()]);
        inline_external_data(&mut model, &files).unwrap();
        let w = &model.graph.as_ref().unwrap().initializer[0];
        assert_eq!(w.f32_values().unwrap(), vec![1.5, -2.0]);

        let err = |m: &mut ModelProto| inline_external_data(m, &files).unwrap_err();
        assert!(err(&mut external("other.bin", "0", "8")).contains("give that file too"));
        assert!(
            err(&mut external("../g.onnx.data", "0", "8")).contains("outside the model's folder")
        );
        assert!(err(&mut external("/etc/passwd", "0", "8")).contains("outside the model's folder"));
        assert!(err(&mut external("g.onnx.data", "8", "8")).contains("runs past the end"));
        assert!(
            err(&mut external("g.onnx.data", "18446744073709551615", "8"))
                .contains("runs past the end")
        );
        assert!(err(&mut external("g.onnx.data", "-1", "8")).contains("not a number"));
    }
}
