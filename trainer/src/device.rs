//! Picking the burn device at run time from a `--device` string.

pub use burn::tensor::Device;
use std::str::FromStr;

#[cfg(feature = "vulkan")]
mod spirv_shared_memory;

/// A device named on the command line. Each GPU kind needs the cargo feature of the same
/// name (`--features cuda`, `wgpu`, `vulkan`, `metal`, `rocm`); a build without it says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// burn's `flex` backend, gantry's own CPU kernels.
    #[default]
    Cpu,
    /// burn-cuda, the N-th NVIDIA GPU.
    Cuda(usize),
    /// burn-rocm (HIP), the N-th AMD GPU.
    Rocm(usize),
    /// burn's wgpu backend on whatever graphics API the machine offers, kernels from WGSL.
    Wgpu,
    /// burn's wgpu backend pinned to Vulkan, kernels compiled to SPIR-V.
    Vulkan,
    /// burn's wgpu backend pinned to Metal (macOS), kernels compiled to MSL.
    Metal,
}

/// What `--device` accepts, for error messages and `--help`.
pub const DEVICE_FORMS: &str = "`cpu`, `cuda[:N]`, `rocm[:N]`, `wgpu`, `vulkan` or `metal`";

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let indexed = |prefix: &str| -> Option<Result<usize, String>> {
            let rest = s.strip_prefix(prefix)?;
            if rest.is_empty() {
                return Some(Ok(0));
            }
            let index = rest.strip_prefix(':')?;
            Some(
                index
                    .parse()
                    .map_err(|_| format!("`{s}`: the device index `{index}` is not a number")),
            )
        };
        match s {
            "cpu" | "flex" => return Ok(Self::Cpu),
            "wgpu" => return Ok(Self::Wgpu),
            "vulkan" => return Ok(Self::Vulkan),
            "metal" => return Ok(Self::Metal),
            _ => {}
        }
        if let Some(index) = indexed("cuda") {
            return index.map(Self::Cuda);
        }
        if let Some(index) = indexed("rocm") {
            return index.map(Self::Rocm);
        }
        Err(format!("unknown device `{s}`: expected {DEVICE_FORMS}"))
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
            Self::Rocm(index) => write!(f, "rocm:{index}"),
            Self::Wgpu => write!(f, "wgpu"),
            Self::Vulkan => write!(f, "vulkan"),
            Self::Metal => write!(f, "metal"),
        }
    }
}

/// The error of a device whose backend this build left out, naming the feature that adds it.
fn not_built(choice: DeviceChoice, feature: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "this gantry was built without {feature} support, which `--device {choice}` needs: \
         rebuild with `cargo build --release --features {feature}`"
    )
}

impl DeviceChoice {
    /// The burn device, or an error saying which cargo feature adds it when it was not
    /// compiled in.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "cuda")]
            Self::Cuda(index) => Ok(Device::cuda(index)),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda(_) => Err(not_built(self, "cuda")),
            #[cfg(feature = "rocm")]
            Self::Rocm(index) => Ok(Device::rocm(index)),
            #[cfg(not(feature = "rocm"))]
            Self::Rocm(_) => Err(not_built(self, "rocm")),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => {
                let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
                // With `vulkan` compiled in, CubeCL compiles SPIR-V for every Vulkan
                // adapter, `--device wgpu` included.
                #[cfg(feature = "vulkan")]
                spirv_shared_memory::check(self, &device)?;
                Ok(device)
            }
            #[cfg(not(feature = "wgpu"))]
            Self::Wgpu => Err(not_built(self, "wgpu")),
            #[cfg(feature = "vulkan")]
            Self::Vulkan => {
                let device = Device::vulkan(burn::tensor::DeviceKind::DefaultDevice);
                spirv_shared_memory::check(self, &device)?;
                Ok(device)
            }
            #[cfg(not(feature = "vulkan"))]
            Self::Vulkan => Err(not_built(self, "vulkan")),
            #[cfg(feature = "metal")]
            Self::Metal => Ok(Device::metal(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "metal"))]
            Self::Metal => Err(not_built(self, "metal")),
        }
    }

    /// The backend behind this choice, as a person names it.
    pub fn backend_name(self) -> &'static str {
        match self {
            Self::Cpu => "burn flex",
            Self::Cuda(_) => "burn-cuda",
            Self::Rocm(_) => "burn-rocm",
            #[cfg(not(feature = "vulkan"))]
            Self::Wgpu => "burn-wgpu, WGSL",
            // CubeCL picks its SPIR-V compiler for any Vulkan adapter once it is built in.
            #[cfg(feature = "vulkan")]
            Self::Wgpu => "burn-wgpu, SPIR-V on Vulkan, WGSL elsewhere",
            Self::Vulkan => "burn-wgpu, Vulkan SPIR-V",
            Self::Metal => "burn-wgpu, Metal MSL",
        }
    }

    /// What a figure or a run was measured on: `cpu (burn flex, 2 threads, <CPU model>,
    /// AVX-512)`, `cuda:0 (NVIDIA H100 PCIe, burn-cuda)`, `vulkan (llvmpipe (LLVM 15.0.6,
    /// 256 bits), burn-wgpu, Vulkan SPIR-V)`. Opens the device.
    pub fn describe(self, device: &Device) -> String {
        match self {
            Self::Cpu => describe(device),
            _ => format!(
                "{self} ({}, {})",
                gpu_name(device).unwrap_or_else(|| "unnamed device".into()),
                self.backend_name()
            ),
        }
    }
}

