// Programs and their executions, live: `programExecutions` and `executionUpdated`.

import { gql, mutate, subscribe } from "./api.js";
import { badge, card, format, h, json, link, perFrame, replace, stats, table, toast } from "./dom.js";

const PROGRAMS = `query { programs(first: 200, orderBy: [{field: UPDATED_AT, direction: DESC}]) { nodes {
  id name type adapter status version lastExecutedAt
  stats { executionCount successRate averageDurationMs totalTokens totalCost bestScore }
} } }`;
const EXECUTION = `fragment ExecutionParts on Execution {
  id status sequence durationMs promptTokens completionTokens cost createdAt startedAt completedAt error
}`;
const PROGRAM = `${EXECUTION} query($id: ID!) { program(id: $id) {
  id name description type adapter status version configuration tags
  signature { spec }
  stats { executionCount completedCount failedCount successRate averageDurationMs totalTokens totalCost }
  executions(first: 100, orderBy: [{field: CREATED_AT, direction: DESC}]) { nodes { ...ExecutionParts } }
} }`;
const PROGRAM_EXECUTIONS = `${EXECUTION} subscription($id: ID!) {
  programExecutions(programId: $id) { ...ExecutionParts } }`;
const EXECUTE = `mutation($input: ExecuteProgramInput!) { executeProgram(input: $input) {
  __typename ... on Execution { id } ... on Error { message code } } }`;
const FULL_EXECUTION = `fragment Full on Execution {
  id status sequence inputs outputs error variableConfiguration durationMs promptTokens
  completionTokens cost metadata trace createdAt startedAt completedAt
  program { id name }
}`;
const EXECUTION_PAGE = `${FULL_EXECUTION} query($id: ID!) { execution(id: $id) { ...Full } }`;
const EXECUTION_UPDATED = `${FULL_EXECUTION} subscription($id: ID!) { executionUpdated(id: $id) { ...Full } }`;

const tokens = (e) => (e.promptTokens ?? 0) + (e.completionTokens ?? 0) || null;

export async function programList(main) {
  const programs = (await gql(PROGRAMS)).programs.nodes;
  const columns = [
    ["Program", (p) => h("strong", {}, p.name)],
    ["Type", (p) => p.type, "muted"],
    ["Status", (p) => badge(p.status)],
    ["Executions", (p) => format.count(p.stats.executionCount), "num"],
    ["Success", (p) => (p.stats.executionCount ? format.percent(p.stats.successRate) : null), "num"],
    ["Avg duration", (p) => format.ms(p.stats.averageDurationMs), "num"],
    ["Tokens", (p) => format.count(p.stats.totalTokens), "num"],
    ["Cost", (p) => format.cost(p.stats.totalCost), "num"],
    ["Best score", (p) => format.score(p.stats.bestScore), "num"],
  ];
  replace(
    main,
    h("h1", {}, "Programs"),
    card(null, table(columns, programs, { href: (p) => `#/programs/${p.id}`, empty: "No programs yet." })),
  );
}

export async function programPage(main, scope, id) {
  const program = (await gql(PROGRAM, { id })).program;
  if (!program) throw new Error("Program not found");
  const executions = new Map(program.executions.nodes.map((e) => [e.id, e]));
  const list = h("div", { id: "executions" });
  const draw = perFrame(() => replace(list, executionTable([...executions.values()])));
  draw();
  const dispose = subscribe(PROGRAM_EXECUTIONS, { id }, {
    next: ({ programExecutions: execution }) => {
      if (!executions.has(execution.id)) {
        const newest = new Map([[execution.id, execution], ...executions]);
        executions.clear();
        newest.forEach((value, key) => executions.set(key, value));
      } else executions.set(execution.id, execution);
      draw();
    },
  });
  scope.onLeave(dispose);
  const s = program.stats;
  replace(
    main,
    h("p", { class: "crumbs" }, link("#/programs", "Programs"), " / ", program.name),
    h("h1", {}, program.name, " ", badge(program.status), h("span", { class: "muted small" }, ` v${program.version}`)),
    program.description ? h("p", { class: "muted" }, program.description) : null,
    stats([
      ["Type", program.type],
      ["Adapter", program.adapter],
      ["Signature", h("code", {}, program.signature.spec)],
      ["Executions", format.count(s.executionCount)],
      ["Success", s.executionCount ? format.percent(s.successRate) : null],
      ["Avg duration", format.ms(s.averageDurationMs)],
      ["Tokens", format.count(s.totalTokens)],
      ["Cost", format.cost(s.totalCost)],
    ]),
    h("div", { class: "columns" }, card("Executions · live", list), runForm(program)),
  );
}

function executionTable(executions) {
  const columns = [
    ["Started", (e) => format.date(e.startedAt ?? e.createdAt), "muted"],
    ["Status", (e) => badge(e.status)],
    ["Duration", (e) => format.ms(e.durationMs), "num"],
    ["Tokens", (e) => format.count(tokens(e)), "num"],
    ["Cost", (e) => format.cost(e.cost), "num"],
    ["Error", (e) => (e.error ? h("span", { class: "error-text" }, e.error) : null)],
  ];
  return table(columns, executions, { href: (e) => `#/executions/${e.id}`, empty: "No executions yet." });
}

function runForm(program) {
  const inputs = h("textarea", { id: "execution-inputs", rows: 6, spellcheck: "false" });
  inputs.value = '{\n  "question": "What is DSPy?"\n}';
  const run = async (event) => {
    event.preventDefault();
    try {
      const values = JSON.parse(inputs.value);
      const execution = await mutate(EXECUTE, { input: { programId: program.id, inputs: values } }, "executeProgram");
      toast("Execution started");
      location.hash = `#/executions/${execution.id}`;
    } catch (error) {
      toast(error.message, "error");
    }
  };
  return card(
    "Run it",
    h(
      "form",
      { class: "stack", onsubmit: run },
      h("label", { for: "execution-inputs" }, "Inputs (JSON)"),
      inputs,
      h("button", { type: "submit", class: "primary", disabled: program.status !== "READY" }, "Execute"),
    ),
  );
}

export async function executionPage(main, scope, id) {
  const first = (await gql(EXECUTION_PAGE, { id })).execution;
  if (!first) throw new Error("Execution not found");
  const body = h("div", {});
  const draw = (execution) => replace(body, executionDetails(execution));
  draw(first);
  scope.onLeave(subscribe(EXECUTION_UPDATED, { id }, { next: (data) => draw(data.executionUpdated) }));
  replace(
    main,
    h(
      "p",
      { class: "crumbs" },
      link("#/programs", "Programs"),
      " / ",
      link(`#/programs/${first.program.id}`, first.program.name),
      " / execution",
    ),
    body,
  );
}

function executionDetails(e) {
  return [
    h("h1", {}, "Execution ", badge(e.status)),
    stats([
      ["Duration", format.ms(e.durationMs)],
      ["Prompt tokens", format.count(e.promptTokens)],
      ["Completion tokens", format.count(e.completionTokens)],
      ["Cost", format.cost(e.cost)],
      ["Created", format.date(e.createdAt)],
      ["Completed", format.date(e.completedAt)],
    ]),
    e.error ? h("div", { class: "notice error" }, e.error) : null,
    h(
      "div",
      { class: "columns" },
      card("Inputs", json(e.inputs)),
      card("Outputs", json(e.outputs)),
    ),
    e.variableConfiguration ? card("Configuration", json(e.variableConfiguration)) : null,
    card("LM trace", e.trace ? json(e.trace) : h("p", { class: "muted" }, "No trace recorded.")),
  ];
}
