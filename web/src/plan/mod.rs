//! A graph compiled once at load into a list of typed steps, run on every call.
//!
//! At load each node becomes the op its type's [registry](crate::ops::registry) entry builds
//! from its attributes; values get numbered slots instead of names; nodes whose inputs are
//! all constants (Constant nodes, shape arithmetic on weights) run once and become
//! constants; a BatchNorm with constant statistics is folded into the Conv, ConvTranspose or
//! Gemm before it ([`fold`]), or else becomes one per-channel multiply-add; then each step
//! whose weights are constants gets them packed for its kernel ([`Op::with_constants`]:
//! a Gemm's B in the layout gemm reads, its C as the row products start from; a convolution's
//! weight in the order gantry-kernels' products read it). Shape arithmetic (`Shape` →
//! `Gather` → `Concat` → `Reshape`, as PyTorch's exporter writes a dynamic batch) runs once
//! per input size and is then remembered. When a run is over with a value, the step that
//! reads it last receives it by value, so burn can reuse its buffer in place and memory is
//! freed as soon as possible.

pub mod fold;

use crate::graph::{Attrs, Graph, Node};
use crate::ops::linear::Gemm;
use crate::ops::norm::{BatchNorm, ChannelAffine};
use crate::ops::{self, Op};
use crate::runtime::RuntimeError;
use crate::value::{Float, Value};
use burn::tensor::Device;
use fold::Affine;
use std::collections::HashMap;
use std::sync::Mutex;

/// Where a step reads one input: a slot, and whether this is the value's last reader.
#[derive(Debug, Clone, Copy)]
struct Arg {
    slot: usize,
    last: bool,
}

#[derive(Debug)]
struct Step {
    /// How errors name the node: `Conv node `/c1` (opset 17)`.
    label: String,
    /// The ONNX op type and attributes, for folding.
    op_type: String,
    attrs: Attrs,
    op: Box<dyn Op>,
    inputs: Vec<Option<Arg>>,
    output: usize,
    /// Whether anything reads the output (a graph output, or a later step).
    used: bool,
    /// The inputs whose values decide the output's shape ([`ops::OpDef::shape_from`]).
    shape_from: &'static [usize],
    /// Whether the output is a function of the graph inputs' shapes alone (a `Shape`, and
    /// the arithmetic on it that PyTorch's exporter writes for a dynamic batch): run once
    /// per input size, then taken from [`Plan::shapes`].
    from_shapes: bool,
}

/// A graph ready to run.
#[derive(Debug)]
pub struct Plan {
    steps: Vec<Step>,
    /// Each slot's value where it is a constant (weights, folded nodes).
    constants: Vec<Option<Value>>,
    /// The graph inputs' slots.
    inputs: HashMap<String, usize>,
    /// The graph outputs' slots.
    outputs: HashMap<String, usize>,
    /// How many run-time values a call holds at most is bounded by the slots.
    slots: usize,
    /// The values of the `from_shapes` steps, in step order, for the input sizes seen last.
    shapes: Mutex<ShapeCache>,
}

/// The shape arithmetic of a few input sizes (a page asks for one or two batch sizes).
#[derive(Debug, Default)]
struct ShapeCache {
    /// (each graph input's slot and shape, the `from_shapes` steps' values), newest last.
    entries: Vec<(Vec<(usize, Vec<usize>)>, Vec<Value>)>,
}

impl ShapeCache {
    const SIZES: usize = 8;

    fn get(&self, key: &[(usize, Vec<usize>)]) -> Option<Vec<Value>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, values)| values.clone())
    }

    fn insert(&mut self, key: Vec<(usize, Vec<usize>)>, values: Vec<Value>) {
        if self.entries.len() == Self::SIZES {
            self.entries.remove(0);
        }
        self.entries.push((key, values));
    }
}

/// Builds a [`Plan`]: slots by name, constants, steps.
struct Compiler<'a> {
    opset: i64,
    device: &'a Device,
    slot_of: HashMap<String, usize>,
    constants: Vec<Option<Value>>,
    /// How many times each slot is read (node inputs and graph outputs).
    readers: Vec<usize>,
    /// The step that computes each run-time slot.
    producer: HashMap<usize, usize>,
    steps: Vec<Step>,
    /// How many times each name is read in the whole graph (node inputs, graph outputs).
    total_reads: HashMap<String, usize>,
}

