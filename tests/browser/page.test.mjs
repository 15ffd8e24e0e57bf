// The gantry page in headless Chromium, served by `gantry serve` on 127.0.0.1:
// each bundled model draws a non-blank grid equal to ONNX Runtime's for the same seed,
// a user's file loads through the file input, and a corrupt file shows an error.
//
//   GANTRY_BIN=target/debug/gantry ORT_REFERENCE=target/debug/ort-reference node --test page.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
const www = path.join(root, 'www');
const artifacts = path.join(import.meta.dirname, 'artifacts');
const gantry = process.env.GANTRY_BIN ?? path.join(root, 'target/debug/gantry');
const ortReference = process.env.ORT_REFERENCE ?? path.join(root, 'target/debug/ort-reference');
mkdirSync(artifacts, { recursive: true });

let server, browser, page, url;
const consoleLines = [];

before(async () => {
  server = spawn(gantry, ['serve', '--dir', www, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      const m = String(chunk).match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`gantry serve exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
    // playwright's launch() gives every run a fresh, empty profile of its own.
  });
  page = await browser.newPage();
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
});

after(async () => {
  await browser?.close();
  server?.kill();
});

function reference(model, seed, n, label) {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'gantry-ref-')), 'ref.f32');
  execFileSync(ortReference, [model, String(seed), String(n), out, ...(label === undefined ? [] : [String(label)])]);
  const bytes = readFileSync(out);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

// The first model's grid for seed 1 on gantry serve's page, with the thread pool.
let threadedFaces = null;

async function lastImages() {
  return page.evaluate(() => ({ data: Array.from(window.gantryLastImages.data), shape: window.gantryLastImages.shape }));
}

function compare(got, want) {
  assert.equal(got.data.length, want.length);
  let worst = 0, sum = 0, sq = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got.data[i] - want[i]));
    sum += got.data[i];
    sq += got.data[i] * got.data[i];
  }
  const mean = sum / want.length;
  return { worst, std: Math.sqrt(sq / want.length - mean * mean) };
}

test('every bundled generator draws what ONNX Runtime draws for seed 1', async () => {
  // Upscalers (an `examples` strip) have their own test below.
  const models = JSON.parse(readFileSync(path.join(www, 'models/index.json'), 'utf8')).filter((m) => !m.examples);
  assert.ok(models.length >= 1);
  await page.goto(url);
  for (const [i, m] of models.entries()) {
    // The first model loads with the page; the others through the model picker.
    if (i > 0) {
      await page.selectOption('#model', m.file);
      await page.waitForFunction((t) => document.getElementById('status').dataset.model === t, m.file, { timeout: 60_000 });
    }
    await page.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
    const status = await page.textContent('#status');
    const got = await lastImages();
    // A conditional model starts on the first class of its picker.
    const { worst, std } = compare(got, reference(path.join(www, 'models', m.file), 1, 64, m.conditional ? 0 : undefined));
    console.log(`${m.title}: ${status} max |Δ| vs ONNX Runtime = ${worst.toExponential(2)}, pixel std ${std.toFixed(3)}`);
    assert.ok(worst <= 1e-4, `${m.file}: max |Δ| ${worst}`);
    assert.ok(std > 0.1, `${m.file}: a blank grid (std ${std})`);
    await page.screenshot({ path: path.join(artifacts, `${path.basename(m.file, '.onnx')}.png`), fullPage: true });
  }
  await page.selectOption('#model', models[0].file);
  await page.waitForFunction((t) => document.getElementById('status').dataset.model === t, models[0].file, { timeout: 60_000 });
  await page.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
  // scripts/build-web.sh compiles with wasm SIMD and threads; `gantry serve` makes the page
  // cross-origin isolated, so the runtime runs on one thread per core. The footer says so.
  const cores = await page.evaluate(() => (crossOriginIsolated ? navigator.hardwareConcurrency : 0));
  assert.ok(cores >= 1, 'gantry serve\'s page is cross-origin isolated');
  assert.match(await page.textContent('#runtime'), new RegExp(`^gantry-web: wasm SIMD( \\+ relaxed SIMD)?, ${cores} threads?$`));
  threadedFaces = await lastImages();
  // And how long the first image took from the page's navigation, set once.
  const first = (await page.textContent('#first-image')).match(/^· first image (\d+) ms after the page opened$/);
  assert.ok(first && Number(first[1]) > 0, `footer: ${await page.textContent('footer')}`);
  console.log(`footer: ${await page.textContent('footer')}`);
});

// The same build on a page that is not cross-origin isolated (a plain static server, no
// COOP/COEP): no thread pool, one thread, and the same grid as with the pool.
test('without cross-origin isolation the runtime runs on one thread and draws the same grid', async () => {
  assert.ok(threadedFaces, 'the test of every bundled model ran first');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
  const plain = http.createServer((req, res) => {
    const file = path.join(www, decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/\/$/, '/index.html'));
    if (!file.startsWith(www) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const other = await browser.newPage();
  const errors = [];
  other.on('pageerror', (e) => errors.push(e.message));
  try {
    await other.goto(`http://127.0.0.1:${plain.address().port}/`);
    await other.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
    assert.equal(await other.evaluate(() => crossOriginIsolated), false);
    assert.match(await other.textContent('#runtime'), /^gantry-web: wasm SIMD( \+ relaxed SIMD)?, 1 thread$/);
    const single = await other.evaluate(() => Array.from(window.gantryLastImages.data));
    const { worst } = compare({ data: single }, threadedFaces.data);
    console.log(`one thread vs the pool, seed 1: max |Δ| = ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-6, `one thread and the pool differ by ${worst}`);
    assert.deepEqual(errors, []);
  } finally {
    await other.close();
    plain.close();
  }
});

test('the class picker of a conditional model draws the chosen class, or one row per class', async () => {
  const models = JSON.parse(readFileSync(path.join(www, 'models/index.json'), 'utf8'));
  const m = models.find((x) => x.conditional);
  assert.ok(m, 'a conditional model is bundled');
  await page.selectOption('#model', m.file);
  await page.waitForFunction((t) => document.getElementById('status').dataset.model === t, m.file, { timeout: 60_000 });
  await page.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
  const options = await page.$$eval('#class option', (os) => os.map((o) => [o.value, o.textContent]));
  assert.equal(options.length, 11, `10 classes and "one row per class": ${JSON.stringify(options)}`);
  assert.ok(await page.isVisible('#class'));
  for (const choice of ['7', 'rows']) {
    await page.evaluate(() => { document.getElementById('status').textContent = ''; });
    await page.selectOption('#class', choice);
    // One row per class shows every class: 10 rows of ⌈√64⌉ = 8, as `gantry sample` draws.
    const count = choice === 'rows' ? 80 : 64;
    await page.waitForFunction((c) => new RegExp(`Generated ${c} images \\(seed 1\\)`).test(document.getElementById('status').textContent), count, { timeout: 120_000 });
    const { worst, std } = compare(await lastImages(), reference(path.join(www, 'models', m.file), 1, 64, choice));
    console.log(`${m.title}, class ${choice}: max |Δ| vs ONNX Runtime = ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `class ${choice}: max |Δ| ${worst}`);
    assert.ok(std > 0.1, `class ${choice}: a blank grid`);
    await page.screenshot({ path: path.join(artifacts, `${path.basename(m.file, '.onnx')}-class-${choice}.png`), fullPage: true });
  }
  await page.selectOption('#model', models[0].file);
  await page.waitForFunction((t) => document.getElementById('status').dataset.model === t, models[0].file, { timeout: 60_000 });
  await page.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
});

// The canvas's pixels, as "Download PNG" saves them (the worker owns the canvas: it was
// handed over with transferControlToOffscreen), and a PNG's pixels decoded by the browser.
async function canvasPixels() {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.match(download.suggestedFilename(), /^gantry-seed-\d+\.png$/);
  return pngPixels(await download.path());
}

async function pngPixels(file) {
  const url = `data:image/png;base64,${readFileSync(file).toString('base64')}`;
  return page.evaluate(async (src) => {
    const bitmap = await createImageBitmap(await (await fetch(src)).blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    return { width: bitmap.width, height: bitmap.height, rgba: Array.from(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data) };
  }, url);
}

test('the page draws the grid `gantry sample` draws for a conditional model, pixel for pixel', async () => {
  // A conditional run of a few steps, exported, then sampled by both: the CLI writes a PNG,
  // the page draws "one row per class" for the same seed and count.
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-grid-'));
  const run = path.join(dir, 'run'), onnx = path.join(dir, 'cgan.onnx'), png = path.join(dir, 'sample.png');
  const dataDir = process.env.GANTRY_DATA_DIR ?? path.join(root, 'data');
  execFileSync(gantry, ['train', '--preset', 'mnist-cgan-mlp', '--limit', '64', '--batch-size', '32', '--max-steps', '2', '--out', run, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(gantry, ['export', '--checkpoint', run, '--out', onnx], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(gantry, ['sample', '--checkpoint', run, '--n', '16', '--seed', '3', '--out', png], { stdio: ['ignore', 'ignore', 'inherit'] });

  await page.fill('#seed', '3');
  await page.fill('#count', '16');
  await page.setInputFiles('#file', onnx);
  await page.waitForFunction(() => /Generated 16 images \(seed 3\)/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  await page.selectOption('#class', 'rows');
  await page.waitForFunction(() => /Generated 40 images \(seed 3\)/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  const [drawn, sampled] = [await canvasPixels(), await pngPixels(png)];
  assert.deepEqual([drawn.width, drawn.height], [sampled.width, sampled.height], 'the same grid size');
  let differ = 0, worst = 0;
  for (let i = 0; i < drawn.rgba.length; i++) {
    const d = Math.abs(drawn.rgba[i] - sampled.rgba[i]);
    if (d) differ++;
    worst = Math.max(worst, d);
  }
  console.log(`page vs gantry sample, 10 rows of 4: ${drawn.width}×${drawn.height}, ${differ} of ${drawn.rgba.length} bytes differ (max ${worst})`);
  // burn (native) and gantry-web (wasm) agree to ~1e-6, so a value can land on the other
  // side of a rounding boundary: at most one level, for a handful of pixels.
  assert.ok(worst <= 1, `a pixel differs by ${worst} levels`);
  assert.ok(differ <= drawn.rgba.length / 1000, `${differ} bytes differ`);
  await page.screenshot({ path: path.join(artifacts, 'page-vs-sample.png'), fullPage: true });
  await page.fill('#seed', '1');
  await page.fill('#count', '64');
  await page.selectOption('#model', models0());
  await page.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
});

const models0 = () => JSON.parse(readFileSync(path.join(www, 'models/index.json'), 'utf8'))[0].file;

// ONNX Runtime's output for the sources the page made.
function referenceFor(model, sources) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gantry-ref-'));
  const input = path.join(dir, 'sources.f32'), out = path.join(dir, 'ref.f32');
  writeFileSync(input, Buffer.from(Float32Array.from(sources).buffer));
  execFileSync(ortReference, [model, 'sources', input, out]);
  const bytes = readFileSync(out);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

const meanAbs = (a, b) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;

test('the upscaler restores held-out faces as ONNX Runtime does, and takes a picture', async () => {
  const models = JSON.parse(readFileSync(path.join(www, 'models/index.json'), 'utf8'));
  const m = models.find((x) => x.examples);
  assert.ok(m, 'an upscaler is bundled');
  const file = path.join(www, 'models', m.file);
  await page.selectOption('#model', m.file);
  await page.waitForFunction(() => /Upscaled 10 faces/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  assert.ok(await page.isHidden('#seed'), 'no seed for an upscaler');
  assert.ok(await page.isVisible('#upscale-controls'), 'the picture chooser is shown');
  const shown = await page.evaluate(() => ({ sources: window.gantryLastSources, output: window.gantryLastOutput }));
  assert.deepEqual(shown.sources.shape, [10, 1, 8, 8]);
  assert.deepEqual(Array.from(shown.output.shape), [10, 1, 32, 32]);
  const values = shown.sources.data;
  assert.ok(values.every((v) => v >= -1 && v <= 1), 'sources in [-1, 1]');
  const want = referenceFor(file, values);
  const worst = want.reduce((w, v, i) => Math.max(w, Math.abs(v - shown.output.data[i])), 0);
  // Per face, the grid holds the enlarged source, the upscale and the original: the upscale
  // must be the closer to the original.
  const { data } = await lastImages();
  const size = 32 * 32, parts = [[], [], []];
  for (let k = 0; k < 10; k++) for (let j = 0; j < 3; j++) parts[j].push(...data.slice((3 * k + j) * size, (3 * k + j + 1) * size));
  const [nearest, upscaled, originals] = parts;
  assert.ok(meanAbs(upscaled, shown.output.data) < 1e-6, 'the grid shows the model output');
  const ours = meanAbs(upscaled, originals), baseline = meanAbs(nearest, originals);
  console.log(`${m.title}: ${await page.textContent('#status')} max |Δ| vs ONNX Runtime = ${worst.toExponential(2)}; mean |Δ| to the originals ${ours.toFixed(4)} (nearest neighbour ${baseline.toFixed(4)})`);
  assert.ok(worst <= 1e-4, `max |Δ| ${worst}`);
  assert.ok(ours < baseline, `upscale ${ours} no closer than nearest neighbour ${baseline}`);
  await page.screenshot({ path: path.join(artifacts, 'upscaler.png'), fullPage: true });

  // A user's picture: its centre square, shrunk and upscaled.
  await page.setInputFiles('#picture', path.join(root, 'docs/lfw-dcgan-epoch-1000.png'));
  await page.waitForFunction(() => /Upscaled lfw-dcgan-epoch-1000\.png/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  const picture = await page.evaluate(() => ({ sources: window.gantryLastSources, output: window.gantryLastOutput }));
  assert.deepEqual(picture.sources.shape, [1, 1, 8, 8]);
  const again = referenceFor(file, picture.sources.data);
  const worstPicture = again.reduce((w, v, i) => Math.max(w, Math.abs(v - picture.output.data[i])), 0);
  assert.ok(worstPicture <= 1e-4, `picture: max |Δ| ${worstPicture}`);
  await page.screenshot({ path: path.join(artifacts, 'upscaler-picture.png'), fullPage: true });

  await page.selectOption('#model', models[0].file);
  await page.waitForFunction(() => /Generated 64 images \(seed 1\)/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
  assert.ok(await page.isVisible('#seed'), 'a generator has its seed back');
});

test('interpolation walks from seed 1 to seed 2 and ends on seed 2\'s grid', async () => {
  await page.click('#interpolate');
  await page.waitForFunction(() => /Interpolated 25 frames/.test(document.getElementById('status').textContent), null, { timeout: 180_000 });
  const { worst } = compare(await lastImages(), reference(path.join(www, 'models/faces.onnx'), 2, 64));
  console.log(`interpolation: ${await page.textContent('#status')} last frame vs seed 2: ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-4, `max |Δ| ${worst}`);
});

test('a user file loads through the file input', async () => {
  const fixture = path.join(root, 'tests/fixtures/dcgan28-tiny.onnx');
  await page.fill('#seed', '7');
  await page.fill('#count', '16');
  await page.setInputFiles('#file', fixture);
  await page.waitForFunction(() => /Generated 16 images \(seed 7\)/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  const { worst } = compare(await lastImages(), reference(fixture, 7, 16));
  assert.ok(worst <= 1e-4, `max |Δ| ${worst}`);
  await page.screenshot({ path: path.join(artifacts, 'user-file.png'), fullPage: true });
});

// PyTorch's default export keeps the weights in `model.onnx.data` beside the model (the
// files `cargo test`'s web/tests/pytorch.rs wrote with scripts/pytorch_exports.py).
test('a model whose weights are beside it asks for them, then runs with both files', async () => {
  const exports = path.join(root, 'target/tmp/pytorch-exports');
  const onnx = path.join(exports, 'dcgan64-netg.external.onnx');
  assert.ok(existsSync(onnx), `${onnx} missing: run cargo test --workspace first`);
  await page.setInputFiles('#file', onnx);
  await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
  assert.match(await page.textContent('#error'), /dcgan64-netg\.external\.onnx\.data`, a file beside the \.onnx: give that file too/);
  await page.fill('#seed', '2');
  await page.fill('#count', '4');
  await page.setInputFiles('#file', [onnx, `${onnx}.data`]);
  await page.waitForFunction(() => /Generated 4 images \(seed 2\)/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  const images = await lastImages();
  assert.deepEqual(Array.from(images.shape), [4, 3, 64, 64]);
  assert.equal(await page.isHidden('#error'), true);
});

test('a corrupt file shows an error and the page stays usable', async () => {
  await page.setInputFiles('#file', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not a model') });
  await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
  const error = await page.textContent('#error');
  assert.match(error, /Could not load broken\.onnx/);
  await page.screenshot({ path: path.join(artifacts, 'corrupt-file.png'), fullPage: true });
  // Still usable: pick the bundled model again and generate.
  await page.selectOption('#model', 'faces.onnx');
  await page.waitForFunction(() => /Generated \d+ images/.test(document.getElementById('status').textContent), null, { timeout: 60_000 });
  assert.equal(await page.isHidden('#error'), true);
  assert.ok(!consoleLines.some((l) => l.startsWith('pageerror')), consoleLines.join('\n'));
});

test('the file input can be reached from the keyboard', async () => {
  await page.evaluate(() => document.activeElement?.blur());
  const reached = [];
  for (let i = 0; i < 30 && !reached.includes('file'); i++) {
    await page.keyboard.press('Tab');
    reached.push(await page.evaluate(() => document.activeElement?.id ?? ''));
  }
  assert.ok(reached.includes('file'), `Tab went through ${reached.join(', ')}`);
});
