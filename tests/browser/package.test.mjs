// The npm package scripts/build-web.sh writes into www/pkg, used as another project would:
// packed with `npm pack`, installed into an empty folder, imported by its name from Node,
// type-checked by TypeScript, and the "use it in your own page" example of web/README.md
// run as written in headless Chromium.
//
//   GANTRY_BIN=target/debug/gantry node --test package.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
const gantry = process.env.GANTRY_BIN ?? path.join(root, 'target/debug/gantry');
const tsc = path.join(import.meta.dirname, 'node_modules/typescript/bin/tsc');
mkdirSync(path.join(import.meta.dirname, 'artifacts'), { recursive: true });
const work = mkdtempSync(path.join(tmpdir(), 'gantry-package-'));
const site = path.join(work, 'site');
let packed;

before(() => {
  const [info] = JSON.parse(execFileSync('npm', ['pack', path.join(root, 'www/pkg'), '--json', '--pack-destination', work], { encoding: 'utf8' }));
  packed = info;
  mkdirSync(site);
  writeFileSync(path.join(site, 'package.json'), JSON.stringify({ name: 'my-page', private: true, type: 'module' }));
  // A local tarball with no dependencies: installs without the registry.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', path.join(work, packed.filename)], { cwd: site });
});

test('the package holds the runtime, its types and its README, and says where they are', () => {
  const files = packed.files.map((f) => f.path).sort();
  // The thread pool's Worker script (web/src/js/pool.js), which `initThreadPool` starts the
  // pool's Workers from, sits under a folder wasm-bindgen names with a hash of the crate.
  const [runtime, snippets] = [files.filter((f) => !f.startsWith('snippets/')), files.filter((f) => f.startsWith('snippets/'))];
  assert.deepEqual(runtime, ['README.md', 'gantry_web.d.ts', 'gantry_web.js', 'gantry_web_bg.wasm', 'gantry_web_bg.wasm.d.ts', 'package.json']);
  assert.equal(snippets.length, 1);
  assert.match(snippets[0], /^snippets\/gantry-web-[0-9a-f]+\/src\/js\/pool\.js$/);
  const manifest = JSON.parse(readFileSync(path.join(site, 'node_modules/gantry-web/package.json'), 'utf8'));
  const cargo = readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
  assert.equal(manifest.version, cargo.match(/^version = "(.+)"$/m)[1], 'the workspace version');
  assert.equal(manifest.exports['.'].types, './gantry_web.d.ts');
  const wasm = packed.files.find((f) => f.path === 'gantry_web_bg.wasm');
  console.log(`${packed.filename}: ${(packed.size / 1024).toFixed(0)} KiB packed, wasm ${(wasm.size / 1024).toFixed(0)} KiB`);
});

test('Node imports it by name and generates', () => {
  const script = path.join(site, 'check.mjs');
  writeFileSync(script, `
    import { readFileSync } from 'node:fs';
    import { createRequire } from 'node:module';
    import init, { Generator, gridPixels } from 'gantry-web';
    const wasm = createRequire(import.meta.url).resolve('gantry-web/gantry_web_bg.wasm');
    await init({ module_or_path: readFileSync(wasm) });
    const g = Generator.fromBytes(readFileSync(${JSON.stringify(path.join(root, 'www/models/faces.onnx'))}));
    const grid = g.sample(1n, 16);
    const { width, height } = gridPixels(grid, g.metadata().valueRange);
    console.log(JSON.stringify({ shape: grid.shape, columns: grid.columns, width, height }));
  `);
  const out = JSON.parse(execFileSync('node', [script], { cwd: site, encoding: 'utf8' }));
  // faces.onnx: 28×28 grey; 4 columns with 2-pixel gaps and borders.
  assert.deepEqual(out, { shape: [16, 1, 28, 28], columns: 4, width: 4 * 28 + 5 * 2, height: 4 * 28 + 5 * 2 });
});

