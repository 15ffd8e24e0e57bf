//! A `ModelProto` parsed and checked into what the runtime executes.

use crate::value::{Float, Ints, Value};
use burn::tensor::Device;
use gantry_onnx::{
    AttributeProto, DimensionValue, ModelProto, TensorProto, ValueInfoProto, data_type,
};
use std::collections::{HashMap, HashSet};

/// A node's attributes by name.
#[derive(Debug, Clone, Default)]
pub struct Attrs(pub HashMap<String, AttributeProto>);

impl Attrs {
    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.0.get(name).map(|a| a.i).unwrap_or(default)
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.0.get(name).map(|a| a.f).unwrap_or(default)
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.0.get(name).map(|a| a.ints.clone())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorProto> {
        self.0.get(name).and_then(|a| a.t.as_ref())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub op: String,
    /// Input names; an empty name is an omitted optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Attrs,
}

impl Node {
    /// How errors refer to this node.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            format!("{} node", self.op)
        } else {
            format!("{} node `{}`", self.op, self.name)
        }
    }
}

/// A graph input or output with its type.
#[derive(Debug, Clone, PartialEq)]
pub struct IoInfo {
    pub name: String,
    /// ONNX element type (1 float32, 7 int64, …).
    pub elem_type: i32,
    /// Each axis: a size, or a name for a dynamic axis.
    pub dims: Vec<Result<usize, String>>,
}

#[derive(Debug, Clone)]
pub struct Graph {
    /// The default domain's opset the file was written for (errors name it).
    pub opset: i64,
    pub nodes: Vec<Node>,
    pub initializers: HashMap<String, Value>,
    pub inputs: Vec<IoInfo>,
    pub outputs: Vec<IoInfo>,
    pub metadata: Vec<(String, String)>,
}

/// A tensor constant as a runtime value: float32 on burn, integers on the host.
pub fn tensor_value(t: &TensorProto, device: &Device) -> Result<Value, String> {
    match t.data_type {
        data_type::FLOAT => Ok(Value::Float(Float::from_values(
            t.f32_values()?,
            &t.shape()?,
            device,
        )?)),
        data_type::INT64 | data_type::INT32 => {
            // i64_values checks the count against the shape.
            let data = t.i64_values()?;
            Ok(Value::Int(Ints {
                dims: t.shape()?,
                data,
            }))
        }
        other => Err(format!(
            "tensor {}: element type {other} is not supported (float32, int64, int32 are)",
            t.name
        )),
    }
}

fn io_info(v: &ValueInfoProto) -> IoInfo {
    let tensor = v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
    let dims = tensor
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(DimensionValue::DimValue(n)) if *n > 0 => Ok(*n as usize),
                    Some(DimensionValue::DimParam(name)) => Err(name.clone()),
                    _ => Err("?".to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    IoInfo {
        name: v.name.clone(),
        elem_type: tensor.map(|t| t.elem_type).unwrap_or(0),
        dims,
    }
}

impl Graph {
    /// Check a model and turn it into a runnable graph. Every problem is reported in words:
    /// an operator this runtime lacks is named with its node.
    pub fn from_model(model: &ModelProto, device: &Device) -> Result<Self, String> {
        let graph = model.graph.as_ref().ok_or("the model has no graph")?;
        if let Some(op) = model
            .opset_import
            .iter()
            .find(|o| !o.domain.is_empty() && o.domain != "ai.onnx")
        {
            if graph.node.iter().any(|n| n.domain == op.domain) {
                return Err(format!(
                    "operators of domain `{}` are not supported",
                    op.domain
                ));
            }
        }
        let opset = model
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(1, |o| o.version);
        let mut initializers = HashMap::new();
        let mut weight_bytes = 0usize;
        for t in &graph.initializer {
            weight_bytes = weight_bytes.saturating_add(t.element_count()?.saturating_mul(4));
            if weight_bytes > crate::budget::bytes() {
                return Err(format!(
                    "the weights pass the memory budget of {} MiB at `{}` (setMemoryBudget raises it)",
                    crate::budget::bytes() >> 20,
                    t.name
                ));
            }
            initializers.insert(t.name.clone(), tensor_value(t, device)?);
        }
        let inputs: Vec<IoInfo> = graph
            .input
            .iter()
            .filter(|v| !initializers.contains_key(&v.name))
            .map(io_info)
            .collect();
        let outputs: Vec<IoInfo> = graph.output.iter().map(io_info).collect();
        if outputs.is_empty() {
            return Err("the graph has no output".into());
        }

        let mut known: HashSet<&str> = initializers.keys().map(String::as_str).collect();
        known.extend(inputs.iter().map(|i| i.name.as_str()));
        let mut nodes = Vec::with_capacity(graph.node.len());
        for n in &graph.node {
            let node = Node {
                name: n.name.clone(),
                op: n.op_type.clone(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
                attrs: Attrs(
                    n.attribute
                        .iter()
                        .map(|a| (a.name.clone(), a.clone()))
                        .collect(),
                ),
            };
            if !n.domain.is_empty() && n.domain != "ai.onnx" {
                return Err(format!(
                    "{}: domain `{}` is not supported",
                    node.label(),
                    n.domain
                ));
            }
            if let Some(missing) = n
                .input
                .iter()
                .find(|i| !i.is_empty() && !known.contains(i.as_str()))
            {
                return Err(format!(
                    "{}: input `{missing}` is not produced before it (graph not in order?)",
                    node.label()
                ));
            }
            known.extend(n.output.iter().map(String::as_str));
            nodes.push(node);
        }
        if let Some(missing) = outputs.iter().find(|o| !known.contains(o.name.as_str())) {
            return Err(format!(
                "graph output `{}` is produced by no node",
                missing.name
            ));
        }
        let metadata = model
            .metadata_props
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        Ok(Self {
            opset,
            nodes,
            initializers,
            inputs,
            outputs,
            metadata,
        })
    }
}
