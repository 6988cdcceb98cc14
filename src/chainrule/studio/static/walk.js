// chainrule studio: the step walked through one quantity at a time, and the formula behind any number of the
// diagram. The walk follows the derivation's own order (the forward pass, the loss, each error δ, each gradient,
// each update): each stop highlights its quantity in the diagram and in the formulas and shows its formula with the
// numbers put in; back and forth with the buttons or the arrow keys; its position is in the address. Hovering over
// or focusing (Tab) a number of the diagram shows the same text. Every text is the server's (the text derivation's
// own lines, studio/formulas.py): the page only finds where the diagram draws each quantity.
"use strict";

let drawnParts = new Map();      // quantity name -> the diagram's elements that draw it

function walkText(name) {
  const walk = studio.last && studio.last.walk;
  return walk ? walk.formulas[name] || walk.given[name] || "" : "";
}

function walkStops() {
  const walk = studio.last && studio.last.walk;
  return walk ? walk.sections.flatMap((section) => section.names.map((name) => ({ name, title: section.title }))) : [];
}

// --- where the diagram draws each quantity (chainrule's renderer: a circle, its name, its values below it; an edge's
// line with its weight and gradient beside it; each layer's biases above) -------------------------------------------

function partOf(name, ...nodes) {
  const found = nodes.filter(Boolean);
  if (found.length) drawnParts.set(name, (drawnParts.get(name) || []).concat(found));
}

function markNumber(node, names) {
  if (!node) return;
  node.dataset.q = JSON.stringify(names);
  if (node.tagName.toLowerCase() === "text") {
    node.setAttribute("tabindex", "0");
    node.setAttribute("aria-describedby", "formula-tip");
  }
}

function indexNeurons(svg, data) {
  const drawn = new Map();       // a neuron's written name -> its circle and the text of its values
  for (const circle of svg.querySelectorAll("circle")) {
    const label = circle.nextElementSibling, values = label && label.nextElementSibling;
    if (label && label.tagName.toLowerCase() === "text") {
      drawn.set(label.textContent, { circle, values: values && values.classList.contains("values") ? values : null });
    }
  }
  const spec = data.spec, L = spec.loss_name || "L", display = data.display;
  // A batch's diagram draws each neuron once, under its own name (a₁), with example 1's values (a1[1]): a quantity
  // of any example is on the neuron's circle (diagramParts), example 1's on its values too.
  const batch = Array.isArray(spec.inputs) && spec.inputs[0] !== null && typeof spec.inputs[0] === "object";
  const first = batch ? spec.inputs[0] : spec.inputs, valued = (name) => (batch ? `${name}[1]` : name);
  const inputs = Array.isArray(first) ? first.map((_, i) => `x${i + 1}`) : Object.keys(first);
  const neuron = (name, ...quantities) => {
    const node = drawn.get(display[name] || name);
    for (const q of node ? quantities : []) {
      if (batch) partOf(q, node.circle);
      partOf(valued(q), node.circle, node.values);
    }
    return node;
  };
  inputs.forEach((x) => {
    const node = neuron(x, x);
    if (!node) return;
    partOf(`d${L}/d${x}`, node.circle);
    markNumber(node.values, [valued(x)]);
  });
  const outputs = [];
  spec.layers.forEach((layer, l) => (layer.activation_names || []).forEach((a, j) => {
    const z = (layer.pre_activation_names || [])[j], node = neuron(a, a, z, `exp_${z}`, `d${a}/d${z}`);
    if (!node) return;
    for (const name of [a, z]) partOf(`d${L}/d${name}`, node.circle);     // the error δ at the neuron
    markNumber(node.values, [valued(z), valued(a)]);
    if (l === spec.layers.length - 1) outputs.push(node.circle);
    else partOf(`d${L}/d${a}_via`, node.circle);
  }));
  for (const name of [L, "sum_exp"]) partOf(name, ...outputs);
  spec.layers[spec.layers.length - 1].activation_names?.forEach((o) => partOf(`${L}_${o}`, ...outputs));
}

function indexEdges(svg, data) {
  const L = data.spec.loss_name || "L", display = data.display;
  const lines = new Map(), labels = new Map();
  for (const group of svg.querySelectorAll("g")) {
    const title = group.querySelector("title"), texts = group.querySelectorAll("text");
    if (title) lines.set(title.textContent.split(" = ")[0], { group, line: group.querySelector("line") });
    else if (group.classList.contains("edge-label") && texts.length) {
      labels.set(texts[0].textContent.split(" = ")[0], { weight: texts[0], gradient: texts[1] || null });
    }
  }
  const biases = Array.from(svg.querySelectorAll("text.bias"));
  for (const layer of data.spec.layers) {
    for (const w of (layer.weight_names || []).flat()) {
      const edge = lines.get(display[w] || w) || {}, label = labels.get(display[w] || w) || {};
      for (const name of [w, `${w}'`, `Delta_${w}`]) partOf(name, label.weight, edge.line);
      partOf(`d${L}/d${w}`, label.gradient, edge.line);
      markNumber(label.weight, [w, `${w}'`]);
      markNumber(label.gradient, [`d${L}/d${w}`]);
      if (edge.group && !label.weight) markNumber(edge.group, [w, `d${L}/d${w}`, `${w}'`]);    // hover only
    }
    for (const b of layer.bias_names || []) {
      const text = biases.find((node) => node.textContent.includes(`${display[b] || b} = `));
      for (const name of [b, `${b}'`, `Delta_${b}`, `d${L}/d${b}`]) partOf(name, text);
    }
  }
  for (const text of biases) {
    const names = Object.keys(display).filter((name) => !name.endsWith("'") &&
                                                         text.textContent.includes(`${display[name]} = `));
    markNumber(text, names.flatMap((b) => [b, `${b}'`]));
  }
}

