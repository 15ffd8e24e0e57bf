//! The runtime (natively, the same Rust that runs in the browser) against ONNX Runtime.

use gantry_exporter::export::max_abs_diff;
use gantry_exporter::runtime::OrtGenerator;
use gantry_latent::{SplitMix64, Stream, normal_batch};
use gantry_onnx::build::{
    Dim, attr_float, attr_int, attr_ints, node, tensor_f32, tensor_i64, value_info,
};
use gantry_onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, attribute_type,
    data_type,
};
use gantry_web::Generator;
use prost::Message;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dcgan28-tiny.onnx")
}

/// Run `file` in both runtimes on the same inputs; the largest difference.
fn compare(file: &Path, n: usize, latent: usize, labels: Option<Vec<i64>>) -> f32 {
    let generator = Generator::from_bytes(&std::fs::read(file).unwrap()).unwrap();
    let z = normal_batch(3, Stream::Sample, n as u64, n, latent);
    let (ours, our_shape) = generator.generate(&z, labels.as_deref()).unwrap();
    let (theirs, their_shape) = OrtGenerator::open(file)
        .unwrap()
        .generate(&z, n, labels.as_deref())
        .unwrap();
    assert_eq!(our_shape, their_shape);
    // A flat image would prove nothing: the pixels must vary.
    let mean = ours.iter().sum::<f32>() / ours.len() as f32;
    let std = (ours.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / ours.len() as f32).sqrt();
    assert!(std > 0.01, "pixel std {std}");
    max_abs_diff(&ours, &theirs)
}

#[test]
fn gantry_exports_match_onnx_runtime() {
    for n in [1, 64] {
        let diff = compare(&fixture(), n, 100, None);
        println!("gantry dcgan28, batch {n}: max |Δ| = {diff:.2e}");
        assert!(diff <= 1e-4, "batch {n}: {diff}");
    }
    let generator = Generator::from_bytes(&std::fs::read(fixture()).unwrap()).unwrap();
    let info = generator.describe();
    assert_eq!(info["props"]["gantry.dataset"], "mnist");
    assert_eq!(info["latentDim"], 100);
    assert_eq!(info["inputs"][0]["shape"], serde_json::json!(["N", 100]));
    assert_eq!(
        info["outputs"][0]["shape"],
        serde_json::json!(["N", 1, 28, 28])
    );
}

fn random(
    rng: &mut SplitMix64,
    name: &str,
    dims: &[usize],
    scale: f32,
) -> gantry_onnx::TensorProto {
    let mut values = vec![0.0; dims.iter().product()];
    rng.fill_normal(&mut values);
    values.iter_mut().for_each(|v| *v *= scale);
    tensor_f32(name, dims, &values)
}

fn constant_tensor(name: &str, output: &str, t: gantry_onnx::TensorProto) -> NodeProto {
    let attr = AttributeProto {
        name: "value".into(),
        r#type: attribute_type::TENSOR,
        t: Some(t),
        ..Default::default()
    };
    node("Constant", name, &[], &[output], vec![attr])
}

