// The same JS API in Node (no browser): init from the .wasm bytes, load a model, generate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import init, { Generator, sampleLatent } from '../../www/pkg/gantry_web.js';

const root = path.resolve(import.meta.dirname, '../..');
const ortReference = process.env.ORT_REFERENCE ?? path.join(root, 'target/debug/ort-reference');

test('Generator works from Node with the page\'s wasm build', async () => {
  await init({ module_or_path: readFileSync(path.join(root, 'www/pkg/gantry_web_bg.wasm')) });
  const model = path.join(root, 'www/models/faces.onnx');
  const g = Generator.fromBytes(readFileSync(model));
  const info = g.metadata();
  assert.equal(info.latentDim, 100);
  assert.equal(info.props['gantry.dataset'], 'lfw');
  const { data, shape } = g.generate(sampleLatent(3n, 4, info.latentDim));
  assert.deepEqual(Array.from(shape), [4, 1, 28, 28]);

  const out = path.join(mkdtempSync(path.join(tmpdir(), 'gantry-node-')), 'ref.f32');
  execFileSync(ortReference, [model, '3', '4', out]);
  const bytes = readFileSync(out);
  const want = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(data[i] - want[i]));
  assert.ok(worst <= 1e-4, `max |Δ| ${worst}`);

  assert.throws(() => Generator.fromBytes(new Uint8Array([1, 2, 3])), /not an ONNX model/);
});

test('an upscaler takes source images from Node and matches ONNX Runtime', async () => {
  await init({ module_or_path: readFileSync(path.join(root, 'www/pkg/gantry_web_bg.wasm')) });
  const model = path.join(root, 'www/models/faces-upscale.onnx');
  const g = Generator.fromBytes(readFileSync(model));
  const info = g.metadata();
  assert.deepEqual(Array.from(info.sourceShape), [1, 8, 8]);
  assert.equal(info.latentDim, 0);
  assert.equal(info.props['gantry.inputs'], 'image_lr');
  // Three sources in [-1, 1]: squashed normal values.
  const sources = sampleLatent(5n, 3, 64).map(Math.tanh);
  const { data, shape } = g.generate(sources);
  assert.deepEqual(Array.from(shape), [3, 1, 32, 32]);

  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-node-'));
  const input = path.join(dir, 'sources.f32'), out = path.join(dir, 'ref.f32');
  writeFileSync(input, Buffer.from(sources.buffer));
  execFileSync(ortReference, [model, 'sources', input, out]);
  const bytes = readFileSync(out);
  const want = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  assert.equal(want.length, data.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(data[i] - want[i]));
  assert.ok(worst <= 1e-4, `max |Δ| ${worst}`);
  assert.throws(() => g.generate(new Float32Array(63)), /source image size/);
});

// Every call at a batch size reuses the memory the first one took: the allocator hands
// the freed activations back to the next call, so the wasm memory stops growing.
test('repeated generations reuse memory instead of growing it', async () => {
  const wasm = await init({ module_or_path: readFileSync(path.join(root, 'www/pkg/gantry_web_bg.wasm')) });
  const g = Generator.fromBytes(readFileSync(path.join(root, 'www/models/fashion-mnist-cgan.onnx')));
  const { latentDim } = g.metadata();
  const labels = (seed) => BigInt64Array.from({ length: 64 }, (_, i) => BigInt((i + seed) % 10));
  for (let i = 0; i < 3; i++) g.generate(sampleLatent(BigInt(i), 64, latentDim), labels(i));
  const after = wasm.memory.buffer.byteLength;
  for (let i = 3; i < 13; i++) g.generate(sampleLatent(BigInt(i), 64, latentDim), labels(i));
  assert.equal(wasm.memory.buffer.byteLength, after, `grew from ${after} bytes`);
});
