// chainrule studio: the editor's rules for the network's shape and its menus. A neuron or layer the learner adds
// gets small random weights that the server draws from a seed shown beside them (equal weights would make the new
// neurons compute and learn the same thing, so the layer could never learn); the loss menu offers the losses the
// engine pairs with the output activation, and the output layer's menu only activations some loss pairs with; each
// box is as wide as its number, so none is cut; and a line above the editor says which weights it holds (the
// starting ones) while the diagram shows a later step. studio.js calls these; no number of the network is computed
// here.
"use strict";

let menus = { hidden: ["sigmoid", "tanh", "relu", "identity", "softmax"], losses: {}, default_loss: {},
              loss_words: {} };       // until the server's /api/choices arrive

async function readMenus() {
  menus = await api("/api/choices");
}

// --- structural edits: names return to their defaults (w1.., z1.., a1..); new weights come from the server -------

function widthBefore(l) {
  return l === 0 ? entries(state.spec.inputs, "x", "inputs").length : state.spec.layers[l - 1].weights.length;
}

const NAME_KEYS = ["weight_names", "bias_names", "pre_activation_names", "activation_names"];

function stripNames() {
  for (const layer of state.spec.layers) for (const key of NAME_KEYS) delete layer[key];
  state.spec.targets = entries(state.spec.targets, "y", "targets").map((item) => item.value);
}

// The default names the spec reader gave the reshaped network, from the server's answer, into the spec as it is now:
// only the names are taken, so a number typed since the request went is kept.
function adoptNames(answer) {
  const spec = state.spec, rows = (s) => JSON.stringify(s.layers.map((layer) => [layer.weights.length,
                                                                                (layer.weights[0] || []).length]));
  if (rows(answer) !== rows(spec)) return;
  answer.layers.forEach((layer, l) => NAME_KEYS.forEach((key) => {
    if (layer[key] !== undefined) spec.layers[l][key] = layer[key];
  }));
  const names = Object.keys(answer.targets);
  if (Array.isArray(spec.targets) && !Array.isArray(answer.targets) && names.length === spec.targets.length) {
    spec.targets = Object.fromEntries(names.map((name, i) => [name, spec.targets[i]]));
  }
}

// One matrix per [rows, columns] shape, drawn from the seed in the seed box, which then moves on by one so that
// the next neuron or layer added gets weights of its own.
async function drawWeights(shapes) {
  const seed = state.seed;
  const { weights } = await api("/api/draw", { shapes, seed });
  state.seed = seed + 1;
  $("#draw-seed").value = String(state.seed);
  return { weights, seed };
}

function noteSeed(l, seed) {
  state.seeds[l] = (state.seeds[l] || []).concat(seed);
}

function layerAt(l) {
  const layer = state.spec.layers[l];
  if (!layer) throw new Error(`layers[${l}]: the network has ${state.spec.layers.length} layers now`);
  return layer;
}

// Each edit checks itself and draws its weights (the one wait), then returns the change, which structural() makes
// at once: no request ever carries half an edit.
async function addNeuron(l) {
  const layer = layerAt(l), next = state.spec.layers[l + 1];
  if (layer.weights.length >= 16) throw new Error(`layers[${l}]: the editor adds at most 16 neurons to a layer`);
  const { weights, seed } = await drawWeights([[1, widthBefore(l)]].concat(next ? [[next.weights.length, 1]] : []));
  return () => {
    layer.weights.push(weights[0][0]);
    if (Array.isArray(layer.bias)) layer.bias.push(0);
    noteSeed(l, seed);
    if (next) {
      next.weights.forEach((row, j) => row.push(weights[1][j][0]));
      noteSeed(l + 1, seed);
    } else state.spec.targets.push(0);
  };
}

async function removeNeuron(l) {
  const layers = state.spec.layers, layer = layerAt(l);
  if (layer.weights.length <= 1) throw new Error(`layers[${l}]: a layer keeps at least one neuron`);
  return () => {
    layer.weights.pop();
    if (Array.isArray(layer.bias)) layer.bias.pop();
    if (l + 1 < layers.length) layers[l + 1].weights.forEach((row) => row.pop());
    else state.spec.targets.pop();
  };
}

async function addLayer() {
  const layers = state.spec.layers, at = layers.length - 1;
  if (layers.length >= 6) throw new Error("layers: the editor builds at most 6 layers");
  const { weights, seed } = await drawWeights([[2, widthBefore(at)], [layers[at].weights.length, 2]]);
  return () => {
    while (state.seeds.length < layers.length) state.seeds.push([]);     // one list per layer, before one is added
    layers.splice(at, 0, { weights: weights[0], bias: [0, 0], activation: "sigmoid" });
    layers[at + 1].weights = weights[1];
    state.seeds.splice(at, 0, [seed]);
    state.seeds[at + 1] = [seed];
  };
}

