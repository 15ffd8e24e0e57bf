// The gantry page: pick a generator, generate a grid, interpolate, download; or, for an
// upscaler (Pix2Pix), shrink pictures to its input size and show what it restores.
// All inference happens in worker.js; this file only handles the page.

const $ = (id) => document.getElementById(id);
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
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
    worker.postMessage({ ...message, id }, message.bytes ? [message.bytes.buffer] : []);
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

// NCHW floats in [lo, hi] to a grid on the canvas, 2-pixel gaps, ⌈√n⌉ columns by default.
function draw({ data, shape }, columns) {
  const [n, c, h, w] = shape;
  const [lo, hi] = meta.range;
  const cols = columns ?? Math.ceil(Math.sqrt(n)), rows = Math.ceil(n / cols), pad = 2;
  const canvas = $('grid');
  canvas.width = cols * (w + pad) + pad;
  canvas.height = rows * (h + pad) + pad;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(canvas.width, canvas.height);
  img.data.fill(24);
  for (let i = 3; i < img.data.length; i += 4) img.data[i] = 255;
  const byte = (v) => Math.max(0, Math.min(255, Math.round((v - lo) / (hi - lo) * 255)));
  for (let k = 0; k < n; k++) {
    const ox = pad + (k % cols) * (w + pad), oy = pad + Math.floor(k / cols) * (h + pad);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const at = (ch) => data[((k * c + ch) * h + y) * w + x];
      const o = ((oy + y) * canvas.width + ox + x) * 4;
      const r = byte(at(0));
      img.data[o] = r;
      img.data[o + 1] = c === 3 ? byte(at(1)) : r;
      img.data[o + 2] = c === 3 ? byte(at(2)) : r;
    }
  }
  ctx.putImageData(img, 0, 0);
  lastImages = { data, shape };
  window.gantryLastImages = lastImages; // read by the browser tests
}

function describe(info) {
  const props = info.props ?? {};
  const parse = (key, fallback) => { try { return JSON.parse(props[key]); } catch { return fallback; } };
  const range = parse('gantry.value_range', [-1, 1]);
  const classes = parse('gantry.class_names', []);
  // An upscaler: its input image shape [c, h, w] and how many times larger its output is.
  const source = info.sourceShape ?? null;
  const scale = source ? info.outputs[0].shape[2] / source[1] : 1;
  return { ...info, props, range, classes, source, scale };
}

async function load(source, label) {
  setBusy(true, `Loading ${label}…`);
  $('status').dataset.model = '';
  showError('');
  try {
    const { meta: info } = await ask(source);
    meta = describe(info);
    const dl = $('info');
    dl.innerHTML = '';
    const rows = [
      ['model', meta.props['gantry.model_kind'] ?? '(not a gantry export)'],
      ['dataset', meta.props['gantry.dataset'] ?? '—'],
      meta.source ? ['input', `image ${JSON.stringify(meta.source)}`] : ['latent', meta.latentDim],
      ['output', JSON.stringify(meta.outputs[0]?.shape)],
      ['trained', meta.props['gantry.epochs'] ? `${meta.props['gantry.epochs']} epochs, ${meta.props['gantry.steps']} steps` : '—'],
    ];
    for (const [k, v] of rows) { dl.insertAdjacentHTML('beforeend', `<dt>${k}</dt><dd></dd>`); dl.lastElementChild.textContent = v; }
    const select = $('class');
    select.innerHTML = '';
    $('class-row').hidden = !meta.conditional;
    if (meta.conditional) {
      const names = meta.classes.length ? meta.classes : [...Array(10).keys()].map(String);
      names.forEach((name, i) => select.add(new Option(name, i)));
      select.add(new Option('one row per class', 'rows'));
    }
    const upscaler = Boolean(meta.source);
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

function labelsFor(n) {
  if (!meta.conditional) return undefined;
  const choice = $('class').value;
  const classes = Math.max(1, meta.classes.length || 10);
  return [...Array(n).keys()].map((i) => (choice === 'rows' ? Math.floor(i / Math.ceil(Math.sqrt(n))) % classes : Number(choice)));
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
    const result = await ask({ type: 'generate', seed, n, labels: labelsFor(n) });
    draw(result);
    setBusy(false, `Generated ${n} image${n > 1 ? 's' : ''} (seed ${seed}) in ${result.ms.toFixed(0)} ms.`);
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
    await ask({ type: 'interpolate', seedA: seed, seedB: seed + 1, n, frames: 24, labels: labelsFor(n) }, (frame) => {
      total += frame.ms;
      draw(frame);
      $('status').textContent = `Interpolating seed ${seed} → ${seed + 1}: frame ${frame.frame}/${frame.frames}`;
    });
    setBusy(false, `Interpolated 25 frames in ${total.toFixed(0)} ms.`);
  } catch (e) {
    setBusy(false, 'Interpolation failed.');
    showError(e.message);
  }
}

// Pictures (full size, RGBA pixels) to the model's [-1, 1] values: grey by luma for a
// one-channel model. Returns the originals and their sources, the mean of each
// scale × scale block, which is how training made its inputs.
function toSources(pictures) {
  const [c, h, w] = meta.source, s = meta.scale, H = h * s, W = w * s;
  const n = pictures.length;
  const targets = new Float32Array(n * c * H * W), sources = new Float32Array(n * c * h * w);
  pictures.forEach((rgba, k) => {
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      const [r, g, b] = [rgba[o], rgba[o + 1], rgba[o + 2]];
      const values = c === 1 ? [0.299 * r + 0.587 * g + 0.114 * b] : [r, g, b];
      values.forEach((v, ch) => { targets[((k * c + ch) * H + y) * W + x] = v / 127.5 - 1; });
    }
    for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) sum += targets[((k * c + ch) * H + y * s + dy) * W + x * s + dx];
      sources[((k * c + ch) * h + y) * w + x] = sum / (s * s);
    }
  });
  return { targets, sources, shape: [n, c, h, w] };
}