/// A conditional generator laid out as `torch.onnx.export` writes one: Linear as Gemm with
/// transB=1, BatchNorm1d on [N, F], `x.view(x.size(0), 16, 7, 7)` as Shape → Gather →
/// Unsqueeze → Concat → Reshape, Constant nodes, label embedding as Gather, Concat of z and
/// the embedding, ConvTranspose with output_padding, Conv, Mul/Add, Flatten, MatMul.
fn pytorch_style_conditional() -> ModelProto {
    let mut rng = SplitMix64::for_stream(9, Stream::Init, 0);
    let initializer = vec![
        random(&mut rng, "embed.weight", &[10, 10], 1.0),
        random(&mut rng, "mix.weight", &[100, 100], 0.1),
        random(&mut rng, "fc.weight", &[784, 110], 0.3),
        random(&mut rng, "fc.bias", &[784], 0.1),
        random(&mut rng, "bn1.weight", &[784], 0.1),
        random(&mut rng, "bn1.bias", &[784], 0.1),
        random(&mut rng, "bn1.running_mean", &[784], 0.1),
        tensor_f32("bn1.running_var", &[784], &vec![1.3; 784]),
        random(&mut rng, "up1.weight", &[16, 8, 4, 4], 0.5),
        random(&mut rng, "up1.bias", &[8], 0.1),
        random(&mut rng, "bn2.weight", &[8], 0.1),
        random(&mut rng, "bn2.bias", &[8], 0.1),
        random(&mut rng, "bn2.running_mean", &[8], 0.1),
        tensor_f32(
            "bn2.running_var",
            &[8],
            &[0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9],
        ),
        random(&mut rng, "up2.weight", &[8, 4, 3, 3], 0.5),
        random(&mut rng, "out.weight", &[1, 4, 3, 3], 0.5),
        random(&mut rng, "out.bias", &[1], 0.1),
    ];
    let nodes = vec![
        node(
            "MatMul",
            "/mix/MatMul",
            &["z", "mix.weight"],
            &["z2"],
            vec![],
        ),
        node(
            "Gather",
            "/embed/Gather",
            &["embed.weight", "label"],
            &["emb"],
            vec![],
        ),
        node(
            "Flatten",
            "/Flatten",
            &["emb"],
            &["emb_flat"],
            vec![attr_int("axis", 1)],
        ),
        node(
            "Concat",
            "/Concat",
            &["z2", "emb_flat"],
            &["x"],
            vec![attr_int("axis", 1)],
        ),
        node(
            "Gemm",
            "/fc/Gemm",
            &["x", "fc.weight", "fc.bias"],
            &["h"],
            vec![
                attr_float("alpha", 1.0),
                attr_float("beta", 1.0),
                attr_int("transB", 1),
            ],
        ),
        node(
            "BatchNormalization",
            "/bn1/BatchNormalization",
            &[
                "h",
                "bn1.weight",
                "bn1.bias",
                "bn1.running_mean",
                "bn1.running_var",
            ],
            &["h_bn"],
            vec![attr_float("epsilon", 1e-5), attr_float("momentum", 0.9)],
        ),
        node(
            "LeakyRelu",
            "/LeakyRelu",
            &["h_bn"],
            &["h_act"],
            vec![attr_float("alpha", 0.2)],
        ),
        node("Shape", "/Shape", &["h_act"], &["shape"], vec![]),
        constant_tensor("/Constant", "zero", tensor_i64("", &[], &[0])),
        node(
            "Gather",
            "/Gather",
            &["shape", "zero"],
            &["batch"],
            vec![attr_int("axis", 0)],
        ),
        constant_tensor("/Constant_1", "axes0", tensor_i64("", &[1], &[0])),
        node(
            "Unsqueeze",
            "/Unsqueeze",
            &["batch", "axes0"],
            &["batch1"],
            vec![],
        ),
        constant_tensor("/Constant_2", "rest", tensor_i64("", &[3], &[16, 7, 7])),
        node(
            "Concat",
            "/Concat_1",
            &["batch1", "rest"],
            &["view_shape"],
            vec![attr_int("axis", 0)],
        ),
        node(
            "Reshape",
            "/Reshape",
            &["h_act", "view_shape"],
            &["img0"],
            vec![],
        ),
        node(
            "ConvTranspose",
            "/up1/ConvTranspose",
            &["img0", "up1.weight", "up1.bias"],
            &["u1"],
            vec![
                attr_ints("kernel_shape", &[4, 4]),
                attr_ints("strides", &[2, 2]),
                attr_ints("pads", &[1, 1, 1, 1]),
                attr_ints("dilations", &[1, 1]),
                attr_int("group", 1),
            ],
        ),
        node(
            "BatchNormalization",
            "/bn2/BatchNormalization",
            &[
                "u1",
                "bn2.weight",
                "bn2.bias",
                "bn2.running_mean",
                "bn2.running_var",
            ],
            &["u1_bn"],
            vec![attr_float("epsilon", 1e-5)],
        ),
        node("Relu", "/Relu", &["u1_bn"], &["u1_act"], vec![]),
        node(
            "ConvTranspose",
            "/up2/ConvTranspose",
            &["u1_act", "up2.weight"],
            &["u2"],
            vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("strides", &[2, 2]),
                attr_ints("pads", &[1, 1, 1, 1]),
                attr_ints("output_padding", &[1, 1]),
            ],
        ),
        node(
            "Conv",
            "/out/Conv",
            &["u2", "out.weight", "out.bias"],
            &["o"],
            vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("pads", &[1, 1, 1, 1]),
            ],
        ),
        node("Tanh", "/Tanh", &["o"], &["t"], vec![]),
        constant_tensor("/Constant_3", "half", tensor_f32("", &[], &[0.5])),
        node("Mul", "/Mul", &["t", "half"], &["t_half"], vec![]),
        node("Sigmoid", "/Sigmoid", &["o"], &["s"], vec![]),
        node("Add", "/Add", &["t_half", "s"], &["image"], vec![]),
    ];
    let batch = || Dim::Named("batch".into());
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        producer_name: "pytorch".into(),
        producer_version: "2.5.0".into(),
        graph: Some(GraphProto {
            name: "main_graph".into(),
            node: nodes,
            initializer,
            input: vec![
                value_info("z", data_type::FLOAT, &[batch(), Dim::Fixed(100)]),
                value_info("label", data_type::INT64, &[batch()]),
            ],
            output: vec![value_info(
                "image",
                data_type::FLOAT,
                &[batch(), Dim::Fixed(1), Dim::Fixed(28), Dim::Fixed(28)],
            )],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn a_pytorch_style_conditional_graph_matches_onnx_runtime() {
    let dir = tempfile_dir();
    let file = dir.join("cgan.onnx");
    std::fs::write(&file, pytorch_style_conditional().encode_to_vec()).unwrap();
    for n in [1, 10] {
        let labels: Vec<i64> = (0..n as i64).map(|i| i % 10).collect();
        let diff = compare(&file, n, 100, Some(labels));
        println!("PyTorch-style cGAN, batch {n}: max |Δ| = {diff:.2e}");
        assert!(diff <= 1e-4, "batch {n}: {diff}");
    }
    // Labels change the images: the embedding path is live.
    let generator = Generator::from_bytes(&std::fs::read(&file).unwrap()).unwrap();
    assert!(generator.is_conditional());
    let z = normal_batch(1, Stream::Sample, 0, 1, 100);
    let (a, _) = generator.generate(&z, Some(&[3])).unwrap();
    let (b, _) = generator.generate(&z, Some(&[4])).unwrap();
    let label_effect = max_abs_diff(&a, &b);
    assert!(
        label_effect > 1e-2,
        "labels 3 and 4 give nearly the same image ({label_effect})"
    );
    let err = generator.generate(&z, None).unwrap_err().to_string();
    assert!(err.contains("conditional"), "{err}");
}

/// PyTorch writes `x.view(x.size(0), …)` as Shape → Gather → Unsqueeze → Concat →
/// Reshape: that arithmetic runs once per batch size, and a call that reuses it gives
/// exactly the images a fresh load gives, whatever the labels.
#[test]
fn shape_arithmetic_runs_once_per_batch_size_and_changes_nothing() {
    let model = pytorch_style_conditional().encode_to_vec();
    let generator = Generator::from_bytes(&model).unwrap();
    assert!(
        generator.shape_steps() >= 4,
        "{} shape steps in {:?}",
        generator.shape_steps(),
        generator.steps()
    );
    for (call, n) in [1usize, 10, 1, 10, 3].into_iter().enumerate() {
        let z = normal_batch(5, Stream::Sample, call as u64, n, 100);
        let labels: Vec<i64> = (0..n as i64).map(|i| (i + call as i64 * 7) % 10).collect();
        let (reused, shape) = generator.generate(&z, Some(&labels)).unwrap();
        let (fresh, fresh_shape) = Generator::from_bytes(&model)
            .unwrap()
            .generate(&z, Some(&labels))
            .unwrap();
        assert_eq!(shape, fresh_shape, "call {call}, batch {n}");
        assert_eq!(reused, fresh, "call {call}, batch {n}");
    }
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gantry-web-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_unsupported_operator_is_named() {
    let mut model = pytorch_style_conditional();
    let graph = model.graph.as_mut().unwrap();
    graph.node.push(node(
        "Softmax",
        "/Softmax",
        &["image"],
        &["probs"],
        vec![attr_int("axis", 1)],
    ));
    graph.output[0].name = "probs".into();
    let err = Generator::from_bytes(&model.encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unsupported ONNX operator `Softmax`")
            && err.contains("/Softmax")
            && err.contains("opset "),
        "{err}"
    );
}

#[test]
fn corrupt_files_are_errors_never_panics() {
    let bytes = std::fs::read(fixture()).unwrap();
    assert!(Generator::from_bytes(b"not an onnx file at all").is_err());
    assert!(Generator::from_bytes(&[]).is_err());
    // Every truncation point in the header region, and a spread of them through the weights.
    let cuts = (0..512).chain((512..bytes.len()).step_by(bytes.len() / 97));
    for cut in cuts {
        let _ = Generator::from_bytes(&bytes[..cut]);
    }
    // Flipped bytes: decode may succeed with odd values, but must never panic.
    let mut rng = SplitMix64::for_stream(1, Stream::Sample, 77);
    for _ in 0..200 {
        let mut broken = bytes.clone();
        for _ in 0..8 {
            let i = rng.below(broken.len() as u64) as usize;
            broken[i] = rng.next_u64() as u8;
        }
        if let Ok(generator) = Generator::from_bytes(&broken) {
            let _ = generator.generate(&vec![0.5; 100], None);
        }
    }
}

#[test]
fn a_pix2pix_upscaler_matches_onnx_runtime() {
    use gantry_exporter::{GeneratorInput, ModelMetadata, generator_model};
    use gantry_trainer::model::{Generator as BurnGenerator, Network, Pix2PixConfig};

    // Kaiming-initialised weights (not DCGAN's N(0, 0.02)), so the output is far from flat.
    let config = Pix2PixConfig::new()
        .with_generator_features(8)
        .with_image_size(16)
        .with_depth(3);
    let spec = config.spec();
    let device = burn::tensor::Device::flex();
    let generator = BurnGenerator {
        network: Network::init_with(&spec.generator, &device, false),
        label_embedding: None,
    };
    let meta = ModelMetadata {
        model_kind: "pix2pix".into(),
        dataset: "lfw".into(),
        class_names: vec![],
        input: GeneratorInput::Source {
            shape: [1, 4, 4],
            scale: 4,
        },
        image_shape: [1, 16, 16],
        value_range: [-1.0, 1.0],
        epochs: 0,
        steps: 0,
        quality: vec![],
    };
    let model = generator_model(&spec, &generator, &meta).unwrap();
    let ops: Vec<&str> = model
        .graph
        .as_ref()
        .unwrap()
        .node
        .iter()
        .map(|n| n.op_type.as_str())
        .collect();
    assert!(
        ops.contains(&"Resize") && ops.contains(&"Concat"),
        "{ops:?}"
    );
    let file = tempfile_dir().join("pix2pix.onnx");
    std::fs::write(&file, model.encode_to_vec()).unwrap();

    let ours = Generator::from_bytes(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(ours.source_shape(), Some([1, 4, 4]));
    assert_eq!(ours.latent_dim(), 0);
    for n in [1, 5] {
        let mut sources = normal_batch(4, Stream::Sample, n as u64, n, 16);
        sources.iter_mut().for_each(|v| *v = v.tanh());
        let (mine, shape) = ours.generate(&sources, None).unwrap();
        let (theirs, their_shape) = OrtGenerator::open(&file)
            .unwrap()
            .translate(&sources, [n, 1, 4, 4])
            .unwrap();
        assert_eq!(shape, their_shape);
        assert_eq!(shape, [n, 1, 16, 16]);
        let spread = mine.iter().cloned().fold(f32::MIN, f32::max)
            - mine.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread > 0.1, "output range {spread}");
        let diff = max_abs_diff(&mine, &theirs);
        println!("pix2pix 4×4 → 16×16, batch {n}: max |Δ| = {diff:.2e}");
        assert!(diff <= 1e-5, "batch {n}: {diff}");
    }
    let err = ours.generate(&[0.0; 15], None).unwrap_err().to_string();
    assert!(err.contains("source image size [1, 4, 4]"), "{err}");
}

/// A graph thousands of nodes long loads and runs (the runtime walks nodes in a loop, never
/// by recursion), and its value is what the chain computes; an input of another element
/// type is refused at load.
#[test]
fn a_graph_thousands_of_nodes_deep_runs_and_wrong_types_are_refused() {
    let depth = 5_000;
    let mut nodes = Vec::with_capacity(depth);
    let name = |i: usize| {
        if i == 0 {
            "z".to_string()
        } else {
            format!("v{i}")
        }
    };
    for i in 0..depth {
        let op = if i % 2 == 0 { "Relu" } else { "Identity" };
        let out = if i + 1 == depth {
            "image".to_string()
        } else {
            name(i + 1)
        };
        nodes.push(node(op, &format!("/n{i}"), &[&name(i)], &[&out], vec![]));
    }
    let model = |input_type: i32| ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            name: "deep".into(),
            node: nodes.clone(),
            input: vec![value_info(
                "z",
                input_type,
                &[Dim::Named("N".into()), Dim::Fixed(4)],
            )],
            output: vec![value_info(
                "image",
                data_type::FLOAT,
                &[Dim::Named("N".into()), Dim::Fixed(4)],
            )],
            ..Default::default()
        }),
        ..Default::default()
    };
    let generator = Generator::from_bytes(&model(data_type::FLOAT).encode_to_vec()).unwrap();
    let (out, shape) = generator.generate(&[-1.0, 2.0, -3.0, 4.0], None).unwrap();
    assert_eq!((out, shape), (vec![0.0, 2.0, 0.0, 4.0], vec![1, 4]));
    let double = 11; // ONNX DOUBLE
    let err = Generator::from_bytes(&model(double).encode_to_vec())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("inputs `z`") && err.contains("float32"),
        "{err}"
    );
}

