// The shell: sign-in with an API key (kept in sessionStorage), navigation, and a hash router
// whose views get a `scope` to register what to undo (subscriptions, charts) when leaving.

import { UNAUTHENTICATED, gql, session } from "./api.js";
import { dagList, dagRunPage } from "./dags.js";
import { h, replace, toast, toasts } from "./dom.js";
import { compareRuns, optimizationList, optimizationRunPage } from "./optimizations.js";
import { executionPage, programList, programPage } from "./programs.js";

const ROUTES = [
  [/^#\/programs$/, programList],
  [/^#\/programs\/([\w-]+)$/, programPage],
  [/^#\/executions\/([\w-]+)$/, executionPage],
  [/^#\/optimizations$/, optimizationList],
  [/^#\/optimizations\/([\w-]+)$/, optimizationRunPage],
  [/^#\/compare\/([\w,-]+)$/, compareRuns],
  [/^#\/dags$/, dagList],
  [/^#\/dag-runs\/([\w-]+)$/, dagRunPage],
];
const NAVIGATION = [
  ["#/programs", "Programs"],
  ["#/optimizations", "Optimizations"],
  ["#/dags", "DAG runs"],
];
const ME = "query { me { name email role organization { name } } }";

const root = document.getElementById("app");
let leaving = [];
let me = null;

/** What a view registers to be undone when the user navigates away. */
class Scope {
  constructor() {
    this.active = true;
  }
  onLeave(undo) {
    if (this.active) leaving.push(undo);
    else undo();
  }
}

async function route() {
  leaveView();
  if (!session.key) return signInForm();
  const [pattern, view] = ROUTES.find(([pattern]) => pattern.test(location.hash)) ?? [];
  if (!view) return void (location.hash = "#/optimizations");
  const main = h("main", { class: "view" });
  const top = h("header", { class: "top" });
  replace(root, top, main, toasts);
  signedIn().then(
    (user) => replace(top, headerContent(user)),
    // A refused key has already brought the sign-in form back (UNAUTHENTICATED).
    (error) => error.code !== "UNAUTHENTICATED" && toast(error.message, "error"),
  );
  const scope = new Scope();
  leaving.push(() => (scope.active = false));
  try {
    await view(main, scope, ...location.hash.match(pattern).slice(1));
  } catch (error) {
    if (scope.active) replace(main, h("div", { class: "notice error" }, error.message));
  }
}

/** Who the key belongs to: asked once per sign-in, alongside the first view's own queries. */
function signedIn() {
  me ??= gql(ME).then((data) => data.me);
  me.catch(() => (me = null));
  return me;
}

function leaveView() {
  for (const undo of leaving.splice(0)) undo();
}

function headerContent(user) {
  const current = location.hash.split("/")[1];
  const tabs = NAVIGATION.map(([href, title]) =>
    h("a", { href, class: href.split("/")[1] === current ? "active" : null }, title),
  );
  return [
    h("a", { class: "brand", href: "#/optimizations" }, h("span", { class: "logo" }, "◆"), "dspex"),
    h("nav", {}, tabs),
    h(
      "div",
      { class: "who" },
      h("span", { title: user.email }, `${user.name} · ${user.organization.name}`),
      h("button", { class: "ghost", id: "sign-out", onclick: signOut }, "Sign out"),
    ),
  ];
}

function signInForm(message) {
  leaveView();
  me = null;
  const input = h("input", {
    id: "api-key",
    type: "password",
    placeholder: "dsx_…",
    autocomplete: "off",
    required: true,
  });
  const submit = async (event) => {
    event.preventDefault();
    session.signIn(input.value);
    await route();
  };
  replace(
    root,
    h(
      "div",
      { class: "sign-in" },
      h(
        "form",
        { class: "card", onsubmit: submit },
        h("h1", {}, h("span", { class: "logo" }, "◆"), " dspex dashboard"),
        h("p", { class: "muted" }, "Paste an API key. It is kept in this browser tab's session only."),
        h("label", { for: "api-key" }, "API key"),
        input,
        message ? h("p", { class: "notice error" }, message) : null,
        h("button", { type: "submit", class: "primary" }, "Sign in"),
      ),
    ),
  );
  input.focus();
}

function signOut() {
  session.signOut();
  me = null;
  location.hash = "";
  route();
}

window.addEventListener("dspex:error", (event) => toast(event.detail.message, "error"));
window.addEventListener(UNAUTHENTICATED, () => {
  session.signOut();
  signInForm("The API key was refused: it may have been revoked or have expired.");
});
window.addEventListener("hashchange", route);
route();