impl Compiler<'_> {
    fn new_slot(&mut self, name: &str, constant: Option<Value>) -> usize {
        let slot = self.constants.len();
        self.constants.push(constant);
        self.readers.push(0);
        if !name.is_empty() {
            self.slot_of.insert(name.to_string(), slot);
        }
        slot
    }

    fn constant(&mut self, value: Value) -> usize {
        self.new_slot("", Some(value))
    }

    fn constant_float(&self, arg: Option<Arg>) -> Option<&Float> {
        match arg.and_then(|a| self.constants[a.slot].as_ref()) {
            Some(Value::Float(f)) => Some(f),
            _ => None,
        }
    }

    fn label(&self, node: &Node) -> String {
        format!("{} (opset {})", node.label(), self.opset)
    }

    fn node_error(&self, node: &Node, reason: String) -> RuntimeError {
        RuntimeError::Node {
            node: self.label(node),
            reason,
        }
    }

    fn add(&mut self, node: &Node) -> Result<(), RuntimeError> {
        let def = ops::find(&node.op).ok_or_else(|| RuntimeError::UnsupportedOperator {
            op: node.op.clone(),
            node: node.label(),
            opset: self.opset,
        })?;
        let op = (def.build)(&node.attrs).map_err(|e| self.node_error(node, e))?;
        let inputs: Vec<Option<Arg>> = node
            .inputs
            .iter()
            .map(|name| {
                if name.is_empty() {
                    return Ok(None);
                }
                let slot = *self.slot_of.get(name).ok_or_else(|| {
                    self.node_error(
                        node,
                        format!("input `{name}` is an output this runtime does not compute"),
                    )
                })?;
                self.readers[slot] += 1;
                Ok(Some(Arg { slot, last: false }))
            })
            .collect::<Result<_, RuntimeError>>()?;
        // Every input known at load: run it now, once.
        if inputs
            .iter()
            .flatten()
            .all(|a| self.constants[a.slot].is_some())
        {
            let values = inputs
                .iter()
                .map(|a| a.and_then(|a| self.constants[a.slot].clone()))
                .collect();
            let value = op
                .eval(values, self.device)
                .map_err(|e| self.node_error(node, e))?;
            for a in inputs.iter().flatten() {
                self.readers[a.slot] -= 1;
            }
            self.new_slot(node.outputs.first().map_or("", String::as_str), Some(value));
            return Ok(());
        }
        if node.op == "BatchNormalization" && self.fold_batch_norm(node, &inputs)? {
            return Ok(());
        }
        let output = self.new_slot(node.outputs.first().map_or("", String::as_str), None);
        self.producer.insert(output, self.steps.len());
        self.steps.push(Step {
            label: self.label(node),
            op_type: node.op.clone(),
            attrs: node.attrs.clone(),
            op,
            inputs,
            output,
            used: false,
            shape_from: def.shape_from,
            from_shapes: false,
        });
        Ok(())
    }

    /// A BatchNorm whose statistics are constants: folded into the step that makes its
    /// input when that step is a Conv, ConvTranspose or Gemm with constant weights read by
    /// nothing else; otherwise one per-channel multiply-add. `false`: left as it is.
    fn fold_batch_norm(
        &mut self,
        node: &Node,
        inputs: &[Option<Arg>],
    ) -> Result<bool, RuntimeError> {
        let bn = BatchNorm::read(&node.attrs).map_err(|e| self.node_error(node, e))?;
        let params: Option<Vec<&Float>> = (1..5)
            .map(|i| self.constant_float(inputs.get(i).copied().flatten()))
            .collect();
        let (Some(params), Some(Some(x))) = (params, inputs.first().copied()) else {
            return Ok(false);
        };
        let affine = Affine::of_batch_norm(&bn, [params[0], params[1], params[2], params[3]])
            .map_err(|e| self.node_error(node, e))?;
        for a in inputs.iter().flatten() {
            self.readers[a.slot] -= 1;
        }
        let output_name = node.outputs.first().map_or("", String::as_str);
        if let Some(&at) = self.producer.get(&x.slot)
            && node.inputs.first().and_then(|n| self.total_reads.get(n)) == Some(&1)
            && let Some((weight, bias, op)) = self.folded(at, &affine, node)?
        {
            // The layer now computes the BatchNorm's output itself.
            let (w, b) = (
                self.constant(Value::Float(weight)),
                self.constant(Value::Float(bias)),
            );
            let step = &mut self.steps[at];
            for a in step.inputs.iter().skip(1).flatten() {
                self.readers[a.slot] -= 1;
            }
            step.inputs.truncate(1);
            step.inputs.push(Some(Arg {
                slot: w,
                last: false,
            }));
            step.inputs.push(Some(Arg {
                slot: b,
                last: false,
            }));
            self.readers[w] += 1;
            self.readers[b] += 1;
            if let Some(op) = op {
                step.op = op;
            }
            step.op_type.push_str("+BatchNormalization");
            self.slot_of.insert(output_name.to_string(), x.slot);
            return Ok(true);
        }
        let (scale, shift) = affine
            .tensors(self.device)
            .map_err(|e| self.node_error(node, e))?;
        let (s, t) = (
            self.constant(Value::Float(scale)),
            self.constant(Value::Float(shift)),
        );
        self.readers[s] += 1;
        self.readers[t] += 1;
        self.readers[x.slot] += 1;
        let output = self.new_slot(output_name, None);
        self.producer.insert(output, self.steps.len());
        self.steps.push(Step {
            label: self.label(node),
            op_type: "ChannelAffine".into(),
            attrs: Attrs::default(),
            op: Box::new(ChannelAffine),
            inputs: vec![
                Some(x),
                Some(Arg {
                    slot: s,
                    last: false,
                }),
                Some(Arg {
                    slot: t,
                    last: false,
                }),
            ],
            output,
            used: false,
            shape_from: &[],
            from_shapes: false,
        });
        Ok(true)
    }

    /// Step `at` with its weights (every input after the first, once BatchNorms are folded)
    /// handed to its op at load, where they are constants and the op prepares them for its
    /// kernel ([`Op::with_constants`]): the step then reads only its first input.
    fn prepare(&mut self, at: usize) -> Result<(), RuntimeError> {
        let step = &self.steps[at];
        let mut constants = Vec::new();
        for arg in step.inputs.iter().skip(1) {
            match arg {
                None => constants.push(None),
                Some(_) => match self.constant_float(*arg) {
                    Some(value) => constants.push(Some(value)),
                    None => return Ok(()),
                },
            }
        }
        if constants.is_empty() {
            return Ok(());
        }
        let prepared = step
            .op
            .with_constants(&constants)
            .map_err(|reason| RuntimeError::Node {
                node: step.label.clone(),
                reason,
            })?;
        if let Some(op) = prepared {
            let step = &mut self.steps[at];
            for a in step.inputs.drain(1..).flatten() {
                self.readers[a.slot] -= 1;
            }
            step.op = op;
        }
        Ok(())
    }

    /// Mark the steps whose output follows from the graph inputs' shapes alone. A value's
    /// shape is known from the input shapes when every run-time input's shape is, and each
    /// input whose value shapes the output (a Reshape's target) is a constant or itself
    /// computed from shapes; a `Shape` of such a value, and arithmetic on nothing but
    /// those, is then the same on every call with those input shapes.
    fn mark_shape_arithmetic(&mut self, graph_inputs: impl Iterator<Item = usize>) {
        let slots = self.constants.len();
        // Constants and graph inputs (their shapes are the cache's key) have known shapes.
        let mut shape_known: Vec<bool> = self.constants.iter().map(Option::is_some).collect();
        for slot in graph_inputs {
            shape_known[slot] = true;
        }
        let mut from_shapes = vec![false; slots];
        for step in &mut self.steps {
            let is_constant = |slot: usize| self.constants[slot].is_some();
            let run_time: Vec<usize> = step
                .inputs
                .iter()
                .flatten()
                .map(|a| a.slot)
                .filter(|&slot| !is_constant(slot))
                .collect();
            let shaped_by_known_values = step.shape_from.iter().all(|&i| {
                step.inputs
                    .get(i)
                    .copied()
                    .flatten()
                    .is_none_or(|a| is_constant(a.slot) || from_shapes[a.slot])
            });
            shape_known[step.output] =
                shaped_by_known_values && run_time.iter().all(|&slot| shape_known[slot]);
            step.from_shapes = if step.op_type == "Shape" {
                run_time.iter().all(|&slot| shape_known[slot])
            } else {
                !run_time.is_empty() && run_time.iter().all(|&slot| from_shapes[slot])
            };
            from_shapes[step.output] = step.from_shapes;
        }
    }

    /// Step `at`'s weights and bias with `affine` folded in (and, for a Gemm, its new op),
    /// if it is a layer that can take it.
    #[allow(clippy::type_complexity)]
    fn folded(
        &self,
        at: usize,
        affine: &Affine,
        bn: &Node,
    ) -> Result<Option<(Float, Float, Option<Box<dyn Op>>)>, RuntimeError> {
        let step = &self.steps[at];
        let arg = |i: usize| step.inputs.get(i).copied().flatten();
        let Some(weight) = self.constant_float(arg(1)) else {
            return Ok(None);
        };
        let bias = match arg(2) {
            None => None,
            Some(a) => match self.constant_float(Some(a)) {
                Some(b) => Some(b),
                None => return Ok(None),
            },
        };
        let attrs = &step.attrs;
        let fail = |e| self.node_error(bn, e);
        Ok(match step.op_type.as_str() {
            "Conv" => affine
                .into_conv(weight, bias, self.device)
                .map_err(fail)?
                .map(|(w, b)| (w, b, None)),
            "ConvTranspose" => {
                let groups = crate::ops::conv::groups(attrs).map_err(fail)?;
                affine
                    .into_conv_transpose(weight, bias, groups, self.device)
                    .map_err(fail)?
                    .map(|(w, b)| (w, b, None))
            }
            "Gemm" => {
                let gemm = Gemm::read(attrs);
                affine
                    .into_gemm(weight, bias, gemm.trans_b, gemm.beta, self.device)
                    .map_err(fail)?
                    .map(|(w, b)| {
                        let op: Box<dyn Op> = Box::new(Gemm { beta: 1.0, ..gemm });
                        (w, b, Some(op))
                    })
            }
            _ => None,
        })
    }
}