/// The page's models, compiled: each BatchNorm is folded into the ConvTranspose before it
/// or becomes one multiply-add per channel, and the images still match ONNX Runtime's
/// (which runs the file's nodes as written) within 1e-5.
#[test]
fn batch_norms_are_folded_at_load_and_images_still_match_onnx_runtime() {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/models");
    let cases = [
        ("faces.onnx", "ConvTranspose+BatchNormalization", 100, false),
        ("mnist-cgan.onnx", "ChannelAffine", 100, true),
        ("fashion-mnist-cgan.onnx", "ChannelAffine", 100, true),
    ];
    for (file, folded, latent, conditional) in cases {
        let path = models.join(file);
        let generator = Generator::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
        let steps = generator.steps();
        assert!(steps.contains(&folded), "{file}: {steps:?}");
        assert!(!steps.contains(&"BatchNormalization"), "{file}: {steps:?}");
        let n = 16;
        let labels = conditional.then(|| (0..n as i64).map(|i| i % 10).collect());
        let latent = if generator.latent_dim() > 0 {
            generator.latent_dim()
        } else {
            latent
        };
        let diff = compare(&path, n, latent, labels);
        println!("{file}: steps {steps:?}, max |Δ| = {diff:.2e}");
        assert!(diff <= 1e-5, "{file}: {diff}");
    }
}

