//! Re-make the committed fixtures: `cargo run -p gantry-tests --bin make-fixtures`.

fn main() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let out = gantry_tests::fixtures::fixtures_dir().join(gantry_tests::fixtures::TINY);
    gantry_tests::fixtures::make_tiny(work.path(), &out)?;
    println!("wrote {}", out.display());
    Ok(())
}
