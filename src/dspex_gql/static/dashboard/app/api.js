// The public GraphQL API: queries and mutations over HTTP, subscriptions over graphql-transport-ws
// (the vendored `graphql-ws` client), both with the API key kept in this browser session.

const KEY = "dspex.apiKey";
const ENDPOINT = "/graphql";

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  signIn(key) {
    sessionStorage.setItem(KEY, key.trim());
    closeSocket();
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    closeSocket();
  },
};

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** Sent when the key is refused: the shell goes back to the sign-in form. */
export const UNAUTHENTICATED = "dspex:unauthenticated";

/** The `data` of a query or mutation; a top-level error is thrown as an ApiError. */
export async function gql(query, variables = {}) {
  const key = session.key;
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({}));
  const error = body.errors?.[0];
  if (error) throw refused(error, key);
  if (!response.ok) throw new ApiError(`The service answered ${response.status}`, "HTTP");
  return body.data;
}

/** A mutation whose result is a union: the success, or an ApiError from its Error member. */
export async function mutate(query, variables, field) {
  const result = (await gql(query, variables))[field];
  if (result?.code && result?.message) throw new ApiError(result.message, result.code);
  return result;
}

let socket = null;

function client() {
  if (socket === null) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const key = session.key;
    socket = window.graphqlWs.createClient({
      url: `${scheme}//${location.host}${ENDPOINT}`,
      connectionParams: () => ({ authorization: `Bearer ${key}` }),
      lazy: true,
      keepAlive: 15_000,
      retryAttempts: 5,
      shouldRetry: (event) => !(event?.code === 4403 || event?.code === 4401),
    });
    socket.key = key;
  }
  return socket;
}

function closeSocket() {
  socket?.dispose();
  socket = null;
}

/**
 * Subscribe to a subscription: `next(data)` for each message, then `complete()`; a refusal or
 * error goes to `error(ApiError)`. Returns the function that unsubscribes.
 */
export function subscribe(query, variables, { next, error = reportError, complete = () => {} }) {
  const { key } = client();
  return client().subscribe(
    { query, variables },
    {
      next: (message) => (message.errors?.length ? error(refused(message.errors[0], key)) : next(message.data)),
      error: (cause) => error(socketError(cause, key)),
      complete,
    },
  );
}

/** The error as an ApiError; a refused key (`key`, unless another is in use since) is reported. */
function refused(error, key) {
  const code = error.extensions?.code ?? "ERROR";
  if (code === "UNAUTHENTICATED") keyRefused(key);
  return new ApiError(error.message, code);
}

function keyRefused(key) {
  if (key === session.key) window.dispatchEvent(new Event(UNAUTHENTICATED));
}

function socketError(cause, key) {
  if (Array.isArray(cause)) return refused(cause[0], key);
  if (cause?.code === 4403) {
    keyRefused(key);
    return new ApiError(cause.reason || "The API key was refused", "UNAUTHENTICATED");
  }
  return new ApiError(cause?.reason || cause?.message || "The live connection was lost", "SOCKET");
}

/** Shows an error to the user (a toast). */
export function reportError(error) {
  window.dispatchEvent(new CustomEvent("dspex:error", { detail: error }));
}
