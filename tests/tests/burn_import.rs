//! gantry's export read back by burn's own importer (burn-onnx's generated code, committed
//! under `fixtures/imported/`) and by ONNX Runtime: all three give the same images.

use burn::tensor::{Device, Tensor, TensorData};
use gantry_exporter::export::max_abs_diff;
use gantry_exporter::runtime::OrtGenerator;
use gantry_tests::fixtures::{
    IMPORTED, TINY, TINY_RUN, export_tiny, fixtures_dir, import_with_burn_onnx, tiny_config,
};
use gantry_trainer::inference::generate;
use gantry_trainer::latent::{self, Stream};
use gantry_trainer::training::checkpoint;

#[test]
fn the_export_imports_into_burn_and_all_three_agree() {
    let work = tempfile::tempdir().unwrap();
    let fresh = work.path().join("fresh.onnx");
    let run = fixtures_dir().join(TINY_RUN);
    export_tiny(&run, &fresh).unwrap();

    // The committed file (what `fixtures/imported/` was made from) is exactly what the
    // exporter writes today from the committed checkpoint.
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

/// The committed code and weights are what burn-onnx writes from the committed file today,
/// so the model compiled into this crate is burn's own import of gantry's export.
#[test]
fn the_committed_import_is_what_burn_onnx_writes_today() {
    let work = tempfile::tempdir().unwrap();
    import_with_burn_onnx(&fixtures_dir().join(TINY), work.path()).unwrap();
    let stem = TINY.trim_end_matches(".onnx");
    for ext in ["rs", "bpk"] {
        let name = format!("{stem}.{ext}");
        let committed = fixtures_dir().join(IMPORTED).join(&name);
        let fresh = std::fs::read(work.path().join(&name)).unwrap();
        assert!(
            without_param_ids(&std::fs::read(&committed).unwrap()) == without_param_ids(&fresh),
            "{} is stale: re-make it with `cargo run -p gantry-tests --bin make-fixtures`",
            committed.display()
        );
    }
}

/// `bpk` with each tensor's `param_id` zeroed: burn-store writes a fresh random id (a CBOR
/// u64 after the key) for every tensor on each import; names, shapes and values stay.
fn without_param_ids(bpk: &[u8]) -> Vec<u8> {
    const KEY: &[u8] = b"\x68param_id\x1b";
    let mut out = bpk.to_vec();
    let mut i = 0;
    while let Some(at) = out[i..].windows(KEY.len()).position(|w| w == KEY) {
        let id = i + at + KEY.len();
        out[id..(id + 8).min(bpk.len())].fill(0);
        i = id;
    }
    out
}

#[test]
fn param_ids_are_all_that_is_masked() {
    let bpk = std::fs::read(fixtures_dir().join(IMPORTED).join("dcgan28-tiny.bpk")).unwrap();
    let masked = without_param_ids(&bpk);
    let changed = bpk.iter().zip(&masked).filter(|(a, b)| a != b).count();
    // 16 tensors (4 transposed convolutions' weights, 3 BatchNorms' four tensors), 8 bytes
    // each, a few of which may be zero already.
    assert!((100..=128).contains(&changed), "{changed} bytes masked");
}
