/**
 * The browser side of Passport: holds the tokens, attaches the access token, refreshes it once
 * per expiry across every tab of the origin, and logs out cleanly — never in a 401 loop.
 */

import { readTimes } from "./jwt.js";
import { SPENT_MARK_MS, browserLocks, holdFor, isHeld, withLock, type LockManagerLike } from "./lock.js";
import { SessionStore, type StoredSession, type TokenStorage } from "./storage.js";

export type { TokenStorage, StoredSession } from "./storage.js";
export type { LockManagerLike } from "./lock.js";
export { storageKey, legacyKey } from "./storage.js";

/** Why the session ended on this side. */
export type LogoutReason =
  | "logout"
  | "logout-everywhere"
  | "refresh-failed"
  | "unauthorized"
  | "other-tab";

/** What subscribers see. */
export type SessionState =
  | { status: "logged-in"; sessionId: string | null }
  | { status: "logged-out"; reason?: LogoutReason };

export interface SessionOptions {
  /** Where Passport's routes are, e.g. `https://auth.example.com` (no trailing slash needed). */
  baseUrl: string;
  /** Where tokens are kept; `localStorage` by default. */
  storage?: TokenStorage;
  /** Called once whenever the session ends on this side, with why. */
  onLogout?: (reason: LogoutReason) => void;
  /** Refresh shortly before the access token expires (default true). */
  proactiveRefresh?: boolean;
  /** How long before expiry to refresh, at most (default 30 s; never more than a quarter of the token's life). */
  refreshSkewSeconds?: number;
  /** Cross-tab lock manager; `navigator.locks` by default, `null` forces the storage lock. */
  locks?: LockManagerLike | null;
  /** The `fetch` to use; the global one by default. */
  fetch?: typeof fetch;
  /**
   * Origins `session.fetch` may send the access token to (default: the origin of `baseUrl`).
   * A URL on any other origin is refused before anything is sent.
   */
  apiOrigins?: string[];
  /** How long a refresh may take before it is abandoned, in ms (default 10 000). */
  refreshTimeoutMs?: number;
}

/** A device in the sessions list. */
export interface DeviceSession {
  session_id: string;
  device: string | null;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
}

/** Who the caller is. */
export interface Me {
  user_id: string;
  email: string;
  session_id: string;
}

/** A refusal from Passport, with its HTTP status and error code. */
export class PassportError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "PassportError";
  }
}

/** The client: create one per Passport deployment and page. */
export interface Session {
  login(email: string, password: string, device?: string): Promise<void>;
  /** A drop-in `fetch` that sends `Authorization: Bearer <access token>`. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  logout(): Promise<void>;
  logoutEverywhere(): Promise<void>;
  sessions(): Promise<DeviceSession[]>;
  revoke(sessionId: string): Promise<void>;
  me(): Promise<Me>;
  /** The current state. */
  state(): SessionState;
  /** Calls `listener` on every change of state; returns the unsubscribe function. */
  subscribe(listener: (state: SessionState) => void): () => void;
  /** Stops timers and listeners (the tokens stay). */
  close(): void;
}

const REFRESH_PATH = "/refresh-token";
/** What a guarded route answers for a token it does not take: the authorizer's refusal. */
const DENIED = new Set([401, 403]);
/** Backoff for a failed proactive refresh: 1 s, 2 s, 4 s, … up to this, then the next call's. */
const RETRY_MAX_MS = 30_000;
/** How long a tab that finds its refresh token spent waits for the new pair to reach it. */
const HAND_OVER_MS = 5_000;

/** A short, non-secret name for a refresh token (lock names are listed by `locks.query()`). */
async function fingerprint(token: string): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What a tab that rotated tells the others on the session's `BroadcastChannel`. */
interface Rotated {
  type: "rotated";
  spent: string;
  session: StoredSession;
}

