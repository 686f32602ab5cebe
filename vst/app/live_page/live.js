// vst Live: the camera (or an example clip) stylized in the browser with onnxruntime-web, frame by frame.
//
// The page's configuration comes in the URL fragment as JSON (written by vst/app/live.py): the styles and the
// model.onnx of each of their networks ("live": light, the default; "fast": more detail), the networks offered,
// the runtime folder (or null: the CDN fallback), the example clips and the resolutions. Every file is named relative
// to this page (the app serves them at /vst-live/<name>, with no server path in any URL).
//
// The loop never queues: one frame is read, stylized and drawn before the next is taken. It takes the newest video
// frame as soon as the previous one is drawn, or waits for the next one when it has already stylized the newest
// (requestVideoFrameCallback counts the frames presented); frames that arrive meanwhile are dropped.
// Model contract (vst/onnx_export.py): input "image" float32 NCHW RGB in [0, 1], H and W multiples of 4 (other
// sizes are reflection-padded at the bottom and right, and the output cropped back, as vst.pipeline.Stylizer does);
// output "stylized", same layout.

const config = JSON.parse(decodeURIComponent(location.hash.slice(1) || "{}"));
const params = new URLSearchParams(location.search);
const fileUrl = (name) => new URL(name, location.href).href;
const runtimeBase = config.runtime ? fileUrl(config.runtime + "/") : config.cdn;
const MULTIPLE = 4;
const AUTO_TARGET_FPS = 20; // auto resolution: the largest size predicted to reach this

const $ = (id) => document.getElementById(id);
const ui = {
  style: $("style"), network: $("network"), networkLabel: $("network-label"), resolution: $("resolution"),
  view: $("view"), start: $("start"), example: $("example"), useExample: $("use-example"), stop: $("stop"),
  snapshot: $("snapshot"), record: $("record"), message: $("message"),
  stage: $("stage"), source: $("source"), stylized: $("stylized"), divider: $("divider"), fps: $("fps"),
  sizeInfo: $("size-info"), backend: $("backend"), styleTag: $("style-tag"), input: $("input"), smooth: $("smooth"),
};
const inputCtx = ui.input.getContext("2d", { willReadFrequently: true });
const outputCtx = ui.stylized.getContext("2d");

// State, exposed as window.vstLive for tests and the benchmark.
const live = {
  ready: false, running: false, source: null, backend: null, threads: null, isolated: self.crossOriginIsolated,
  slug: null, network: null, size: null, auto: null, frames: 0, fps: 0, error: null,
  runtime: config.runtime ? "local" : "cdn", recordings: 0, smoothing: params.get("smooth") !== "0",
  // milliseconds spent in each stage of the loop, summed over all frames (benchmarks/live.py reads them)
  stageMs: { read: 0, tensor: 0, network: 0, draw: 0 },
};
window.vstLive = live;
let lastPixels = null;
let lastRaw = null; // the network's output for lastPixels, before the smoothing
let capture = null;
const base64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
// The next `count` frames the loop stylizes, as {width, height, frames: [{input, output}]} with RGBA bytes in base64
// (benchmarks/live.py measures the steadiness of the live output with them).
live.capture = (count) => new Promise((resolve) => {
  capture = { count, frames: [], done: () => {
    const [width, height] = live.size;
    const frames = capture.frames.map((f) => ({ input: base64(f.input), output: base64(f.output) }));
    resolve({ width, height, frames });
    capture = null;
  } };
});
// The last frame fed to the network, the network's output for it and what the canvas shows (that output smoothed),
// read together (a test compares them with PyTorch): {width, height, slug, network, input, raw, output}, RGBA bytes
// in base64.
live.probe = () => {
  const [w, h] = live.size;
  return { width: w, height: h, slug: live.slug, network: live.network, input: base64(lastPixels),
           raw: base64(lastRaw), output: base64(outputCtx.getImageData(0, 0, w, h).data) };
};

let ort = null;
const sessions = new Map(); // "slug/network" -> Promise<InferenceSession>
const autoSizes = new Map(); // network -> [w, h] chosen for it by measureAutoSize
let wantedSlug = null;
let wantedNetwork = null;
let busy = false;
let recorder = null;

