//! Re-make the committed fixtures: `cargo run -p gantry-tests --bin make-fixtures`.

use gantry_tests::fixtures::{IMPORTED, TINY, TINY_RUN, fixtures_dir, make_tiny};

fn main() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let (run, onnx) = (fixtures_dir().join(TINY_RUN), fixtures_dir().join(TINY));
    make_tiny(work.path(), &run, &onnx)?;
    let imported = fixtures_dir().join(IMPORTED);
    println!(
        "wrote {}, {} and {}",
        run.display(),
        onnx.display(),
        imported.display()
    );
    Ok(())
}