// TypeScript with the package's declarations: a right use compiles, wrong ones do not.
function typecheck(source) {
  const dir = mkdtempSync(path.join(site, 'ts-'));
  writeFileSync(path.join(dir, 'use.ts'), source);
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'esnext.disposable', 'dom'] },
    files: ['use.ts'],
  }));
  const run = spawnSync('node', [tsc, '-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  return { ok: run.status === 0, output: run.stdout + run.stderr };
}

test('TypeScript checks a page against the declarations', () => {
  const good = typecheck(`
    import init, { Generator, sampleLatent, slerpLatents, type Metadata, type Grid } from 'gantry-web';
    export async function show(canvas: HTMLCanvasElement, bytes: Uint8Array): Promise<number> {
      await init();
      const g = Generator.fromBytes(bytes);
      const info: Metadata = g.metadata();
      const grid: Grid = g.sample(1n, 16, info.conditional ? 0n : undefined);
      const z = slerpLatents(sampleLatent(1n, 4, info.latentDim), sampleLatent(2n, 4, info.latentDim), info.latentDim, 0.5);
      const { shape } = g.generate(z);
      const size = g.draw(canvas, grid);
      return size.width * shape[0] + (info.input.kind === 'source' ? info.input.scale : info.input.dim);
    }
  `);
  assert.ok(good.ok, good.output);
  // The objects are typed, not \`any\`: each of these is refused.
  for (const [wrong, code] of [
    ['const n: string = g.metadata().latentDim;', 'TS2322'],
    ['g.draw(42, g.sample(1n, 4));', 'TS2345'],
    ['g.sample(1n, 4).colums;', 'TS2551'],
  ]) {
    const bad = typecheck(`
      import { Generator } from 'gantry-web';
      export function use(g: Generator) { ${wrong} }
    `);
    assert.ok(!bad.ok && bad.output.includes(code), `${wrong}\n${bad.output}`);
  }
});

let server, browser;
after(async () => {
  await browser?.close();
  server?.kill();
});

test('the README example draws the grid in a page, pixel for pixel', async () => {
  const readme = readFileSync(path.join(root, 'web/README.md'), 'utf8');
  const example = readme.match(/<!-- example: index\.html -->\n```html\n([\s\S]*?)```/);
  assert.ok(example, 'web/README.md has the marked example');
  const lines = example[1].trimEnd().split('\n').length;
  assert.ok(lines <= 10, `the example is ${lines} lines`);
  writeFileSync(path.join(site, 'index.html'), example[1]);
  copyFileSync(path.join(root, 'www/models/faces.onnx'), path.join(site, 'faces.onnx'));

  server = spawn(gantry, ['serve', '--dir', site, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      const m = String(chunk).match(/at (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`gantry serve exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  // A fresh canvas is 300 × 150: the drawn grid is 122 × 122.
  await page.waitForFunction(() => document.getElementById('faces').width === 122, null, { timeout: 60_000 })
    .catch((e) => { throw new Error(`${e.message}\n${errors.join('\n')}`); });
  const drawn = await page.evaluate(async () => {
    const c = document.getElementById('faces');
    return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
  });
  // The same grid's pixels from the package in Node: the contract `gantry sample` draws by.
  const script = path.join(site, 'pixels.mjs');
  writeFileSync(script, `
    import { readFileSync } from 'node:fs';
    import init, { Generator, gridPixels } from 'gantry-web';
    await init({ module_or_path: readFileSync('node_modules/gantry-web/gantry_web_bg.wasm') });
    const g = Generator.fromBytes(readFileSync('faces.onnx'));
    process.stdout.write(JSON.stringify(Array.from(gridPixels(g.sample(1n, 16), g.metadata().valueRange).rgba)));
  `);
  const want = JSON.parse(execFileSync('node', [script], { cwd: site, encoding: 'utf8', maxBuffer: 1 << 26 }));
  assert.equal(drawn.rgba.length, want.length);
  // wasm in Chromium and wasm in Node run the same code: identical bytes.
  const differ = drawn.rgba.filter((v, i) => v !== want[i]).length;
  assert.equal(differ, 0, `${differ} bytes differ`);
  const grey = new Set(drawn.rgba.filter((_, i) => i % 4 === 0));
  assert.ok(grey.size > 50, `a blank grid: ${grey.size} grey levels`);
  assert.deepEqual(errors, []);
  await page.screenshot({ path: path.join(import.meta.dirname, 'artifacts', 'readme-example.png') });
});