function showMessage(text) {
  ui.message.textContent = text;
  ui.message.hidden = !text;
}

function setStatus() {
  const threads = live.backend !== "wasm" ? ""
    : ` · ${live.threads} thread${live.threads > 1 ? "s" : ""}` +
      (live.isolated ? "" : " (page not cross-origin isolated)");
  const origin = live.runtime === "cdn" ? " from the CDN (no local copy)" : "";
  ui.backend.textContent = live.backend
    ? `${live.backend.toUpperCase()}${threads} · onnxruntime-web ${config.version}${origin}`
    : "not started";
  if (live.size) {
    const [w, h] = live.size;
    const auto = ui.resolution.value === "auto" && live.auto ? ` (auto: ${live.auto})` : "";
    const network = (config.networks || []).find((n) => n.name === live.network);
    ui.sizeInfo.textContent = `${w}×${h}${auto}` + (network ? ` · ${network.label.split(" ")[0]} network` : "")
      + (live.smoothing ? " · smoothed" : "");
  }
}

// ---------------------------------------------------------------------------------------------- runtime & models

// The WASM threads of an isolated page on `cores` logical cores: half of them (a core's second hardware thread adds
// little), up to 4, but two where there are two: the networks since the teacher run 1.3-1.6x as fast on two threads
// as on one on a 2-core machine, the loop's own work included (docs/live.md); onnxruntime-web's own default, half the
// cores, gave those machines one.
function defaultThreads(cores) {
  return Math.min(4, cores, Math.max(2, Math.ceil(cores / 2)));
}

async function loadRuntime() {
  if (ort) return ort;
  let webgpu = false;
  if (params.get("backend") !== "wasm" && navigator.gpu) {
    try { webgpu = !!(await navigator.gpu.requestAdapter()); } catch (err) { webgpu = false; }
  }
  ort = await import(runtimeBase + (webgpu ? "ort.webgpu.min.mjs" : "ort.wasm.min.mjs"));
  ort.env.wasm.wasmPaths = runtimeBase;
  // Threads share memory (SharedArrayBuffer), which only a cross-origin-isolated page has (the app sends COOP/COEP,
  // vst/app/isolation.py; a page embedded cross-origin, as on a Space, is not). There: defaultThreads, or ?threads=N.
  // Elsewhere one thread, and the status line says why. onnxruntime-web writes back the count it really runs.
  const cores = navigator.hardwareConcurrency || 1;
  ort.env.wasm.numThreads = live.isolated ? Number(params.get("threads")) || defaultThreads(cores) : 1;
  live.backend = webgpu ? "webgpu" : "wasm";
  setStatus();
  return ort;
}

// The network a style runs: the one chosen in the menu, or the first it has (in the order offered) when it lacks it.
function networkOf(slug) {
  const models = config.styles.find((s) => s.slug === slug).models;
  if (models[wantedNetwork]) return wantedNetwork;
  return config.networks.map((n) => n.name).find((name) => models[name]);
}

function session(slug, network) {
  const key = `${slug}/${network}`;
  if (!sessions.has(key)) {
    const style = config.styles.find((s) => s.slug === slug);
    sessions.set(key, ort.InferenceSession.create(fileUrl(style.models[network]), {
      executionProviders: [live.backend], graphOptimizationLevel: "all",
    }));
  }
  return sessions.get(key);
}

// ---------------------------------------------------------------------------------------------- tensors
function padded(n) { return Math.ceil(n / MULTIPLE) * MULTIPLE; }

// reflect index i into [0, n) (n > pad): what F.pad(mode="reflect") reads for the rows/columns past the edge
function reflect(i, n) { return i < n ? i : 2 * (n - 1) - i; }

// The buffers of one frame size, made once and reused for every frame of that size (no per-frame allocation): the
// network's input tensor over a Float32Array, and the ImageData the output is drawn from.
let buffers = null;
function frameBuffers(w, h) {
  if (!buffers || buffers.w !== w || buffers.h !== h) {
    const pw = padded(w), ph = padded(h);
    const data = new Float32Array(3 * pw * ph);
    buffers = { w, h, pw, ph, data, tensor: new ort.Tensor("float32", data, [1, 3, ph, pw]),
                image: outputCtx.createImageData(w, h) };
  }
  return buffers;
}

