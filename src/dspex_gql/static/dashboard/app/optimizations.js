// Optimization runs, live: `optimizationProgress` for the run, `evaluationsAdded` for every
// evaluation (the charts and the table); several runs overlaid for comparison.

import { gql, mutate, reportError, subscribe } from "./api.js";
import { OverlayChart, PALETTE, Scatter, ScoreChart } from "./charts.js";
import {
  TERMINAL,
  badge,
  card,
  format,
  h,
  json,
  link,
  perFrame,
  replace,
  stats,
  table,
  toast,
} from "./dom.js";

const RUN = `fragment RunParts on OptimizationRun {
  id name status strategy metric maxIterations iterationsCompleted bestScore bestConfiguration
  totalCost durationSeconds progressPercentage convergenceStatus results error
  createdAt startedAt completedAt
  objectives { name direction }
  paretoFrontier { evaluationId }
}`;
const RUNS = `query { optimizationRuns(first: 100) { nodes {
  id name status strategy iterationsCompleted maxIterations bestScore totalCost createdAt
  program { id name }
} } }`;
const RUN_PAGE = `${RUN} query($id: ID!) { optimizationRun(id: $id) {
  ...RunParts program { id name } variableSpace { id name } } }`;
const PROGRESS = `${RUN} subscription($id: ID!) { optimizationProgress(id: $id) { ...RunParts } }`;
const EVALUATIONS = `subscription($id: ID!) { evaluationsAdded(optimizationRunId: $id) {
  id iteration configuration score cost latencyMs status } }`;
const IMPORTANCE = `query($id: ID!) { optimizationRun(id: $id) { variableImportance { variable importance } } }`;
const CANCEL = `mutation($id: ID!) { cancelOptimization(id: $id) {
  __typename ... on OptimizationRun { id status } ... on Error { message code } } }`;
const APPLY_BEST = `mutation($id: ID!) { applyBestConfiguration(optimizationRunId: $id) {
  __typename ... on Program { id name version } ... on Error { message code } } }`;
const COMPARED = `query($id: ID!) { optimizationRun(id: $id) {
  id name status strategy iterationsCompleted maxIterations bestScore totalCost program { name } } }`;

const IMPORTANCE_EVERY_MS = 5000;
/** The columns of a run in the list and in a comparison. */
const RUN_COLUMNS = [
    ["Run", (r) => h("strong", {}, r.name)],
    ["Program", (r) => r.program.name, "muted"],
    ["Strategy", (r) => r.strategy, "muted"],
    ["Status", (r) => badge(r.status)],
    ["Iterations", (r) => `${r.iterationsCompleted} / ${r.maxIterations}`, "num"],
    ["Best score", (r) => format.score(r.bestScore), "num"],
    ["Cost", (r) => format.cost(r.totalCost), "num"],
];
const TABLE_ROWS = 200;

export async function optimizationList(main) {
  const runs = (await gql(RUNS)).optimizationRuns.nodes;
  const chosen = new Set();
  const compare = h("button", { class: "primary", id: "compare", disabled: true }, "Compare selected");
  compare.addEventListener("click", () => (location.hash = `#/compare/${[...chosen].join(",")}`));
  const pick = (run) =>
    h("input", {
      type: "checkbox",
      "aria-label": `compare ${run.name}`,
      onclick: (event) => {
        event.stopPropagation();
        event.target.checked ? chosen.add(run.id) : chosen.delete(run.id);
        compare.disabled = chosen.size < 2;
      },
    });
  const columns = [["", pick, "narrow"], ...RUN_COLUMNS, ["Created", (r) => format.date(r.createdAt), "muted"]];
  replace(
    main,
    h("div", { class: "title-row" }, h("h1", {}, "Optimization runs"), compare),
    card(null, table(columns, runs, { href: (r) => `#/optimizations/${r.id}`, empty: "No optimization runs yet." })),
  );
}

export async function optimizationRunPage(main, scope, id) {
  // Subscribe first, while the run is read: what comes meanwhile waits for the view.
  let view = null;
  const early = [];
  const later = (apply) => (view ? apply(view) : early.push(apply));
  const quietUntilShown = (error) => view && reportError(error);
  scope.onLeave(
    subscribe(EVALUATIONS, { id }, {
      next: (data) => later((v) => v.evaluations(data.evaluationsAdded)),
      error: quietUntilShown,
    }),
  );
  scope.onLeave(
    subscribe(PROGRESS, { id }, {
      next: (data) => later((v) => v.progress(data.optimizationProgress)),
      error: quietUntilShown,
    }),
  );
  const run = (await gql(RUN_PAGE, { id })).optimizationRun;
  if (!run) throw new Error("Optimization run not found");
  view = new RunView(run);
  replace(
    main,
    h("p", { class: "crumbs" }, link("#/optimizations", "Optimizations"), " / ", run.name),
    view.element,
  );
  view.mount();
  scope.onLeave(() => view.destroy());
  for (const apply of early.splice(0)) apply(view);
}

