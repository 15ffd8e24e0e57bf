//! Refuse `--device vulkan` (and `--device wgpu` in a build with `vulkan`, which CubeCL then
//! compiles to SPIR-V too) where CubeCL's SPIR-V would crash the driver.
//!
//! CubeCL 0.11 (what burn 0.22.1 pins) declares a kernel's shared memory two ways. On a
//! Vulkan device with the `workgroupMemoryExplicitLayout` feature
//! (`VK_KHR_workgroup_memory_explicit_layout`: NVIDIA, AMD and Intel drivers have it) it is
//! right. Without it, `cubecl-spirv`'s `lower_shared_implicit` (src/ops/memory.rs, unchanged
//! in 0.12.0-pre.1) gives each `Workgroup` variable the slice's *pointer* type as its value
//! type, so the variable is a pointer to a pointer to the array and every access chain into
//! it is invalid SPIR-V (`spirv-val`: "OpInBoundsAccessChain reached non-composite type").
//! Every kernel with shared memory — matmul, convolution, reductions — has it. Drivers do
//! not validate SPIR-V: Mesa's lavapipe (22.3.6 and 25.0.7 alike) segfaults compiling the
//! pipeline, and with the three variables' types corrected by hand the same module
//! validates and compiles (docs/performance.md, "Why the SPIR-V route crashes on
//! lavapipe"). So on such a device gantry stops with a message instead of a SIGSEGV. A
//! build with `wgpu` and without `vulkan` compiles the same kernels from WGSL (naga
//! translates them to valid SPIR-V), and those run there.

use super::{Device, DeviceChoice, gpu_name};
use ash::vk;

/// Set to anything to skip the check (to try a CubeCL that has the fix).
pub const SKIP_VARIABLE: &str = "GANTRY_VULKAN_UNCHECKED";

/// `Ok` when the Vulkan device burn opened for `device` has
/// `workgroupMemoryExplicitLayout`, or when it cannot be found to ask (unnamed, not a
/// Vulkan adapter; the check only refuses what it has seen lack the feature); an error
/// naming the device otherwise.
pub fn check(choice: DeviceChoice, device: &Device) -> anyhow::Result<()> {
    if std::env::var_os(SKIP_VARIABLE).is_some() {
        return Ok(());
    }
    let Some(name) = gpu_name(device) else {
        return Ok(());
    };
    match explicit_layout_support(&name) {
        Some(false) => Err(anyhow::anyhow!(
            "`--device {choice}` on {name}: this Vulkan driver lacks \
             VK_KHR_workgroup_memory_explicit_layout, and without it the SPIR-V that \
             CubeCL 0.11 (burn 0.22.1) writes for shared memory is invalid, which crashes \
             the driver on the first matmul or convolution. Use `--device wgpu` in a gantry \
             built with `--features wgpu` and without `vulkan` (with `vulkan` in, CubeCL \
             compiles SPIR-V for every Vulkan adapter): the same kernels, compiled from WGSL, \
             run there. ({SKIP_VARIABLE}=1 skips this check, to try a CubeCL with the fix.)"
        )),
        Some(true) | None => Ok(()),
    }
}

/// Whether the physical device called `name` has the feature; `None` when Vulkan cannot
/// be loaded or no device has that name.
fn explicit_layout_support(name: &str) -> Option<bool> {
    // SAFETY: loads the system's Vulkan loader, as wgpu itself does.
    let entry = unsafe { ash::Entry::load() }.ok()?;
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_1);
    let info = vk::InstanceCreateInfo::default().application_info(&app);
    // SAFETY: a plain instance with no layers or extensions, destroyed below.
    let instance = unsafe { entry.create_instance(&info, None) }.ok()?;
    let answer = (|| {
        // SAFETY: `instance` is alive; the handles come from it.
        let devices = unsafe { instance.enumerate_physical_devices() }.ok()?;
        let device = devices.into_iter().find(|&device| {
            let properties = unsafe { instance.get_physical_device_properties(device) };
            properties
                .device_name_as_c_str()
                .is_ok_and(|n| n.to_string_lossy() == name)
        })?;
        let extensions = unsafe { instance.enumerate_device_extension_properties(device) }.ok()?;
        let has_extension = extensions.iter().any(|e| {
            e.extension_name_as_c_str() == Ok(vk::KHR_WORKGROUP_MEMORY_EXPLICIT_LAYOUT_NAME)
        });
        if !has_extension {
            return Some(false);
        }
        let mut layout = vk::PhysicalDeviceWorkgroupMemoryExplicitLayoutFeaturesKHR::default();
        let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut layout);
        unsafe { instance.get_physical_device_features2(device, &mut features) };
        Some(layout.workgroup_memory_explicit_layout == vk::TRUE)
    })();
    // SAFETY: nothing made from `instance` outlives this.
    unsafe { instance.destroy_instance(None) };
    answer
}