/// The name the device gives itself (`NVIDIA H100 PCIe`, `llvmpipe (LLVM 15.0.6, 256 bits)`),
/// for GPU backends; opens the device.
#[cfg(any(feature = "cuda", feature = "rocm", feature = "wgpu"))]
fn gpu_name(device: &Device) -> Option<String> {
    device.identity().map(|identity| identity.name)
}

#[cfg(not(any(feature = "cuda", feature = "rocm", feature = "wgpu")))]
fn gpu_name(_device: &Device) -> Option<String> {
    None
}

/// Keep freed memory in the process for the next step instead of returning it to the
/// kernel. burn frees and reallocates every activation and gradient of every step, and
/// glibc's malloc hands blocks above its mmap threshold (128 KiB, rising only slowly) back
/// on free, so each step faulted its working set in again: ~10% of a DCGAN step was page
/// faults and `memset` in `perf`, and this cut a step by ~14% (docs/performance.md).
/// Blocks above the largest threshold glibc allows (32 MiB: a 64×64 DCGAN's column
/// matrices are 67 MB) were still mapped and unmapped whenever no freed block was big
/// enough, which depends on the order of the step's allocations: no block is mapped on its
/// own at all (`M_MMAP_MAX` 0), so every one comes from the heap that freed ones return to.
/// Call once at start-up, before any thread allocates; a no-op off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters; the values are in range
    // (32 MiB is glibc's largest mmap threshold on 64-bit targets).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_MMAP_MAX, 0);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse_and_print_back() {
        for (text, choice) in [
            ("cpu", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
            ("rocm:1", DeviceChoice::Rocm(1)),
            ("wgpu", DeviceChoice::Wgpu),
            ("vulkan", DeviceChoice::Vulkan),
            ("metal", DeviceChoice::Metal),
        ] {
            assert_eq!(text.parse::<DeviceChoice>(), Ok(choice));
        }
        assert_eq!(DeviceChoice::Cuda(3).to_string(), "cuda:3");
        assert_eq!("rocm".parse::<DeviceChoice>(), Ok(DeviceChoice::Rocm(0)));
        let wrong = "cuda:x".parse::<DeviceChoice>().unwrap_err();
        assert!(wrong.contains("`x` is not a number"), "{wrong}");
        let unknown = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert!(
            unknown.contains("wgpu") && unknown.contains("rocm"),
            "{unknown}"
        );
    }

    #[test]
    fn a_backend_left_out_of_the_build_names_its_feature() {
        #[cfg(not(feature = "metal"))]
        {
            let error = DeviceChoice::Metal.device().unwrap_err().to_string();
            assert!(error.contains("--features metal"), "{error}");
        }
        #[cfg(not(feature = "cuda"))]
        {
            let error = DeviceChoice::Cuda(1).device().unwrap_err().to_string();
            assert!(
                error.contains("--features cuda") && error.contains("cuda:1"),
                "{error}"
            );
        }
    }
}
