//! Picking the burn device at run time from a `--device` string.

pub use burn::tensor::Device;
use std::str::FromStr;

/// A device named on the command line: `cpu` (burn's `flex` backend) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" | "flex" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(index)) => Ok(Self::Cuda(index)),
                _ => Err(format!(
                    "unknown device `{s}`: expected `cpu`, `cuda` or `cuda:N`"
                )),
            },
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

impl DeviceChoice {
    /// The burn device, or an error saying how to get CUDA support when it was not compiled in.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            Self::Cuda(index) => Ok(Device::cuda(index)),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda(_) => anyhow::bail!(
                "this gantry was built without CUDA support: rebuild with `cargo build --release --features cuda`"
            ),
        }
    }
}

/// Keep freed memory in the process for the next step instead of returning it to the
/// kernel. burn frees and reallocates every activation and gradient of every step, and
/// glibc's malloc hands blocks above its mmap threshold (128 KiB, rising only slowly) back
/// on free, so each step faulted its working set in again: ~10% of a DCGAN step was page
/// faults and `memset` in `perf`, and this cut a step by ~14% (docs/performance.md).
/// Call once at start-up, before any thread allocates; a no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters; the values are in range
    // (32 MiB is glibc's largest mmap threshold on 64-bit targets).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

/// What a figure was measured on, to print beside it: for the CPU backend
/// `cpu (burn flex, N threads, <CPU model>, <SIMD level>)`.
pub fn describe(device: &Device) -> String {
    let text = format!("{device:?}");
    if !text.contains("Flex") {
        return text;
    }
    format!(
        "cpu (burn flex, {} threads, {}, {})",
        rayon::current_num_threads(),
        cpu_model(),
        simd_level()
    )
}

/// The CPU's model name (`/proc/cpuinfo`), or `unknown CPU`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// The widest vector instructions this CPU offers (what run-time dispatch can pick).
pub fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "AVX-512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "AVX2+FMA";
        }
        "SSE"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "NEON"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}
