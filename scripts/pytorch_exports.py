#!/usr/bin/env python3
"""Generators as PyTorch users write them, exported the two ways torch.onnx.export does.

    .tools/torch/bin/python scripts/pytorch_exports.py OUT_DIR

For each generator below (the seeds' networks, written the way their write-ups and
pytorch/examples write them, not from gantry's layer lists) this writes, into OUT_DIR:
  NAME.torchscript.onnx  torch.onnx.export(..., dynamo=False, opset_version=17)
  NAME.dynamo.onnx       torch.onnx.export(..., dynamo=True), PyTorch's default since 2.9
  dcgan64-netg.external.onnx + .onnx.data   the same with its weights beside it (the default)
  NAME.json              the inputs' names, shapes and types, for the tests that run them
Weights are random (seeded) and the modules in eval mode: BatchNorm uses running
statistics, which are perturbed so that folding them into the weights matters.
"""

import json
import os
import sys

import torch
from torch import nn


class DcganNetG(nn.Module):
    """pytorch/examples dcgan netG: z is [N, nz, 1, 1] (the CIFAR-10 seed's 64x64 RGB)."""

    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class TfStyleG(nn.Module):
    """The Fashion-MNIST seed's generator (Keras style): Dense -> BN1d -> LeakyReLU ->
    reshape 7x7x256 -> Conv2DTranspose stack with BatchNorm and LeakyReLU -> tanh."""

    def __init__(self, nz=100):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(nz, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256, eps=1e-3), nn.LeakyReLU(0.3))
        self.conv = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128, eps=1e-3), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64, eps=1e-3), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh(),
        )

    def forward(self, noise):
        x = self.fc(noise)
        return self.conv(x.view(-1, 256, 7, 7))


class CganMlpG(nn.Module):
    """The cGAN seed's MLP generator: label embedding concatenated with z, dense layers with
    BatchNorm1d (momentum tuned as in the seed), tanh, reshaped to 1x28x28."""

    def __init__(self, nz=100, classes=10):
        super().__init__()
        self.label_emb = nn.Embedding(classes, classes)
        self.model = nn.Sequential(
            nn.Linear(nz + classes, 256), nn.BatchNorm1d(256, momentum=0.8), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.BatchNorm1d(512, momentum=0.8), nn.LeakyReLU(0.2),
            nn.Linear(512, 1024), nn.BatchNorm1d(1024, momentum=0.8), nn.LeakyReLU(0.2),
            nn.Linear(1024, 28 * 28), nn.Tanh(),
        )

    def forward(self, noise, labels):
        x = torch.cat((self.label_emb(labels), noise), -1)
        return self.model(x).view(x.size(0), 1, 28, 28)


class WganGpG(nn.Module):
    """The CelebA seed's WGAN-GP generator: Linear to 4x4x512, then ConvTranspose blocks."""

    def __init__(self, nz=128, ngf=64):
        super().__init__()
        self.fc = nn.Linear(nz, 4 * 4 * ngf * 8)
        self.net = nn.Sequential(
            nn.BatchNorm2d(ngf * 8), nn.ReLU(),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1), nn.BatchNorm2d(ngf * 4), nn.ReLU(),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1), nn.BatchNorm2d(ngf * 2), nn.ReLU(),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1), nn.BatchNorm2d(ngf), nn.ReLU(),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1), nn.Tanh(),
        )
        self.ngf = ngf

    def forward(self, x):
        return self.net(self.fc(x).reshape(-1, self.ngf * 8, 4, 4))


class OneHotCganG(nn.Module):
    """A conditional DCGAN whose labels come one-hot and are concatenated to z, as many
    PyTorch cGAN tutorials write it; Hardtanh (ONNX Clip) bounds the output."""

    def __init__(self, nz=64, classes=10, f=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz + classes, f * 4, 7, 1, 0, bias=False), nn.BatchNorm2d(f * 4), nn.ReLU(True),
            nn.ConvTranspose2d(f * 4, f * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f * 2), nn.ReLU(True),
            nn.ConvTranspose2d(f * 2, 1, 4, 2, 1), nn.Hardtanh(),
        )

    def forward(self, z, y):
        x = torch.cat([z, y], 1)
        return self.net(x.view(x.size(0), -1, 1, 1))