/** One run's page: its header, charts, importance bars and evaluations, updated as they come. */
class RunView {
  constructor(run) {
    this.run = run;
    this.all = [];
    this.summary = h("div", {});
    this.scoreChart = h("div", { class: "chart", id: "score-chart", "data-points": "0" });
    this.front = h("div", { class: "chart scatter-box", id: "pareto-chart", "data-points": "0" });
    this.frontTitle = h("h2", {});
    this.importance = h("div", { id: "importance" }, h("p", { class: "muted" }, "Computed once there are evaluations."));
    this.table = h("div", { id: "evaluations", class: "scroll" });
    this.element = h(
      "div",
      {},
      this.summary,
      card("Score over iterations", this.scoreChart),
      h(
        "div",
        { class: "columns" },
        card(null, this.frontTitle, this.front),
        card("Variable importance", this.importance),
      ),
      card("Evaluations", this.table),
    );
    this.redraw = perFrame(() => this.drawEvaluations());
    this.importanceTimer = null;
  }

  mount() {
    this.scores = new ScoreChart(this.scoreChart, this.run.maxIterations);
    this.scatter = new Scatter(this.front, { xLabel: this.tradeOff().label, yLabel: "score" });
    this.frontTitle.textContent = `Pareto front · score vs ${this.tradeOff().label}`;
    this.drawSummary();
  }

  destroy() {
    this.scores.destroy();
    clearTimeout(this.importanceTimer);
    this.importanceTimer = -1;
  }

  /** What the front trades the score against: the run's other objective; without one, cost
   * if it varies, else latency. */
  tradeOff() {
    const varies = new Set(this.all.map((e) => e.cost)).size > 1;
    const other = this.run.objectives.find((o) => o.name !== "SCORE")?.name ?? (varies ? "COST" : "LATENCY");
    return other === "LATENCY"
      ? { label: "latency (ms)", of: (e) => e.latencyMs }
      : { label: "cost ($)", of: (e) => e.cost };
  }

  progress(run) {
    const ended = TERMINAL.has(run.status) && !TERMINAL.has(this.run.status);
    this.run = { ...this.run, ...run };
    this.drawSummary();
    this.redraw();
    if (ended) this.refreshImportance();
  }

  evaluations(batch) {
    const first = this.all.length === 0 && !this.importanceAsked;
    this.all.push(...batch);
    this.scores.add(batch);
    this.redraw();
    if (first) {
      // Asked once the first chart is drawn: it costs the server more than the chart's data.
      this.importanceAsked = true;
      setTimeout(() => this.refreshImportance(), 0);
    }
  }

  drawSummary() {
    const run = this.run;
    const running = !TERMINAL.has(run.status);
    const cancel = h("button", { class: "danger", id: "cancel-run", disabled: !running, onclick: () => this.cancel() }, "Cancel");
    const apply = h("button", { class: "primary", id: "apply-best", disabled: run.bestConfiguration === null, onclick: () => this.applyBest() }, "Apply best");
    const percent = Math.round(run.progressPercentage);
    replace(
      this.summary,
      h(
        "div",
        { class: "title-row" },
        h("h1", {}, run.name, " ", badge(run.status)),
        h("div", { class: "actions" }, cancel, apply),
      ),
      h("div", { class: "progress", title: `${percent}%` }, h("div", { class: `bar status-${run.status}`, "data-percent": percent })),
      stats([
        ["Program", link(`#/programs/${run.program.id}`, run.program.name)],
        ["Strategy", run.strategy],
        ["Iterations", `${run.iterationsCompleted} / ${run.maxIterations}`],
        ["Best score", format.score(run.bestScore)],
        ["Cost", format.cost(run.totalCost)],
        ["Duration", format.seconds(run.durationSeconds)],
        ["Convergence", run.convergenceStatus],
      ]),
      run.error ? h("div", { class: "notice error" }, run.error) : null,
      run.bestConfiguration ? h("p", { class: "best" }, "Best configuration: ", h("code", {}, format.configuration(run.bestConfiguration))) : null,
    );
    // The bar's width comes from CSSOM, which the page's Content-Security-Policy allows.
    this.summary.querySelector(".bar").style.width = `${percent}%`;
  }

