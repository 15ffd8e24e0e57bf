// Inference off the main thread: the page stays responsive while the generator runs.
import init, { Generator, sampleLatent } from './pkg/gantry_web.js';

let generator = null;
let latentDim = 0;
const ready = init();

function latents(seed, n) {
  return sampleLatent(BigInt(seed), n, latentDim);
}

function run(z, labels) {
  const t0 = performance.now();
  const out = generator.generate(z, labels ? BigInt64Array.from(labels.map(BigInt)) : undefined);
  return { data: out.data, shape: out.shape, ms: performance.now() - t0 };
}

self.onmessage = async ({ data: msg }) => {
  try {
    await ready;
    if (msg.type === 'load') {
      const bytes = msg.bytes ?? new Uint8Array(await (await fetch(msg.url)).arrayBuffer());
      const loaded = Generator.fromBytes(bytes);
      generator?.free();
      generator = loaded;
      latentDim = generator.latentDim;
      self.postMessage({ type: 'loaded', id: msg.id, meta: generator.metadata() });
    } else if (msg.type === 'generate') {
      const z = latents(msg.seed, msg.n);
      const result = run(z, msg.labels);
      self.postMessage({ type: 'images', id: msg.id, ...result }, [result.data.buffer]);
    } else if (msg.type === 'translate') {
      // An upscaler: the page's source images in, the larger images out.
      const result = run(msg.data);
      self.postMessage({ type: 'images', id: msg.id, ...result }, [result.data.buffer]);
    } else if (msg.type === 'interpolate') {
      // Spherical interpolation between the grids of two seeds, one frame at a time.
      const a = latents(msg.seedA, msg.n), b = latents(msg.seedB, msg.n);
      for (let f = 0; f <= msg.frames; f++) {
        const t = f / msg.frames;
        const z = new Float32Array(a.length);
        for (let i = 0; i < msg.n; i++) {
          const s = i * latentDim, e = s + latentDim;
          let dot = 0, na = 0, nb = 0;
          for (let k = s; k < e; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; }
          const omega = Math.acos(Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb))));
          const so = Math.sin(omega);
          const wa = so < 1e-6 ? 1 - t : Math.sin((1 - t) * omega) / so;
          const wb = so < 1e-6 ? t : Math.sin(t * omega) / so;
          for (let k = s; k < e; k++) z[k] = wa * a[k] + wb * b[k];
        }
        const result = run(z, msg.labels);
        self.postMessage({ type: 'frame', id: msg.id, frame: f, frames: msg.frames, ...result }, [result.data.buffer]);
      }
    }
  } catch (e) {
    self.postMessage({ type: 'error', id: msg.id, message: String(e?.message ?? e) });
  }
};
