#!/usr/bin/env python3
"""gantry's training step beside a PyTorch twin of it, on the same CPU, alternating.

    scripts/bench-train [--presets a,b] [--steps N] [--rounds R] [--batch-size B] [--smoke]

The twin is built from `gantry bench --describe`: the same layer lists (one description of
each network: the twin reads gantry's own), generator input, objective, optimiser and batch
as gantry trains. Its step is gantry's (`trainer/src/training/step.rs`): BCE — G forward,
D on real and on fake.detach(), D step, G loss through the updated D, G step; WGAN-GP —
a critic step with the gradient penalty every step (torch.autograd.grad with
create_graph), a G step every `critic_steps`-th; Pix2Pix — sources are the real batch's
block means, D on (image, source) pairs, G on BCE + λ·L1. The four figures are read back
every step, as gantry does.

Each round runs gantry's bench and then the twin, each in its own process, so the max RSS
of each is its own; the figures are the medians over rounds of each run's median ms/step.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

PRESETS = [
    "mnist-dcgan",
    "mnist-cgan-mlp",
    "mnist-cgan-conv",
    "fashion-mnist-dcgan-tf",
    "cifar10-dcgan64",
    "celeba-wgan-gp",
    "lfw-pix2pix",
]


# ---------------------------------------------------------------------------------------
# The twin: torch modules from gantry's LayerSpec lists.


def build_network(torch, layers):
    """A torch module running a LayerSpec list on [n, c, h, w] activations."""
    nn = torch.nn

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.specs = layers
            self.mods = nn.ModuleList()
            for spec in layers:
                kind = spec["type"]
                if kind == "linear":
                    m = nn.Linear(spec["input"], spec["output"], bias=spec["bias"])
                elif kind == "conv_transpose2d":
                    m = nn.ConvTranspose2d(
                        spec["input"], spec["output"], spec["kernel"], spec["stride"],
                        spec["padding"], output_padding=spec.get("output_padding", 0),
                        bias=spec["bias"])
                elif kind == "conv2d":
                    m = nn.Conv2d(spec["input"], spec["output"], spec["kernel"], spec["stride"],
                                  spec["padding"], bias=spec["bias"])
                elif kind == "batch_norm":
                    m = nn.BatchNorm2d(spec["features"], eps=spec.get("epsilon", 1e-5), momentum=spec.get("momentum", 0.1))
                elif kind == "instance_norm":
                    m = nn.InstanceNorm2d(spec["features"], eps=1e-5, affine=True)
                elif kind == "relu":
                    m = nn.ReLU()
                elif kind == "leaky_relu":
                    m = nn.LeakyReLU(spec["slope"])
                elif kind == "tanh":
                    m = nn.Tanh()
                elif kind == "sigmoid":
                    m = nn.Sigmoid()
                elif kind == "dropout":
                    m = nn.Dropout(spec["prob"])
                elif kind == "upsample":
                    m = nn.Upsample(scale_factor=spec["scale"], mode="nearest")
                elif kind in ("reshape", "flatten", "save_skip", "concat_skip"):
                    m = nn.Identity()
                else:
                    raise SystemExit(f"the twin has no layer `{kind}`")
                self.mods.append(m)

        def forward(self, x):
            skips = []
            for spec, m in zip(self.specs, self.mods):
                kind = spec["type"]
                if kind == "linear":
                    n = x.shape[0]
                    x = m(x.reshape(n, -1)).reshape(n, -1, 1, 1)
                elif kind == "reshape":
                    x = x.reshape(x.shape[0], *spec["shape"])
                elif kind == "flatten":
                    x = x.reshape(x.shape[0], -1, 1, 1)
                elif kind == "save_skip":
                    skips.append(x)
                elif kind == "concat_skip":
                    x = torch.cat([x, skips.pop()], 1)
                else:
                    x = m(x)
            return x

    return Network()


def dcgan_init(torch, module):
    """N(0, 0.02) weights, zero biases, BatchNorm/InstanceNorm scale N(1, 0.02): gantry's init."""
    for m in module.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d)) and m.weight is not None:
            torch.nn.init.normal_(m.weight, 1.0, 0.02)
            torch.nn.init.zeros_(m.bias)