impl Plan {
    /// Compile `graph`; its initializers become the plan's constants.
    pub fn compile(graph: Graph, device: &Device) -> Result<Self, RuntimeError> {
        let mut c = Compiler {
            opset: graph.opset,
            device,
            slot_of: HashMap::new(),
            constants: Vec::new(),
            readers: Vec::new(),
            producer: HashMap::new(),
            steps: Vec::new(),
            total_reads: HashMap::new(),
        };
        let names = graph.nodes.iter().flat_map(|n| n.inputs.iter());
        for name in names.chain(graph.outputs.iter().map(|o| &o.name)) {
            *c.total_reads.entry(name.clone()).or_default() += 1;
        }
        for (name, value) in graph.initializers {
            c.new_slot(&name, Some(value));
        }
        let mut inputs = HashMap::new();
        for input in &graph.inputs {
            inputs.insert(input.name.clone(), c.new_slot(&input.name, None));
        }
        for node in &graph.nodes {
            c.add(node)?;
        }
        for at in 0..c.steps.len() {
            c.prepare(at)?;
        }
        let mut outputs = HashMap::new();
        for output in &graph.outputs {
            let slot = *c.slot_of.get(&output.name).ok_or_else(|| {
                RuntimeError::Unsupported(format!(
                    "graph output `{}` is produced by no node",
                    output.name
                ))
            })?;
            c.readers[slot] += 1;
            outputs.insert(output.name.clone(), slot);
        }
        // Constants nothing reads any more (weights a step now holds packed) are freed.
        for (constant, &readers) in c.constants.iter_mut().zip(&c.readers) {
            if readers == 0 {
                *constant = None;
            }
        }
        c.mark_shape_arithmetic(inputs.values().copied());
        // The last reader of each run-time value takes it; graph outputs are kept.
        let mut seen: Vec<bool> = c.readers.iter().map(|_| false).collect();
        for &slot in outputs.values() {
            seen[slot] = true;
        }
        for step in c.steps.iter_mut().rev() {
            step.used = c.readers[step.output] > 0;
            for arg in step.inputs.iter_mut().rev().flatten() {
                if c.constants[arg.slot].is_none() && !seen[arg.slot] {
                    arg.last = true;
                    seen[arg.slot] = true;
                }
            }
        }
        Ok(Plan {
            steps: c.steps,
            slots: c.constants.len(),
            constants: c.constants,
            inputs,
            outputs,
            shapes: Mutex::default(),
        })
    }

