// chainrule studio: whose numbers the audit judges. Numbers printed with a network (an article's, a post's, a
// student's) belong to the network they were printed for, state.origin: the page sends them to be judged only while
// the network shown is that one. A learning rate of the learner's own keeps them (the server sets aside, by name,
// those worked at the printed rate: studio/claims.py); any other edit (a number given, an activation, the loss, the
// update order, the shape) makes another network, and the audit says so instead of blaming their author. A button
// restores the original network, and then goes back to the learner's. The learner's own numbers, typed in the
// audit box, are judged against whatever network is shown. The Example menu names what is shown: an example's name
// while it is shown unedited, else "custom".
"use strict";

function copyOf(value) { return JSON.parse(JSON.stringify(value)); }

// The network as loaded (an example, a spec file, a trained network's example): its numbers printed with it.
function setOrigin(data, example) {
  state.origin = { example, spec: copyOf(data.spec), claims: data.claims || "" };
  Object.assign(state, { mine: null, seeds: [], walk: null });
  $("#printed").hidden = printedCount() === 0;        // where a refusal of its printed numbers is said
  $("#printed-status").textContent = "";
  $("#restore").hidden = true;
}

// JSON with its keys sorted: two specs are the same network when these agree.
function sortedJSON(value) {
  if (Array.isArray(value)) return `[${value.map(sortedJSON).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${sortedJSON(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

// The network a spec describes: everything but its words (title, notes, who printed the numbers) and, unless
// asked for, its learning rate.
function networkOf(spec, withRate) {
  const network = { ...spec };
  for (const key of ["title", "notes", "claims_source"].concat(withRate ? [] : ["learning_rate"])) delete network[key];
  return sortedJSON(network);
}

function isOriginal(withRate = false) {
  const origin = state.origin;
  return Boolean(origin && origin.spec && state.spec) &&
    networkOf(state.spec, withRate) === networkOf(origin.spec, withRate);
}

function printedCount() {
  return state.origin ? state.origin.claims.split("\n").filter((line) => line.split("#")[0].trim()).length : 0;
}

// What the request adds for the audit: the printed numbers while the network shown is theirs.
function printedFor() {
  const origin = state.origin;
  if (!printedCount() || !isOriginal()) return {};
  return { printed: origin.claims, printed_learning_rate: origin.spec.learning_rate ?? 0.1 };
}

// "the article's", "the post's", "Mazur's": as the derivation's own sentences say it.
function possessiveOf(source) {
  const own = source.endsWith("s") ? `${source}'` : `${source}'s`;
  return /^[A-Z]/.test(source) ? own : `the ${own}`;
}

function written(name) { return (studio.last && studio.last.display[name]) || name; }

// What the learner changed, in the network's own names: "w₁", "w₁, x₂ and the loss", "the network's shape".
function changesFrom(before, after) {
  const shape = (spec) => sortedJSON([Object.keys(spec.inputs).length, spec.layers.map((layer) =>
    [layer.weights.length, (layer.weights[0] || []).length, Array.isArray(layer.bias) ? "each" : typeof layer.bias])]);
  if (shape(before) !== shape(after)) return ["the network's shape"];
  const changed = [];
  const compare = (a, b, name) => { if (sortedJSON(a) !== sortedJSON(b)) changed.push(name); };
  for (const key of ["inputs", "targets"]) {
    const names = Array.isArray(before[key]) ? before[key].map((_, i) => `${key === "inputs" ? "x" : "y"}${i + 1}`)
      : Object.keys(before[key] || {});
    const values = (spec) => (Array.isArray(spec[key]) ? spec[key] : Object.values(spec[key] || {}));
    names.forEach((name, i) => compare(values(before)[i], values(after)[i], written(name)));
  }
  before.layers.forEach((layer, l) => {
    const other = after.layers[l];
    const weightName = (j, i) => (layer.weight_names || [])[j]?.[i] || `weight ${j + 1},${i + 1} of layer ${l + 1}`;
    layer.weights.forEach((row, j) => row.forEach((w, i) => compare(w, other.weights[j][i], written(weightName(j, i)))));
    const biases = [].concat(layer.bias ?? []), others = [].concat(other.bias ?? []);
    biases.forEach((b, j) => compare(b, others[j], written((layer.bias_names || [])[j] || `a bias of layer ${l + 1}`)));
    compare(layer.activation, other.activation, `layer ${l + 1}'s activation`);
  });
  const words = { loss: "the loss", update_order: "the update order", update_biases: "whether biases are updated" };
  const seen = new Set(["inputs", "targets", "layers", "learning_rate", "title", "notes", "claims_source"]);
  for (const key of new Set(Object.keys(before).concat(Object.keys(after)))) {
    if (!seen.has(key)) compare(before[key], after[key], words[key] || key.replace(/_/g, " "));
  }
  return changed;
}