  drawEvaluations() {
    const tradeOff = this.tradeOff();
    this.frontTitle.textContent = `Pareto front · score vs ${tradeOff.label}`;
    this.scatter.labels.x = tradeOff.label;
    const points = this.all.map((e) => ({ id: e.id, x: tradeOff.of(e), y: e.score, detail: evaluationDetail(e) }));
    const front = new Set(this.run.paretoFrontier.map((point) => point.evaluationId));
    this.scatter.update(points, front);
    const newest = this.all.slice(-TABLE_ROWS).reverse();
    const best = this.run.bestScore;
    const columns = [
      ["#", (e) => e.iteration, "num"],
      ["Score", (e) => h("span", { class: e.score !== null && e.score === best ? "best-score" : null }, format.score(e.score) ?? "—"), "num"],
      ["Cost", (e) => format.cost(e.cost), "num"],
      ["Latency", (e) => format.ms(e.latencyMs), "num"],
      ["Status", (e) => badge(e.status)],
      ["Configuration", (e) => h("code", {}, format.configuration(e.configuration))],
    ];
    replace(this.table, table(columns, newest, { empty: "No evaluations yet." }));
  }

  /** Importance is computed on the server from every evaluation: while the run goes on, it is
   * asked again every 5 s, or 20 times as long as the last answer took, whichever is longer. */
  async refreshImportance() {
    clearTimeout(this.importanceTimer);
    if (this.importanceTimer === -1) return;
    const asked = performance.now();
    try {
      const found = (await gql(IMPORTANCE, { id: this.run.id })).optimizationRun.variableImportance;
      const known = found.some((item) => item.importance > 0);
      if (known) replace(this.importance, importanceBars(found));
    } catch (error) {
      replace(this.importance, h("p", { class: "muted" }, error.message));
    }
    if (!TERMINAL.has(this.run.status) && this.importanceTimer !== -1) {
      const wait = Math.max(IMPORTANCE_EVERY_MS, 20 * (performance.now() - asked));
      this.importanceTimer = setTimeout(() => this.refreshImportance(), wait);
    }
  }

  async cancel() {
    try {
      await mutate(CANCEL, { id: this.run.id }, "cancelOptimization");
      toast("Cancellation requested");
    } catch (error) {
      toast(error.message, "error");
    }
  }

  async applyBest() {
    try {
      const program = await mutate(APPLY_BEST, { id: this.run.id }, "applyBestConfiguration");
      toast(`Created ${program.name} v${program.version}`);
      location.hash = `#/programs/${program.id}`;
    } catch (error) {
      toast(error.message, "error");
    }
  }
}

function evaluationDetail(e) {
  return [
    h("strong", {}, `Iteration ${e.iteration}`),
    h("div", {}, `score ${format.score(e.score) ?? "—"} · cost ${format.cost(e.cost) ?? "—"} · ${format.ms(e.latencyMs) ?? "—"}`),
    json(e.configuration),
  ];
}

function importanceBars(found) {
  const rows = [...found].sort((a, b) => b.importance - a.importance);
  return h(
    "div",
    { class: "bars" },
    rows.map((row) => {
      const fill = h("div", { class: "fill" });
      fill.style.width = `${Math.max(1, row.importance * 100)}%`;
      return h(
        "div",
        { class: "bar-row" },
        h("span", { class: "bar-label" }, row.variable),
        h("div", { class: "bar-track" }, fill),
        h("span", { class: "bar-value" }, format.percent(row.importance)),
      );
    }),
  );
}

export async function compareRuns(main, scope, ids) {
  const found = await Promise.all(ids.split(",").map((id) => gql(COMPARED, { id })));
  const runs = found.map((data) => data.optimizationRun).filter(Boolean);
  if (!runs.length) throw new Error("None of these optimization runs was found");
  const box = h("div", { class: "chart", id: "overlay-chart", "data-points": "0" });
  const summary = h("div", {});
  const states = new Map(runs.map((run) => [run.id, run]));
  const drawSummary = () => replace(summary, compareTable([...states.values()]));
  replace(
    main,
    h("p", { class: "crumbs" }, link("#/optimizations", "Optimizations"), " / compare"),
    h("h1", {}, `Comparing ${runs.length} runs`),
    card("Best score so far", box),
    card(null, summary),
  );
  drawSummary();
  const chart = new OverlayChart(box, runs);
  scope.onLeave(() => chart.destroy());
  for (const run of runs) {
    scope.onLeave(subscribe(EVALUATIONS, { id: run.id }, { next: (data) => chart.add(run.id, data.evaluationsAdded) }));
    scope.onLeave(
      subscribe(PROGRESS, { id: run.id }, {
        next: ({ optimizationProgress: state }) => {
          states.set(run.id, { ...states.get(run.id), ...state });
          drawSummary();
        },
      }),
    );
  }
}

function compareTable(runs) {
  const swatch = (run) => {
    const dot = h("span", { class: "swatch" });
    dot.style.background = PALETTE[runs.indexOf(run) % PALETTE.length];
    return dot;
  };
  const columns = [["", swatch, "narrow"], ...RUN_COLUMNS];
  return table(columns, runs, { href: (r) => `#/optimizations/${r.id}` });
}
