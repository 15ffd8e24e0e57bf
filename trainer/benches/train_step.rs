//! `cargo bench -p gantry-trainer`: ms per DCGAN training step at batch 64 on the CPU
//! backend, and images/s. (The step reads its losses back, so the timing includes the sync.)

fn main() {
    let device = burn::tensor::Device::flex();
    for batch_size in [64] {
        match gantry_trainer::bench::train_step(&device, batch_size, 3, 20) {
            Ok(figures) => println!("{figures}"),
            Err(e) => {
                eprintln!("bench failed: {e:#}");
                std::process::exit(1);
            }
        }
    }
}
