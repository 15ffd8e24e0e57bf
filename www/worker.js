// Inference and drawing off the main thread: the page hands its canvas over once
// (transferControlToOffscreen) and stays responsive while the generator runs. What a grid
// shows, how it is laid out and drawn into that canvas, and how an upscaler's pictures
// become its inputs all happen in gantry-web (the contract `gantry sample` draws by): this
// file only moves messages.
import init, { Generator, initThreadPool, runtimeBuild, sampleLatent, slerpLatents } from './pkg/gantry_web.js';

let generator = null;
let info = null;
let canvas = null;
const ready = init().then(startThreads);

// Where the page is cross-origin isolated (`gantry serve` sends COOP/COEP), the runtime's
// kernels split over a pool of Workers sharing its memory, one per core (the page's
// `?threads=N` asks for N; 1 turns the pool off). Anywhere else, or if the pool cannot
// start, it runs on this Worker alone: the same build, one thread. Before anything else
// runs: the pool is set up once, at the first generation if not here.
async function startThreads() {
  const asked = Number(new URL(self.location.href).searchParams.get('threads') ?? navigator.hardwareConcurrency);
  if (!self.crossOriginIsolated || !(asked > 1)) return;
  try {
    await initThreadPool(Math.floor(asked));
  } catch (e) {
    console.warn(`gantry-web: no thread pool (${e?.message ?? e}); running on one thread`);
  }
}

function timed(make) {
  const t0 = performance.now();
  const images = make();
  return { images, ms: performance.now() - t0 };
}

// Draw images as a grid into the page's canvas; the values go back for the page's tests.
function show(images, ms) {
  generator.draw(canvas, images);
  return { data: images.data, shape: Array.from(images.shape), ms };
}

self.onmessage = async ({ data: msg }) => {
  try {
    await ready;
    if (msg.type === 'canvas') {
      canvas = msg.canvas;
    } else if (msg.type === 'png') {
      // The grid on show, for "Download PNG".
      self.postMessage({ type: 'png', id: msg.id, blob: await canvas.convertToBlob({ type: 'image/png' }) });
    } else if (msg.type === 'load') {
      const bytes = msg.bytes ?? new Uint8Array(await (await fetch(msg.url)).arrayBuffer());
      // Weights kept beside the model (`model.onnx.data`) come as msg.external.
      const external = msg.external ?? [];
      const loaded = external.length
        ? Generator.fromFiles(bytes, external.map((f) => f.name), external.map((f) => f.bytes))
        : Generator.fromBytes(bytes);
      generator?.free();
      generator = loaded;
      info = generator.metadata();
      self.postMessage({ type: 'loaded', id: msg.id, meta: info, runtime: runtimeBuild() });
    } else if (msg.type === 'generate') {
      // `gantry sample --seed S --n N [--label L]`'s grid.
      const label = msg.label === undefined ? undefined : BigInt(msg.label);
      const run = timed(() => generator.sample(BigInt(msg.seed), msg.n, label));
      const result = show(run.images, run.ms);
      self.postMessage({ type: 'images', id: msg.id, ...result }, [result.data.buffer]);
    } else if (msg.type === 'upscale') {
      // An upscaler: the page's pictures (RGBA) in; source, upscale, original out.
      const { originals, sources } = generator.sourcesFromPictures(msg.rgba, msg.n);
      const run = timed(() => generator.generate(sources));
      const shown = generator.triples(sources, run.images.data, originals);
      const result = show(shown, run.ms);
      const output = { data: Array.from(run.images.data), shape: Array.from(run.images.shape) };
      const [, c, h, w] = run.images.shape;
      const sourceShape = [msg.n, c, h / info.scale, w / info.scale];
      self.postMessage({ type: 'images', id: msg.id, ...result, sources: { data: Array.from(sources), shape: sourceShape }, output }, [result.data.buffer]);
    } else if (msg.type === 'interpolate') {
      // Spherical interpolation between the grids of two seeds, one frame at a time.
      const label = msg.label === undefined ? undefined : BigInt(msg.label);
      const layout = generator.gridLayout(msg.n, label);
      const a = sampleLatent(BigInt(msg.seedA), layout.count, generator.latentDim);
      const b = sampleLatent(BigInt(msg.seedB), layout.count, generator.latentDim);
      for (let f = 0; f <= msg.frames; f++) {
        const z = slerpLatents(a, b, generator.latentDim, f / msg.frames);
        const run = timed(() => generator.generate(z, layout.labels ?? undefined));
        const result = show({ ...run.images, columns: layout.columns }, run.ms);
        self.postMessage({ type: 'frame', id: msg.id, frame: f, frames: msg.frames, ...result }, [result.data.buffer]);
      }
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: msg.id, message: String(e?.message ?? e) });
  }
};
