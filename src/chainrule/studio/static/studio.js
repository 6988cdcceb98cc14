// chainrule studio: the page's state is a spec (in the spec file's form), pasted claims and the step shown. Every
// edit sends them to the server, which runs the real step and renders it with chainrule's own renderer; the page
// computes no number of the network. User text reaches the page only as textContent; the one innerHTML is the
// derivation the server rendered (and escaped).
"use strict";

const state = { spec: null, claims: "", step: 1 };
const studio = { timings: [], sent: 0, done: 0, last: null, job: null };
let unnamed = 0;         // the request that changed the shape: its answer (or a later one) gives the new names
window.studio = studio;
let newest = 0;          // the newest answer shown (answers to older requests are dropped)

const $ = (selector) => document.querySelector(selector);
const $$ = (selector) => Array.from(document.querySelectorAll(selector));

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svgEl(tag, attributes = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "text") node.textContent = value; else node.setAttribute(key, value);
  }
  return node;
}

async function api(path, body, raw = false) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (raw && response.ok) return response;
  const data = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
  if (!response.ok) throw Object.assign(new Error(data.error || String(response.status)), { field: data.field });
  return data;
}

// A field's text as a number when it reads as one; otherwise the text itself, which the server refuses by name
// (so is a number too large for a float, 1e400: as a number JSON would carry it as null).
function fieldValue(text) {
  const number = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : NaN;
  return Number.isFinite(number) ? number : text;
}

