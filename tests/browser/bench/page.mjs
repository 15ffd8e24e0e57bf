// Both runtimes in one page, on the same bytes and the same inputs: `window.bench(file)`
// loads a model into each, checks they agree, then times them alternately. gantry-web runs
// in a Worker (gantry-worker.mjs), as the gantry page runs it, so that it can use threads;
// onnxruntime-web on this page, where its own threads are Workers it starts.
import init, { sampleLatent } from './pkg/gantry_web.js';
import * as ort from './ort/ort.wasm.bundle.min.mjs';

const ready = init();
const worker = new Worker(new URL('./gantry-worker.mjs', import.meta.url), { type: 'module' });
const pending = new Map();
let nextId = 0;
worker.onmessage = ({ data: { id, result, error } }) => {
  const { resolve, reject } = pending.get(id);
  pending.delete(id);
  if (error === undefined) resolve(result); else reject(new Error(error));
};
// A Worker that fails to load (a script error) fails every request instead of leaving it
// waiting.
worker.onerror = (e) => {
  for (const { reject } of pending.values()) reject(new Error(`gantry-web's Worker: ${e.message}`));
  pending.clear();
};
const gantry = (type, args = {}) => new Promise((resolve, reject) => {
  pending.set(nextId, { resolve, reject });
  worker.postMessage({ id: nextId++, type, ...args });
});
let started = null;

// The inputs both runtimes get, from what gantry-web read of the file: latents (or an
// upscaler's source images) for `batch` images, and labels 0, 1, 2, … for a conditional one.
function inputs(info, batch) {
  const kind = info.input.kind;
  const values = kind === 'source'
    ? sampleLatent(1n, batch, info.sourceShape.reduce((a, b) => a * b)).map(Math.tanh)
    : sampleLatent(1n, batch, info.latentDim);
  const classes = info.input.classes ?? info.classNames.length;
  const labels = info.conditional ? BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % classes)) : undefined;
  const feeds = {};
  const floats = info.inputs.filter((i) => i.dtype === 'float32');
  // The first float input is z (or the source image); a second is one-hot labels.
  const [main, oneHot] = floats;
  const dims = main.shape.map((d, k) => (k === 0 ? batch : typeof d === 'number' ? d : 1));
  feeds[main.name] = new ort.Tensor('float32', values, dims);
  if (oneHot) {
    const hot = new Float32Array(batch * classes);
    labels.forEach((l, i) => { hot[i * classes + Number(l)] = 1; });
    feeds[oneHot.name] = new ort.Tensor('float32', hot, [batch, classes]);
  }
  const label = info.inputs.find((i) => i.dtype === 'int64' || i.dtype === 'int32');
  if (label) {
    feeds[label.name] = label.dtype === 'int64'
      ? new ort.Tensor('int64', labels, [batch])
      : new ort.Tensor('int32', Int32Array.from(labels, Number), [batch]);
  }
  return { values, labels, feeds };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

window.bench = async ({ file, batch, runs, threads, settle }) => {
  await ready;
  // Both get the same thread count, set once: onnxruntime-web reads it at its first session.
  started ??= gantry('start', { threads });
  const build = await started;
  ort.env.wasm.numThreads = threads;
  const bytes = new Uint8Array(await (await fetch(`models/${file}`)).arrayBuffer());
  const info = await gantry('load', { bytes });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const { values, labels, feeds } = inputs(info, batch);
  const theirs = async () => (await session.run(feeds))[session.outputNames[0]].data;
  // One untimed run each: the answers compared, and both runtimes warm.
  const a = (await gantry('run', { values, labels, keep: true })).data;
  const b = await theirs();
  if (a.length !== b.length) throw new Error(`${file}: ${a.length} values from gantry-web, ${b.length} from onnxruntime-web`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  const times = { gantry: [], ort: [] };
  // Small files get more rounds (up to ~250 ms of each runtime, at most 50): a median of 7
  // runs of 8 ms moved by a third between identical builds on a shared machine.
  let rounds = runs;
  if (runs > 1) {
    const t0 = performance.now();
    await theirs();
    rounds = Math.max(runs, Math.min(50, Math.ceil(250 / (performance.now() - t0))));
  }
  for (let r = 0; r < rounds; r++) {
    // Alternating, and which goes first alternates too.
    for (const which of r % 2 ? ['ort', 'gantry'] : ['gantry', 'ort']) {
      // A pause before each timed run: a thread pool keeps its Workers spinning for a while
      // after a parallel section (onnxruntime's does by default), and on a machine with as
      // many cores as threads they would take CPU from the other runtime's run.
      await new Promise((resolve) => setTimeout(resolve, settle));
      if (which === 'gantry') {
        times.gantry.push((await gantry('run', { values, labels })).ms);
      } else {
        const t0 = performance.now();
        await theirs();
        times.ort.push(performance.now() - t0);
      }
    }
  }
  await session.release();
  return { file, batch, worst, gantry: median(times.gantry), ort: median(times.ort), runs: rounds, gantryThreads: build.threads, crossOriginIsolated };
};

document.getElementById('status').textContent = 'ready';