function indexDiagram(data) {
  drawnParts = new Map();
  const svg = $("#derivation figure svg");
  if (!svg || !data.walk) return;
  indexNeurons(svg, data);
  indexEdges(svg, data);
}

// The diagram draws each neuron and parameter once: a quantity of a later step (z1@2), of a batch's other examples
// (z1[2]) or of the optimizer's state of a parameter (v_w1, mhat_w1) is shown where its neuron or parameter is.
function diagramParts(name) {
  const base = name.replace(/@\d+$/, "").replace(/\[\d+\]$/, "");
  const via = base.match(/^(.*)_via_.*$/), owner = base.match(/^(?:mhat|vhat|m|v|s)_(.+)$/);
  return drawnParts.get(name) || drawnParts.get(base) || (via && drawnParts.get(`${via[1]}_via`)) ||
    (owner && drawnParts.get(owner[1])) || [];
}

// --- the walk ----------------------------------------------------------------------------------------------------

function showWalk(data) {
  if (data) indexDiagram(data);
  $$("#derivation .walk-here").forEach((node) => node.classList.remove("walk-here"));
  const stops = walkStops(), bar = $("#walk");
  $("#walk-start").disabled = !stops.length;
  $("#walk-start").title = stops.length ? "" : "too many quantities to walk through one by one: see the matrix form";
  if (state.walk === null || !stops.length) {
    bar.hidden = true;
    document.body.classList.remove("walking");
    return null;
  }
  let k = stops.findIndex((stop) => stop.name === state.walk);
  if (k < 0) {
    k = 0;
    state.walk = stops[0].name;
  }
  bar.hidden = false;
  document.body.classList.add("walking");
  $("#walk-where").textContent = `${k + 1} of ${stops.length} · ${stops[k].title}`;
  $("#walk-formula").textContent = walkText(state.walk);
  document.body.style.setProperty("--walk-bar", `${bar.offsetHeight}px`);    // kept clear by the scroll (learner.css)
  $("#walk-back").disabled = k === 0;
  $("#walk-next").disabled = k === stops.length - 1;
  const step = $(`#derivation .step[data-name="${CSS.escape(state.walk)}"]`);
  if (step) step.classList.add("walk-here");
  diagramParts(state.walk).forEach((node) => node.classList.add("walk-here"));
  return step;
}

function walkTo(k) {
  const stops = walkStops();
  if (!stops.length) return;
  state.walk = stops[Math.max(0, Math.min(stops.length - 1, k))].name;
  const step = showWalk();
  if (step) step.scrollIntoView({ block: "nearest" });     // clear of the fixed bars: its scroll-margin, learner.css
  writeAddress();
}

function walkBy(move) {
  const stops = walkStops();
  walkTo(Math.max(0, stops.findIndex((stop) => stop.name === state.walk)) + move);
}

function stopWalking() {
  state.walk = null;
  showWalk();
  writeAddress();
  $("#walk-start").focus();
}

// --- the formula of a number in the diagram ---------------------------------------------------------------------

function showTip(node) {
  const tip = $("#formula-tip");
  const text = JSON.parse(node.dataset.q).map(walkText).filter(Boolean).join("\n");
  if (!text) return;
  tip.textContent = text;
  tip.hidden = false;
  const box = node.getBoundingClientRect();
  const left = Math.min(box.left, document.documentElement.clientWidth - tip.offsetWidth - 4);
  tip.style.left = `${Math.max(4, left) + window.scrollX}px`;
  tip.style.top = `${box.bottom + window.scrollY + 6}px`;
}

function hideTip() { $("#formula-tip").hidden = true; }

function wireWalk() {
  $("#walk-start").addEventListener("click", () => {
    walkTo(0);
    $("#walk-next").focus({ preventScroll: true });         // the arrow keys walk on from there
  });
  $("#walk-back").addEventListener("click", () => walkBy(-1));
  $("#walk-next").addEventListener("click", () => walkBy(1));
  $("#walk-close").addEventListener("click", stopWalking);
  $("#walk").addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 };
    if (event.key in moves) walkBy(moves[event.key]);
    else if (event.key === "Home") walkTo(0);
    else if (event.key === "End") walkTo(Infinity);
    else if (event.key === "Escape") stopWalking();
    else return;
    event.preventDefault();
  });
  const derivation = $("#derivation");
  const numberAt = (event) => event.target.closest && event.target.closest("[data-q]");
  derivation.addEventListener("mouseover", (event) => { const node = numberAt(event); if (node) showTip(node); });
  derivation.addEventListener("mouseout", (event) => { if (numberAt(event)) hideTip(); });
  derivation.addEventListener("focusin", (event) => { const node = numberAt(event); if (node) showTip(node); });
  derivation.addEventListener("focusout", hideTip);
  derivation.addEventListener("keydown", (event) => {
    const node = numberAt(event);
    if (!node) return;
    if (event.key === "Escape") hideTip();
    else if (event.key === "Enter") node.dispatchEvent(new MouseEvent("click", { bubbles: true }));   // edit it
  });
}