class UnetUpscaler(nn.Module):
    """A Pix2Pix-style face upscaler as PyTorch users write one: nn.Upsample (nearest or
    bilinear) to the target size, then a small U-Net (Conv + LeakyReLU + InstanceNorm down, ConvTranspose + ReLU +
    InstanceNorm + Dropout up, skips by torch.cat), ZeroPad2d before the last conv, tanh."""

    def __init__(self, scale=4, f=16, mode="nearest"):
        super().__init__()
        self.up = nn.Upsample(scale_factor=scale, mode=mode)
        self.d1 = nn.Sequential(nn.Conv2d(3, f, 4, 2, 1), nn.LeakyReLU(0.2))
        self.d2 = nn.Sequential(nn.Conv2d(f, f * 2, 4, 2, 1), nn.InstanceNorm2d(f * 2, affine=True), nn.LeakyReLU(0.2))
        self.u1 = nn.Sequential(nn.ConvTranspose2d(f * 2, f, 4, 2, 1), nn.InstanceNorm2d(f, affine=True), nn.Dropout(0.5), nn.ReLU())
        self.u2 = nn.Sequential(nn.ConvTranspose2d(f * 2, f, 4, 2, 1), nn.ReLU())
        self.out = nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(f, 3, 4, 1, 0), nn.Tanh())

    def forward(self, image):
        x = self.up(image)
        a = self.d1(x)
        b = self.d2(a)
        y = self.u1(b)
        y = self.u2(torch.cat([y, a], 1))
        return self.out(y)


def generators():
    """(name, module, example inputs, input descriptions)."""
    return [
        ("dcgan64-netg", DcganNetG(), (torch.randn(2, 100, 1, 1),),
         [{"name": "input", "shape": ["N", 100, 1, 1], "type": "float32"}]),
        ("fashion-tf-g", TfStyleG(), (torch.randn(2, 100),),
         [{"name": "noise", "shape": ["N", 100], "type": "float32"}]),
        ("cgan-mlp-g", CganMlpG(), (torch.randn(2, 100), torch.tensor([3, 7])),
         [{"name": "noise", "shape": ["N", 100], "type": "float32"},
          {"name": "labels", "shape": ["N"], "type": "int64", "classes": 10}]),
        ("wgan-gp-g", WganGpG(), (torch.randn(2, 128),),
         [{"name": "x", "shape": ["N", 128], "type": "float32"}]),
        ("onehot-cgan-g", OneHotCganG(), (torch.randn(2, 64), torch.eye(10)[[3, 7]]),
         [{"name": "z", "shape": ["N", 64], "type": "float32"},
          {"name": "y", "shape": ["N", 10], "type": "float32", "one_hot": True, "classes": 10}]),
        ("unet-upscaler", UnetUpscaler(), (torch.tanh(torch.randn(2, 3, 16, 16)),),
         [{"name": "image", "shape": ["N", 3, 16, 16], "type": "float32", "scale": 4}]),
        ("unet-bilinear", UnetUpscaler(mode="bilinear"), (torch.tanh(torch.randn(2, 3, 16, 16)),),
         [{"name": "image", "shape": ["N", 3, 16, 16], "type": "float32", "scale": 4}]),
    ]


def perturb_batch_norm(module, generator):
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.normal_(0.0, 0.1, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
                m.weight.normal_(1.0, 0.1, generator=generator)
                m.bias.normal_(0.0, 0.1, generator=generator)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(1)
    for name, module, example, inputs in generators():
        perturb_batch_norm(module, rng)
        module.eval()
        names = [i["name"] for i in inputs]
        axes = {n: {0: "N"} for n in names}
        torch.onnx.export(module, example, os.path.join(out, f"{name}.torchscript.onnx"),
                          input_names=names, output_names=["output"], opset_version=17,
                          dynamic_axes={**axes, "output": {0: "N"}}, dynamo=False)
        batch = torch.export.Dim("N", min=1, max=4096)
        shapes = tuple({0: batch} for _ in names)
        program = torch.onnx.export(module, example, input_names=names, output_names=["output"],
                                    dynamic_shapes=shapes, dynamo=True, external_data=False)
        program.save(os.path.join(out, f"{name}.dynamo.onnx"), external_data=False)
        if name == "dcgan64-netg":
            # What `torch.onnx.export(model, args, "f.onnx")` leaves by default: the graph in
            # f.onnx, the weights in f.onnx.data beside it.
            program.save(os.path.join(out, f"{name}.external.onnx"), external_data=True)
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump({"inputs": inputs}, f, indent=1)
        print(f"{name}: written", flush=True)


if __name__ == "__main__":
    main()