const SCALE = 1 / 255;
function toTensor(rgba, buf) {
  const { w, h, pw, ph, data } = buf, plane = pw * ph;
  const r = data.subarray(0, plane), g = data.subarray(plane, 2 * plane), b = data.subarray(2 * plane);
  for (let y = 0; y < ph; y++) {
    const sy = reflect(y, h), row = y * pw;
    let s = 4 * sy * w;
    for (let x = 0; x < w; x++, s += 4) {
      r[row + x] = rgba[s] * SCALE; g[row + x] = rgba[s + 1] * SCALE; b[row + x] = rgba[s + 2] * SCALE;
    }
    for (let x = w; x < pw; x++) { // the reflected columns at the right edge
      const t = 4 * (sy * w + reflect(x, w));
      r[row + x] = rgba[t] * SCALE; g[row + x] = rgba[t + 1] * SCALE; b[row + x] = rgba[t + 2] * SCALE;
    }
  }
  return buf.tensor;
}

function toImage(data, buf) {
  const { w, h, pw, ph, image } = buf, plane = pw * ph;
  const r = data.subarray(0, plane), g = data.subarray(plane, 2 * plane), b = data.subarray(2 * plane);
  const out = image.data; // Uint8ClampedArray: assignment rounds to the nearest integer and clamps
  let d = 0;
  for (let y = 0; y < h; y++) {
    for (let s = y * pw, end = s + w; s < end; s++, d += 4) {
      out[d] = r[s] * 255; out[d + 1] = g[s] * 255; out[d + 2] = b[s] * 255; out[d + 3] = 255;
    }
  }
  return image;
}

// ---------------------------------------------------------------------------------------------- smoothing
// The Stylize tab's smoothing (vst/smoothing.py, SmoothingOptions(flow=false)) without the optical flow: a camera
// mostly stands still, so each frame's broad colour is held to the previous output's where the input did not change.
// On a grid of half the frame's size: the correction (previous output less this one) is blurred (a Gaussian of BAND
// output pixels: strokes and edges pass untouched), weighted by strength · exp(-(d / tolerance)²) with d the
// brightness change of the input cell, and added back bilinearly. The *Steady* box turns it on and off (on unless the
// URL says `?smooth=0`); it costs 4–6 ms a frame at 320×180, which the auto resolution counts (docs/live.md).
const SMOOTH = { strength: 0.7, band: 3.0, tolerance: 0.05, grid: 2 };
let smoothState = null; // {w, h, gray: Uint8Array, out: Float32Array (RGB per cell)} of the previous frame, or null
let smoothedBy = null; // "slug/network" that rendered the previous frame
const heldTable = Float32Array.from({ length: 256 },
  (_, d) => SMOOTH.strength * Math.exp(-((d / (255 * SMOOTH.tolerance)) ** 2)));
const gaussTaps = (() => { // cv2.GaussianBlur's kernel for a float image: 2·round(4σ)+1 taps, normalised
  const sigma = SMOOTH.band / SMOOTH.grid, radius = Math.round(sigma * 4);
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
})();
const reflect101 = (i, n) => (n === 1 ? 0 : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);

// Index tables and buffers of one frame size, made once (no per-frame allocation in the loop).
let smoothPlan = null;
function planFor(w, h) {
  if (smoothPlan && smoothPlan.w === w && smoothPlan.h === h) return smoothPlan;
  const g = SMOOTH.grid, gw = Math.round(w / g), gh = Math.round(h / g), radius = (gaussTaps.length - 1) / 2;
  const taps = gaussTaps.length;
  const reflected = (n) => Int32Array.from({ length: n * taps }, (_, i) => reflect101(Math.floor(i / taps) + (i % taps) - radius, n));
  // bilinear sampling positions of cv2.resize (pixel centres aligned), per output column and row
  const axis = (n, cells) => {
    const i0 = new Int32Array(n), i1 = new Int32Array(n), f = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const src = Math.max(0, (i + 0.5) * cells / n - 0.5);
      i0[i] = Math.min(cells - 1, Math.floor(src)); i1[i] = Math.min(cells - 1, i0[i] + 1); f[i] = src - i0[i];
    }
    return { i0, i1, f };
  };
  const cells = gw * gh;
  smoothPlan = { w, h, gw, gh, cells, colsX: reflected(gw), rowsY: reflected(gh), ux: axis(w, gw), uy: axis(h, gh),
                 sums: new Float32Array(3 * cells), counts: new Float32Array(cells),
                 small: new Float32Array(3 * cells), correction: new Float32Array(3 * cells),
                 blurred: new Float32Array(3 * cells), rowTop: new Float32Array(3 * w), rowBottom: new Float32Array(3 * w) };
  return smoothPlan;
}

