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

/// Reading a tensor's values is where a hostile file would lie: a shape whose product
/// overflows or does not fit this platform's `usize` (wasm32's is 32 bits), a negative
/// dimension, `raw_data` whose length disagrees with the shape. Each is refused here, before
/// any allocation sized by the shape, with the tensor named.
impl TensorProto {
    /// The dimensions, each checked: non-negative, fitting `usize`, and with a product
    /// that fits too.
    pub fn shape(&self) -> Result<Vec<usize>, String> {
        let mut count = 1usize;
        self.dims
            .iter()
            .map(|&d| {
                let d = usize::try_from(d).map_err(|_| {
                    format!(
                        "tensor {}: dimension {d} of {:?} is negative or too large",
                        self.name, self.dims
                    )
                })?;
                count = count.checked_mul(d).ok_or_else(|| {
                    format!(
                        "tensor {}: shape {:?} holds more elements than fit in memory",
                        self.name, self.dims
                    )
                })?;
                Ok(d)
            })
            .collect()
    }

    /// How many values the shape holds (1 for a scalar).
    pub fn element_count(&self) -> Result<usize, String> {
        Ok(self.shape()?.iter().product())
    }

    fn local_data(&self) -> Result<(), String> {
        if self.data_location == 1 {
            return Err(format!(
                "tensor {}: its weights are in a file beside the model (external data) that was not read in",
                self.name
            ));
        }
        Ok(())
    }

    /// `raw_data` as little-endian `width`-byte values, after checking its length against
    /// the shape.
    fn raw_chunks(
        &self,
        width: usize,
        kind: &str,
    ) -> Result<std::slice::ChunksExact<'_, u8>, String> {
        let count = self.element_count()?;
        if count.checked_mul(width) != Some(self.raw_data.len()) {
            return Err(format!(
                "tensor {}: {} raw bytes, but shape {:?} needs {count} {kind} values",
                self.name,
                self.raw_data.len(),
                self.dims
            ));
        }
        Ok(self.raw_data.chunks_exact(width))
    }

    /// Typed-field values, after checking their count against the shape.
    fn typed<T: Clone>(&self, values: &[T], kind: &str) -> Result<Vec<T>, String> {
        let count = self.element_count()?;
        if values.len() != count {
            return Err(format!(
                "tensor {}: {} {kind} values, but shape {:?} holds {count}",
                self.name,
                values.len(),
                self.dims
            ));
        }
        Ok(values.to_vec())
    }

    /// The values of a float32 tensor, from `raw_data` or `float_data`.
    pub fn f32_values(&self) -> Result<Vec<f32>, String> {
        if self.data_type != data_type::FLOAT {
            return Err(format!(
                "tensor {}: data type {} is not float32",
                self.name, self.data_type
            ));
        }
        self.local_data()?;
        if self.raw_data.is_empty() {
            return self.typed(&self.float_data, "float32");
        }
        Ok(self
            .raw_chunks(4, "float32")?
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// The values of an int64 (or int32) tensor, from `raw_data` or the typed field.
    pub fn i64_values(&self) -> Result<Vec<i64>, String> {
        self.local_data()?;
        let raw = !self.raw_data.is_empty();
        match self.data_type {
            data_type::INT64 if raw => Ok(self
                .raw_chunks(8, "int64")?
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()),
            data_type::INT64 => self.typed(&self.int64_data, "int64"),
            data_type::INT32 if raw => Ok(self
                .raw_chunks(4, "int32")?
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect()),
            data_type::INT32 => Ok(self
                .typed(&self.int32_data, "int32")?
                .into_iter()
                .map(i64::from)
                .collect()),
            other => Err(format!(
                "tensor {}: data type {other} is not an integer type",
                self.name
            )),
        }
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
        assert_eq!(decoded.shape().unwrap(), vec![2, 2]);
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

    #[test]
    fn lying_tensors_are_refused_before_allocating() {
        let mut t = tensor_f32("w", &[2, 2], &[1.0, -2.0, 3.5, 0.0]);
        t.dims = vec![1 << 40, 1 << 40];
        assert!(
            t.f32_values()
                .unwrap_err()
                .contains("more elements than fit")
        );
        t.dims = vec![2, -3];
        assert!(
            t.f32_values()
                .unwrap_err()
                .contains("dimension -3 of [2, -3] is negative")
        );
        t.dims = vec![3, 2];
        let e = t.f32_values().unwrap_err();
        assert!(
            e.contains("tensor w: 16 raw bytes, but shape [3, 2] needs 6 float32"),
            "{e}"
        );
        let mut i = tensor_i64("s", &[4], &[-1, 3, 1, 1]);
        i.raw_data.truncate(30);
        assert!(i.i64_values().unwrap_err().contains("30 raw bytes"));
        let typed = TensorProto {
            name: "t".into(),
            dims: vec![3],
            data_type: data_type::INT32,
            int32_data: vec![1, 2],
            ..Default::default()
        };
        assert!(
            typed
                .i64_values()
                .unwrap_err()
                .contains("2 int32 values, but shape [3] holds 3")
        );
        let int32 = TensorProto {
            raw_data: vec![0; 10],
            int32_data: vec![],
            ..typed
        };
        assert!(int32.i64_values().unwrap_err().contains("10 raw bytes"));
    }
}