function listed(items) {
  const shown = items.length > 4 ? items.slice(0, 3).concat(`${items.length - 3} more`) : items;
  return shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

function showPrinted(data) {
  const count = printedCount(), box = $("#printed"), status = $("#printed-status"), button = $("#restore");
  box.hidden = count === 0;
  if (!count) return;
  const origin = state.origin, whose = possessiveOf(origin.spec.claims_source || "author");
  const Whose = whose[0].toUpperCase() + whose.slice(1);
  const numbers = count === 1 ? "1 printed number is" : `${count} printed numbers are`;
  box.classList.toggle("elsewhere", !isOriginal());
  if (!isOriginal()) {
    state.mine = null;
    status.textContent = `${Whose} ${numbers} of the original network, and you changed ` +
      `${listed(changesFrom(origin.spec, state.spec))}: they describe another network than yours, so they are not ` +
      "judged here. Numbers of your own, typed below, are.";
    button.textContent = "restore the original network";
    button.hidden = false;
    return;
  }
  let text = `${Whose} ${numbers} judged: the network shown is the one they were printed for.`;
  const aside = Object.keys(data.set_aside || {});
  if (aside.length) {
    text += ` Your learning rate η = ${state.spec.learning_rate} is not the printed ${origin.spec.learning_rate}: ` +
      `the ${aside.length} that depend on it (${listed(aside.map((name) => written(name.replace(/\+$/, "'"))))}) ` +
      `were worked at η = ${origin.spec.learning_rate} and are not judged.`;
  }
  if (data.step > 1) text += " They describe step 1: go back to it for their verdicts.";
  status.textContent = text;
  button.textContent = "back to your network";
  button.hidden = !state.mine;
}

// The restore button: the original network (the learner's kept aside), or back to the learner's.
function toggleOriginal() {
  if (!isOriginal()) {
    state.mine = { spec: copyOf(state.spec), seeds: copyOf(state.seeds) };
    Object.assign(state, { spec: copyOf(state.origin.spec), seeds: [] });
  } else if (state.mine) {
    Object.assign(state, { spec: state.mine.spec, seeds: state.mine.seeds, mine: null });
  }
  buildEditor();
  update(performance.now());
}

// Each verdict says whose number it judged.
function markVerdicts(data) {
  const whose = state.origin ? possessiveOf(state.origin.spec.claims_source || "author") : "printed";
  $$("#verdicts li").forEach((item, k) => {
    const claim = data.claims[k];
    if (claim) item.append(el("span", { class: "whose", text: claim.by === "learner" ? " · yours" : ` · ${whose}` }));
  });
}

function showExample() {
  const menu = $("#example");
  if (!menu.querySelector('option[value="custom"]')) {
    menu.append(el("option", { value: "custom", text: "custom", disabled: "" }));
  }
  menu.value = state.origin && state.origin.example && isOriginal(true) ? state.origin.example : "custom";
}

// --- the address: the original network travels with the link (an example by its name) ---------------------------

function linkState() {
  const origin = state.origin;
  const kept = !origin ? null : origin.example ? { example: origin.example } : { spec: origin.spec, claims: origin.claims };
  return { origin: kept, seed: state.seed, seeds: state.seeds };
}

// The original network a link names: a shipped example by its name, else its spec and printed numbers. One the
// page cannot compare with (a spec without layers of weight rows) is set aside, and a note says so: its printed
// numbers are then judged nowhere. A link made before links carried their original is of a shipped example when
// its network is one as shipped (its numbers then judged, and taken out of the box, where such links kept them).
async function readLinkState(saved, params) {
  const origin = saved.origin && typeof saved.origin === "object" ? saved.origin : null;
  state.origin = null;
  if (origin && typeof origin.example === "string") state.origin = await shipped(origin.example);
  else if (origin && editable(origin.spec)) {
    state.origin = { example: null, spec: origin.spec, claims: typeof origin.claims === "string" ? origin.claims : "" };
  } else if (origin && origin.spec !== undefined) {
    linkNote(`The link's original network could not be read (${await refusal(origin.spec)}): the numbers printed ` +
      "with it are not judged.");
  } else if (!("origin" in saved)) {
    state.origin = await shippedAs(state.spec);
    if (state.origin && state.claims.trim() === state.origin.claims.trim()) state.claims = "";
  }
  state.seed = Number.isInteger(saved.seed) && saved.seed >= 0 ? saved.seed : 1;
  const seeds = Array.isArray(saved.seeds) ? saved.seeds : [];
  state.seeds = seeds.map((list) => (Array.isArray(list) ? list.filter(Number.isInteger) : []));
  state.walk = params.get("walk") || null;
}

// A shipped example as the original network, or null for a name this studio does not ship (the link's network is
// then simply custom).
async function shipped(example) {
  try {
    const data = await api(`/api/example/${encodeURIComponent(example)}`);
    return { example, spec: data.spec, claims: data.claims || "" };
  } catch (error) { return null; }
}

// The shipped example whose network this spec is, as shipped, or null.
async function shippedAs(spec) {
  const names = Array.from($("#example").options, (option) => option.value).filter((name) => name !== "custom");
  const examples = await Promise.all(names.map(shipped));
  return examples.find((origin) => origin && networkOf(origin.spec, true) === networkOf(spec, true)) || null;
}

// --- set up, and after every answer ----------------------------------------------------------------------------

async function learnerSetup() {
  Object.assign(state, { origin: null, mine: null, seed: 1, seeds: [], walk: null });
  try { await readMenus(); } catch (error) { showError(error, $("#banner")); }
  $("#restore").addEventListener("click", toggleOriginal);
  $("#draw-seed").addEventListener("input", readSeed);
  wireWalk();
}

function learnerView(data) {
  $("#draw-seed").value = String(state.seed);
  showNow(data.step);
  showPrinted(data);
  markVerdicts(data);
  showExample();
  showWalk(data);
}
