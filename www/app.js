// The gantry page: pick a generator, generate a grid, interpolate, download; or, for an
// upscaler (Pix2Pix), shrink pictures to its input size and show what it restores.
// All inference, grid layout and drawing happen in worker.js (gantry-web, the same contract
// `gantry sample` draws by), into the canvas this page hands it; this file only wires the
// controls. It reads no gantry.* key.

const $ = (id) => document.getElementById(id);
// `?threads=N` in the page's address sets the runtime's thread count (default: one per core,
// where the page is cross-origin isolated).
const workerUrl = new URL('./worker.js', import.meta.url);
const threads = new URLSearchParams(location.search).get('threads');
if (threads) workerUrl.searchParams.set('threads', threads);
const worker = new Worker(workerUrl, { type: 'module' });
let nextId = 0;
const pending = new Map();
let meta = null;
let lastImages = null;
let models = [];

// One request at a time per id; frames of an interpolation arrive through `onFrame`.
function ask(message, onFrame) {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onFrame });
    const buffers = [message.bytes, ...(message.external ?? []).map((f) => f.bytes)];
    worker.postMessage({ ...message, id }, buffers.filter(Boolean).map((b) => b.buffer));
  });
}

worker.onmessage = ({ data }) => {
  const p = pending.get(data.id);
  if (!p) return;
  if (data.type === 'error') { pending.delete(data.id); p.reject(new Error(data.message)); }
  else if (data.type === 'frame') { p.onFrame?.(data); if (data.frame === data.frames) { pending.delete(data.id); p.resolve(data); } }
  else { pending.delete(data.id); p.resolve(data); }
};

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function setBusy(busy, text) {
  for (const id of ['generate', 'interpolate', 'examples']) $(id).disabled = busy || !meta;
  $('picture').disabled = busy || !meta;
  $('download').disabled = busy || !lastImages;
  if (text) $('status').textContent = text;
}

// The values of the grid the worker just drew into the canvas (kept for the tests).
function drawn(result) {
  // Time to first image: from the page's navigation to the first grid drawn, i.e. the
  // runtime's and the model's download, compiling both, and the first generation.
  if (!lastImages) $('first-image').textContent = `· first image ${performance.now().toFixed(0)} ms after the page opened`;
  lastImages = { data: result.data, shape: result.shape };
  window.gantryLastImages = lastImages; // read by the browser tests
}

async function load(source, label) {
  setBusy(true, `Loading ${label}…`);
  $('status').dataset.model = '';
  showError('');
  try {
    const { meta: info, runtime } = await ask(source);
    meta = info;
    // What the browser runs: gantry-web's build (wasm SIMD, relaxed-SIMD FMA, threads).
    $('runtime').textContent = `gantry-web: wasm${runtime.simd ? ' SIMD' : ''}${runtime.relaxedSimd ? ' + relaxed SIMD' : ''}, ${runtime.threads} thread${runtime.threads > 1 ? 's' : ''}`;
    const dl = $('info');
    dl.innerHTML = '';
    const rows = [
      ['model', meta.modelKind ?? '(not a gantry export)'],
      ['dataset', meta.dataset ?? '—'],
      upscalerOf(meta) ? ['input', `image ${JSON.stringify(meta.input.shape)}`] : ['latent', meta.input.dim],
      ['output', JSON.stringify(meta.outputs[0]?.shape)],
      ['trained', meta.epochs !== null ? `${meta.epochs} epochs, ${meta.steps} steps` : '—'],
    ];
    for (const [k, v] of rows) { dl.insertAdjacentHTML('beforeend', `<dt>${k}</dt><dd></dd>`); dl.lastElementChild.textContent = v; }
    const select = $('class');
    select.innerHTML = '';
    $('class-row').hidden = !meta.conditional;
    if (meta.conditional) {
      meta.classNames.forEach((name, i) => select.add(new Option(name, i)));
      select.add(new Option('one row per class', 'rows'));
    }
    const upscaler = upscalerOf(meta);
    $('sample-controls').hidden = upscaler;
    $('generate').hidden = upscaler;
    $('interpolate').hidden = upscaler;
    $('upscale-controls').hidden = !upscaler;
    const file = source.url ? source.url.split('/').pop() : label;
    meta.examples = models.find((m) => m.file === file)?.examples;
    $('examples').hidden = !(upscaler && meta.examples);
    setBusy(false, `Loaded ${label}.`);
    $('status').dataset.model = file;
    if (!upscaler) await generate();
    else if (meta.examples) await upscaleExamples();
    else $('status').textContent = `Loaded ${label}: choose a picture to upscale.`;
  } catch (e) {
    // The worker keeps the generator it had, so the page keeps working with it.
    setBusy(false, meta ? 'Still showing the previous model.' : 'No model loaded.');
    showError(`Could not load ${label}: ${e.message}`);
  }
}

const upscalerOf = (info) => info.input.kind === 'source';

// The class picker: one class for every image, or (undefined) one row per class.
function chosenLabel() {
  if (!meta.conditional) return undefined;
  const choice = $('class').value;
  return choice === 'rows' ? undefined : Number(choice);
}

function settings() {
  const n = Math.max(1, Math.min(64, Math.floor(Number($('count').value) || 1)));
  const seed = Math.max(0, Math.floor(Number($('seed').value) || 0));
  $('count').value = n;
  $('seed').value = seed;
  return { n, seed };
}

