// gantry-web beside onnxruntime-web in one headless Chromium page: the same .onnx bytes, the
// same inputs, the same thread count, runs alternating; prints the table docs/performance.md
// keeps (median ms, ratio, max |Δ| between the two, and each runtime's gzip download).
//
//   scripts/bench-web [--runs 7] [--batch 64] [--threads 1] [--settle 50] [--smoke] [--only TEXT]
//   GANTRY_WEB_PKG=DIR scripts/bench-web   (time another gantry-web build: a before/after)
//
// Files: the page's bundled models and the seeds' generators as PyTorch's default exporter
// writes them (scripts/pytorch_exports.py, into target/tmp/pytorch-exports). --smoke runs
// one small file once, to prove the harness works (CI); figures come from full runs.
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    batch: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    // Milliseconds of idle before each timed run, so neither runtime's spinning pool
    // threads take CPU from the other's run (0: back to back).
    settle: { type: 'string', default: '50' },
    smoke: { type: 'boolean', default: false },
    // Only the files whose title contains this text (a quicker before/after of one change).
    only: { type: 'string' },
  },
});
const root = path.resolve(import.meta.dirname, '../..');
const gantry = process.env.GANTRY_BIN ?? path.join(root, 'target/debug/gantry');
const ortDist = path.join(import.meta.dirname, 'node_modules/onnxruntime-web/dist');
const ortFiles = ['ort.wasm.bundle.min.mjs', 'ort-wasm-simd-threaded.wasm'];
// Another build of gantry-web to time (a before/after of a runtime change): its pkg folder.
const gantryPkg = process.env.GANTRY_WEB_PKG ?? path.join(root, 'www/pkg');
// What a page downloads of it: the glue, the wasm, and the thread pool's Worker script
// (snippets/, in builds with threads).
const gantryFiles = ['gantry_web.js', 'gantry_web_bg.wasm',
  ...(existsSync(path.join(gantryPkg, 'snippets')) ? readdirSync(path.join(gantryPkg, 'snippets'), { recursive: true })
    .map((f) => path.join('snippets', f)).filter((f) => f.endsWith('.js')) : [])];
const exportsDir = path.join(root, 'target/tmp/pytorch-exports');

// [title, file under the served models/ folder, where it comes from]
const bundled = JSON.parse(readFileSync(path.join(root, 'www/models/index.json'), 'utf8'))
  .map((m) => [`www/models/${m.file}`, m.file, path.join(root, 'www/models', m.file)]);
const pytorch = [
  ['the CIFAR-10 seed\'s DCGAN-64 G (pytorch/examples netG)', 'dcgan64-netg'],
  ['the Fashion-MNIST seed\'s TF-style G', 'fashion-tf-g'],
  ['the cGAN seed\'s MLP G', 'cgan-mlp-g'],
  ['the CelebA seed\'s WGAN-GP G', 'wgan-gp-g'],
].map(([title, name]) => [`${title}, PyTorch dynamo export`, `${name}.dynamo.onnx`, path.join(exportsDir, `${name}.dynamo.onnx`)]);

if (!opts.smoke && pytorch.some(([, , from]) => !existsSync(from))) {
  const python = path.join(root, '.tools/torch/bin/python');
  console.error(`writing the PyTorch exports into ${exportsDir} (scripts/pytorch_exports.py)`);
  execFileSync(python, [path.join(root, 'scripts/pytorch_exports.py'), exportsDir], { stdio: 'inherit' });
}
const models = (opts.smoke ? bundled.filter(([, file]) => file === 'mnist-cgan.onnx') : [...bundled, ...pytorch])
  .filter(([title]) => !opts.only || title.includes(opts.only));
const runs = opts.smoke ? 1 : Number(opts.runs);
const batch = opts.smoke ? 4 : Number(opts.batch);
const threads = Number(opts.threads);
const settle = Number(opts.settle);

// The served folder: both runtimes, the page, the models.
const site = mkdtempSync(path.join(tmpdir(), 'gantry-bench-web-'));
for (const dir of ['pkg', 'ort', 'models']) mkdirSync(path.join(site, dir));
cpSync(path.join(import.meta.dirname, 'bench'), site, { recursive: true });
for (const f of gantryFiles) cpSync(path.join(gantryPkg, f), path.join(site, 'pkg', f));
for (const f of ortFiles) copyFileSync(path.join(ortDist, f), path.join(site, 'ort', f));
for (const [, file, from] of models) copyFileSync(from, path.join(site, 'models', file));

const gzip = (dir, files) => files.reduce((n, f) => n + gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).length, 0);
const size = (dir, files) => files.reduce((n, f) => n + readFileSync(path.join(dir, f)).length, 0);
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;

const server = spawn(gantry, ['serve', '--dir', site, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve, reject) => {
  server.stdout.on('data', (chunk) => {
    const m = String(chunk).match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`gantry serve exited with ${code}`)));
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready', null, { timeout: 60_000 })
    .catch((e) => { throw new Error(`${e.message}\n${errors.join('\n')}`); });
  const ortVersion = JSON.parse(readFileSync(path.join(ortDist, '../package.json'), 'utf8')).version;
  console.log(`${new Date().toISOString().slice(0, 10)} · ${cpus()[0].model}, ${cpus().length} cores · Chromium ${browser.version()} (headless) · ${threads} thread${threads > 1 ? 's' : ''} · batch ${batch} · median of ${runs} (more for files under ~35 ms: up to 250 ms of each, 50 at most), alternating`);
  console.log(`download (gzip -9): gantry-web ${mb(gzip(gantryPkg, gantryFiles))} (raw ${mb(size(gantryPkg, gantryFiles))}), onnxruntime-web ${ortVersion} ${mb(gzip(ortDist, ortFiles))} (raw ${mb(size(ortDist, ortFiles))})\n`);
  console.log('| file | onnxruntime-web | gantry-web | ratio | max \\|Δ\\| |');
  console.log('|---|---|---|---|---|');
  const ratios = [];
  let failed = false;
  for (const [title, file] of models) {
    const r = await page.evaluate((args) => window.bench(args), { file, batch, runs, threads, settle });
    if (r.gantryThreads !== threads) {
      throw new Error(`gantry-web ran on ${r.gantryThreads} thread(s), not ${threads}` +
        (r.crossOriginIsolated ? ' (is this build threaded? scripts/build-web.sh)' : ' (the page is not cross-origin isolated)'));
    }
    const ratio = r.gantry / r.ort;
    ratios.push(ratio);
    const ms = (t) => (t >= 100 ? t.toFixed(0) : t.toPrecision(3));
    console.log(`| ${title} | ${ms(r.ort)} ms | ${ms(r.gantry)} ms | ${ratio.toFixed(2)}× | ${r.worst.toExponential(1)} |`);
    if (!(r.worst <= 1e-4)) { failed = true; console.error(`${file}: the runtimes disagree by ${r.worst}`); }
  }
  const geomean = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
  console.log(`\ngeometric mean of the ratios: ${geomean.toFixed(2)}× (gantry-web time / onnxruntime-web time; below 1 is faster)`);
  if (errors.length) { failed = true; console.error(errors.join('\n')); }
  process.exitCode = failed ? 1 : 0;
} finally {
  await browser.close();
  server.kill();
}
