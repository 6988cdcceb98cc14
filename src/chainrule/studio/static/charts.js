// chainrule studio's line charts, drawn as SVG: a plot area with ticks on both axes, the axes' titles with their
// units, and a legend, all placed outside the plot area so that no label ever covers a curve or a marker. The
// numbers come from the server; this file only places them.
"use strict";

const CHART = { font: 11, left: 50, right: 10, top: 26, bottom: 36, ink: "#4a5368", grid: "#eef0f4" };

function chartNode(tag, attributes = {}, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Round ticks over [low, high]: 1, 2 or 5 times a power of ten apart, about `count` intervals, at least `least`
// apart (1 for counts such as epochs). The range is widened to the ticks around it.
function niceScale(low, high, count, least = 0) {
  if (!(high > low)) { const pad = Math.abs(low) / 10 || 0.5; low -= pad; high += pad; }
  const raw = (high - low) / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(least, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9)));
  const first = Math.floor(low / step + 1e-9), last = Math.ceil(high / step - 1e-9);
  const ticks = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return { low: first * step, high: last * step, step, ticks };
}

function tickText(value, step, percent) {
  if (percent) return `${Number((100 * value).toPrecision(12))}%`;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(Math.min(decimals, 10));
}

// series: [{label, values, colour, markers, marked}] where `marked` is the index drawn larger; x: {title, first}
// (the x value of values[0]); y: {title, low, high, percent} (low/high fix the range, as 0..1 for an accuracy).
function lineChart(svg, { series, x, y, width = 340, height = 180, legend = series.length > 1 }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const plot = { x0: CHART.left, x1: width - CHART.right, y0: CHART.top, y1: height - CHART.bottom };
  const values = series.flatMap((s) => s.values).filter(Number.isFinite);
  const n = Math.max(0, ...series.map((s) => s.values.length));
  const least = values.length ? Math.min(...values) : 0, most = values.length ? Math.max(...values) : 1;
  const ys = y.low !== undefined && y.high !== undefined
    ? { ...niceScale(y.low, y.high, 5), low: y.low, high: y.high }
    : niceScale(y.low ?? least, y.high ?? most, 4);
  const xs = niceScale(x.first, x.first + Math.max(n - 1, 1), 5, 1);
  const X = (k) => plot.x0 + ((k - xs.low) * (plot.x1 - plot.x0)) / (xs.high - xs.low);
  const Y = (v) => plot.y1 - ((v - ys.low) * (plot.y1 - plot.y0)) / (ys.high - ys.low);
  const text = (attributes, words) => chartNode("text", { "font-size": CHART.font, fill: CHART.ink, ...attributes },
                                                 words);

  svg.append(chartNode("rect", { class: "plot", x: plot.x0, y: plot.y0, width: plot.x1 - plot.x0,
                                 height: plot.y1 - plot.y0, fill: "white", stroke: "#c9d0dc" }));
  for (const v of ys.ticks.filter((t) => t >= ys.low - 1e-12 && t <= ys.high + 1e-12)) {
    svg.append(chartNode("line", { x1: plot.x0, x2: plot.x1, y1: Y(v), y2: Y(v), stroke: CHART.grid }));
    svg.append(chartNode("line", { x1: plot.x0 - 4, x2: plot.x0, y1: Y(v), y2: Y(v), stroke: CHART.ink }));
    svg.append(text({ x: plot.x0 - 6, y: Y(v) + 4, "text-anchor": "end", class: "tick" },
                    tickText(v, ys.step, y.percent)));
  }
  for (const k of xs.ticks) {
    svg.append(chartNode("line", { x1: X(k), x2: X(k), y1: plot.y1, y2: plot.y1 + 4, stroke: CHART.ink }));
    svg.append(text({ x: X(k), y: plot.y1 + 15, "text-anchor": "middle", class: "tick" }, String(k)));
  }
  svg.append(text({ x: (plot.x0 + plot.x1) / 2, y: height - 5, "text-anchor": "middle", class: "axis-title" },
                  x.title));
  svg.append(text({ x: 4, y: 14, "font-weight": 600, class: "axis-title" }, y.title));
  for (const s of series) {
    const points = s.values.map((v, k) => [X(x.first + k), Y(v)]).filter(([, py]) => Number.isFinite(py));
    svg.append(chartNode("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none",
                                       stroke: s.colour, "stroke-width": 1.6, class: "series" }));
    if (s.markers) {
      points.forEach(([px, py], k) => svg.append(chartNode("circle", { cx: px, cy: py, r: k === s.marked ? 4 : 2,
        fill: k === s.marked ? "#c62828" : s.colour })));
    }
  }
  if (legend) {                      // right-aligned in the top margin, one short line of each series' colour
    const group = chartNode("g", { class: "legend" });
    svg.append(group);
    let right = plot.x1;
    for (const s of [...series].reverse()) {  // laid out from the right, kept in the series' order
      const label = text({ x: right, y: 14, "text-anchor": "end", class: "legend" }, s.label);
      group.prepend(label);
      right -= (label.getComputedTextLength() || 6.2 * s.label.length) + 4;    // 0 while the chart is hidden
      group.prepend(chartNode("line", { x1: right - 16, x2: right, y1: 10, y2: 10, stroke: s.colour,
                                        "stroke-width": 2.5 }));
      right -= 26;
    }
  }
}

window.lineChart = lineChart;