async function generate() {
  if (!meta) return;
  const { n, seed } = settings();
  setBusy(true, 'Generating…');
  showError('');
  try {
    const result = await ask({ type: 'generate', seed, n, label: chosenLabel() });
    drawn(result);
    const count = result.shape[0];
    setBusy(false, `Generated ${count} image${count > 1 ? 's' : ''} (seed ${seed}) in ${result.ms.toFixed(0)} ms.`);
  } catch (e) {
    setBusy(false, 'Generation failed.');
    showError(e.message);
  }
}

async function interpolate() {
  const { n, seed } = settings();
  setBusy(true, `Interpolating seed ${seed} → ${seed + 1}…`);
  try {
    let total = 0;
    await ask({ type: 'interpolate', seedA: seed, seedB: seed + 1, n, frames: 24, label: chosenLabel() }, (frame) => {
      total += frame.ms;
      drawn(frame);
      $('status').textContent = `Interpolating seed ${seed} → ${seed + 1}: frame ${frame.frame}/${frame.frames}`;
    });
    setBusy(false, `Interpolated 25 frames in ${total.toFixed(0)} ms.`);
  } catch (e) {
    setBusy(false, 'Interpolation failed.');
    showError(e.message);
  }
}

// Upscale pictures (RGBA pixels of the model's output size) and draw, per picture: the
// source enlarged, the output, the original. The worker makes the sources as training
// did (block means) and lays out the triples.
async function upscale(pictures, what) {
  const [c, h, w] = meta.input.shape, s = meta.input.scale;
  const rgba = new Uint8Array(pictures.reduce((n, p) => n + p.length, 0));
  pictures.reduce((at, p) => { rgba.set(p, at); return at + p.length; }, 0);
  setBusy(true, `Upscaling ${what}…`);
  showError('');
  try {
    const result = await ask({ type: 'upscale', rgba, n: pictures.length });
    drawn(result);
    window.gantryLastSources = result.sources;
    window.gantryLastOutput = result.output;
    setBusy(false, `Upscaled ${what}, ${h}×${w} → ${h * s}×${w * s}, in ${result.ms.toFixed(0)} ms. Left to right: the input, the upscale, the original.`);
  } catch (e) {
    setBusy(false, 'Upscaling failed.');
    showError(e.message);
  }
}

// RGBA pixels of `image` drawn into a W × H canvas from the (sx, sy, sw, sh) region.
function pixels(image, [sx, sy, sw, sh], W, H) {
  const canvas = new OffscreenCanvas(W, H);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(image, sx, sy, sw, sh, 0, 0, W, H);
  return ctx.getImageData(0, 0, W, H).data;
}

// The model's example strip: full-size pictures side by side in one PNG.
async function upscaleExamples() {
  const bitmap = await createImageBitmap(await (await fetch(`models/${meta.examples}`)).blob());
  const H = meta.input.shape[1] * meta.input.scale, W = meta.input.shape[2] * meta.input.scale;
  const count = Math.floor(bitmap.width / W);
  const pictures = [...Array(count).keys()].map((k) => pixels(bitmap, [k * W, 0, W, H], W, H));
  await upscale(pictures, `${count} faces the model never saw`);
}

// A user's picture: its centre square, resized to the model's output size.
async function upscalePicture(file) {
  if (!file || !meta || !upscalerOf(meta)) return;
  try {
    const bitmap = await createImageBitmap(file);
    const side = Math.min(bitmap.width, bitmap.height);
    const region = [(bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side];
    const H = meta.input.shape[1] * meta.input.scale, W = meta.input.shape[2] * meta.input.scale;
    await upscale([pixels(bitmap, region, W, H)], file.name);
  } catch (e) {
    showError(`Could not read ${file.name} as a picture: ${e.message}`);
  }
}

// A model and, if its weights are kept beside it (PyTorch's `model.onnx.data`), those files.
async function loadFiles(list) {
  const files = Array.from(list ?? []);
  const model = files.find((f) => f.name.toLowerCase().endsWith('.onnx')) ?? files[0];
  if (!model) return;
  const others = files.filter((f) => f !== model);
  const bytes = async (f) => new Uint8Array(await f.arrayBuffer());
  const external = await Promise.all(others.map(async (f) => ({ name: f.name, bytes: await bytes(f) })));
  const label = others.length ? `${model.name} (with ${others.map((f) => f.name).join(', ')})` : model.name;
  load({ type: 'load', bytes: await bytes(model), external }, label);
}

async function main() {
  // The worker draws every grid straight into this canvas.
  const canvas = $('grid').transferControlToOffscreen();
  worker.postMessage({ type: 'canvas', canvas }, [canvas]);
  models = await (await fetch('models/index.json')).json();
  for (const m of models) $('model').add(new Option(m.title, m.file));
  $('model').onchange = () => load({ type: 'load', url: `models/${$('model').value}` }, $('model').selectedOptions[0].text);
  $('file').onchange = () => loadFiles($('file').files);
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); loadFiles(e.dataTransfer.files); };
  $('generate').onclick = generate;
  $('interpolate').onclick = interpolate;
  $('examples').onclick = upscaleExamples;
  $('picture').onchange = () => upscalePicture($('picture').files[0]);
  $('class').onchange = generate;
  $('download').onclick = async () => {
    const { blob } = await ask({ type: 'png' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `gantry-seed-${$('seed').value}.png`;
    a.click();
  };
  if (models.length) await load({ type: 'load', url: `models/${models[0].file}` }, models[0].title);
  else setBusy(false, 'Choose an .onnx file.');
}

main().catch((e) => showError(`The page could not start: ${e.message}`));