// The mean of each g×g cell of an RGBA image (w×h; cells past the edge average what they cover), RGB in [0, 255],
// into `out` (3 per cell).
function cellMeans(rgba, plan, out) {
  const { w, h, gw, cells, sums, counts } = plan, g = SMOOTH.grid;
  sums.fill(0); counts.fill(0);
  for (let y = 0; y < h; y++) {
    const row = Math.floor(y / g) * gw;
    for (let x = 0, s = 4 * y * w; x < w; x++, s += 4) {
      const c = row + Math.floor(x / g), t = 3 * c;
      sums[t] += rgba[s]; sums[t + 1] += rgba[s + 1]; sums[t + 2] += rgba[s + 2]; counts[c] += 1;
    }
  }
  for (let c = 0; c < cells; c++) {
    const n = counts[c], t = 3 * c;
    out[t] = sums[t] / n; out[t + 1] = sums[t + 1] / n; out[t + 2] = sums[t + 2] / n;
  }
  return out;
}

// The separable Gaussian over an RGB grid (reflected borders): `src` → `tmp` along x → `src` along y.
function blurGrid(src, tmp, plan) {
  const { gw, gh, colsX, rowsY } = plan, taps = gaussTaps.length;
  for (let y = 0; y < gh; y++) {
    const row = y * gw;
    for (let x = 0; x < gw; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0, i = x * taps; k < taps; k++, i++) {
        const t = gaussTaps[k], s = 3 * (row + colsX[i]);
        r += t * src[s]; g += t * src[s + 1]; b += t * src[s + 2];
      }
      const c = 3 * (row + x);
      tmp[c] = r; tmp[c + 1] = g; tmp[c + 2] = b;
    }
  }
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0, i = y * taps; k < taps; k++, i++) {
        const t = gaussTaps[k], s = 3 * (rowsY[i] * gw + x);
        r += t * tmp[s]; g += t * tmp[s + 1]; b += t * tmp[s + 2];
      }
      const c = 3 * (y * gw + x);
      src[c] = r; src[c + 1] = g; src[c + 2] = b;
    }
  }
  return src;
}

