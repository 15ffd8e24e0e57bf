//! Values flowing through a graph: float tensors of rank 1–4 on burn, and small integer
//! tensors (shapes, indices, labels) on the host.

use burn::tensor::{Device, Int, Tensor, TensorData};

/// A float tensor of rank 1 to 4. ONNX ranks are only known at run time; burn's are types.
#[derive(Debug, Clone)]
pub enum Float {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R3(Tensor<3>),
    R4(Tensor<4>),
}

/// Apply the same expression to whichever rank a [`Float`] has.
#[macro_export]
macro_rules! with_float {
    ($value:expr, $t:ident => $body:expr) => {
        match $value {
            $crate::value::Float::R1($t) => $body,
            $crate::value::Float::R2($t) => $body,
            $crate::value::Float::R3($t) => $body,
            $crate::value::Float::R4($t) => $body,
        }
    };
}

/// Wrap an expression whose rank is given by `$rank` (1–4) as a [`Float`].
macro_rules! float_of_rank {
    ($rank:expr, $dims:expr, $t:ident => $body:expr) => {{
        let d: &[usize] = $dims;
        match $rank {
            1 => Ok(Float::R1({
                let $t = [d[0]];
                $body
            })),
            2 => Ok(Float::R2({
                let $t = [d[0], d[1]];
                $body
            })),
            3 => Ok(Float::R3({
                let $t = [d[0], d[1], d[2]];
                $body
            })),
            4 => Ok(Float::R4({
                let $t = [d[0], d[1], d[2], d[3]];
                $body
            })),
            r => Err(format!("rank {r} tensors are not supported (1 to 4 are)")),
        }
    }};
}

impl Float {
    pub fn from_values(values: Vec<f32>, dims: &[usize], device: &Device) -> Result<Self, String> {
        let dims = if dims.is_empty() {
            vec![1]
        } else {
            dims.to_vec()
        };
        if dims.iter().product::<usize>() != values.len() {
            return Err(format!("{} values for shape {dims:?}", values.len()));
        }
        float_of_rank!(dims.len(), &dims, shape => Tensor::from_data(TensorData::new(values, shape), device))
    }

    pub fn dims(&self) -> Vec<usize> {
        with_float!(self, t => t.dims().to_vec())
    }

    pub fn rank(&self) -> usize {
        self.dims().len()
    }

    pub fn values(self) -> Vec<f32> {
        with_float!(self, t => t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 data"))
    }

    pub fn reshape(self, dims: &[usize]) -> Result<Self, String> {
        let have: usize = self.dims().iter().product();
        let want = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if want != Some(have) {
            return Err(format!(
                "cannot reshape {:?} ({have} values) to {dims:?}",
                self.dims()
            ));
        }
        float_of_rank!(dims.len(), dims, shape => with_float!(self.clone(), t => t.reshape(shape)))
    }

    /// Prepend size-1 axes up to `rank` (NumPy broadcasting aligns shapes on the right).
    pub fn lift(self, rank: usize) -> Result<Self, String> {
        let dims = self.dims();
        if dims.len() >= rank {
            return Ok(self);
        }
        let mut lifted = vec![1; rank - dims.len()];
        lifted.extend(dims);
        self.reshape(&lifted)
    }

    pub fn as4(self) -> Result<Tensor<4>, String> {
        match self {
            Float::R4(t) => Ok(t),
            other => Err(format!(
                "expected a rank-4 tensor, got shape {:?}",
                other.dims()
            )),
        }
    }

    pub fn as2(self) -> Result<Tensor<2>, String> {
        match self {
            Float::R2(t) => Ok(t),
            other => Err(format!(
                "expected a rank-2 tensor, got shape {:?}",
                other.dims()
            )),
        }
    }

    pub fn as1(self) -> Result<Tensor<1>, String> {
        let dims = self.dims();
        match self.reshape(&[dims.iter().product()])? {
            Float::R1(t) => Ok(t),
            _ => unreachable!("reshaped to rank 1"),
        }
    }
}

/// A small integer tensor kept on the host (`dims` may be empty: a scalar).
#[derive(Debug, Clone, PartialEq)]
pub struct Ints {
    pub dims: Vec<usize>,
    pub data: Vec<i64>,
}

impl Ints {
    pub fn vector(data: Vec<i64>) -> Self {
        Self {
            dims: vec![data.len()],
            data,
        }
    }

    pub fn to_tensor(&self, device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), [self.data.len()]),
            device,
        )
    }
}

/// Any value in a graph.
#[derive(Debug, Clone)]
pub enum Value {
    Float(Float),
    Int(Ints),
}

impl Value {
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Value::Float(f) => f.dims(),
            Value::Int(i) => i.dims.clone(),
        }
    }
}
