import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createSession,
  legacyKey,
  storageKey,
  type LockManagerLike,
  type Session,
  type TokenStorage,
} from "../src/index.js";
import { withLock } from "../src/lock.js";

const BASE = "https://auth.example.test";

/** An unsigned JWT-shaped token with the given times (the client never verifies tokens). */
function token(name: string, exp: number, iat = exp - 900): string {
  const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "HS256", typ: "at+jwt" })}.${enc({ sub: "u", exp, iat, name })}.sig`;
}

const nowSecs = () => Math.floor(Date.now() / 1000);

/**
 * Passport's HTTP contract, scripted: rotates refresh tokens, counts calls, and answers API
 * calls by whether the access token is one it issued and still lets through.
 */
class Server {
  calls: string[] = [];
  refreshes = 0;
  accessTtl = 900;
  /** API answers 401 for these access tokens. */
  revokedAccess = new Set<string>();
  /** Refresh answers 401 for these refresh tokens. */
  deadRefresh = new Set<string>();
  alwaysUnauthorized = false;
  /** What the API answers a refused token: 401 here, 403 behind API Gateway's authorizer. */
  deniedStatus = 401;
  /** Refresh answers that fail before the ones that work (the statuses, in order). */
  refreshFailures: number[] = [];
  logoutBodies: Array<Record<string, unknown>> = [];
  refreshStatus = 200;
  private n = 0;
  /** The browser's session cookie for this server (cookie transport), as it would hold it. */
  cookie: string | null = null;
  /** The bodies and credentials modes of refresh requests. */
  refreshBodies: Array<Record<string, unknown>> = [];
  credentials: string[] = [];
  /** A refresh answer can be held back until released, to line up concurrent callers. */
  gate: Promise<void> | null = null;

  /** The access token of the last pair handed out. */
  lastAccess = "";
  /** The dangerous routes answer 403 `reauthentication_required` until a reauthentication. */
  needsReauth = false;

  pair(prefix = "t") {
    this.n += 1;
    this.lastAccess = token(`${prefix}${this.n}`, nowSecs() + this.accessTtl, nowSecs());
    return {
      access_token: this.lastAccess,
      refresh_token: `refresh-${this.n}`,
      token_type: "Bearer",
      expires_in: this.accessTtl,
      refresh_token_expires_in: 86400,
      session_id: "session-1",
    };
  }

  /** The cookie transport's answer: the refresh token goes to the cookie, not the body. */
  answer(pair: ReturnType<Server["pair"]>, cookie: boolean): Record<string, unknown> {
    if (!cookie) return pair;
    this.cookie = pair.refresh_token;
    const { refresh_token: _, ...body } = pair;
    return body;
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const path = new URL(req.url).pathname;
    this.calls.push(`${req.method} ${path}`);
    const json = (status: number, body: unknown) =>
      new Response(body === null ? null : JSON.stringify(body), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    if (path === "/login") {
      this.credentials.push(init?.credentials ?? "default");
      const { transport } = (await req.json()) as { transport?: string };
      return json(200, this.answer(this.pair(), transport === "cookie"));
    }
    if (path === "/refresh-token") {
      this.refreshes += 1;
      if (this.gate) {
        await Promise.race([
          this.gate,
          new Promise((_, reject) =>
            req.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))),
          ),
        ]);
      }
      const failure = this.refreshFailures.shift();
      if (failure) return json(failure, { error: "unavailable", message: "down" });
      this.credentials.push(init?.credentials ?? "default");
      const body = (await req.json()) as { refresh_token?: string; transport?: string };
      this.refreshBodies.push(body);
      if (this.refreshStatus !== 200) return json(this.refreshStatus, { error: "unavailable", message: "down" });
      const byCookie = body.refresh_token === undefined && init?.credentials === "include";
      const refresh_token = body.refresh_token ?? (byCookie ? this.cookie : null);
      if (!refresh_token) return json(400, { error: "invalid_request", message: "no token" });
      if (this.deadRefresh.has(refresh_token)) {
        return json(401, { error: "refresh_token_reused", message: "reused" });
      }
      this.deadRefresh.add(refresh_token);
      return json(200, this.answer(this.pair(), byCookie || body.transport === "cookie"));
    }
    if (path === "/reauthenticate") {
      const { password } = (await req.json()) as { password?: string };
      if (password !== "pw") return json(401, { error: "invalid_credentials", message: "wrong" });
      this.needsReauth = false;
      return json(200, { auth_time: "2026-12-02T10:00:00Z", amr: ["pwd"] });
    }
    const dangerous = req.method === "DELETE" || (path === "/logout" && init?.body?.toString().includes('"all":true'));
    if (this.needsReauth && dangerous) {
      return json(403, { error: "reauthentication_required", message: "sign in again" });
    }
    if (path === "/logout") {
      this.logoutBodies.push(await req.json());
      if (init?.credentials === "include") this.cookie = null;
      return json(204, null);
    }
    const access = (req.headers.get("Authorization") ?? "").replace(/^Bearer /, "");
    if (this.alwaysUnauthorized || this.revokedAccess.has(access)) {
      return this.deniedStatus === 403
        ? json(403, { message: "Forbidden" })
        : json(401, { error: "unauthorized", message: "no" });
    }
    return json(200, { user_id: "u", email: "a@example.com", session_id: "session-1", path });
  };
}

/** `navigator.locks` for tests: one holder per name at a time, FIFO. */
class Locks implements LockManagerLike {
  private tails = new Map<string, Promise<unknown>>();
  async request<T>(name: string, cb: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    const run = prev.then(cb, cb);
    this.tails.set(name, run.catch(() => undefined));
    return run;
  }
}

let server: Server;
let sessions: Session[];

function open(
  opts: {
    locks?: LockManagerLike | null;
    onLogout?: (r: string) => void;
    proactive?: boolean;
    apiOrigins?: string[];
    refreshTimeoutMs?: number;
    transport?: "body" | "cookie";
    storage?: TokenStorage;
    onObtainStep?: (key: string, step: string) => void;
    prompt?: () => Promise<{ password: string } | null>;
  } = {},
) {
  const s = createSession({
    baseUrl: BASE,
    transport: opts.transport,
    storage: opts.storage,
    fetch: server.fetch,
    locks: opts.locks === undefined ? new Locks() : opts.locks,
    onLogout: opts.onLogout,
    proactiveRefresh: opts.proactive ?? false,
    apiOrigins: opts.apiOrigins,
    refreshTimeoutMs: opts.refreshTimeoutMs,
    onObtainStep: opts.onObtainStep,
    reauthenticationPrompt: opts.prompt,
  });
  sessions.push(s);
  return s;
}

function stored() {
  return JSON.parse(localStorage.getItem(storageKey(BASE)) ?? "null");
}

/** Makes the stored access token expired, as after a long idle period. */
function expireStoredAccess() {
  const s = stored();
  s.access = token("old", nowSecs() - 5, nowSecs() - 905);
  localStorage.setItem(storageKey(BASE), JSON.stringify(s));
}

beforeEach(() => {
  localStorage.clear();
  server = new Server();
  sessions = [];
});

afterEach(() => {
  for (const s of sessions) s.close();
  vi.useRealTimers();
});

describe("single flight", () => {
  it("refreshes once for concurrent calls in one tab", async () => {
    const s = open();
    await s.login("a@example.com", "pw");
    expireStoredAccess();
    const results = await Promise.all([s.me(), s.me(), s.me(), s.me()]);
    expect(results.map((r) => r.email)).toEqual(Array(4).fill("a@example.com"));
    expect(server.refreshes).toBe(1);
  });

  it("refreshes once across tabs sharing storage and a lock; the waiting tab reads the stored pair", async () => {
    const locks = new Locks();
    const a = open({ locks });
    await a.login("a@example.com", "pw");
    const b = open({ locks });
    expireStoredAccess();
    await Promise.all([a.me(), b.me(), a.me(), b.me()]);
    expect(server.refreshes).toBe(1);
    expect(b.state()).toEqual({ status: "logged-in", sessionId: "session-1", storage: "local" });
  });

  it("walks the documented steps: one tab obtains, the other calls join or reuse its pair", async () => {
    const locks = new Locks();
    const steps: Record<string, string[]> = { a: [], b: [] };
    const a = open({ locks, onObtainStep: (_, step) => steps.a.push(step) });
    await a.login("a@example.com", "pw");
    const b = open({ locks, onObtainStep: (_, step) => steps.b.push(step) });
    expireStoredAccess();
    await Promise.all([a.me(), a.me(), b.me()]);
    expect(server.refreshes).toBe(1);
    expect(steps.a).toEqual(["joined", "locked", "obtaining", "announced"]);
    expect(steps.b).toEqual(["locked", "reused"]);
  });

  it("refreshes once across tabs with the storage lock where Web Locks is missing", async () => {
    const a = open({ locks: null });
    await a.login("a@example.com", "pw");
    const b = open({ locks: null });
    expireStoredAccess();
    await Promise.all([a.me(), b.me()]);
    expect(server.refreshes).toBe(1);
    expect(localStorage.getItem(`passport.lock:passport-refresh:${BASE}`)).toBeNull();
  });

  it("takes over a storage lock left by a tab that died", async () => {
    const name = "stale";
    localStorage.setItem(`passport.lock:${name}`, JSON.stringify({ owner: "dead", until: Date.now() - 1 }));
    const ran = await withLock(name, null, localStorage, async () => "ran");
    expect(ran).toBe("ran");
  });
});

describe("401 handling", () => {
  it("refreshes once and retries the original request once", async () => {
    const s = open();
    await s.login("a@example.com", "pw");
    server.revokedAccess.add(stored().access);
    const resp = await s.fetch(`${BASE}/api/orders`, { method: "POST", body: "payload" });
    expect(resp.status).toBe(200);
    expect(server.calls).toEqual(["POST /login", "POST /api/orders", "POST /refresh-token", "POST /api/orders"]);
  });

  it("never loops: a second 401 clears the tokens and calls onLogout once", async () => {
    const onLogout = vi.fn();
    const s = open({ onLogout });
    await s.login("a@example.com", "pw");
    server.alwaysUnauthorized = true;
    const resp = await s.fetch(`${BASE}/api/x`);
    expect(resp.status).toBe(401);
    expect(server.calls.filter((c) => c === "GET /api/x")).toHaveLength(2);
    expect(server.refreshes).toBe(1);
    expect(stored()).toBeNull();
    expect(onLogout).toHaveBeenCalledTimes(1);
    expect(onLogout).toHaveBeenCalledWith("unauthorized");
    await expect(s.fetch(`${BASE}/api/x`)).rejects.toMatchObject({ code: "logged_out" });
  });

  it("a refused refresh clears the tokens and calls onLogout, without retrying", async () => {
    const onLogout = vi.fn();
    const s = open({ onLogout });
    await s.login("a@example.com", "pw");
    server.revokedAccess.add(stored().access);
    server.deadRefresh.add(stored().refresh);
    const resp = await s.fetch(`${BASE}/api/x`);
    expect(resp.status).toBe(401);
    expect(server.calls.filter((c) => c === "GET /api/x")).toHaveLength(1);
    expect(onLogout).toHaveBeenCalledWith("refresh-failed");
    expect(s.state()).toEqual({ status: "logged-out", reason: "refresh-failed", storage: "local" });
  });

  it("keeps the tokens when the refresh fails for a reason that is not the session's (503)", async () => {
    const onLogout = vi.fn();
    const s = open({ onLogout });
    await s.login("a@example.com", "pw");
    server.revokedAccess.add(stored().access);
    server.refreshStatus = 503;
    await expect(s.fetch(`${BASE}/api/x`)).rejects.toMatchObject({ status: 503, code: "unavailable" });
    expect(stored()).not.toBeNull();
    expect(onLogout).not.toHaveBeenCalled();
  });
});

describe("the deployed edge", () => {
  it("refreshes on API Gateway's 403 as on a 401, and retries once", async () => {
    const s = open();
    await s.login("a@example.com", "pw");
    server.deniedStatus = 403;
    server.revokedAccess.add(stored().access);
    const resp = await s.fetch(`${BASE}/api/orders`);
    expect(resp.status).toBe(200);
    expect(server.calls).toEqual(["POST /login", "GET /api/orders", "POST /refresh-token", "GET /api/orders"]);
  });

  it("a second 403 ends the session in the same way", async () => {
    const onLogout = vi.fn();
    const s = open({ onLogout });
    await s.login("a@example.com", "pw");
    server.deniedStatus = 403;
    server.alwaysUnauthorized = true;
    const resp = await s.fetch(`${BASE}/api/x`);
    expect(resp.status).toBe(403);
    expect(server.refreshes).toBe(1);
    expect(stored()).toBeNull();
    expect(onLogout).toHaveBeenCalledWith("unauthorized");
  });

  it("sends the token only to the origins the app lists", async () => {
    const s = open({ apiOrigins: [BASE, "https://api.example.test"] });
    await s.login("a@example.com", "pw");
    await expect(s.fetch("https://evil.example.test/steal")).rejects.toMatchObject({ code: "origin_not_allowed" });
    expect(server.calls).toEqual(["POST /login"]);
    expect((await s.fetch("https://api.example.test/orders")).status).toBe(200);
    const only = open();
    await expect(only.fetch("https://api.example.test/orders")).rejects.toMatchObject({ code: "origin_not_allowed" });
  });

  it("abandons a refresh that hangs, keeps the tokens, and frees the lock for the next one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const s = open({ refreshTimeoutMs: 1_000 });
    await s.login("a@example.com", "pw");
    server.revokedAccess.add(stored().access);
    server.gate = new Promise(() => {});
    const hung = s.fetch(`${BASE}/api/x`);
    const failed = expect(hung).rejects.toMatchObject({ code: "timeout" });
    await vi.advanceTimersByTimeAsync(1_001);
    await failed;
    expect(stored()).not.toBeNull();
    server.gate = null;
    vi.useRealTimers();
    expect((await s.fetch(`${BASE}/api/x`)).status).toBe(200);
    expect(server.refreshes).toBe(2);
  });

  it("retries a failed proactive refresh with backoff instead of waiting for a call", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    server.accessTtl = 60;
    server.refreshFailures = [503, 503];
    const s = open({ proactive: true });
    await s.login("a@example.com", "pw");
    // Due 15 s before the expiry of a token whose times are whole seconds: between 44 s and
    // 45 s after login. It fails, and is tried again 1 s later, then 2 s after that.
    await vi.advanceTimersByTimeAsync(44_000);
    expect(server.refreshes).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.refreshes).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.refreshes).toBe(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.refreshes).toBe(3);
    expect(stored()?.refresh).not.toBe("refresh-1");
  });
});

describe("storage", () => {
  it("upgrades the flat version-1 object in place", () => {
    localStorage.setItem(legacyKey(BASE), JSON.stringify({ access_token: "a.b.c", refresh_token: "r1" }));
    const s = open();
    expect(s.state()).toEqual({ status: "logged-in", sessionId: null, storage: "local" });
    expect(localStorage.getItem(legacyKey(BASE))).toBeNull();
    expect(stored()).toEqual({ v: 2, access: "a.b.c", refresh: "r1", sessionId: null });
  });

  it("drops an unreadable entry instead of failing", () => {
    localStorage.setItem(storageKey(BASE), "{not json");
    expect(open().state()).toEqual({ status: "logged-out", storage: "local" });
    localStorage.setItem(legacyKey(BASE), JSON.stringify({ access_token: 5 }));
    expect(open().state()).toEqual({ status: "logged-out", storage: "local" });
    expect(localStorage.getItem(legacyKey(BASE))).toBeNull();
  });

  it("keeps deployments apart by base URL", async () => {
    const a = open();
    await a.login("a@example.com", "pw");
    const other = createSession({ baseUrl: "https://other.example.test/", fetch: server.fetch, locks: new Locks() });
    sessions.push(other);
    expect(other.state()).toEqual({ status: "logged-out", storage: "local" });
    expect(localStorage.getItem(storageKey("https://other.example.test"))).toBeNull();
  });
});

describe("proactive refresh", () => {
  it("refreshes a quarter of the token's life before expiry, at most 30 s before", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    server.accessTtl = 60;
    const s = open({ proactive: true });
    await s.login("a@example.com", "pw");
    // 60 s of life: due 15 s before expiry, at 45 s.
    await vi.advanceTimersByTimeAsync(44_000);
    expect(server.refreshes).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.refreshes).toBe(1);
    // And again for the new token, without any API call.
    await vi.advanceTimersByTimeAsync(46_000);
    expect(server.refreshes).toBe(2);
  });

  it("uses the 30 s ceiling for long-lived tokens", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    server.accessTtl = 900;
    const s = open({ proactive: true });
    await s.login("a@example.com", "pw");
    await vi.advanceTimersByTimeAsync(869_000);
    expect(server.refreshes).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(server.refreshes).toBe(1);
  });
});

describe("across tabs", () => {
  it("a logout in another tab logs this one out", async () => {
    const onLogout = vi.fn();
    const s = open({ onLogout });
    await s.login("a@example.com", "pw");
    localStorage.removeItem(storageKey(BASE));
    window.dispatchEvent(new StorageEvent("storage", { key: storageKey(BASE), newValue: null }));
    expect(onLogout).toHaveBeenCalledWith("other-tab");
    expect(s.state()).toEqual({ status: "logged-out", reason: "other-tab", storage: "local" });
  });

  it("a refresh in another tab is adopted, and subscribers hear about changes", async () => {
    const s = open();
    const seen: string[] = [];
    s.subscribe((st) => seen.push(st.status));
    await s.login("a@example.com", "pw");
    const other = { ...stored(), access: token("x", nowSecs() + 900), refresh: "refresh-other", sessionId: "session-2" };
    localStorage.setItem(storageKey(BASE), JSON.stringify(other));
    window.dispatchEvent(new StorageEvent("storage", { key: storageKey(BASE), newValue: JSON.stringify(other) }));
    expect(s.state()).toEqual({ status: "logged-in", sessionId: "session-2", storage: "local" });
    expect(seen).toEqual(["logged-in", "logged-in"]);
  });

  it("logout tells the server and forgets the tokens; logoutEverywhere sends all", async () => {
    const s = open();
    await s.login("a@example.com", "pw");
    await s.logout();
    expect(stored()).toBeNull();
    await s.login("a@example.com", "pw");
    await s.logoutEverywhere();
    expect(server.logoutBodies.map((b) => b.all)).toEqual([undefined, true]);
    expect(server.logoutBodies[1].refresh_token).toMatch(/^refresh-/);
    expect(stored()).toBeNull();
  });
});

describe("recent authentication", () => {
  it("asks the app's prompt on reauthentication_required, reauthenticates, and retries once", async () => {
    const prompt = vi.fn(async () => ({ password: "pw" }));
    const s = open({ prompt });
    await s.login("a@example.com", "pw");
    server.needsReauth = true;
    await s.revoke("other");
    expect(prompt).toHaveBeenCalledTimes(1);
    expect(server.calls.slice(-3)).toEqual(["DELETE /sessions/other", "POST /reauthenticate", "DELETE /sessions/other"]);
    expect(server.refreshes).toBe(0);
    expect(stored()).not.toBeNull();
  });

  it("a cancelled prompt throws reauthentication_required and keeps the session", async () => {
    const s = open({ prompt: async () => null });
    await s.login("a@example.com", "pw");
    server.needsReauth = true;
    await expect(s.revoke("other")).rejects.toMatchObject({ code: "reauthentication_required", status: 403 });
    await expect(s.logoutEverywhere()).rejects.toMatchObject({ code: "reauthentication_required" });
    expect(server.refreshes).toBe(0);
    expect(stored()).not.toBeNull();
  });

  it("a wrong password is the request's refusal, not the token's: no refresh, no logout", async () => {
    const onLogout = vi.fn();
    const s = open({ prompt: async () => ({ password: "wrong" }), onLogout });
    await s.login("a@example.com", "pw");
    server.needsReauth = true;
    await expect(s.revoke("other")).rejects.toMatchObject({ code: "invalid_credentials", status: 401 });
    expect(server.refreshes).toBe(0);
    expect(onLogout).not.toHaveBeenCalled();
    expect(stored()).not.toBeNull();
  });

  it("logoutEverywhere asks, then ends every session", async () => {
    const s = open({ prompt: async () => ({ password: "pw" }) });
    await s.login("a@example.com", "pw");
    server.needsReauth = true;
    await s.logoutEverywhere();
    expect(server.logoutBodies.map((b) => b.all)).toEqual([true]);
    expect(stored()).toBeNull();
  });
});

/** `navigator.locks` with `query()`, for the cookie transport's hand-over between tabs. */
class QueryLocks extends Locks {
  private held = new Set<string>();
  override async request<T>(name: string, cb: () => Promise<T>): Promise<T> {
    return super.request(name, async () => {
      this.held.add(name);
      try {
        return await cb();
      } finally {
        this.held.delete(name);
      }
    });
  }
  async query() {
    return { held: [...this.held].map((name) => ({ name })) };
  }
}

/** Every string `localStorage` holds, to look for tokens in. */
function everythingStored(): string {
  return Object.keys(localStorage)
    .map((k) => `${k}=${localStorage.getItem(k)}`)
    .join("\n");
}

describe("cookie transport", () => {
  it("logs in without any token in localStorage and sends the cookie along", async () => {
    const s = open({ transport: "cookie" });
    await s.login("a@example.com", "pw");
    expect(server.cookie).toBe("refresh-1");
    expect(server.credentials).toEqual(["include"]);
    const access = (await (await s.fetch(`${BASE}/api/x`)).json()) as { path: string };
    expect(access.path).toBe("/api/x");
    expect(stored()).toEqual({ v: 2, transport: "cookie", sessionId: "session-1" });
    expect(everythingStored()).not.toMatch(/refresh-|\.sig/);
    expect(s.state()).toEqual({ status: "logged-in", sessionId: "session-1", storage: "local" });
  });

  it("refreshes through the cookie on a 401, with an empty body", async () => {
    const s = open({ transport: "cookie" });
    await s.login("a@example.com", "pw");
    server.revokedAccess.add(server.lastAccess);
    server.deniedStatus = 403;
    expect((await s.fetch(`${BASE}/api/x`)).status).toBe(200);
    expect(server.refreshBodies).toEqual([{}]);
    expect(server.cookie).toBe("refresh-2");
    expect(everythingStored()).not.toMatch(/refresh-|\.sig/);
  });

  it("a reload restores the session through one refresh", async () => {
    const first = open({ transport: "cookie" });
    await first.login("a@example.com", "pw");
    first.close();
    const reloaded = open({ transport: "cookie", locks: new QueryLocks() });
    const me = await reloaded.me();
    expect(me.email).toBe("a@example.com");
    expect(server.refreshes).toBe(1);
    expect(server.refreshBodies).toEqual([{}]);
  });

  it("a new tab takes the pair from a tab that has one, without a refresh", async () => {
    const locks = new QueryLocks();
    const a = open({ transport: "cookie", locks });
    await a.login("a@example.com", "pw");
    const b = open({ transport: "cookie", locks });
    expect((await b.me()).email).toBe("a@example.com");
    expect(server.refreshes).toBe(0);
  });

  it("tabs refresh once between them, and a logout in one ends the other", async () => {
    const locks = new QueryLocks();
    const a = open({ transport: "cookie", locks });
    await a.login("a@example.com", "pw");
    const b = open({ transport: "cookie", locks });
    await b.me();
    server.revokedAccess.add(server.lastAccess);
    const answers = await Promise.all([a.fetch(`${BASE}/api/x`), b.fetch(`${BASE}/api/x`)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(server.refreshes).toBe(1);
    const onLogout = vi.fn();
    b.subscribe((st) => onLogout(st.status));
    await a.logout();
    await vi.waitFor(() => expect(onLogout).toHaveBeenCalledWith("logged-out"));
    expect(server.cookie).toBeNull();
    expect(stored()).toBeNull();
  });

  it("moves a body-transport session to the cookie with one refresh, leaving no token in storage", async () => {
    const body = open();
    await body.login("a@example.com", "pw");
    body.close();
    expect(stored().refresh).toBe("refresh-1");
    const s = open({ transport: "cookie", locks: new QueryLocks() });
    expect((await s.me()).email).toBe("a@example.com");
    expect(server.refreshBodies).toEqual([{ refresh_token: "refresh-1", transport: "cookie" }]);
    expect(server.cookie).toBe("refresh-2");
    expect(stored()).toEqual({ v: 2, transport: "cookie", sessionId: "session-1" });
    expect(everythingStored()).not.toMatch(/refresh-|\.sig/);
  });

  it("a refused restore logs out without a loop", async () => {
    localStorage.setItem(storageKey(BASE), JSON.stringify({ v: 2, transport: "cookie", sessionId: "s" }));
    const onLogout = vi.fn();
    const s = open({ transport: "cookie", onLogout });
    await expect(s.me()).rejects.toMatchObject({ code: "logged_out" });
    expect(server.refreshes).toBe(1);
    expect(onLogout).toHaveBeenCalledWith("refresh-failed");
    expect(stored()).toBeNull();
  });
});

describe("storage that throws", () => {
  /** `localStorage` as a browser with site data blocked gives it: every call throws. */
  const blocked: TokenStorage = {
    getItem() {
      throw new DOMException("The operation is insecure.", "SecurityError");
    },
    setItem() {
      throw new DOMException("The operation is insecure.", "SecurityError");
    },
    removeItem() {
      throw new DOMException("The operation is insecure.", "SecurityError");
    },
  };

  it("keeps the session in memory, says so, and refreshes", async () => {
    const s = open({ storage: blocked });
    expect(s.state().storage).toBe("memory");
    await s.login("a@example.com", "pw");
    server.revokedAccess.add(server.lastAccess);
    expect((await s.fetch(`${BASE}/api/x`)).status).toBe(200);
    expect(server.refreshes).toBe(1);
    expect(s.state()).toEqual({ status: "logged-in", sessionId: "session-1", storage: "memory" });
  });

  it("falls back to memory when a write starts throwing (a full quota)", async () => {
    let full = false;
    const quota: TokenStorage = {
      getItem: (k) => localStorage.getItem(k),
      setItem: (k, v) => {
        if (full) throw new DOMException("full", "QuotaExceededError");
        localStorage.setItem(k, v);
      },
      removeItem: (k) => localStorage.removeItem(k),
    };
    const s = open({ storage: quota });
    const modes: string[] = [];
    s.subscribe((st) => modes.push(st.storage));
    await s.login("a@example.com", "pw");
    full = true;
    server.revokedAccess.add(server.lastAccess);
    expect((await s.fetch(`${BASE}/api/x`)).status).toBe(200);
    expect(server.refreshes).toBe(1);
    expect(s.state().storage).toBe("memory");
    expect(modes).toContain("memory");
  });
});