// Smooth the stylized RGBA `output` (w×h, changed in place) of the RGBA `input` against the previous frame's.
function smoothFrame(input, output, w, h) {
  const plan = planFor(w, h), { gw, cells, ux, uy } = plan;
  const inMeans = cellMeans(input, plan, plan.blurred); // (the blur's buffer, free until the blur)
  const gray = new Uint8Array(cells);
  for (let i = 0; i < cells; i++) { // cv2's RGB → gray of the grid image (rounded to bytes, as cv2.resize leaves it)
    const c = 3 * i;
    gray[i] = Math.round(0.299 * Math.round(inMeans[c]) + 0.587 * Math.round(inMeans[c + 1])
                         + 0.114 * Math.round(inMeans[c + 2]));
  }
  const small = cellMeans(output, plan, plan.small);
  for (let i = 0; i < small.length; i++) small[i] = Math.round(small[i]) / 255;
  const previous = smoothState;
  if (!previous || previous.w !== w || previous.h !== h) {
    smoothState = { w, h, gray, out: Float32Array.from(small) };
    return;
  }
  const correction = plan.correction;
  for (let i = 0; i < small.length; i++) correction[i] = previous.out[i] - small[i];
  blurGrid(correction, plan.blurred, plan);
  const next = previous.out; // reused: the previous output is not needed past this point
  for (let i = 0; i < cells; i++) {
    const held = heldTable[Math.abs(gray[i] - previous.gray[i])];
    for (let c = 3 * i; c < 3 * i + 3; c++) {
      correction[c] *= held;
      next[c] = Math.min(1, Math.max(0, small[c] + correction[c]));
    }
  }
  smoothState = { w, h, gray, out: next };
  // bilinear upsampling of the correction (cv2.resize's pixel centres), ×255, added to the output
  const { rowTop, rowBottom } = plan;
  for (let y = 0; y < h; y++) {
    const a0 = uy.i0[y] * gw, a1 = uy.i1[y] * gw, fy = uy.f[y];
    for (let x = 0; x < w; x++) { // the two grid rows, interpolated along x
      const l = 3 * (a0 + ux.i0[x]), r = 3 * (a0 + ux.i1[x]), l2 = 3 * (a1 + ux.i0[x]), r2 = 3 * (a1 + ux.i1[x]);
      const fx = ux.f[x], t = 3 * x;
      for (let k = 0; k < 3; k++) {
        rowTop[t + k] = correction[l + k] + fx * (correction[r + k] - correction[l + k]);
        rowBottom[t + k] = correction[l2 + k] + fx * (correction[r2 + k] - correction[l2 + k]);
      }
    }
    for (let x = 0, d = 4 * y * w, t = 0; x < w; x++, d += 4, t += 3) {
      output[d] += 255 * (rowTop[t] + fy * (rowBottom[t] - rowTop[t])); // Uint8ClampedArray: rounded, clamped
      output[d + 1] += 255 * (rowTop[t + 1] + fy * (rowBottom[t + 1] - rowTop[t + 1]));
      output[d + 2] += 255 * (rowTop[t + 2] + fy * (rowBottom[t + 2] - rowTop[t + 2]));
    }
  }
}
// For tests: smooth `outputs` (RGBA byte arrays, w×h each) of `inputs` in order from a fresh state; the results.
live.smoothSequence = (inputs, outputs, w, h) => {
  const saved = smoothState;
  smoothState = null;
  const results = inputs.map((input, i) => {
    const out = new Uint8ClampedArray(outputs[i]);
    smoothFrame(new Uint8ClampedArray(input), out, w, h);
    return Array.from(out);
  });
  smoothState = saved;
  return results;
};

// ---------------------------------------------------------------------------------------------- resolution
function chosenSize(network) {
  const value = ui.resolution.value;
  if (value !== "auto") return value.split("x").map(Number);
  return autoSizes.get(network);
}

// Time the network at the smallest size and pick the largest size predicted (time ∝ pixels) to reach the target.
async function measureAutoSize(slug, network) {
  const [w, h] = config.sizes[0];
  const net = await session(slug, network);
  const zeros = new ort.Tensor("float32", new Float32Array(3 * padded(w) * padded(h)), [1, 3, padded(h), padded(w)]);
  for (let i = 0; i < 2; i++) await net.run({ image: zeros }); // warm-up (WebAssembly compiles its hot code lazily)
  const t0 = performance.now();
  const runs = 3;
  for (let i = 0; i < runs; i++) await net.run({ image: zeros });
  let ms = (performance.now() - t0) / runs;
  if (live.smoothing) { // the smoothing's time per frame at that size too (a fresh state, then two frames)
    const saved = smoothState, rgba = new Uint8ClampedArray(4 * w * h);
    smoothState = null;
    smoothFrame(rgba, rgba.slice(), w, h);
    const t1 = performance.now();
    for (let i = 0; i < 2; i++) smoothFrame(rgba, rgba.slice(), w, h);
    ms += (performance.now() - t1) / 2;
    smoothState = saved;
  }
  const fps = 1000 / ms;
  let best = config.sizes[0];
  for (const size of config.sizes) if (fps * (w * h) / (size[0] * size[1]) >= AUTO_TARGET_FPS) best = size;
  autoSizes.set(network, best);
  live.auto = `${network} network measured ${fps.toFixed(0)} fps at ${w}×${h}`;
}

