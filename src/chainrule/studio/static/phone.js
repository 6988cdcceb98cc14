// chainrule studio on a narrow screen (a phone, at most 900 px wide). The derivation comes first and the controls
// live in a drawer docked at the bottom (studio.css): a learner taps a number in the diagram, the drawer opens on
// its box, and the diagram stays in the top half of the screen, so the number typed and the numbers it changes are
// seen together. Below the page's width the diagram would shrink until its labels cannot be read: here it keeps a
// size at which its smallest label is MIN_LABEL_PX on screen, and pans sideways instead. Every answer redraws the
// derivation, so an observer sizes each new diagram, restores how far it was panned, and keeps it where it was on
// the screen (an answer may lengthen the text above it: the page must not jump under the learner's eyes).
"use strict";

(() => {
  const MIN_LABEL_PX = 11;
  const narrow = window.matchMedia("(max-width: 900px)");
  const controls = document.querySelector("#controls");
  const toggle = document.querySelector("#drawer-toggle");
  const derivation = document.querySelector("#derivation");
  let panned = 0;                      // the diagram's sideways scroll, in pixels
  let shownAt = null;                  // the diagram's top on the screen, in pixels, as the learner last left it

  function open(yes) {
    controls.classList.toggle("open", yes);
    toggle.setAttribute("aria-expanded", String(yes));
  }

  function diagram() { return derivation.querySelector("figure > svg"); }

  function remember() {
    const svg = diagram();
    shownAt = svg ? svg.getBoundingClientRect().top : null;
  }

  function readable() {
    const svg = diagram();
    if (!svg) return;
    if (!narrow.matches) { svg.style.removeProperty("min-width"); return; }
    const box = svg.viewBox.baseVal;
    const sizes = Array.from(svg.querySelectorAll("text"), (t) => parseFloat(getComputedStyle(t).fontSize));
    const smallest = Math.min(...sizes.filter((size) => size > 0));
    if (box && box.width && Number.isFinite(smallest)) {
      svg.style.minWidth = `${Math.ceil((box.width * MIN_LABEL_PX) / smallest)}px`;
      svg.parentElement.scrollLeft = panned;
      if (shownAt !== null) window.scrollBy(0, svg.getBoundingClientRect().top - shownAt);
    }
  }

  // The loss before and after the step shown, on the drawer's handle: a result in view while the drawer is open.
  function handleResult() {
    const last = window.studio && window.studio.last;
    if (!last) return;
    const number = (value) => (value === undefined ? "" : String(Number(value.toPrecision(6))));
    document.querySelector("#drawer-result").textContent =
      `loss ${number(last.losses[last.step - 1])} → ${number(last.losses[last.step])}`;
  }

  // A tap on a number in the diagram (studio.js selects its box): keep that number in view above the drawer,
  // panned to the diagram's left edge so that the neurons it feeds, to its right, are on the screen too. Run once
  // every listener of the tap has, so that the box is selected whatever the order they were added in.
  function keepInView(event) {
    const label = event.target.closest("svg text");
    if (narrow.matches && label) setTimeout(() => keepLabelInView(label), 0);
  }

  function keepLabelInView(label) {
    const figure = label.closest("figure");
    if (!controls.contains(document.activeElement) || !label.isConnected || !figure) return;
    open(true);
    const rect = (label.closest("g.edge-label") || label).getBoundingClientRect();
    figure.scrollLeft += rect.left - figure.getBoundingClientRect().left - 12;
    panned = figure.scrollLeft;
    window.scrollBy(0, rect.top - 0.2 * window.innerHeight);
    remember();
  }

  toggle.addEventListener("click", () => open(!controls.classList.contains("open")));
  document.querySelector("#walk-start").addEventListener("click", () => open(false));   // the walk is in the derivation
  controls.addEventListener("focusin", (event) => { if (narrow.matches && event.target !== toggle) open(true); });
  derivation.addEventListener("click", keepInView);
  derivation.addEventListener("scroll", (event) => {
    if (event.target.tagName === "FIGURE") panned = event.target.scrollLeft;
  }, true);
  window.addEventListener("scroll", remember, { passive: true });
  new MutationObserver(() => { readable(); handleResult(); }).observe(derivation, { childList: true });
  narrow.addEventListener("change", () => { readable(); if (!narrow.matches) open(false); });
})();
