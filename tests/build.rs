//! Import gantry's exported fixture with burn's own ONNX importer (burn-onnx `ModelGen`).

fn main() {
    println!("cargo:rerun-if-changed=fixtures/dcgan28-tiny.onnx");
    burn_onnx::ModelGen::new()
        .input("fixtures/dcgan28-tiny.onnx")
        .out_dir("imported/")
        .run_from_script();
}