// ---------------------------------------------------------------------------------------------- the loop
async function step() {
  const video = ui.source;
  taken = presented; // the newest frame: drawn below, or not ready yet (then the loop waits for the next one)
  if (video.readyState < 2 || !video.videoWidth) return;
  const slug = wantedSlug, network = networkOf(slug);
  // a network not run before loads (and is timed for the auto size) here, outside the timed stages
  const net = await session(slug, network);
  if (!autoSizes.has(network)) await measureAutoSize(slug, network);
  const [w, h] = chosenSize(network);
  if (ui.input.width !== w || ui.input.height !== h) {
    ui.input.width = w; ui.input.height = h;
    ui.stylized.width = w; ui.stylized.height = h;
    ui.stage.style.setProperty("--picture-width", `${w}px`); // shown at most twice its size (live.css)
  }
  const t0 = performance.now();
  // centre crop to the output's aspect ratio (the camera pane shows the same crop with object-fit: cover)
  const vw = video.videoWidth, vh = video.videoHeight, scale = Math.min(vw / w, vh / h);
  const sw = w * scale, sh = h * scale;
  inputCtx.drawImage(video, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, w, h);
  const pixels = inputCtx.getImageData(0, 0, w, h).data;
  const t1 = performance.now();
  const buf = frameBuffers(w, h);
  const input = toTensor(pixels, buf);
  const t2 = performance.now();
  const result = await net.run({ image: input });
  const t3 = performance.now();
  const image = toImage(result.stylized.data, buf);
  lastRaw = live.smoothing ? image.data.slice() : image.data; // the network's own output, for live.probe
  if (live.smoothing) {
    if (`${slug}/${network}` !== smoothedBy) smoothState = null; // another network: its own colours from the start
    smoothedBy = `${slug}/${network}`;
    smoothFrame(pixels, image.data, w, h);
  }
  outputCtx.putImageData(image, 0, 0);
  result.stylized.dispose?.();
  const t4 = performance.now();
  const ms = live.stageMs;
  ms.read += t1 - t0; ms.tensor += t2 - t1; ms.network += t3 - t2; ms.draw += t4 - t3;
  if (capture && capture.frames.length < capture.count) {
    capture.frames.push({ input: pixels.slice(), output: image.data.slice() });
    if (capture.frames.length === capture.count) capture.done();
  }
  lastPixels = pixels;
  live.slug = slug; live.network = network; live.size = [w, h];
  live.frames += 1;
}

// Frames the video element has presented (requestVideoFrameCallback's count) and the count when the loop last took
// one: the loop runs again at once when a newer frame is there, else when the next one is presented. A camera at
// 30 fps and a loop of 40 ms then run at 25 fps, where waiting for the next frame after each would give 15.
let presented = 0, taken = -1, waiting = false, watching = false;
const frameCounting = "requestVideoFrameCallback" in HTMLVideoElement.prototype;

function onVideoFrame(now, meta) {
  presented = meta.presentedFrames;
  if (!live.running) { watching = false; return; }
  ui.source.requestVideoFrameCallback(onVideoFrame);
  if (waiting) { waiting = false; tick(); }
}

function schedule() {
  if (!live.running) return;
  if (!frameCounting) { requestAnimationFrame(tick); return; }
  if (!watching) { watching = true; ui.source.requestVideoFrameCallback(onVideoFrame); }
  if (presented !== taken) setTimeout(tick, 0);
  else waiting = true;
}

async function tick() {
  if (busy || !live.running) return;
  busy = true;
  try {
    await step();
  } catch (err) {
    live.error = String(err);
    showMessage(`Stylizing failed: ${err.message || err}`);
    stopLoop();
    return;
  } finally {
    busy = false;
  }
  schedule();
}

let fpsFrames = 0, fpsSince = performance.now();
setInterval(() => {
  const now = performance.now();
  if (live.running) {
    live.fps = ((live.frames - fpsFrames) * 1000) / (now - fpsSince);
    ui.fps.textContent = `${live.fps.toFixed(1)} fps`;
  }
  fpsFrames = live.frames; fpsSince = now;
  setStatus();
}, 1000);

