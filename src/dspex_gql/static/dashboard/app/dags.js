// DAG runs, live: the graph laid out by dagre (vendored), each node coloured by its state as
// `nodeExecutionUpdated` reports it, with its duration and cost; the run by `dagRunUpdated`.

import { gql, mutate, subscribe } from "./api.js";
import { TERMINAL, badge, card, format, h, json, link, replace, stats, svg, table, toast } from "./dom.js";

const RUNS = `query { dagRuns(first: 100, orderBy: [{field: CREATED_AT, direction: DESC}]) { nodes {
  id status totalNodes finishedNodes failedNodes durationMs cost createdAt dag { id name }
} } }`;
const RUN = `fragment RunParts on DagRun {
  id status sequence error durationMs totalNodes finishedNodes succeededNodes failedNodes cost
  promptTokens completionTokens startedAt completedAt successRate
}`;
const NODE = `fragment NodeParts on NodeExecution {
  id nodeName status attempts durationMs cost promptTokens completionTokens error result
}`;
const RUN_PAGE = `${RUN} ${NODE} query($id: ID!) { dagRun(id: $id) {
  ...RunParts dagVersion context dag { id name nodes { name dependencies kind } }
  nodeExecutions { ...NodeParts } } }`;
const RUN_UPDATED = `${RUN} subscription($id: ID!) { dagRunUpdated(id: $id) { ...RunParts } }`;
const NODES_UPDATED = `${NODE} subscription($id: ID!) { nodeExecutionUpdated(dagRunId: $id) { ...NodeParts } }`;
const CANCEL = `mutation($id: ID!) { cancelDagRun(id: $id) {
  __typename ... on DagRun { id } ... on Error { message code } } }`;

const NODE_WIDTH = 184;
const NODE_HEIGHT = 58;

export async function dagList(main) {
  const runs = (await gql(RUNS)).dagRuns.nodes;
  const columns = [
    ["DAG", (r) => h("strong", {}, r.dag?.name ?? "(hidden)")],
    ["Status", (r) => badge(r.status)],
    ["Nodes", (r) => `${r.finishedNodes} / ${r.totalNodes}`, "num"],
    ["Failed", (r) => (r.failedNodes ? h("span", { class: "error-text" }, r.failedNodes) : "0"), "num"],
    ["Duration", (r) => format.ms(r.durationMs), "num"],
    ["Cost", (r) => format.cost(r.cost), "num"],
    ["Created", (r) => format.date(r.createdAt), "muted"],
  ];
  replace(
    main,
    h("h1", {}, "DAG runs"),
    card(null, table(columns, runs, { href: (r) => `#/dag-runs/${r.id}`, empty: "No DAG runs yet." })),
  );
}

export async function dagRunPage(main, scope, id) {
  const [found] = await Promise.all([gql(RUN_PAGE, { id }), dagreLoaded()]);
  const run = found.dagRun;
  if (!run) throw new Error("DAG run not found");
  const view = new DagRunView(run);
  replace(
    main,
    h("p", { class: "crumbs" }, link("#/dags", "DAG runs"), " / ", run.dag?.name ?? run.id),
    view.element,
  );
  view.draw();
  scope.onLeave(subscribe(RUN_UPDATED, { id }, { next: (data) => view.update(data.dagRunUpdated) }));
  scope.onLeave(subscribe(NODES_UPDATED, { id }, { next: (data) => view.nodes(data.nodeExecutionUpdated) }));
}

class DagRunView {
  constructor(run) {
    this.run = run;
    this.states = new Map(run.nodeExecutions.map((node) => [node.nodeName, node]));
    this.summary = h("div", {});
    this.graph = h("div", { class: "dag", id: "dag-graph" });
    this.detail = h("div", { id: "node-detail" }, h("p", { class: "muted" }, "Select a node to see its result."));
    this.element = h(
      "div",
      {},
      this.summary,
      h("div", { class: "columns wide-left" }, card("Graph", this.graph), card("Node", this.detail)),
    );
    this.layout = layOut(run);
  }

  update(run) {
    this.run = { ...this.run, ...run };
    this.drawSummary();
  }

  nodes(batch) {
    for (const node of batch) this.states.set(node.nodeName, node);
    this.drawGraph();
    if (this.selected) this.select(this.selected);
  }

  draw() {
    this.drawSummary();
    this.drawGraph();
  }