def twin(spec_path, steps, warmup, threads):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    spec = json.load(open(spec_path))
    batch = spec["batch_size"]
    c, h, w = spec["image_shape"]
    kind = spec["input"]["kind"]
    classes = spec["input"].get("classes") if kind == "latent" else None
    objective = spec["objective"]

    G = build_network(torch, spec["generator"])
    D = build_network(torch, spec["discriminator"])
    g_embed = torch.nn.Embedding(classes, spec["label_embedding"]) if classes else None
    d_embed = torch.nn.Embedding(classes, h * w) if classes else None
    for m in (G, D):
        dcgan_init(torch, m)
    g_params = list(G.parameters()) + (list(g_embed.parameters()) if g_embed else [])
    d_params = list(D.parameters()) + (list(d_embed.parameters()) if d_embed else [])
    betas = (spec["beta1"], spec["beta2"])
    opt_g = torch.optim.Adam(g_params, lr=spec["lr_g"], betas=betas, eps=spec["eps"])
    opt_d = torch.optim.Adam(d_params, lr=spec["lr_d"], betas=betas, eps=spec["eps"])
    G.train()
    D.train()

    def generate(z, labels):
        if g_embed is not None:
            z = torch.cat([z, g_embed(labels)], 1)
        return G(z.reshape(z.shape[0], -1, 1, 1))

    def judge(images, labels):
        if d_embed is not None:
            images = torch.cat([images, d_embed(labels).reshape(-1, 1, h, w)], 1)
        return D(images).reshape(images.shape[0], -1)

    def bce_real(logits):
        return -F.logsigmoid(logits).mean()

    def bce_fake(logits):
        return (logits - F.logsigmoid(logits)).mean()

    def bce_step(real, labels, z, real_label, summed):
        fake = generate(z, labels)
        lr_, lf = judge(real, labels), judge(fake.detach(), labels)
        loss_d = (bce_real(lr_) + lr_.mean() * (1.0 - real_label) + bce_fake(lf)) * (1.0 if summed else 0.5)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = bce_real(judge(fake, labels))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return [loss_d, loss_g, torch.sigmoid(lr_.detach()).mean(), torch.sigmoid(lf.detach()).mean()]

    def wgan_step(real, labels, z, lam, update_g):
        fake = generate(z, labels)
        sr, sf = judge(real, labels), judge(fake.detach(), labels)
        eps = torch.rand(real.shape[0], 1, 1, 1)
        mixed = (real * eps + fake.detach() * (1 - eps)).requires_grad_(True)
        (grad,) = torch.autograd.grad(judge(mixed, labels).sum(), mixed, create_graph=True)
        norm = (grad.reshape(grad.shape[0], -1).square().sum(1) + 1e-12).sqrt()
        loss_d = sf.mean() - sr.mean() + lam * (norm - 1).square().mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if update_g:
            loss_g = -judge(fake, labels).mean()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        else:
            loss_g = -sf.detach().mean()
        return [loss_d, loss_g, sr.detach().mean(), sf.detach().mean()]

    def pix2pix_step(target, scale, l1_lambda, real_label):
        source = F.avg_pool2d(target, scale)
        fake = G(source)
        up = F.interpolate(source, scale_factor=scale, mode="nearest")
        lr_ = D(torch.cat([target, up], 1)).reshape(batch, -1)
        lf = D(torch.cat([fake.detach(), up], 1)).reshape(batch, -1)
        loss_d = (bce_real(lr_) + lr_.mean() * (1.0 - real_label) + bce_fake(lf)) * 0.5
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        adversarial = bce_real(D(torch.cat([fake, up], 1)).reshape(batch, -1))
        loss_g = adversarial + l1_lambda * (fake - target).abs().mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return [loss_d, loss_g, torch.sigmoid(lr_.detach()).mean(), torch.sigmoid(lf.detach()).mean()]

    times = []
    for step in range(warmup + steps):
        real = torch.randn(batch, c, h, w).tanh()
        started = time.perf_counter()
        labels = torch.arange(batch) % classes if classes else None
        if objective["kind"] == "pix2pix":
            figures = pix2pix_step(real, spec["input"]["scale"], objective["l1_lambda"], objective["real_label"])
        else:
            z = torch.randn(batch, spec["input"]["dim"])
            if objective["kind"] == "wgan-gp":
                update = (step + 1) % objective["critic_steps"] == 0
                figures = wgan_step(real, labels, z, objective["lambda"], update)
            else:
                figures = bce_step(real, labels, z, objective["real_label"],
                                   objective.get("discriminator_loss") == "sum")
        # Read back every step, as gantry does.
        values = torch.stack([f.detach() for f in figures]).tolist()
        assert all(v == v for v in values), values
        if step >= warmup:
            times.append((time.perf_counter() - started) * 1000.0)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "torch": torch.__version__}))