async function startLoop(kind) {
  live.source = kind;
  live.error = null;
  live.running = true;
  ui.stop.disabled = false; ui.snapshot.disabled = false; ui.record.disabled = false;
  ui.stage.scrollIntoView({ block: "nearest" }); // the picture on screen (the app's page scrolls too where needed)
  try { await ui.source.play(); } catch (err) { /* autoplay of a muted video is allowed; frames still arrive */ }
  schedule();
}

function stopLoop() {
  live.running = false;
  waiting = false;
  if (recorder && recorder.state === "recording") recorder.stop();
  ui.stop.disabled = true; ui.record.disabled = true;
}

// ---------------------------------------------------------------------------------------------- sources
async function prepare() {
  showMessage("");
  if (!config.styles || !config.styles.length) throw new Error("no real-time style is installed");
  ui.backend.textContent = "loading the runtime…";
  await loadRuntime();
  ui.backend.textContent = "loading the network…";
  const network = networkOf(wantedSlug);
  await session(wantedSlug, network); // the first session starts the WebAssembly runtime and its threads
  live.threads = ort.env.wasm.numThreads;
  if (!autoSizes.has(network)) await measureAutoSize(wantedSlug, network);
  live.ready = true;
  setStatus();
}

function releaseCamera() {
  const stream = ui.source.srcObject;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  ui.source.srcObject = null;
}

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showMessage("This page cannot use a camera here (it needs https or localhost). Run Live on the example clip " +
                "instead.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 360 } },
                                                         audio: false });
  } catch (err) {
    live.error = err.name;
    const why = err.name === "NotAllowedError"
      ? "The camera was refused, so there is nothing to stylize. Allow the camera in the browser's address bar and " +
        "press Start camera again"
      : err.name === "NotFoundError" || err.name === "OverconstrainedError"
        ? "No camera was found"
        : `The camera could not be opened (${err.name})`;
    showMessage(`${why} — or run Live on the example clip instead.`);
    return;
  }
  try { await prepare(); } catch (err) { stream.getTracks().forEach((t) => t.stop()); throw err; }
  stopLoop();
  ui.source.removeAttribute("src");
  ui.source.srcObject = stream;
  await startLoop("camera");
}

async function startExample() {
  await prepare();
  stopLoop();
  releaseCamera();
  ui.source.src = fileUrl(ui.example.value);
  await startLoop("example");
}

function guarded(action) {
  return async () => {
    try { await action(); } catch (err) {
      live.error = String(err);
      showMessage(`Live could not start: ${err.message || err}`);
    }
  };
}

// ---------------------------------------------------------------------------------------------- snapshot & record
function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function snapshot() {
  ui.stylized.toBlob((blob) => download(blob, `vst-live-${live.slug}.png`), "image/png");
}

function toggleRecording() {
  if (recorder && recorder.state === "recording") { recorder.stop(); return; }
  const type = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].find((t) =>
    MediaRecorder.isTypeSupported(t));
  const chunks = [];
  recorder = new MediaRecorder(ui.stylized.captureStream(30), { mimeType: type, videoBitsPerSecond: 8e6 });
  recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  recorder.onstop = () => {
    ui.record.textContent = "Record (WebM)";
    ui.record.classList.remove("recording");
    live.recordings += 1;
    download(new Blob(chunks, { type: "video/webm" }), `vst-live-${live.slug}.webm`);
  };
  recorder.start(250);
  ui.record.textContent = "Stop recording";
  ui.record.classList.add("recording");
}

// ---------------------------------------------------------------------------------------------- controls
function fillControls() {
  for (const s of config.styles || []) ui.style.add(new Option(s.caption, s.slug));
  for (const n of config.networks || []) ui.network.add(new Option(n.label, n.name));
  ui.networkLabel.hidden = (config.networks || []).length < 2; // a choice only where there is one
  wantedNetwork = ui.network.value;
  ui.smooth.checked = live.smoothing;
  for (const [w, h] of config.sizes) ui.resolution.add(new Option(`${w}×${h}`, `${w}x${h}`));
  for (const e of config.examples || []) ui.example.add(new Option(e.label, e.url));
  wantedSlug = ui.style.value;
  ui.styleTag.textContent = ui.style.selectedOptions[0]?.text.split(" — ")[0] || "painting";
  if (params.get("resolution")) ui.resolution.value = params.get("resolution");
  if (!config.styles || !config.styles.length) {
    showMessage("No real-time style is installed, so Live has nothing to run (see the README's Training section).");
    ui.start.disabled = true; ui.useExample.disabled = true;
  }
}

