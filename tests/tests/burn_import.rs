//! gantry's export read back by burn's own importer (burn-onnx, at build time) and by
//! ONNX Runtime: all three give the same images.

use burn::tensor::{Device, Tensor, TensorData};
use gantry_exporter::export::max_abs_diff;
use gantry_exporter::runtime::OrtGenerator;
use gantry_tests::fixtures::{TINY, TINY_RUN, export_tiny, fixtures_dir, tiny_config};
use gantry_trainer::inference::generate;
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::training::checkpoint;

#[test]
fn the_export_imports_into_burn_and_all_three_agree() {
    let work = tempfile::tempdir().unwrap();
    let fresh = work.path().join("fresh.onnx");
    let run = fixtures_dir().join(TINY_RUN);
    export_tiny(&run, &fresh).unwrap();

    // The committed file (what build.rs imported) is exactly what the exporter writes today
    // from the committed checkpoint.
    let committed = fixtures_dir().join(TINY);
    assert!(
        std::fs::read(&committed).unwrap() == std::fs::read(&fresh).unwrap(),
        "{} is stale: re-make it with `cargo run -p gantry-tests --bin make-fixtures`",
        committed.display()
    );

    let device = Device::flex();
    let n = 16;
    let z = latent::normal_batch(5, Stream::Sample, 0, n, 100);

    // gantry's own burn generator, from the checkpoint the file was exported from.
    let (state, _) = checkpoint::load(
        &checkpoint::resolve(&run).unwrap(),
        &tiny_config(),
        &device.clone().autodiff(),
    )
    .unwrap();
    let (reference, shape) = generate(&state.generator, z.clone(), None, 100, &device).unwrap();
    assert_eq!(shape, [n, 1, 28, 28]);

    // burn-onnx's generated code, fed the same latents.
    let imported = gantry_tests::imported::model_on(&device);
    let input = Tensor::<2>::from_data(TensorData::new(z.clone(), [n, 100]), &device);
    let output = imported.forward(input);
    assert_eq!(output.dims(), [n, 1, 28, 28]);
    let from_burn_onnx = output
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();

    // ONNX Runtime on the committed file.
    let (from_ort, _) = OrtGenerator::open(&committed)
        .unwrap()
        .generate(&z, n, None)
        .unwrap();

    let burn_onnx_vs_gantry = max_abs_diff(&reference, &from_burn_onnx);
    let ort_vs_gantry = max_abs_diff(&reference, &from_ort);
    println!(
        "burn-onnx vs gantry: {burn_onnx_vs_gantry:.2e}, ONNX Runtime vs gantry: {ort_vs_gantry:.2e}"
    );
    assert!(
        burn_onnx_vs_gantry <= 1e-5,
        "burn-onnx differs by {burn_onnx_vs_gantry}"
    );
    assert!(
        ort_vs_gantry <= 1e-5,
        "ONNX Runtime differs by {ort_vs_gantry}"
    );
}
