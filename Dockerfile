# gantry on an NVIDIA GPU server: builds `gantry` with burn-cuda and runs `gantry train`.
#
#   docker build -t gantry-cuda .
#   docker run --gpus all -v "$PWD/data:/work/data" -v "$PWD/runs:/work/runs" gantry-cuda \
#       train --preset mnist-dcgan --device cuda:0 --out runs/mnist-gpu
#
# The host needs the NVIDIA driver and the NVIDIA Container Toolkit (`--gpus all`); the CUDA
# toolkit comes with the image. The build needs internet: crates.io, and burn-cuda's
# cubecl-llvm build script, which downloads an LLVM bundle. (The project's CI machines have
# neither a GPU nor a Docker engine: this file is checked by reading, not by a build.)

# The devel image: cubecl compiles its kernels at run time with NVRTC, which the runtime
# image lacks.
FROM nvidia/cuda:12.8.1-devel-ubuntu24.04 AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl build-essential pkg-config \
    && rm -rf /var/lib/apt/lists/*
# The workspace's rust-version.
RUN curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
ENV PATH=/root/.cargo/bin:$PATH
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p gantry --features cuda \
    && cp target/release/gantry /usr/local/bin/gantry \
    && rm -rf target

FROM nvidia/cuda:12.8.1-devel-ubuntu24.04
COPY --from=build /usr/local/bin/gantry /usr/local/bin/gantry
# Mount data/ and runs/ here (see above): checkpoints survive the container.
WORKDIR /work
ENTRYPOINT ["gantry"]
CMD ["--help"]
