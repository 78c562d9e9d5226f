// One fetch wrapper for both pages: JSON in and out, the bearer token of the signed-in
// user, and the response's "story" (which gateway, which replica, cache, database, request id)
// taken from the headers the stack sets, for the "how was this served" strip.

const SESSION_KEY = "scaleshop.session";

export const session = {
  get() {
    try {
      return JSON.parse(localStorage.getItem(SESSION_KEY)) || null;
    } catch {
      return null;
    }
  },
  set(value) {
    localStorage.setItem(SESSION_KEY, JSON.stringify(value));
    window.dispatchEvent(new Event("session"));
  },
  clear() {
    localStorage.removeItem(SESSION_KEY);
    window.dispatchEvent(new Event("session"));
  },
};

/** The claims of a JWT (not verified here: the gateway and the control API verify it). */
export function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return {};
  }
}

/** What the stack said about how a response was produced (null when a header is absent). */
export function storyOf(response, started) {
  const header = (name) => response.headers.get(name);
  return {
    status: response.status,
    requestId: header("x-request-id"),
    gateway: header("x-served-by"),
    replica: header("x-upstream-replica"),
    cache: header("x-cache"),
    edgeCache: header("x-cache-status"),
    dbRead: header("x-db-read"),
    ms: Math.round(performance.now() - started),
  };
}

export class ApiError extends Error {
  constructor(status, detail, story) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.story = story;
  }
}

const listeners = new Set();
/** Subscribe to every response's story (the storefront's strip shows the latest one). */
export function onStory(listener) {
  listeners.add(listener);
}

/** Call the API through the edge; resolves to {data, story}, rejects with ApiError.
 * `story: false` keeps a secondary read (a page's side panel) off the strip, which keeps
 * telling how the page's main response was served. */
export async function api(path, { method = "GET", body, headers = {}, auth = true, story: tell = true } = {}) {
  const sent = { accept: "application/json", ...headers };
  const current = session.get();
  if (auth && current?.access_token) sent.authorization = `Bearer ${current.access_token}`;
  if (body !== undefined) sent["content-type"] = "application/json";
  const started = performance.now();
  let response = await fetch(path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && auth && current?.refresh_token && !path.startsWith("/api/users/")) {
    // The access token lives minutes; rotate it once with the refresh token and retry.
    if (await refresh(current)) return api(path, { method, body, headers, auth, story: tell });
  }
  const story = storyOf(response, started);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  story.path = `${method} ${path}`;
  if (tell) listeners.forEach((listener) => listener(story));
  if (!response.ok) throw new ApiError(response.status, data?.detail ?? data ?? response.statusText, story);
  return { data, story };
}

async function refresh(current) {
  const response = await fetch("/api/users/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: current.refresh_token }),
  });
  if (!response.ok) {
    session.clear();
    return false;
  }
  const tokens = await response.json();
  session.set({ ...current, ...tokens });
  return true;
}

/** Sign in: store the tokens with the email and role (from the token's claims). */
export async function signIn(email, password) {
  const { data } = await api("/api/users/login", { method: "POST", body: { email, password }, auth: false });
  const claims = claimsOf(data.access_token);
  session.set({ ...data, email: email.trim().toLowerCase(), role: claims.role, userId: claims.sub });
  return session.get();
}

export async function signOut() {
  const current = session.get();
  if (current?.refresh_token) {
    await api("/api/users/logout", { method: "POST", body: { refresh_token: current.refresh_token }, auth: false }).catch(() => {});
  }
  session.clear();
}

/** A readable message for an API error's detail (a string, or FastAPI's list of field errors). */
export function explain(error) {
  const detail = error?.detail;
  if (Array.isArray(detail)) return detail.map((item) => `${(item.loc || []).slice(-1)[0]}: ${item.msg}`).join("; ");
  if (typeof detail === "string") return detail;
  return error?.message || "something went wrong";
}

/** Escape text for insertion into HTML templates. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