/// The BatchNorm parameters `name.{weight,bias,running_mean,running_var}` for `c`
/// channels, the variances spread over 0.5–2 so that folding visibly rescales.
fn batch_norm_params(rng: &mut SplitMix64, name: &str, c: usize) -> Vec<gantry_onnx::TensorProto> {
    let var: Vec<f32> = (0..c).map(|i| 0.5 + 1.5 * i as f32 / c as f32).collect();
    vec![
        random(rng, &format!("{name}.weight"), &[c], 0.5),
        random(rng, &format!("{name}.bias"), &[c], 0.3),
        random(rng, &format!("{name}.running_mean"), &[c], 0.3),
        tensor_f32(&format!("{name}.running_var"), &[c], &var),
    ]
}

fn batch_norm(name: &str, input: &str, output: &str) -> NodeProto {
    let params = ["weight", "bias", "running_mean", "running_var"].map(|p| format!("{name}.{p}"));
    let mut inputs = vec![input];
    inputs.extend(params.iter().map(String::as_str));
    node(
        "BatchNormalization",
        &format!("/{name}"),
        &inputs,
        &[output],
        vec![attr_float("epsilon", 1e-3)],
    )
}

/// Every layer a BatchNorm folds into, in the layouts the fold must get right: a Gemm with
/// B as `[K, N]`, alpha ≠ 1 and C scaled by beta ≠ 1; a Gemm with B as `[N, K]` and no C;
/// a ConvTranspose with two groups (its weight is `[in, out/group, kh, kw]`, so output
/// channels are not the weight's first axis); a Conv without bias. Each fold is checked
/// against ONNX Runtime, which runs the BatchNorms as written.
#[test]
fn batch_norms_fold_into_gemm_conv_transpose_with_groups_and_conv() {
    let mut rng = SplitMix64::for_stream(21, Stream::Init, 0);
    let mut initializer = vec![
        random(&mut rng, "fc1.weight", &[12, 24], 0.4),
        random(&mut rng, "fc1.bias", &[24], 0.3),
        random(&mut rng, "fc2.weight", &[32, 24], 0.3),
        tensor_i64("view", &[4], &[-1, 8, 2, 2]),
        random(&mut rng, "up.weight", &[8, 3, 3, 3], 0.4),
        random(&mut rng, "up.bias", &[6], 0.2),
        random(&mut rng, "out.weight", &[4, 6, 3, 3], 0.3),
    ];
    for (name, c) in [("bn1", 24), ("bn2", 32), ("bn3", 6), ("bn4", 4)] {
        initializer.extend(batch_norm_params(&mut rng, name, c));
    }
    let nodes = vec![
        node(
            "Gemm",
            "/fc1",
            &["z", "fc1.weight", "fc1.bias"],
            &["h1"],
            vec![attr_float("alpha", 1.5), attr_float("beta", 0.5)],
        ),
        batch_norm("bn1", "h1", "h1n"),
        node(
            "Gemm",
            "/fc2",
            &["h1n", "fc2.weight"],
            &["h2"],
            vec![attr_int("transB", 1)],
        ),
        batch_norm("bn2", "h2", "h2n"),
        node("Reshape", "/view", &["h2n", "view"], &["x"], vec![]),
        node(
            "ConvTranspose",
            "/up",
            &["x", "up.weight", "up.bias"],
            &["u"],
            vec![
                attr_int("group", 2),
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("strides", &[2, 2]),
            ],
        ),
        batch_norm("bn3", "u", "un"),
        node(
            "Conv",
            "/out",
            &["un", "out.weight"],
            &["o"],
            vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("pads", &[1, 1, 1, 1]),
            ],
        ),
        batch_norm("bn4", "o", "on"),
        node("Tanh", "/tanh", &["on"], &["image"], vec![]),
    ];
    let batch = || Dim::Named("N".into());
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            name: "folds".into(),
            node: nodes,
            initializer,
            input: vec![value_info(
                "z",
                data_type::FLOAT,
                &[batch(), Dim::Fixed(12)],
            )],
            output: vec![value_info(
                "image",
                data_type::FLOAT,
                &[batch(), Dim::Fixed(4), Dim::Fixed(5), Dim::Fixed(5)],
            )],
            ..Default::default()
        }),
        ..Default::default()
    };
    let file = tempfile_dir().join("folds.onnx");
    std::fs::write(&file, model.encode_to_vec()).unwrap();
    let generator = Generator::from_bytes(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        generator.steps(),
        [
            "Gemm+BatchNormalization",
            "Gemm+BatchNormalization",
            "Reshape",
            "ConvTranspose+BatchNormalization",
            "Conv+BatchNormalization",
            "Tanh"
        ]
    );
    for n in [1, 7] {
        let diff = compare(&file, n, 12, None);
        println!("folded Gemm ×2, grouped ConvTranspose, Conv, batch {n}: max |Δ| = {diff:.2e}");
        assert!(diff <= 1e-5, "batch {n}: {diff}");
    }
}