    fn shape_cache(&self) -> std::sync::MutexGuard<'_, ShapeCache> {
        // A run that panicked holding the lock left the cache whole (inserts are one push).
        self.shapes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many steps are shape arithmetic, run once per input size.
    pub fn shape_steps(&self) -> usize {
        self.steps.iter().filter(|s| s.from_shapes).count()
    }

    /// The op types of the steps, in order (folded layers as `Conv+BatchNormalization`).
    pub fn step_types(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.op_type.as_str()).collect()
    }

    /// Run from the graph inputs `feeds`; the float output `output` and its shape.
    pub fn run(
        &self,
        feeds: Vec<(String, Value)>,
        output: &str,
        device: &Device,
    ) -> Result<(Vec<f32>, Vec<usize>), RuntimeError> {
        let mut slots: Vec<Option<Value>> = vec![None; self.slots];
        // What the run holds: the values in its slots (constants are counted at load).
        let mut held: usize = 0;
        let mut sizes = Vec::new();
        for (name, value) in feeds {
            let slot = *self
                .inputs
                .get(&name)
                .ok_or_else(|| RuntimeError::Input(format!("the model has no input `{name}`")))?;
            held = held.saturating_add(value_bytes(&value));
            sizes.push((slot, value.dims()));
            slots[slot] = Some(value);
        }
        sizes.sort();
        // The shape arithmetic of these input sizes, if it ran before.
        let mut known_values = self.shape_cache().get(&sizes).map(Vec::into_iter);
        let remember = known_values.is_none();
        let mut shape_values = Vec::new();
        for step in &self.steps {
            let mut inputs = Vec::with_capacity(step.inputs.len());
            for arg in &step.inputs {
                inputs.push(match arg {
                    None => None,
                    Some(a) => match &self.constants[a.slot] {
                        Some(constant) => Some(constant.clone()),
                        None if a.last => {
                            let value = slots[a.slot].take();
                            held = held.saturating_sub(value.as_ref().map_or(0, value_bytes));
                            value
                        }
                        None => slots[a.slot].clone(),
                    },
                });
            }
            let value = match known_values.as_mut().filter(|_| step.from_shapes) {
                Some(values) => values.next().ok_or_else(|| {
                    RuntimeError::Unsupported("internal: the shape cache is short".into())
                })?,
                None => step
                    .op
                    .eval(inputs, device)
                    .map_err(|reason| RuntimeError::Node {
                        node: step.label.clone(),
                        reason,
                    })?,
            };
            if step.from_shapes && remember {
                shape_values.push(value.clone());
            }
            if !step.used {
                continue;
            }
            held = held.saturating_add(value_bytes(&value));
            slots[step.output] = Some(value);
            if held > crate::budget::bytes() {
                return Err(RuntimeError::Node {
                    node: step.label.clone(),
                    reason: format!(
                        "the values held reach {} MiB, past the memory budget of {} MiB: ask for fewer images, or raise it with setMemoryBudget",
                        held >> 20,
                        crate::budget::bytes() >> 20
                    ),
                });
            }
        }
        if remember && !shape_values.is_empty() {
            self.shape_cache().insert(sizes, shape_values);
        }
        let slot = *self
            .outputs
            .get(output)
            .ok_or_else(|| RuntimeError::Unsupported(format!("no graph output `{output}`")))?;
        let value = slots[slot].take().or_else(|| self.constants[slot].clone());
        match value {
            Some(Value::Float(image)) => {
                let dims = image.dims();
                Ok((image.values(), dims))
            }
            Some(Value::Int(_)) => Err(RuntimeError::Unsupported(
                "the output is not a float tensor".into(),
            )),
            None => Err(RuntimeError::Unsupported(format!(
                "output `{output}` was not computed"
            ))),
        }
    }
}

fn value_bytes(value: &Value) -> usize {
    let count: usize = value.dims().iter().product();
    count.saturating_mul(match value {
        Value::Float(_) => 4,
        Value::Int(_) => 8,
    })
}
