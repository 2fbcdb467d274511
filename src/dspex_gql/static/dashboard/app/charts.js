// Charts: uPlot (vendored) for series over iterations, a small SVG scatter for the Pareto front.

import { format, h, replace, svg } from "./dom.js";

export const PALETTE = ["#4f46e5", "#0891b2", "#d97706", "#db2777", "#16a34a", "#7c3aed", "#dc2626"];
const FIRST_CHART = "dspex:first-chart";

/** Marks (once per page) the moment a chart first showed data: the benchmark reads it. */
function markFirstChart(points) {
  if (points > 0 && performance.getEntriesByName(FIRST_CHART).length === 0) {
    performance.mark(FIRST_CHART, { detail: { points } });
  }
}

const WHOLE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000];

function axis(label, extra = {}) {
  return {
    label,
    ...extra,
    stroke: "#64748b",
    grid: { stroke: "#e2e8f0", width: 1 },
    ticks: { stroke: "#e2e8f0", width: 1 },
    font: "12px system-ui, sans-serif",
    labelFont: "12px system-ui, sans-serif",
  };
}

/** A uPlot chart over iterations that fills its container's width. */
function lineChart(container, series, { height = 280, yLabel = "score", lastIteration = null } = {}) {
  const x = { time: false };
  // The whole run's width from the start, so that the chart fills in as the run goes on.
  if (lastIteration !== null) x.range = (_, min, max) => [0, Math.max(max ?? 0, lastIteration)];
  const options = {
    width: Math.max(320, container.clientWidth),
    height,
    scales: { x },
    axes: [axis("iteration", { incrs: WHOLE_STEPS }), axis(yLabel)],
    legend: { live: true },
    cursor: { points: { size: 7 } },
    series: [{ label: "iteration", value: (_, v) => (v === null ? "—" : v) }, ...series],
    hooks: { draw: [(chart) => markFirstChart(chart.data[0].length)] },
  };
  const chart = new window.uPlot(options, [[], ...series.map(() => [])], container);
  const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(320, container.clientWidth), height }));
  resize.observe(container);
  return { chart, destroy: () => (resize.disconnect(), chart.destroy()) };
}

/** Each evaluation's score (dots) and the best score so far (a step line), growing live. */
export class ScoreChart {
  constructor(container, maxIterations) {
    this.container = container;
    this.iterations = [];
    this.scores = [];
    this.best = [];
    const dots = { size: 5, fill: "#6366f1", stroke: "#6366f1", show: true };
    const value = (_, v) => format.score(v) ?? "—";
    ({ chart: this.chart, destroy: this.destroy } = lineChart(container, [
      { label: "score", stroke: "#6366f1", paths: () => null, points: dots, value },
      { label: "best so far", stroke: "#16a34a", width: 2, paths: window.uPlot.paths.stepped({ align: 1 }), points: { show: false }, value },
    ], { lastIteration: maxIterations - 1 }));
  }

  /** Evaluations in iteration order (failed ones have no score). */
  add(evaluations) {
    let best = this.best.at(-1) ?? null;
    for (const evaluation of evaluations) {
      if (evaluation.score !== null && (best === null || evaluation.score > best)) best = evaluation.score;
      this.iterations.push(evaluation.iteration);
      this.scores.push(evaluation.score);
      this.best.push(best);
    }
    this.chart.setData([this.iterations, this.scores, this.best]);
    this.container.dataset.points = String(this.iterations.length);
  }
}

/** Several runs' best score so far, one line each, over a shared iteration axis. */
export class OverlayChart {
  constructor(container, runs) {
    this.container = container;
    this.indexOf = new Map(runs.map((run, i) => [run.id, i]));
    this.best = runs.map(() => []);
    const value = (_, v) => format.score(v) ?? "—";
    const series = runs.map((run, i) => ({
      label: run.name,
      stroke: PALETTE[i % PALETTE.length],
      width: 2,
      spanGaps: true,
      points: { show: false },
      paths: window.uPlot.paths.stepped({ align: 1 }),
      value,
    }));
    ({ chart: this.chart, destroy: this.destroy } = lineChart(container, series, { height: 340 }));
  }

  add(runId, evaluations) {
    const best = this.best[this.indexOf.get(runId)];
    for (const evaluation of evaluations) {
      const previous = best.findLast((v) => v !== null) ?? null;
      const score = evaluation.score;
      best[evaluation.iteration] = score !== null && (previous === null || score > previous) ? score : previous;
    }
    const length = Math.max(...this.best.map((values) => values.length));
    const xs = Array.from({ length }, (_, i) => i);
    this.chart.setData([xs, ...this.best.map((values) => xs.map((i) => values[i] ?? null))]);
    this.container.dataset.points = String(this.best.reduce((n, values) => n + values.length, 0));
  }
}