async function errorOf(resp: Response): Promise<PassportError> {
  let code = "http_error";
  let message = `HTTP ${resp.status}`;
  try {
    const body = (await resp.json()) as { error?: unknown; message?: unknown };
    if (typeof body.error === "string") code = body.error;
    if (typeof body.message === "string") message = body.message;
  } catch {
    // Not JSON (a proxy's page, say): keep the status.
  }
  return new PassportError(resp.status, code, message);
}

class Client implements Session {
  private readonly base: string;
  private readonly store: SessionStore;
  private readonly storage: TokenStorage;
  private readonly locks: LockManagerLike | null;
  private readonly http: typeof fetch;
  private readonly listeners = new Set<(s: SessionState) => void>();
  private inflight: Promise<StoredSession | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private current: SessionState;
  private readonly apiOrigins: Set<string>;
  /** Failed proactive refreshes in a row (for the backoff). */
  private failures = 0;
  private readonly onStorage = (e: StorageEvent) => this.storageChanged(e);
  /** Pairs other tabs announced, by the fingerprint of the token they spent. */
  private readonly announced = new Map<string, StoredSession>();
  private readonly channel: BroadcastChannel | null;

  constructor(private readonly options: SessionOptions) {
    this.base = options.baseUrl.replace(/\/+$/, "");
    this.storage = options.storage ?? globalThis.localStorage;
    this.store = new SessionStore(this.storage, this.base);
    this.locks = options.locks === undefined ? browserLocks() : options.locks;
    this.http = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.apiOrigins = new Set(
      (options.apiOrigins ?? [this.base]).map((o) => new URL(o).origin),
    );
    const stored = this.store.read();
    this.current = stored
      ? { status: "logged-in", sessionId: stored.sessionId }
      : { status: "logged-out" };
    globalThis.addEventListener?.("storage", this.onStorage);
    this.channel =
      typeof BroadcastChannel === "function" ? new BroadcastChannel(`passport:${this.base}`) : null;
    this.channel?.addEventListener("message", (e: MessageEvent) => {
      const m = e.data as Partial<Rotated> | null;
      if (m?.type === "rotated" && typeof m.spent === "string" && m.session) {
        this.announced.set(m.spent, m.session);
      }
    });
    this.schedule(stored);
  }

  state(): SessionState {
    return this.current;
  }

  subscribe(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    globalThis.removeEventListener?.("storage", this.onStorage);
    this.channel?.close();
    this.listeners.clear();
  }

  async login(email: string, password: string, device?: string): Promise<void> {
    const body: Record<string, string> = { email, password };
    if (device) body.device = device;
    const resp = await this.post("/login", body);
    if (!resp.ok) throw await errorOf(resp);
    this.save(await resp.json());
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let session = this.store.read();
    if (!session) throw new PassportError(401, "logged_out", "not logged in");
    if (this.expiringSoon(session)) {
      session = await this.refresh(session.refresh, "expiry");
      if (!session) return this.loggedOutResponse();
    }
    const request = new Request(input, init);
    const origin = new URL(request.url).origin;
    if (!this.apiOrigins.has(origin)) {
      // The token goes only where the app said it may (never to any URL handed in).
      throw new PassportError(0, "origin_not_allowed", `${origin} is not one of apiOrigins`);
    }
    const retry = request.clone();
    const first = await this.http(this.authorized(request, session.access));
    // Behind API Gateway a refused token is 403 (401 only without a token); local-api too.
    if (!DENIED.has(first.status)) return first;

    // One refresh, then the original request once more; a second refusal ends the session.
    const renewed = await this.refresh(session.refresh, "unauthorized");
    if (!renewed) return first;
    const second = await this.http(this.authorized(retry, renewed.access));
    if (DENIED.has(second.status)) this.end("unauthorized");
    return second;
  }

  async logout(): Promise<void> {
    await this.endOnServer({}, "logout");
  }

  async logoutEverywhere(): Promise<void> {
    await this.endOnServer({ all: true }, "logout-everywhere");
  }

