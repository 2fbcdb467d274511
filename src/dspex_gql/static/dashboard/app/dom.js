// Small DOM helpers and formatters shared by every view.

/** An element: h("a", {href: "#/x", class: "link"}, "text", child). Handlers: {onclick: fn}. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with its attributes. */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, String(value));
  }
  element.append(...children);
  return element;
}

export function badge(status) {
  return h("span", { class: `badge status-${status}`, "data-status": status }, status);
}

export const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED", "SUCCESS", "SKIPPED"]);

/** A table: columns are [header, cell(row) → node or text, class?]; rows may link somewhere. */
export function table(columns, rows, { href, empty = "Nothing yet." } = {}) {
  const head = h("tr", {}, columns.map(([title, , css]) => h("th", { class: css }, title)));
  const body = rows.map((row) => {
    const cells = columns.map(([, cell, css]) => h("td", { class: css }, cell(row) ?? "—"));
    const link = href?.(row);
    const attributes = { dataset: row.id ? { id: row.id } : {} };
    if (link) Object.assign(attributes, { class: "link", onclick: () => (location.hash = link) });
    return h("tr", attributes, cells);
  });
  if (!rows.length) body.push(h("tr", {}, h("td", { class: "empty", colspan: columns.length }, empty)));
  return h("table", { class: "grid" }, h("thead", {}, head), h("tbody", {}, body));
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

/** Figures in a row: [[label, value], ...]. */
export function stats(pairs) {
  return h(
    "dl",
    { class: "stats" },
    pairs.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value ?? "—"))),
  );
}

export function json(value) {
  return h("pre", { class: "json" }, value === undefined ? "—" : JSON.stringify(value, null, 2));
}

export function link(href, text) {
  return h("a", { href }, text);
}

export function replace(element, ...children) {
  element.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

export const format = {
  ms(value) {
    if (value === null || value === undefined) return null;
    return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(value < 10000 ? 2 : 1)} s`;
  },
  seconds(value) {
    return value === null || value === undefined ? null : format.ms(value * 1000);
  },
  cost(value) {
    if (value === null || value === undefined) return null;
    return value === 0 ? "$0" : value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(2)}`;
  },
  score(value) {
    return value === null || value === undefined ? null : value.toFixed(4);
  },
  count(value) {
    return value === null || value === undefined ? null : value.toLocaleString("en");
  },
  percent(value) {
    return value === null || value === undefined ? null : `${Math.round(value * 100)}%`;
  },
  date(value) {
    if (!value) return null;
    return new Date(value).toLocaleString("en-GB", { dateStyle: "short", timeStyle: "medium" });
  },
  configuration(value) {
    return Object.entries(value ?? {})
      .map(([name, v]) => `${name}=${typeof v === "number" ? +v.toPrecision(3) : v}`)
      .join("  ");
  },
};

/** Calls `fn` at most once per animation frame, with the latest arguments. */
export function perFrame(fn) {
  let pending = null;
  return (...args) => {
    if (pending === null) requestAnimationFrame(() => {
      const latest = pending;
      pending = null;
      fn(...latest);
    });
    pending = args;
  };
}

export const toasts = h("div", { class: "toasts", "aria-live": "polite" });

/** A short message in the corner: toast("Cancelled"), toast(error.message, "error"). */
export function toast(message, kind = "info") {
  const note = h("div", { class: `toast ${kind}` }, message);
  toasts.append(note);
  setTimeout(() => note.remove(), kind === "error" ? 8000 : 4000);
}