function pathKeys(path) {
  return Array.from(path.matchAll(/([^.[\]]+)|\[(\d+)\]/g), (m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

function setPath(target, path, value) {
  const keys = pathKeys(path);
  for (const key of keys.slice(0, -1)) target = target[key];
  target[keys[keys.length - 1]] = value;
}

function getPath(target, path) {
  for (const key of pathKeys(path)) target = target == null ? undefined : target[key];
  return target;
}

// --- errors next to their fields --------------------------------------------------------------------------------

function clearErrors() {
  $$(".invalid").forEach((node) => node.classList.remove("invalid"));
  $$(".field-error").forEach((node) => { node.textContent = ""; });
  $("#banner").hidden = true;
}

function showError(error, fallback) {
  const message = error.message;
  let field = error.field || "";
  if (message.startsWith("claims")) field = "claims";
  const inputs = $$("[data-path]").filter((node) => node.offsetParent !== null || node.id === "claims");
  const exact = inputs.find((node) => node.dataset.path === field);
  const near = exact || inputs.find((node) => field && node.dataset.path.startsWith(field));
  if (near) near.classList.add("invalid");
  const boxes = $$(".field-error[data-for]").filter((box) => field && field.startsWith(box.dataset.for));
  boxes.sort((a, b) => b.dataset.for.length - a.dataset.for.length);
  const box = boxes[0] || fallback;
  if (box) box.textContent = message;
  else { $("#banner").textContent = message; $("#banner").hidden = false; }
}

// --- the editor: inputs, targets, every weight and bias ---------------------------------------------------------

function entries(vector, prefix, path) {
  if (Array.isArray(vector)) return vector.map((v, i) => ({ name: `${prefix}${i + 1}`, path: `${path}[${i}]`, value: v }));
  return Object.entries(vector).map(([name, v]) => ({ name, path: `${path}.${name}`, value: v }));
}

function numberInput(path, value, title) {
  return fitBox(el("input", { "data-path": path, value: String(value), title: title || path, "aria-label": title || path,
                              inputmode: "decimal", autocomplete: "off" }));
}

function vectorBlock(title, vector, prefix, path) {
  const items = entries(vector, prefix, path);
  const head = el("tr", {}, ...items.map((item) => el("th", { text: item.name })));
  const row = el("tr", {}, ...items.map((item) => el("td", {}, numberInput(item.path, item.value, item.name))));
  return el("div", { class: "vector" }, el("h3", { text: title }),
            el("div", { class: "scroll" }, el("table", {}, head, row)), el("span", { class: "field-error", "data-for": path }));
}

function parameterCount(spec) {
  return spec.layers.reduce((n, layer) => n + layer.weights.length * (layer.weights[0] || []).length, 0);
}

function buildEditor() {
  const spec = state.spec, editor = $("#editor");
  editor.replaceChildren();
  $("#lr").value = String(spec.learning_rate ?? 0.1);
  lossOptions();
  $("#order").value = spec.update_order || "simultaneous";
  $("#update-biases").checked = spec.update_biases !== false;
  if (parameterCount(spec) > 400) {
    editor.append(el("p", { class: "hint", text: `${parameterCount(spec)} weights: too many to edit here one by one. ` +
      "The derivation shows them in matrix form; open an edited spec file to change them." }));
    return;
  }
  editor.append(vectorBlock("Inputs", spec.inputs, "x", "inputs"));
  editor.append(vectorBlock("Targets", spec.targets, spec.loss === "half_squared_error" ? "t" : "y", "targets"));
  let sources = entries(spec.inputs, "x", "inputs").map((item) => item.name);
  spec.layers.forEach((layer, l) => {
    const last = l === spec.layers.length - 1;
    const names = layer.activation_names || layer.weights.map((_, j) => (last ? `yhat${j + 1}` : `neuron ${j + 1}`));
    const activation = el("select", { "data-path": `layers[${l}].activation`, "aria-label": `layer ${l + 1} activation` },
      ...activationChoices(last, layer.activation).map((a) => el("option", { value: a, text: a })));
    activation.value = layer.activation;
    const header = el("h3", {}, el("span", { text: `Layer ${l + 1}${last ? " (output)" : ""}` }), activation,
      el("button", { type: "button", text: "+ neuron", onclick: () => structural(() => addNeuron(l)) }),
      el("button", { type: "button", text: "− neuron", onclick: () => structural(() => removeNeuron(l)) }));
    if (!last) header.append(el("button", { type: "button", text: "remove layer", onclick: () => structural(() => removeLayer(l)) }));
    header.append(seedNote(l));
    const bias = layer.bias;
    const head = el("tr", {}, el("th", { text: "" }), ...sources.map((s) => el("th", { text: `from ${s}` })));
    if (Array.isArray(bias)) head.append(el("th", { text: "bias" }));
    const rows = layer.weights.map((row, j) => {
      const zName = (layer.pre_activation_names || [])[j] || `neuron ${j + 1}`;
      const cells = row.map((w, i) => el("td", {}, numberInput(`layers[${l}].weights[${j}][${i}]`, w,
        (layer.weight_names || [])[j]?.[i] || `layer ${l + 1} weight ${j + 1},${i + 1}`)));
      if (Array.isArray(bias)) cells.push(el("td", {}, numberInput(`layers[${l}].bias[${j}]`, bias[j], (layer.bias_names || [])[j])));
      return el("tr", {}, el("th", { text: `to ${zName}` }), ...cells);
    });
    const block = el("div", { class: "layer" }, header, el("div", { class: "scroll" }, el("table", {}, head, ...rows)));
    if (bias !== undefined && !Array.isArray(bias)) {
      block.append(el("label", { text: `shared bias ${(layer.bias_names || [])[0] || ""}` },
                      numberInput(`layers[${l}].bias`, bias, (layer.bias_names || [])[0])));
    }
    block.append(el("span", { class: "field-error", "data-for": `layers[${l}]` }));
    editor.append(block);
    sources = names;
  });
  editor.append(el("span", { class: "field-error", "data-for": "names" }));
}

// Structural edits (+ neuron, + hidden layer, ...): network.js.

// --- asking the server and showing its answer -------------------------------------------------------------------

// Typing is debounced: the first change after a pause goes at once (an edit shows within one round trip); changes
// that follow within DEBOUNCE_MS of the one before are gathered into one request, sent DEBOUNCE_MS after the last.
// Text that cannot be whole yet (see unfinished) never goes at once: it waits for a pause of UNFINISHED_MS, so that
// no refusal flashes while a number is being typed. A request's number is taken when its first change is gathered,
// so studio.sent counts it and `done >= sent` still means "the page shows the newest state". Answers older than one
// shown are dropped (see update).
const DEBOUNCE_MS = 150, UNFINISHED_MS = 600;
const typing = { last: -Infinity, timer: null, mine: 0 };

function typed(t0, text) {
  const pause = unfinished(text) ? UNFINISHED_MS : DEBOUNCE_MS;
  const quiet = t0 - typing.last >= DEBOUNCE_MS && typing.timer === null && pause === DEBOUNCE_MS;
  typing.last = t0;
  if (quiet) { update(t0); return; }
  if (typing.timer === null) typing.mine = ++studio.sent;
  else clearTimeout(typing.timer);
  studio.pending = true;
  typing.timer = setTimeout(() => update(t0, typing.mine), pause);
}

// Text that more typing usually extends: not yet a number ("", "-", ".", "1e", a line of the audit box), zero ("0",
// "0.0", which a learning rate cannot be) or a number ending in its point ("2.").
function unfinished(text) {
  const value = fieldValue(text);
  return typeof value !== "number" || value === 0 || /\.\s*$/.test(text);
}

// Sends the state; returns the request's number (0 while a structural edit is being made: network.js sends it then).
function update(t0, mine) {
  if (typing.timer !== null) {              // this request carries the state the waiting one would have sent
    clearTimeout(typing.timer);
    typing.timer = null;
    studio.pending = false;
    mine = mine ?? typing.mine;
  }
  if (waiting.edits) {
    waiting.request = true;
    return 0;
  }
  mine = mine ?? ++studio.sent;
  const body = { spec: state.spec, claims: state.claims, step: state.step, ...printedFor() };   // audit.js
  api("/api/explain", body).then((data) => {
    if (mine < newest) return;
    newest = mine;
    clearErrors();
    if (unnamed && mine >= unnamed) {
      unnamed = 0;
      adoptNames(data.spec);
      buildEditor();
    }
    show(data);
    writeAddress();
    requestAnimationFrame(() => {
      if (t0 !== undefined) studio.timings.push(performance.now() - t0);
      studio.done = Math.max(studio.done, mine);
    });
  }).catch((error) => {
    if (mine < newest) return;
    newest = mine;
    clearErrors();
    showError(error);
    $("#status").textContent = "kept the last good state";
    studio.done = Math.max(studio.done, mine);
  });
  return mine;
}

function show(data) {
  studio.last = data;
  $("#derivation").innerHTML = data.html;      // rendered and escaped by chainrule's HTML renderer
  const rows = [];
  const given = Object.keys(data.values).filter((name) => !data.order.includes(name));
  const names = given.concat(data.order).slice(0, 3000);
  for (const name of names) rows.push(valueRow(name, data.shown[name]));
  for (const name of Object.keys(data.updated).slice(0, 2000)) rows.push(valueRow(`${name}'`, data.shown[`${name}'`]));
  $("#values tbody").replaceChildren(...rows);
  lossChart(data.losses, data.step);
  const losses = data.losses;
  $("#step-shown").textContent = `step ${data.step}: ${lossName()} = ${fmt(losses[data.step - 1])} before it, ` +
    `${fmt(losses[data.step])} after`;
  $("#verdicts").replaceChildren(...data.claims.map((c) => el("li", { class: c.verdict,
    text: `${c.name}: printed ${c.printed}, ${c.verdict === "slip" ? "SLIP" : c.verdict}` +
          (c.verdict === "agrees" ? "" : ` (correct ${fmt(c.computed)}; from its own inputs ${fmt(c.from_claims)})`) })));
  if (state.claims.trim() && data.step > 1) {
    $("#verdicts").append(el("li", { text: "Verdicts are given for step 1; go back to it to see them." }));
  }
  $("#status").textContent = `${data.network} · server ${data.server_ms} ms`;
  learnerView(data);         // whose numbers are judged, the walk, formulas on hover (audit.js, walk.js)
}

function lossName() { return state.spec.loss_name || (state.spec.loss === "half_squared_error" ? "E" : "L"); }

function fmt(value) {
  if (value === undefined || value === null) return "";
  const text = Number(value.toPrecision(6)).toString();
  return text === "-0" ? "0" : text;
}

function valueRow(name, shown) {
  return el("tr", { "data-name": name }, el("td", { class: "name", text: name }), el("td", { class: "value", text: shown ?? "" }));
}

// losses[k] is the loss after k steps (before step k + 1); the step shown is marked in red.
function lossChart(losses, step) {
  lineChart($("#loss-chart"), { height: 150,
    series: [{ label: lossName(), values: losses, colour: "#3f51b5", markers: true, marked: step - 1 }],
    x: { title: "steps taken", first: 0 }, y: { title: `loss ${lossName()}` } });
}

// --- the address holds the state --------------------------------------------------------------------------------

function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decode(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function writeAddress() {
  const hash = `#step=${state.step}&s=${encode(JSON.stringify({ spec: state.spec, claims: state.claims, ...linkState() }))}` +
    (state.walk ? `&walk=${encodeURIComponent(state.walk)}` : "");
  history.replaceState(null, "", hash);
}

// The shape the editor draws its boxes from (inputs, targets, layers of weight rows): a link's spec without it
// cannot be shown at all, so the server is asked what is wrong with it.
function editable(spec) {
  const rows = (weights) => Array.isArray(weights) && weights.length > 0 && weights.every(Array.isArray);
  return spec !== null && typeof spec === "object" && Array.isArray(spec.layers) && spec.layers.length > 0 &&
    ["inputs", "targets"].every((key) => spec[key] !== null && typeof spec[key] === "object") &&
    spec.layers.every((layer) => layer !== null && typeof layer === "object" && rows(layer.weights));
}

// The server's own words for what is wrong with a spec.
async function refusal(spec) {
  try {
    await api("/api/explain", { spec });
    return "its network is not in the form the editor shows";
  } catch (error) { return error.message; }
}

// A note about the link opened (what of it could not be read): it stays until another network is opened, where an
// error beside a field goes with the next answer.
function linkNote(text) {
  $("#link-note").textContent = text;
  $("#link-note").hidden = !text;
}

// The state a link holds: true when read (an error beside a field may still follow), false with a note saying why
// when not.
async function readAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.get("s")) return false;
  try {
    const saved = JSON.parse(decode(params.get("s")));
    if (typeof saved !== "object" || saved === null || typeof saved.spec !== "object") throw new Error("no spec");
    if (!editable(saved.spec)) throw new Error(await refusal(saved.spec));
    state.spec = saved.spec;
    state.claims = typeof saved.claims === "string" ? saved.claims : "";
    await readLinkState(saved, params);      // audit.js
    const step = Number(params.get("step") || 1);
    state.step = Number.isInteger(step) && step >= 1 && step <= 1000 ? step : 1;
    return true;
  } catch (error) {
    linkNote(`The link's state could not be read (${error.message}); the seed article is shown instead.`);
    return false;
  }
}

// --- loading: examples, spec files, a trained network's example -------------------------------------------------

function load(data, example = null) {
  linkNote("");
  state.spec = data.spec;
  setOrigin(data, example);      // the numbers printed with it belong to it (audit.js); the box is the learner's
  state.claims = "";
  state.step = 1;
  $("#claims").value = state.claims;
  buildEditor();
  update(performance.now());
}

async function loadExample(name) {
  try { load(await api(`/api/example/${encodeURIComponent(name)}`), name); }
  catch (error) { showError(error, $("#banner")); }
}

async function save(format) {
  try {
    const response = await api("/api/save", { spec: state.spec, claims: state.claims, step: state.step, format,
                                              ...printedFor() }, true);
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || "chainrule.txt";
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) { showError(error, $("#banner")); }
}

function readFile(input) {
  const file = input.files[0];
  if (!file) return Promise.resolve(null);
  if (file.size > 1048576) return Promise.reject(new Error(`${file.name}: expected at most 1048576 bytes, found ${file.size}`));
  return file.text().then((text) => ({ name: file.name, text }));
}

// --- training ---------------------------------------------------------------------------------------------------

const COLOURS = ["#3f51b5", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#795548", "#546e7a", "#ad1457", "#9e9d24"];
const LIGHT = ["#c5cae9", "#ffe0b2", "#c8e6c9", "#ffcdd2", "#e1bee7", "#b2ebf2", "#d7ccc8", "#cfd8dc", "#f8bbd0", "#f0f4c3"];

// The curves are the training data and the validation split carved from it; the test split is scored once, at
// the end, and reported in the status line, never drawn per epoch.
function trainingCharts(h) {
  const curves = (key) => [{ label: "training", values: h[key] || [], colour: COLOURS[0] },
                           { label: "validation", values: h[`val_${key}`] || [], colour: COLOURS[1] }];
  lineChart($("#train-loss"), { series: curves("loss"), x: { title: "epoch", first: 1 },
                                y: { title: "cross-entropy (nats)", low: 0 } });
  lineChart($("#train-accuracy"), { series: curves("accuracy"), x: { title: "epoch", first: 1 },
                                    y: { title: "accuracy (%)", low: 0, high: 1, percent: true } });
}

function drawRegions(plane) {
  const canvas = $("#regions"), context = canvas.getContext("2d");
  const size = canvas.width, grid = plane.regions;
  if (!grid) return;
  const cells = grid.length, cell = size / cells;
  grid.forEach((row, r) => row.forEach((k, c) => {
    context.fillStyle = LIGHT[k % LIGHT.length];
    context.fillRect(c * cell, size - (r + 1) * cell, cell + 0.5, cell + 0.5);
  }));
  const [lx, ly] = plane.low, [hx, hy] = plane.high;
  plane.points.forEach(([px, py], i) => {
    context.beginPath();
    context.arc(((px - lx) / (hx - lx)) * size, size - ((py - ly) / (hy - ly)) * size, 3, 0, 2 * Math.PI);
    context.fillStyle = COLOURS[plane.labels[i] % COLOURS.length];
    context.fill();
    context.strokeStyle = "white";
    context.stroke();
  });
}

function showTraining(job) {
  studio.job = job;
  const h = job.history;
  trainingCharts(h);
  if (job.train_size) {
    $("#train-split").textContent = `Trained on ${job.train_size} examples; the curves' validation split is ` +
      `${job.validation_size} more, carved from the training data; the test split (${job.test_size}) is scored once, at the end.`;
  }
  $("#regions-figure").hidden = !job.plane;
  if (job.plane) drawRegions(job.plane);
  const last = (key) => (h[key] && h[key].length ? h[key][h[key].length - 1] : null);
  const percent = (value) => `${(100 * value).toFixed(1)}%`;
  const validation = last("val_accuracy") === null ? "" : ` · validation accuracy ${percent(last("val_accuracy"))}`;
  const accuracy = job.test_accuracy === null ? "" : ` · test accuracy ${percent(job.test_accuracy)} ` +
    `(${job.test_size} held-out examples, scored once)`;
  const doing = job.status === "running" ? (job.epoch ? "training" : "starting") : job.status;
  $("#train-status").textContent = `${job.data}: ${doing}, epoch ${job.epoch} of ${job.epochs}${validation}${accuracy}` +
    (job.error ? ` · ${job.error}` : "");
  const running = job.status === "running";
  $("#train-start").disabled = running;
  $("#train-stop").disabled = !running;
  $("#explain-example").disabled = running;
}

async function poll(id) {
  try {
    const job = await api(`/api/train/${id}`);
    showTraining(job);
    if (job.status === "running") setTimeout(() => poll(id), 200);
  } catch (error) { showError(error, $("#train-status")); }
}

async function startTraining() {
  clearErrors();
  $("#train-status").textContent = `${$("#data").selectedOptions[0].textContent}: preparing the data and the network…`;
  const hidden = $("#hidden").value.trim().split(/[\s,]+/).filter(Boolean).map(fieldValue);
  const body = { data: $("#data").value, hidden, activation: $("#activation").value, lr: fieldValue($("#train-lr").value),
                 epochs: fieldValue($("#epochs").value), batch_size: fieldValue($("#batch").value), seed: fieldValue($("#seed").value) };
  try {
    if (body.data === "csv") {
      const file = await readFile($("#csv-file"));
      if (!file) throw Object.assign(new Error("file: choose a CSV file first"), { field: "file" });
      Object.assign(body, file);
    }
    const job = await api("/api/train", body);
    showTraining(job);
    poll(job.job);
  } catch (error) { showError(error, $("#train-status")); }
}

function switchTab(name) {
  for (const tab of ["explain", "train"]) {
    $(`#${tab}`).hidden = tab !== name;
    $(`#tab-${tab}`).setAttribute("aria-selected", String(tab === name));
  }
}

// --- wiring -----------------------------------------------------------------------------------------------------

function onEdit(event) {
  const node = event.target;
  if (!node.dataset || !node.dataset.path) return;
  const t0 = performance.now();
  if (node.id === "claims") state.claims = node.value;
  else if (node.type === "checkbox") setPath(state.spec, node.dataset.path, node.checked);
  else if (node.tagName === "SELECT") setPath(state.spec, node.dataset.path, node.value);
  else setPath(state.spec, node.dataset.path, fieldValue(node.value));
  if (node.tagName === "SELECT") fitLoss(node.dataset.path);      // the loss menu follows the output (network.js)
  if (node.tagName === "SELECT" || node.type === "checkbox") update(t0); else typed(t0, node.value);
}

// Editing in the diagram: a click on a weight, bias or input there selects its field in the table.
function editFromDiagram(event) {
  const label = event.target.closest("svg text");
  if (!label || !studio.last) return;
  const shownName = label.textContent.split(" = ")[0].trim();
  const names = Object.keys(studio.last.display).filter((name) => studio.last.display[name] === shownName);
  const field = $$("#editor input").find((input) => names.includes(input.title));
  if (!field) return;
  field.scrollIntoView({ block: "center" });
  field.focus();
  field.select();
}

function stepTo(step) {
  state.step = Math.min(1000, Math.max(1, step));
  update(performance.now());
}

async function start() {
  await learnerSetup();          // menus, the audit's original network, the walk (audit.js, walk.js)
  $("#controls").addEventListener("input", (event) => { if (event.target.tagName !== "SELECT") onEdit(event); });
  $("#controls").addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT" && event.target.dataset.path) {
      onEdit(event);
      if (event.target.dataset.path === "loss") buildEditor();
    } else if (event.target.type === "checkbox") onEdit(event);
  });
  $("#derivation").addEventListener("click", editFromDiagram);
  $("#step").addEventListener("click", () => stepTo(state.step + 1));
  $("#back").addEventListener("click", () => stepTo(state.step - 1));
  $("#reset").addEventListener("click", () => stepTo(1));
  $("#step-n").addEventListener("click", () => stepTo(state.step + (Number($("#n-steps").value) || 1)));
  $("#add-layer").addEventListener("click", () => structural(addLayer));
  $$("[data-save]").forEach((button) => button.addEventListener("click", () => save(button.dataset.save)));
  $("#copy-link").addEventListener("click", () => {
    navigator.clipboard.writeText(location.href).then(() => { $("#status").textContent = "link copied"; },
      () => { $("#status").textContent = location.href; });
  });
  $("#example").addEventListener("change", () => loadExample($("#example").value));
  $("#spec-file").addEventListener("change", async () => {
    $("#error-file").textContent = "";
    try {
      const file = await readFile($("#spec-file"));
      if (file) load(await api("/api/open", file));
    } catch (error) { $("#error-file").textContent = error.message; }
  });
  $$("nav button").forEach((button) => button.addEventListener("click", () => switchTab(button.dataset.tab)));
  $("#data").addEventListener("change", () => { $("#csv-label").hidden = $("#data").value !== "csv"; });
  $("#train-start").addEventListener("click", startTraining);
  $("#train-stop").addEventListener("click", () => studio.job && api(`/api/train/${studio.job.job}/stop`, {}).then(showTraining));
  $("#explain-example").addEventListener("click", async () => {
    clearErrors();
    try {
      const data = await api(`/api/train/${studio.job.job}/explain`, { index: fieldValue($("#explain-index").value) });
      switchTab("explain");
      load(data);
    } catch (error) { showError(error, $("#train-status")); }
  });

  const { examples } = await api("/api/examples");
  $("#example").replaceChildren(...examples.map((name) => el("option", { value: name, text: name })));
  $("#example").value = "seed_article";
  if (await readAddress()) {
    $("#claims").value = state.claims;
    showExample();               // audit.js: the link's network may be a shipped example, or custom
    buildEditor();
    update();
  } else {
    const note = $("#link-note").textContent;
    await loadExample("seed_article");
    linkNote(note);
  }
}

start();