const MARGIN = { top: 12, right: 16, bottom: 40, left: 56 };

/**
 * A scatter of points {x, y, id, detail}; those in `highlighted` (ids) are drawn as the front,
 * joined by a line. Hovering a point shows its detail (a node) in a tooltip.
 */
export class Scatter {
  constructor(container, { xLabel, yLabel, height = 300 }) {
    this.container = container;
    this.labels = { x: xLabel, y: yLabel };
    this.height = height;
    this.tooltip = h("div", { class: "tooltip", hidden: true });
    this.plot = h("div", { class: "scatter-plot" });
    container.append(this.plot, this.tooltip);
    this.points = [];
    this.highlighted = new Set();
  }

  update(points, highlighted) {
    this.points = points;
    this.highlighted = highlighted;
    this.draw();
  }

  draw() {
    const width = Math.max(320, this.container.clientWidth);
    const height = this.height;
    const plotted = this.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const x = scale(plotted.map((p) => p.x), MARGIN.left, width - MARGIN.right);
    const y = scale(plotted.map((p) => p.y), height - MARGIN.bottom, MARGIN.top);
    const front = plotted.filter((p) => this.highlighted.has(p.id)).sort((a, b) => a.x - b.x);
    const chart = svg("svg", { width, height, class: "scatter", role: "img" });
    chart.append(...axes(x, y, width, height, this.labels));
    if (front.length > 1) {
      const line = front.map((p) => `${x(p.x)},${y(p.y)}`).join(" ");
      chart.append(svg("polyline", { points: line, class: "front-line" }));
    }
    for (const point of plotted) {
      const onFront = this.highlighted.has(point.id);
      const dot = svg("circle", {
        cx: x(point.x),
        cy: y(point.y),
        r: onFront ? 5.5 : 3.5,
        class: onFront ? "dot front" : "dot",
        onmouseenter: (event) => this.show(point, event),
        onmouseleave: () => (this.tooltip.hidden = true),
      });
      chart.append(dot);
    }
    replace(this.plot, chart);
    this.container.dataset.points = String(plotted.length);
  }

  show(point, event) {
    replace(this.tooltip, point.detail);
    const box = this.container.getBoundingClientRect();
    this.tooltip.hidden = false;
    const left = Math.min(event.clientX - box.left + 12, box.width - this.tooltip.offsetWidth - 4);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${event.clientY - box.top + 12}px`;
  }
}

/** A linear map of `values`' range (padded 5%) onto [from, to], with its ticks. */
function scale(values, from, to) {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (!values.length) [low, high] = [0, 1];
  if (low === high) [low, high] = [low - 0.5 || -0.5, high + 0.5 || 0.5];
  const pad = (high - low) * 0.05;
  [low, high] = [low - pad, high + pad];
  const map = (value) => from + ((value - low) / (high - low)) * (to - from);
  map.ticks = niceTicks(low, high, 6);
  return map;
}

function niceTicks(low, high, count) {
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks = [];
  for (let tick = Math.ceil(low / step) * step; tick <= high; tick += step) ticks.push(+tick.toPrecision(12));
  return ticks;
}

function axes(x, y, width, height, labels) {
  const bottom = height - MARGIN.bottom;
  const parts = [];
  for (const tick of x.ticks) {
    parts.push(svg("line", { x1: x(tick), x2: x(tick), y1: MARGIN.top, y2: bottom, class: "grid" }));
    parts.push(svg("text", { x: x(tick), y: bottom + 16, class: "tick", "text-anchor": "middle" }, shortNumber(tick)));
  }
  for (const tick of y.ticks) {
    parts.push(svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(tick), y2: y(tick), class: "grid" }));
    parts.push(svg("text", { x: MARGIN.left - 8, y: y(tick) + 4, class: "tick", "text-anchor": "end" }, shortNumber(tick)));
  }
  parts.push(svg("text", { x: (MARGIN.left + width - MARGIN.right) / 2, y: height - 6, class: "axis-label", "text-anchor": "middle" }, labels.x));
  const middle = (MARGIN.top + bottom) / 2;
  parts.push(svg("text", { x: 14, y: middle, class: "axis-label", "text-anchor": "middle", transform: `rotate(-90 14 ${middle})` }, labels.y));
  return parts;
}

function shortNumber(value) {
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (size >= 1000) return `${+(value / 1000).toPrecision(3)}k`;
  if (size < 0.01) return value.toExponential(0);
  return String(+value.toPrecision(3));
}
