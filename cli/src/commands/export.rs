//! `gantry export`: a trained generator to a verified `.onnx` file.

use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    gantry export --checkpoint runs/mnist --out mnist.onnx\n  \
    gantry export --checkpoint runs/mnist/checkpoints/step-00000937 --out early.onnx --no-verify\n  \
    gantry export --checkpoint runs/mnist-cgan --out g.onnx --for torch-fidelity\n  \
    fidelity --gpu 0 --fid --input1 g.onnx --input1-model-z-size 100 --input1-model-num-classes 10 --input2 DIR\n\n\
    The file has input `z` float32 [N, latent] (conditional models also `label` int64 [N];\n\
    an upscaler instead `image_lr` float32 [N, C, h, w] in [-1, 1]) and\n\
    output `image` float32 [N, C, H, W] in [-1, 1], N dynamic, and metadata_props (gantry.*) naming the model, dataset, classes and shapes.\n\
    Verification runs ONNX Runtime (ORT_DYLIB_PATH, or scripts/setup-python-tools.sh) on batches\n\
    of 1 and 64 and refuses the file if any value differs from burn's by more than 1e-5.")]
pub struct ExportArgs {
    /// A run directory (its newest checkpoint) or one checkpoint folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// The .onnx file to write (written whole or not at all).
    #[arg(long)]
    out: PathBuf,
    /// Skip the ONNX Runtime parity check.
    #[arg(long)]
    no_verify: bool,
    /// Who reads the file: `gantry` (the page, `gantry eval`, any ONNX runtime), or
    /// `torch-fidelity` (its `--input1 g.onnx`: output uint8 [N, 3, H, W] in 0-255 as
    /// gantry's PNGs have them, grey repeated to RGB; inputs z, then labels; the check
    /// compares its bytes with burn's images made bytes).
    #[arg(long = "for", value_enum, default_value_t = Target::Gantry)]
    target: Target,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Target {
    Gantry,
    TorchFidelity,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let options = gantry_exporter::ExportOptions {
        target: match args.target {
            Target::Gantry => gantry_exporter::ExportTarget::Gantry,
            Target::TorchFidelity => gantry_exporter::ExportTarget::TorchFidelity,
        },
        verify: !args.no_verify,
        ..Default::default()
    };
    let report = gantry_exporter::export_checkpoint(&args.checkpoint, &args.out, &options)?;
    println!("{report}");
    if let Some(warning) = &report.warning {
        eprintln!("warning: {warning}");
    }
    Ok(())
}