# ---------------------------------------------------------------------------------------
# The driver: both, alternating, with max RSS per process.


def run(cmd):
    """Run `cmd`: its stdout and its own max RSS in MiB (from wait4). Output goes to temporary
    files, not pipes: a child that fills a pipe before it exits would never be reaped."""
    import tempfile

    start = time.time()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed after {time.time() - start:.0f} s:\n{err.read()}")
        return out.read(), usage.ru_maxrss / 1024.0


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gantry", default="target/release/gantry")
    parser.add_argument("--python", default=sys.executable, help="the Python with torch")
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--smoke", action="store_true", help="one step per preset, one round: proves it runs")
    parser.add_argument("--twin", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.twin:
        return twin(args.twin, args.steps, args.warmup, args.threads)
    if args.smoke:
        args.steps, args.warmup, args.rounds = 1, 0, 1

    spec_dir = os.path.join("target", "bench-train")
    os.makedirs(spec_dir, exist_ok=True)
    rows = []
    device = torch_version = None
    for preset in args.presets.split(","):
        spec_path = os.path.join(spec_dir, f"{preset}.json")
        out, _ = run([args.gantry, "bench", "--preset", preset, "--batch-size", str(args.batch_size), "--describe"])
        open(spec_path, "w").write(out)
        ours, theirs, our_rss, their_rss = [], [], [], []
        for _ in range(args.rounds):
            out, rss = run([args.gantry, "bench", "--preset", preset, "--batch-size", str(args.batch_size),
                            "--steps", str(args.steps), "--warmup", str(args.warmup),
                            # The twin reads its figures back every step: so does gantry here.
                            "--read-every", "1"])
            m = re.search(r"median ([0-9.]+) ms/step", out)
            d = re.search(r"train step, batch \d+, (.*) \(\d+ steps", out)
            if not m:
                raise SystemExit(f"gantry bench printed no median: {out}")
            device = d.group(1) if d else device
            ours.append(float(m.group(1)))
            our_rss.append(rss)
            out, rss = run([args.python, __file__, "--twin", spec_path, "--steps", str(args.steps),
                            "--warmup", str(args.warmup), "--threads", str(args.threads)])
            figures = json.loads(out.strip().splitlines()[-1])
            torch_version = figures["torch"]
            theirs.append(figures["median_ms"])
            their_rss.append(rss)
        row = (preset, median(ours), median(theirs), max(our_rss), max(their_rss))
        rows.append(row)
        print(f"{preset}: gantry {row[1]:.1f} ms, PyTorch {row[2]:.1f} ms, ratio {row[1] / row[2]:.2f}", file=sys.stderr)

    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"{datetime.date.today()}, gantry {rev}, {device}; PyTorch {torch_version} "
          f"({args.threads} threads); batch {args.batch_size}, median of {args.rounds} rounds of "
          f"{args.steps} steps after {args.warmup} warm-up, alternating; {platform.machine()}\n")
    print("| preset | gantry ms/step | PyTorch ms/step | ratio | gantry max RSS | PyTorch max RSS |")
    print("|---|---|---|---|---|---|")
    for preset, a, b, ra, rb in rows:
        print(f"| {preset} | {a:.1f} | {b:.1f} | {a / b:.2f}× | {ra:.0f} MiB | {rb:.0f} MiB |")


if __name__ == "__main__":
    main()