  async sessions(): Promise<DeviceSession[]> {
    const resp = await this.fetch(`${this.base}/sessions`);
    if (!resp.ok) throw await errorOf(resp);
    return ((await resp.json()) as { sessions: DeviceSession[] }).sessions;
  }

  async revoke(sessionId: string): Promise<void> {
    const resp = await this.fetch(`${this.base}/sessions/${encodeURIComponent(sessionId)}`, {
      method: "DELETE",
    });
    if (!resp.ok) throw await errorOf(resp);
  }

  async me(): Promise<Me> {
    const resp = await this.fetch(`${this.base}/me`);
    if (!resp.ok) throw await errorOf(resp);
    return (await resp.json()) as Me;
  }

  /**
   * Trades `presented` for a new pair, once per tab (callers share one promise) and once across
   * tabs (under a lock; a tab that waited finds the pair another tab stored and uses it).
   * Resolves to `null` when the session is over.
   */
  private refresh(presented: string, why: "expiry" | "unauthorized"): Promise<StoredSession | null> {
    if (!this.inflight) {
      this.inflight = withLock(`passport-refresh:${this.base}`, this.locks, this.storage, () =>
        this.refreshHoldingLock(presented, why),
      ).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async refreshHoldingLock(
    presented: string,
    why: "expiry" | "unauthorized",
  ): Promise<StoredSession | null> {
    const stored = this.store.read();
    if (!stored) {
      this.end("other-tab");
      return null;
    }
    if (stored.refresh !== presented) {
      // Another tab rotated while this one waited: use its pair.
      this.adopt(stored);
      return stored;
    }
    // The hand-over needs a lock manager that can say which locks are held.
    const spent = typeof this.locks?.query === "function" ? await fingerprint(presented) : null;
    if (spent && this.locks && (await isHeld(this.locks, this.spentLock(spent)))) {
      // Another tab spent this token before releasing the lock, and its new pair has not
      // reached this tab's storage yet: wait for it rather than refreshing again.
      const handed = await this.handOver(spent, presented);
      if (handed) {
        this.adopt(handed);
        return handed;
      }
    }
    if (why === "expiry" && !this.expiringSoon(stored)) return stored;
    const resp = await this.postWithin(
      REFRESH_PATH,
      { refresh_token: stored.refresh },
      this.options.refreshTimeoutMs ?? 10_000,
    );
    if (resp.ok) {
      const session = this.save(await resp.json());
      if (spent && this.locks) {
        this.channel?.postMessage({ type: "rotated", spent, session } satisfies Rotated);
        // Held before the refresh lock is released, so the next holder knows.
        await holdFor(this.locks, this.spentLock(spent), SPENT_MARK_MS);
      }
      return session;
    }
    if (resp.status === 400 || resp.status === 401) {
      this.end("refresh-failed");
      return null;
    }
    // 429, 503, a proxy's 502: the session may be fine; keep the tokens, tell the caller.
    throw await errorOf(resp);
  }

  private spentLock(spent: string): string {
    return `passport-spent:${this.base}:${spent}`;
  }

  /** The pair another tab got for `presented`: from its announcement or from storage. */
  private async handOver(spent: string, presented: string): Promise<StoredSession | null> {
    const deadline = Date.now() + HAND_OVER_MS;
    while (Date.now() < deadline) {
      const told = this.announced.get(spent);
      if (told) return told;
      const stored = this.store.read();
      if (!stored) return null;
      if (stored.refresh !== presented) return stored;
      await new Promise((r) => setTimeout(r, 10));
    }
    return null;
  }

  private async endOnServer(extra: Record<string, unknown>, reason: LogoutReason): Promise<void> {
    const session = this.store.read();
    try {
      if (session) {
        const resp = await this.http(`${this.base}/logout`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            Authorization: `Bearer ${session.access}`,
          },
          body: JSON.stringify({ refresh_token: session.refresh, ...extra }),
        });
        if (!resp.ok && resp.status !== 401) throw await errorOf(resp);
      }
    } finally {
      // The user asked to leave: this side forgets the tokens whatever the server said.
      this.end(reason);
    }
  }

