// The session (the admin's bearer token, kept in sessionStorage so a reload keeps it) and the one fetch
// wrapper every JSON API call goes through: it adds the token, turns error bodies into ApiError and sends a
// 401 back to the login page.

const STORAGE_KEY = "ingest-gateway.session";
const DEFAULT_RENEW_MS = 5 * 60 * 1000; // when the token's lifetime cannot be read
const MIN_RENEW_MS = 10 * 1000;

let session = null;
let lastActivity = 0;
let renewTimer = null;
let onExpired = () => {};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function current() {
  return session;
}

export function restore() {
  try {
    session = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
  } catch {
    session = null;
  }
  return session;
}

export function remember(token, user, tenant) {
  session = { token, user, tenant };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function forget() {
  session = null;
  sessionStorage.removeItem(STORAGE_KEY);
  clearInterval(renewTimer);
  renewTimer = null;
}

// Log out: the gateway ends the session (every replica refuses its tokens from then on), then this tab
// forgets it. False when the gateway could not be told; the tab forgets the session all the same.
export async function logout() {
  const token = session ? session.token : null;
  let ended = false;
  if (token) {
    try {
      const response = await fetch("/api/authentication/logout", {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      ended = response.ok || response.status === 401; // 401: the session had ended already
    } catch {
      ended = false;
    }
  }
  forget();
  return ended;
}

export function whenExpired(handler) {
  onExpired = handler;
}

export async function api(path, { method = "GET", body, anonymous = false } = {}) {
  const headers = { accept: "application/json" };
  if (session && !anonymous) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return data;
  const error = data && data.error ? data.error : {};
  const failure = new ApiError(
    response.status,
    error.code || "http_error",
    error.message || `The gateway answered HTTP ${response.status}.`,
    error.details,
  );
  if (response.status === 401 && session && !anonymous) {
    forget();
    onExpired("Your session has ended. Please log in again.");
  }
  throw failure;
}

// Half the token's lifetime (GATEWAY_TOKEN_TTL_MINUTES), read from its own iat and exp claims.
function renewEvery(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    const half = ((claims.exp - claims.iat) * 1000) / 2;
    return Number.isFinite(half) ? Math.max(MIN_RENEW_MS, half) : DEFAULT_RENEW_MS;
  } catch {
    return DEFAULT_RENEW_MS;
  }
}

// Renew the token while the page is in use: activity since the last renewal, checked at half its lifetime.
export function keepAlive() {
  lastActivity = Date.now();
  if (renewTimer || !session) return;
  for (const event of ["pointerdown", "keydown"]) {
    document.addEventListener(event, () => (lastActivity = Date.now()), { passive: true });
  }
  const every = renewEvery(session.token);
  renewTimer = setInterval(async () => {
    if (!session || Date.now() - lastActivity > every) return;
    try {
      const renewed = await api("/api/authentication/renewToken", { method: "POST" });
      remember(renewed.token, renewed.user, session.tenant);
    } catch {
      // a 401 already went back to the login page; anything else is retried at the next tick
    }
  }, every);
}
