//! Constructors for the messages a graph is made of.

use crate::proto::*;

/// A tensor of `count` values whose little-endian bytes are `raw_data` (compact, and what
/// ONNX Runtime reads fastest).
fn raw_tensor(
    name: &str,
    dims: &[usize],
    data_type: i32,
    count: usize,
    raw_data: Vec<u8>,
) -> TensorProto {
    assert_eq!(
        dims.iter().product::<usize>(),
        count,
        "{name}: dims and values disagree"
    );
    TensorProto {
        name: name.to_string(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type,
        raw_data,
        ..Default::default()
    }
}

/// A float32 tensor.
pub fn tensor_f32(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, data_type::FLOAT, values.len(), bytes)
}

/// An int64 tensor (shapes for Reshape, indices).
pub fn tensor_i64(name: &str, dims: &[usize], values: &[i64]) -> TensorProto {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    raw_tensor(name, dims, data_type::INT64, values.len(), bytes)
}

pub fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: attribute_type::INT,
        i: value,
        ..Default::default()
    }
}

pub fn attr_float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: attribute_type::FLOAT,
        f: value,
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: attribute_type::INTS,
        ints: values.to_vec(),
        ..Default::default()
    }
}

pub fn attr_string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.to_string(),
        r#type: attribute_type::STRING,
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub fn node(
    op_type: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attributes: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: op_type.to_string(),
        name: name.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attributes,
        ..Default::default()
    }
}

/// One dimension of a value's shape: a size, or a name for a dynamic axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

/// A typed graph input or output.
pub fn value_info(name: &str, elem_type: i32, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => DimensionValue::DimValue(*n as i64),
                Dim::Named(s) => DimensionValue::DimParam(s.clone()),
            }),
            denotation: String::new(),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            }),
            denotation: String::new(),
        }),
        doc_string: String::new(),
    }
}

pub fn metadata(key: &str, value: impl Into<String>) -> StringStringEntryProto {
    StringStringEntryProto {
        key: key.to_string(),
        value: value.into(),
    }
}

impl TensorProto {
    /// The values of a float32 tensor, from `raw_data` or `float_data`.
    pub fn f32_values(&self) -> Result<Vec<f32>, String> {
        if self.data_type != data_type::FLOAT {
            return Err(format!(
                "tensor {}: data type {} is not float32",
                self.name, self.data_type
            ));
        }
        if self.data_location == 1 {
            return Err(format!(
                "tensor {}: external data is not supported",
                self.name
            ));
        }
        if !self.raw_data.is_empty() {
            if self.raw_data.len() % 4 != 0 {
                return Err(format!(
                    "tensor {}: {} raw bytes is not a whole number of float32",
                    self.name,
                    self.raw_data.len()
                ));
            }
            return Ok(self
                .raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect());
        }
        Ok(self.float_data.clone())
    }

    /// The values of an int64 (or int32) tensor, from `raw_data` or the typed field.
    pub fn i64_values(&self) -> Result<Vec<i64>, String> {
        if self.data_location == 1 {
            return Err(format!(
                "tensor {}: external data is not supported",
                self.name
            ));
        }
        match self.data_type {
            data_type::INT64 if !self.raw_data.is_empty() => {
                if self.raw_data.len() % 8 != 0 {
                    return Err(format!(
                        "tensor {}: {} raw bytes is not a whole number of int64",
                        self.name,
                        self.raw_data.len()
                    ));
                }
                Ok(self
                    .raw_data
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect())
            }
            data_type::INT64 => Ok(self.int64_data.clone()),
            data_type::INT32 if !self.raw_data.is_empty() => Ok(self
                .raw_data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect()),
            data_type::INT32 => Ok(self.int32_data.iter().map(|&v| v as i64).collect()),
            other => Err(format!(
                "tensor {}: data type {other} is not an integer type",
                self.name
            )),
        }
    }

    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().map(|&d| d.max(0) as usize).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn tensors_round_trip_through_bytes() {
        let t = tensor_f32("w", &[2, 2], &[1.0, -2.0, 3.5, 0.0]);
        let decoded = TensorProto::decode(t.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded.f32_values().unwrap(), vec![1.0, -2.0, 3.5, 0.0]);
        assert_eq!(decoded.shape(), vec![2, 2]);
        let s = tensor_i64("shape", &[4], &[-1, 3, 1, 1]);
        assert_eq!(
            TensorProto::decode(s.encode_to_vec().as_slice())
                .unwrap()
                .i64_values()
                .unwrap(),
            vec![-1, 3, 1, 1]
        );
    }

    #[test]
    fn dynamic_axes_are_named() {
        let v = value_info(
            "z",
            data_type::FLOAT,
            &[Dim::Named("N".into()), Dim::Fixed(100)],
        );
        let dims = &v.r#type.unwrap().tensor_type.unwrap().shape.unwrap().dim;
        assert_eq!(dims[0].value, Some(DimensionValue::DimParam("N".into())));
        assert_eq!(dims[1].value, Some(DimensionValue::DimValue(100)));
    }
}
