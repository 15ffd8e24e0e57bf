// The thread pool's Workers (pool.rs). This file is both: imported by gantry_web.js, it
// exports startWorkers; started as a Worker named POOL, it loads gantry_web.js on the shared
// memory and becomes one of the pool's threads. Nothing at the top level touches `self`
// unless it is such a Worker, so the package still imports in Node.
const POOL = 'gantry-web pool';

if (typeof WorkerGlobalScope !== 'undefined' && globalThis.name === POOL) {
  globalThis.addEventListener('message', async ({ data }) => {
    const runtime = await import(data.mainJS);
    await runtime.default({ module_or_path: data.module, memory: data.memory });
    globalThis.postMessage('ready');
    // Blocks this Worker for good: it runs rayon's loop for its thread.
    runtime.gantryPoolWorker(data.receiver);
  }, { once: true });
}

// Kept so the Workers are not collected while they run (they are reachable from nothing
// else; Firefox has collected such Workers).
let workers = [];

export async function startWorkers(module, memory, mainJS, builder) {
  const init = { module, memory, mainJS, receiver: builder.receiver };
  workers = await Promise.all(Array.from({ length: builder.threads }, () => new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { type: 'module', name: POOL });
    worker.addEventListener('message', () => resolve(worker), { once: true });
    worker.addEventListener('error', (e) => reject(new Error(`a thread pool Worker failed: ${e.message}`)), { once: true });
    worker.postMessage(init);
  })));
  builder.build();
}