function setDivider(fraction) {
  const pct = Math.max(0, Math.min(100, fraction * 100));
  ui.divider.style.left = `${pct}%`;
  ui.stage.querySelector(".painting-pane").style.clipPath = ui.stage.classList.contains("split")
    ? `inset(0 0 0 ${pct}%)` : "";
}

function wire() {
  ui.network.addEventListener("change", () => { wantedNetwork = ui.network.value; }); // taken at the next frame
  ui.style.addEventListener("change", () => {
    wantedSlug = ui.style.value; // the loop takes it at the next frame; the stream never stops
    ui.styleTag.textContent = ui.style.selectedOptions[0].text.split(" — ")[0];
  });
  ui.smooth.addEventListener("change", () => {
    live.smoothing = ui.smooth.checked;
    smoothState = null; // on again: from the next frame, with nothing held over
    autoSizes.clear(); // the auto resolution counted the smoothing's time, or did not: measured again
  });
  ui.view.addEventListener("change", () => {
    ui.stage.className = ui.view.value;
    setDivider(ui.view.value === "split" ? parseFloat(ui.divider.style.left || "50") / 100 : 0.5);
  });
  ui.start.addEventListener("click", guarded(startCamera));
  ui.useExample.addEventListener("click", guarded(startExample));
  ui.stop.addEventListener("click", () => { stopLoop(); releaseCamera(); ui.source.pause(); });
  ui.snapshot.addEventListener("click", snapshot);
  ui.record.addEventListener("click", toggleRecording);
  let dragging = false;
  const move = (e) => {
    if (!dragging) return;
    const box = ui.stage.getBoundingClientRect();
    setDivider((e.clientX - box.left) / box.width);
  };
  ui.divider.addEventListener("pointerdown", (e) => { dragging = true; ui.divider.setPointerCapture(e.pointerId); });
  ui.divider.addEventListener("pointermove", move);
  ui.divider.addEventListener("pointerup", () => { dragging = false; });
}

// A visitor's own painting, sent by the app after its upload (vst/app/live.py, SEND_PAINTING_JS): {slug, caption,
// models} like the styles of the configuration. It replaces an earlier one of the same slug (its sessions dropped),
// joins the style menu and is selected; a running loop takes it at the next frame.
function addStyle(entry) {
  if (!entry || typeof entry.slug !== "string" || !entry.models || typeof entry.models !== "object") return;
  config.styles = (config.styles || []).filter((s) => s.slug !== entry.slug);
  config.styles.push({ slug: entry.slug, caption: String(entry.caption || entry.slug), models: entry.models });
  for (const key of [...sessions.keys()]) if (key.startsWith(`${entry.slug}/`)) sessions.delete(key);
  let option = [...ui.style.options].find((o) => o.value === entry.slug);
  if (!option) { option = new Option("", entry.slug); ui.style.add(option); }
  option.text = String(entry.caption || entry.slug);
  ui.style.value = entry.slug;
  wantedSlug = entry.slug;
  ui.styleTag.textContent = option.text.split(" — ")[0];
  ui.start.disabled = false; ui.useExample.disabled = false;
  showMessage("");
}

window.addEventListener("message", (event) => {
  if (event.origin !== location.origin || event.source !== window.parent || !event.data) return;
  if (event.data.vstLiveStyle) addStyle(event.data.vstLiveStyle);
});

// Embedded in the app (same origin), the page tells it its height, so the frame fits it: no scrolling inside it.
function postHeight() {
  if (window.parent === window) return;
  window.parent.postMessage({ vstLiveHeight: Math.ceil(document.body.getBoundingClientRect().height) },
                            location.origin);
}

fillControls();
wire();
if (window.parent !== window) window.parent.postMessage({ vstLiveReady: true }, location.origin); // any painting?
setDivider(0.5);
setStatus();
new ResizeObserver(postHeight).observe(document.getElementById("live"));