  drawSummary() {
    const run = this.run;
    const cancel = h("button", { class: "danger", id: "cancel-dag-run", disabled: TERMINAL.has(run.status), onclick: () => this.cancel() }, "Cancel");
    replace(
      this.summary,
      h("div", { class: "title-row" }, h("h1", {}, run.dag?.name ?? "DAG run", " ", badge(run.status)), h("div", { class: "actions" }, cancel)),
      stats([
        ["Nodes", `${run.finishedNodes} / ${run.totalNodes}`],
        ["Succeeded", run.succeededNodes],
        ["Failed", run.failedNodes],
        ["Duration", format.ms(run.durationMs)],
        ["Tokens", format.count(run.promptTokens + run.completionTokens)],
        ["Cost", format.cost(run.cost)],
        ["Version", run.dagVersion],
      ]),
      run.error ? h("div", { class: "notice error" }, run.error) : null,
    );
  }

  drawGraph() {
    const { graph, width, height } = this.layout;
    const drawing = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "dag-svg" });
    drawing.append(svg("defs", {}, arrowHead()));
    for (const edge of graph.edges()) {
      const points = graph.edge(edge).points;
      const path = points.map((p, i) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
      drawing.append(svg("path", { d: path, class: "edge", "marker-end": "url(#arrow)" }));
    }
    for (const name of graph.nodes()) drawing.append(this.nodeBox(name, graph.node(name)));
    replace(this.graph, drawing);
  }

  nodeBox(name, box) {
    const state = this.states.get(name);
    const status = state?.status ?? "PENDING";
    const figures = [format.ms(state?.durationMs), state?.cost ? format.cost(state.cost) : null].filter(Boolean).join(" · ");
    const x = box.x - NODE_WIDTH / 2;
    const y = box.y - NODE_HEIGHT / 2;
    return svg(
      "g",
      { class: `node status-${status}`, "data-node": name, "data-status": status, onclick: () => this.select(name) },
      svg("rect", { x, y, width: NODE_WIDTH, height: NODE_HEIGHT, rx: 10 }),
      svg("text", { x: x + 14, y: y + 23, class: "node-name" }, name.length > 22 ? `${name.slice(0, 21)}…` : name),
      svg("text", { x: x + 14, y: y + 43, class: "node-figures" }, `${status.toLowerCase()}${figures ? ` · ${figures}` : ""}`),
    );
  }

  select(name) {
    this.selected = name;
    const node = this.states.get(name);
    if (!node) return replace(this.detail, h("p", { class: "muted" }, `${name} has not started.`));
    replace(
      this.detail,
      h("h3", {}, name, " ", badge(node.status)),
      stats([
        ["Duration", format.ms(node.durationMs)],
        ["Attempts", node.attempts],
        ["Tokens", format.count(node.promptTokens + node.completionTokens)],
        ["Cost", format.cost(node.cost)],
      ]),
      node.error ? h("div", { class: "notice error" }, node.error) : null,
      json(node.result),
    );
  }

  async cancel() {
    try {
      await mutate(CANCEL, { id: this.run.id }, "cancelDagRun");
      toast("Cancellation requested");
    } catch (error) {
      toast(error.message, "error");
    }
  }
}

/** dagre, loaded on the first visit to a DAG run: the page declares its URL and integrity (on
 * an element whose id is not "dagre": an element's id is also a property of `window`). */
async function dagreLoaded() {
  if (window.dagre) return;
  const declared = document.getElementById("lazy-dagre");
  const script = h("script", { src: declared.dataset.src, integrity: declared.getAttribute("integrity") });
  await new Promise((resolve, reject) => {
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error("The graph layout library did not load")));
    document.head.append(script);
  });
}

/** The run's graph laid out left to right: from its DAG's nodes, else the nodes it ran. */
function layOut(run) {
  const graph = new window.dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 22, ranksep: 56, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  const nodes = run.dag?.nodes ?? run.nodeExecutions.map((node) => ({ name: node.nodeName, dependencies: [] }));
  for (const node of nodes) graph.setNode(node.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const node of nodes) for (const upstream of node.dependencies) graph.setEdge(upstream, node.name);
  window.dagre.layout(graph);
  const { width, height } = graph.graph();
  return { graph, width: Math.ceil(width), height: Math.ceil(height) };
}

function arrowHead() {
  return svg(
    "marker",
    { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }),
  );
}