  /**
   * `post`, abandoned after `ms`: a refresh that hangs must not hold the cross-tab lock (and
   * every tab's calls) forever. Abandoned, it throws; the tokens are kept.
   */
  private async postWithin(path: string, body: unknown, ms: number): Promise<Response> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ms);
    try {
      return await this.post(path, body, abort.signal);
    } catch (e) {
      if (abort.signal.aborted) {
        throw new PassportError(0, "timeout", `no answer to ${path} within ${ms} ms`);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    return this.http(`${this.base}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  private authorized(request: Request, access: string): Request {
    const headers = new Headers(request.headers);
    headers.set("Authorization", `Bearer ${access}`);
    return new Request(request, { headers });
  }

  private loggedOutResponse(): Response {
    return new Response(JSON.stringify({ error: "unauthorized", message: "logged out" }), {
      status: 401,
      headers: { "Content-Type": "application/json" },
    });
  }

  private save(pair: { access_token: string; refresh_token: string; session_id?: string }): StoredSession {
    const session: StoredSession = {
      v: 2,
      access: pair.access_token,
      refresh: pair.refresh_token,
      sessionId: pair.session_id ?? this.store.read()?.sessionId ?? null,
    };
    this.store.write(session);
    this.adopt(session);
    return session;
  }

  /** Takes `session` as this tab's state (after a save here or in another tab). */
  private adopt(session: StoredSession): void {
    this.schedule(session);
    if (this.current.status !== "logged-in" || this.current.sessionId !== session.sessionId) {
      this.emit({ status: "logged-in", sessionId: session.sessionId });
    }
  }

  /** Forgets the tokens and tells everyone, once per logged-in period. */
  private end(reason: LogoutReason): void {
    this.store.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.current.status === "logged-out") return;
    this.emit({ status: "logged-out", reason });
    this.options.onLogout?.(reason);
  }

  private emit(state: SessionState): void {
    this.current = state;
    for (const l of [...this.listeners]) l(state);
  }

  private storageChanged(e: StorageEvent): void {
    if (e.key !== this.store.key && e.key !== null) return;
    const stored = this.store.read();
    if (stored) this.adopt(stored);
    else this.end("other-tab");
  }

  /** Seconds before expiry at which a refresh is due for `access`. */
  private skew(access: string): number {
    const times = readTimes(access);
    const max = this.options.refreshSkewSeconds ?? 30;
    if (!times) return max;
    const life = times.iat !== undefined ? times.exp - times.iat : Infinity;
    return Math.max(0, Math.min(max, life / 4));
  }

  private expiringSoon(session: StoredSession): boolean {
    const times = readTimes(session.access);
    if (!times) return false;
    return Date.now() / 1000 >= times.exp - this.skew(session.access);
  }

  private schedule(session: StoredSession | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!session || this.options.proactiveRefresh === false) return;
    const times = readTimes(session.access);
    if (!times) return;
    const due = (times.exp - this.skew(session.access)) * 1000 - Date.now();
    this.timer = setTimeout(() => this.proactive(session), Math.max(0, due));
  }

  /**
   * The refresh before expiry. One that fails for a reason that keeps the session (503, 429, a
   * timeout, the network) is tried again with backoff — 1 s, 2 s, 4 s … up to 30 s — while the
   * session lasts, rather than left to the next call.
   */
  private proactive(session: StoredSession): void {
    this.timer = null;
    this.refresh(session.refresh, "expiry").then(
      () => {
        this.failures = 0;
      },
      () => {
        const latest = this.store.read();
        if (!latest || this.timer) return;
        const wait = Math.min(RETRY_MAX_MS, 1000 * 2 ** this.failures);
        this.failures += 1;
        this.timer = setTimeout(() => this.proactive(latest), wait);
      },
    );
  }
}

/** Creates the session client for one Passport deployment. */
export function createSession(options: SessionOptions): Session {
  return new Client(options);
}