// Upscale pictures and draw, per picture: the source enlarged, the output, the original.
async function upscale(pictures, what) {
  const { targets, sources, shape } = toSources(pictures);
  const [n, c, h, w] = shape, s = meta.scale, H = h * s, W = w * s, size = c * H * W;
  setBusy(true, `Upscaling ${what}…`);
  showError('');
  try {
    const result = await ask({ type: 'translate', data: sources.slice() });
    const triples = new Float32Array(3 * n * size);
    for (let k = 0; k < n; k++) {
      const base = 3 * k * size;
      for (let ch = 0; ch < c; ch++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        triples[base + (ch * H + y) * W + x] = sources[((k * c + ch) * h + Math.floor(y / s)) * w + Math.floor(x / s)];
      }
      triples.set(result.data.subarray(k * size, (k + 1) * size), base + size);
      triples.set(targets.subarray(k * size, (k + 1) * size), base + 2 * size);
    }
    draw({ data: triples, shape: [3 * n, c, H, W] }, n > 1 ? 6 : 3);
    window.gantryLastSources = { data: Array.from(sources), shape };
    window.gantryLastOutput = { data: Array.from(result.data), shape: result.shape };
    setBusy(false, `Upscaled ${what}, ${h}×${w} → ${H}×${W}, in ${result.ms.toFixed(0)} ms. Left to right: the input, the upscale, the original.`);
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
  const H = meta.source[1] * meta.scale, W = meta.source[2] * meta.scale;
  const count = Math.floor(bitmap.width / W);
  const pictures = [...Array(count).keys()].map((k) => pixels(bitmap, [k * W, 0, W, H], W, H));
  await upscale(pictures, `${count} faces the model never saw`);
}

// A user's picture: its centre square, resized to the model's output size.
async function upscalePicture(file) {
  if (!file || !meta?.source) return;
  try {
    const bitmap = await createImageBitmap(file);
    const side = Math.min(bitmap.width, bitmap.height);
    const region = [(bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side];
    const H = meta.source[1] * meta.scale, W = meta.source[2] * meta.scale;
    await upscale([pixels(bitmap, region, W, H)], file.name);
  } catch (e) {
    showError(`Could not read ${file.name} as a picture: ${e.message}`);
  }
}

function loadFile(file) {
  if (!file) return;
  file.arrayBuffer().then((buffer) => load({ type: 'load', bytes: new Uint8Array(buffer) }, file.name));
}

async function main() {
  models = await (await fetch('models/index.json')).json();
  for (const m of models) $('model').add(new Option(m.title, m.file));
  $('model').onchange = () => load({ type: 'load', url: `models/${$('model').value}` }, $('model').selectedOptions[0].text);
  $('file').onchange = () => loadFile($('file').files[0]);
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove('over'); loadFile(e.dataTransfer.files[0]); };
  $('generate').onclick = generate;
  $('interpolate').onclick = interpolate;
  $('examples').onclick = upscaleExamples;
  $('picture').onchange = () => upscalePicture($('picture').files[0]);
  $('class').onchange = generate;
  $('download').onclick = () => $('grid').toBlob((blob) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `gantry-seed-${$('seed').value}.png`;
    a.click();
  });
  if (models.length) await load({ type: 'load', url: `models/${models[0].file}` }, models[0].title);
  else setBusy(false, 'Choose an .onnx file.');
}

main().catch((e) => showError(`The page could not start: ${e.message}`));
