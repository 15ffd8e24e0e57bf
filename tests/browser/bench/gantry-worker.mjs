// gantry-web in a Web Worker, as the page runs it: with threads, the pool's Workers share its
// memory and this Worker waits for them (a page's main thread may not block). Times
// `generate` here, so the messages to and from the page are not in its figure.
// A namespace import: builds without threads (an older build timed for a before/after) have
// no initThreadPool.
import * as gantryWeb from './pkg/gantry_web.js';

const { default: init, Generator, runtimeBuild } = gantryWeb;

let generator = null;

const handlers = {
  async start({ threads }) {
    await init();
    if (threads > 1 && gantryWeb.initThreadPool) await gantryWeb.initThreadPool(threads);
    return runtimeBuild();
  },
  load({ bytes }) {
    generator?.free();
    generator = Generator.fromBytes(bytes);
    return generator.metadata();
  },
  run({ values, labels, keep }) {
    const t0 = performance.now();
    const { data } = generator.generate(values, labels);
    const ms = performance.now() - t0;
    return keep ? { ms, data } : { ms };
  },
};

self.onmessage = async ({ data: { id, type, ...args } }) => {
  try {
    self.postMessage({ id, result: await handlers[type](args) });
  } catch (e) {
    self.postMessage({ id, error: String(e?.message ?? e) });
  }
};
