// Inference off the main thread: the page stays responsive while the generator runs.
// What a grid shows, how it is laid out and drawn, and how an upscaler's pictures become
// its inputs all come from gantry-web (the contract `gantry sample` draws by): this file
// only moves messages, and the page only puts pixels on a canvas.
import init, { Generator, drawGrid, sampleLatent } from './pkg/gantry_web.js';

let generator = null;
let info = null;
const ready = init();

function timed(make) {
  const t0 = performance.now();
  const images = make();
  return { images, ms: performance.now() - t0 };
}

// Images plus their grid's pixels, ready for the canvas.
function grid({ images, ms }, columns) {
  const picture = drawGrid(images.data, images.shape, columns, info.valueRange);
  return { data: images.data, shape: Array.from(images.shape), columns, picture, ms };
}

function transfer(result) {
  return [result.data.buffer, result.picture.rgba.buffer];
}

self.onmessage = async ({ data: msg }) => {
  try {
    await ready;
    if (msg.type === 'load') {
      const bytes = msg.bytes ?? new Uint8Array(await (await fetch(msg.url)).arrayBuffer());
      // Weights kept beside the model (`model.onnx.data`) come as msg.external.
      const external = msg.external ?? [];
      const loaded = external.length
        ? Generator.fromFiles(bytes, external.map((f) => f.name), external.map((f) => f.bytes))
        : Generator.fromBytes(bytes);
      generator?.free();
      generator = loaded;
      info = generator.metadata();
      self.postMessage({ type: 'loaded', id: msg.id, meta: info });
    } else if (msg.type === 'generate') {
      // `gantry sample --seed S --n N [--label L]`'s grid.
      const label = msg.label === undefined ? undefined : BigInt(msg.label);
      const run = timed(() => generator.sample(BigInt(msg.seed), msg.n, label));
      const result = grid(run, run.images.columns);
      self.postMessage({ type: 'images', id: msg.id, ...result }, transfer(result));
    } else if (msg.type === 'upscale') {
      // An upscaler: the page's pictures (RGBA) in; source, upscale, original out.
      const { originals, sources } = generator.sourcesFromPictures(msg.rgba, msg.n);
      const run = timed(() => generator.generate(sources));
      const shown = generator.triples(sources, run.images.data, originals);
      const result = grid({ images: shown, ms: run.ms }, shown.columns);
      const output = { data: Array.from(run.images.data), shape: Array.from(run.images.shape) };
      const [, c, h, w] = run.images.shape;
      const sourceShape = [msg.n, c, h / info.scale, w / info.scale];
      self.postMessage({ type: 'images', id: msg.id, ...result, sources: { data: Array.from(sources), shape: sourceShape }, output }, transfer(result));
    } else if (msg.type === 'interpolate') {
      // Spherical interpolation between the grids of two seeds, one frame at a time.
      const label = msg.label === undefined ? undefined : BigInt(msg.label);
      const layout = generator.gridLayout(msg.n, label);
      const latentDim = generator.latentDim;
      const a = sampleLatent(BigInt(msg.seedA), layout.count, latentDim);
      const b = sampleLatent(BigInt(msg.seedB), layout.count, latentDim);
      for (let f = 0; f <= msg.frames; f++) {
        const t = f / msg.frames;
        const z = new Float32Array(a.length);
        for (let i = 0; i < layout.count; i++) {
          const s = i * latentDim, e = s + latentDim;
          let dot = 0, na = 0, nb = 0;
          for (let k = s; k < e; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
          const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))));
          const so = Math.sin(omega);
          const wa = so < 1e-6 ? 1 - t : Math.sin((1 - t) * omega) / so;
          const wb = so < 1e-6 ? t : Math.sin(t * omega) / so;
          for (let k = s; k < e; k++) z[k] = wa * a[k] + wb * b[k];
        }
        const run = timed(() => generator.generate(z, layout.labels ?? undefined));
        const result = grid(run, layout.columns);
        self.postMessage({ type: 'frame', id: msg.id, frame: f, frames: msg.frames, ...result }, transfer(result));
      }
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: msg.id, message: String(e?.message ?? e) });
  }
};