async function removeLayer(l) {
  const layers = state.spec.layers;
  if (l >= layers.length - 1) throw new Error(`layers[${l}]: only a hidden layer can be removed`);
  const width = widthBefore(l), rows = layers[l + 1].weights;       // the layer after it now takes its inputs
  const drawn = rows.every((row) => row.length >= width) ? null
    : await drawWeights([[rows.length, width]]);                    // the connections the layer lacked
  return () => {
    layers.splice(l, 1);
    state.seeds.splice(l, 1);
    layers[l].weights = rows.map((row, j) => Array.from({ length: width }, (_, i) => row[i] ?? drawn.weights[0][j][i]));
    if (drawn) noteSeed(l, drawn.seed);
  };
}

// Structural edits run one at a time, in the order asked (a double click adds two neurons, each with weights of its
// own seed), each from the shape the one before left. While one waits for its weights, requests wait too (update,
// studio.js): the next then goes once, with the new shape and every other change made meanwhile (a step taken, a
// number typed), so no answer shows half an edit or drops the new shape as older than another. A number held from
// the click keeps the page counted as busy (studio.sent > done) until that request is answered.
let reshaping = Promise.resolve();
const waiting = { edits: 0, request: false, shaped: false };   // edits not yet made; a request held back for them

function structural(change) {
  const held = ++studio.sent;
  waiting.edits += 1;
  reshaping = reshaping.then(() => reshape(change, held));
  return reshaping;
}

async function reshape(change, held) {
  const spec = state.spec, seed = state.seed;
  try {
    const apply = await change();
    if (spec === state.spec) {                 // not if another network was opened meanwhile
      stripNames();
      apply();
      buildEditor();
      waiting.request = waiting.shaped = true;
    }
  } catch (error) {
    state.seed = seed;
    $("#draw-seed").value = String(seed);
    showError(error, $("#banner"));
  }
  waiting.edits -= 1;
  if (!waiting.edits && waiting.request) {
    const mine = update(performance.now(), ++studio.sent);
    if (waiting.shaped) unnamed = mine;        // its answer (or a later one) names the new shape
    waiting.request = waiting.shaped = false;
  }
  studio.done = Math.max(studio.done, held);
}

function seedNote(l) {
  const seeds = state.seeds[l] || [];
  return seeds.length ? el("span", { class: "seed", text: `new weights drawn from seed ${seeds.join(", ")}` }) : "";
}

function readSeed() {
  const seed = Number($("#draw-seed").value);
  if (Number.isInteger(seed) && seed >= 0) state.seed = seed;
}

// --- menus: only what the engine pairs ----------------------------------------------------------------------------

function lossWords(loss) { return menus.loss_words[loss] || loss.replace(/_/g, " "); }

function outputActivation() { return state.spec.layers[state.spec.layers.length - 1].activation; }

// A layer's activation menu: any activation for a hidden layer, for the output layer only those a loss pairs with
// (a spec from elsewhere keeps its own, which the server then refuses by name).
function activationChoices(last, current) {
  const offered = last && Object.keys(menus.losses).length ? Object.keys(menus.losses) : menus.hidden.slice();
  return offered.includes(current) ? offered : offered.concat(current);
}

function lossOptions() {
  const loss = state.spec.loss, offered = (menus.losses[outputActivation()] || []).slice();
  if (!offered.includes(loss)) offered.push(loss);
  $("#loss").replaceChildren(...offered.map((name) => el("option", { value: name, text: lossWords(name) })));
  $("#loss").value = loss;
}

// After a menu choice: a new output activation that does not pair with the loss takes its own default loss, and
// says so; the loss menu then offers what pairs with it.
function fitLoss(path) {
  const last = state.spec.layers.length - 1;
  if (path !== "loss" && path !== `layers[${last}].activation`) return;
  const output = outputActivation(), before = state.spec.loss, offered = menus.losses[output] || [];
  $("#loss-note").textContent = "";
  if (path !== "loss" && !offered.includes(before) && menus.default_loss[output]) {
    state.spec.loss = menus.default_loss[output];
    $("#loss-note").textContent = `The loss is now ${lossWords(state.spec.loss)}: ${lossWords(before)} does not ` +
      `go with a ${output} output.`;
  }
  lossOptions();
}

// --- boxes and the editor's moment ---------------------------------------------------------------------------------

// A box as wide as its number (the shortest text that reads back to the same number, as String gives it).
function fitBox(input) {
  const size = () => { input.style.width = `max(4.6rem, calc(${input.value.length + 1}ch + .8rem))`; };
  size();
  input.addEventListener("input", size);
  return input;
}

function showNow(step) {
  const now = $("#editor-now");
  now.classList.toggle("later", step > 1);
  now.textContent = step === 1 ? "The starting weights: step 1 begins from these." :
    `The starting weights (step 0), not step ${step}'s: the diagram, the derivation and every number shown are ` +
    `step ${step}'s, which begins from the weights after ${step - 1} update${step > 2 ? "s" : ""}. An edit here ` +
    `changes the start, and step ${step} is worked out again from it.`;
}
