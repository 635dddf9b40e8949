/**
 * The browser side of Passport: holds the tokens, attaches the access token, refreshes it once
 * per expiry across every tab of the origin, and logs out cleanly — never in a 401 loop.
 *
 * Two transports for the refresh token: `body` keeps it in `localStorage`; `cookie` leaves it in
 * Passport's `HttpOnly` session cookie, keeps the access token in memory only, and shares it
 * between tabs over a `BroadcastChannel` (a new tab asks the others, or restores the session
 * through one refresh).
 */

import { readClaim, readTimes } from "./jwt.js";
import { SPENT_MARK_MS, anyHeld, browserLocks, holdFor, isHeld, withLock, type LockManagerLike } from "./lock.js";
import {
  SafeStorage,
  SessionStore,
  browserStorage,
  type StorageMode,
  type TokenStorage,
} from "./storage.js";

import { Passports } from "./passports.js";

export type { TokenStorage, StoredSession, CookieHint, StorageMode } from "./storage.js";
export type { AccessTokenJson, PassportGrant } from "./passports.js";
export { ANONYMOUS, passportsKey, upgradeAccessTokenJson } from "./passports.js";
export type { LockManagerLike } from "./lock.js";
export { storageKey, legacyKey, MemoryStorage } from "./storage.js";

/** Why the session ended on this side. */
export type LogoutReason =
  | "logout"
  | "logout-everywhere"
  | "refresh-failed"
  | "unauthorized"
  | "other-tab";

type Status =
  | { status: "logged-in"; sessionId: string | null }
  | { status: "logged-out"; reason?: LogoutReason };

/**
 * What subscribers see. `storage` says where the session is kept: `"memory"` when
 * `localStorage` is blocked or throws, and the session then lasts as long as the tab.
 */
export type SessionState = Status & { storage: StorageMode };

/** How the refresh token travels: see the module's comment. */
export type Transport = "body" | "cookie";

export interface SessionOptions {
  /** Where Passport's routes are, e.g. `https://auth.example.com` (no trailing slash needed). */
  baseUrl: string;
  /**
   * `"cookie"`: the refresh token stays in Passport's `HttpOnly` cookie and no token is written
   * to storage. `"body"` (default): both tokens are kept in `storage`.
   */
  transport?: Transport;
  /** Where the session is kept; `localStorage` by default (memory when that cannot be used). */
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
  /**
   * A live passport to the shared web app `appCode`: the stored one, or one obtained or renewed
   * now (as the signed-in account when there is one; a private app refuses anyone else with
   * `PassportError` 401 `sign_in_required`). One `POST /passport` at a time across tabs.
   */
  passport(appCode: string): Promise<string>;
  /** A `fetch` to a shared app's API with its passport and `X-App-Code`; renews once on 401/403. */
  passportFetch(appCode: string, input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Ends the app's passport session and forgets its passport. */
  passportLogout(appCode: string): Promise<void>;
  /** Stops timers and listeners (the tokens stay). */
  close(): void;
}

const REFRESH_PATH = "/refresh-token";
/** What a tab restoring a cookie session presents: it holds no token yet. */
const RESTORE = "";
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

/** The tokens a tab holds; in the cookie transport `refresh` is `null` (the cookie has it). */
interface Held {
  access: string;
  refresh: string | null;
  sessionId: string | null;
}

/**
 * What tabs tell each other on the session's `BroadcastChannel`: a new pair (after a login or a
 * refresh; `spent` names the token it replaced), a question from a tab that has none (cookie
 * transport), and the end of the session (cookie transport: nothing in storage says so).
 */
type Message =
  | { type: "rotated"; spent: string | null; session: Held }
  | { type: "ask" }
  | { type: "ended" };

function isHeldPair(v: unknown): v is Held {
  const h = v as Partial<Held> | null;
  return !!h && typeof h.access === "string" && (h.refresh === null || typeof h.refresh === "string");
}

/** The tabs' channel, where the browser has one and lets this document use it. */
function openChannel(name: string): BroadcastChannel | null {
  try {
    return typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
  } catch {
    return null;
  }
}

/** The token's `iat`, to tell a newer pair from an older one. */
function issuedAt(access: string): number {
  const t = readTimes(access);
  return t?.iat ?? t?.exp ?? 0;
}

/** The account an access token names (`sub`), to file its passports; never trusted. */
function accountOf(access: string | undefined): string | null {
  return access ? readClaim(access, "sub") : null;
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
  private readonly cookie: boolean;
  private readonly store: SessionStore;
  private readonly storage: SafeStorage;
  private readonly webLocks: LockManagerLike | null;
  private readonly http: typeof fetch;
  private readonly listeners = new Set<(s: SessionState) => void>();
  private inflight: Promise<Held | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private current: Status;
  private readonly apiOrigins: Set<string>;
  /** Failed proactive refreshes in a row (for the backoff). */
  private failures = 0;
  private readonly onStorage = (e: StorageEvent) => this.storageChanged(e);
  /** Pairs other tabs announced, by the fingerprint of the token they spent. */
  private readonly announced = new Map<string, Held>();
  private readonly channel: BroadcastChannel | null;
  /** Cookie transport: the pair, in this tab's memory only. */
  private memory: Held | null = null;
  /** Cookie transport: releases the Web Lock that tells other tabs this one holds a pair. */
  private releaseLive: (() => void) | null = null;
  private readonly apps: Passports;

  constructor(private readonly options: SessionOptions) {
    this.base = options.baseUrl.replace(/\/+$/, "");
    this.cookie = options.transport === "cookie";
    this.storage = new SafeStorage(options.storage ?? browserStorage(), () => this.emit(this.current));
    this.store = new SessionStore(this.storage, this.base);
    this.webLocks = options.locks === undefined ? browserLocks() : options.locks;
    this.http = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.apiOrigins = new Set(
      (options.apiOrigins ?? [this.base]).map((o) => new URL(o).origin),
    );
    const stored = this.store.readAny();
    this.current = stored
      ? { status: "logged-in", sessionId: stored.sessionId }
      : { status: "logged-out" };
    globalThis.addEventListener?.("storage", this.onStorage);
    this.channel = openChannel(`passport:${this.base}`);
    this.apps = new Passports({
      base: this.base,
      storage: this.storage,
      locks: () => this.lockManager,
      account: () => accountOf(this.held()?.access),
      request: (appCode, body) => this.requestPassport(appCode, body),
      http: this.http,
      error: errorOf,
    });
    this.channel?.addEventListener("message", (e: MessageEvent) => this.heard(e.data as Message));
    if (!this.cookie) {
      this.schedule(this.store.read());
    } else if (stored || this.storage.mode === "memory") {
      // A reload or a new tab: take the pair from another tab, or restore it through the cookie
      // (storage in memory cannot say whether there is a session: try).
      this.restore().catch(() => undefined);
    }
  }

  state(): SessionState {
    return { ...this.current, storage: this.storage.mode };
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
    this.apps.close();
    this.listeners.clear();
    this.releaseLive?.();
    this.releaseLive = null;
  }

  async login(email: string, password: string, device?: string): Promise<void> {
    const body: Record<string, string> = { email, password };
    if (device) body.device = device;
    if (this.cookie) body.transport = "cookie";
    const resp = await this.post("/login", body);
    if (!resp.ok) throw await errorOf(resp);
    const session = await this.save(await resp.json());
    if (this.cookie) this.tell({ type: "rotated", spent: null, session });
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let session = this.held();
    if (!session && this.cookie && this.current.status === "logged-in") session = await this.restore();
    if (!session) throw new PassportError(401, "logged_out", "not logged in");
    if (this.expiringSoon(session)) {
      session = await this.refresh(this.presented(session), "expiry");
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
    const renewed = await this.refresh(this.presented(session), "unauthorized");
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

  passport(appCode: string): Promise<string> {
    return this.apps.passport(appCode);
  }

  passportFetch(appCode: string, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const origin = new URL(new Request(input, init).url).origin;
    if (!this.apiOrigins.has(origin)) {
      return Promise.reject(new PassportError(0, "origin_not_allowed", `${origin} is not one of apiOrigins`));
    }
    return this.apps.fetch(appCode, input, init);
  }

  passportLogout(appCode: string): Promise<void> {
    return this.apps.logout(appCode);
  }

  /** `POST /passport`, with the account's access token (fresh) when signed in. */
  private async requestPassport(appCode: string, body: Record<string, string>): Promise<Response> {
    let session = this.held();
    if (!session && this.cookie && this.current.status === "logged-in") session = await this.restore();
    if (session && this.expiringSoon(session)) session = await this.refresh(this.presented(session), "expiry");
    const headers: Record<string, string> = { "Content-Type": "application/json", "X-App-Code": appCode };
    if (session) headers.Authorization = `Bearer ${session.access}`;
    return this.http(`${this.base}/passport`, { method: "POST", headers, body: JSON.stringify(body) });
  }

  async me(): Promise<Me> {
    const resp = await this.fetch(`${this.base}/me`);
    if (!resp.ok) throw await errorOf(resp);
    return (await resp.json()) as Me;
  }

  /**
   * The cross-tab lock manager, unless the session is in this tab's memory: then it is this
   * tab's alone (and a browser that blocks storage may refuse Web Locks too), so the lock in
   * (memory) storage orders this tab's own calls.
   */
  private get lockManager(): LockManagerLike | null {
    return this.storage.mode === "memory" ? null : this.webLocks;
  }

  /** The pair this tab holds: from storage (body transport) or memory (cookie transport). */
  private held(): Held | null {
    return this.cookie ? this.memory : this.store.read();
  }

  /** What a refresh of `session` presents, and what names it across tabs. */
  private presented(session: Held): string {
    return this.cookie ? session.access : (session.refresh ?? RESTORE);
  }

  /** Cookie transport: the pair from another tab, or one refresh through the cookie. */
  private restore(): Promise<Held | null> {
    return this.refresh(RESTORE, "restore");
  }

  /**
   * Trades `presented` for a new pair, once per tab (callers share one promise) and once across
   * tabs (under a lock; a tab that waited finds the pair another tab got and uses it).
   * Resolves to `null` when the session is over.
   */
  private refresh(presented: string, why: "expiry" | "unauthorized" | "restore"): Promise<Held | null> {
    if (!this.inflight) {
      this.inflight = withLock(`passport-refresh:${this.base}`, this.lockManager, this.storage, () =>
        this.refreshHoldingLock(presented, why),
      ).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async refreshHoldingLock(
    presented: string,
    why: "expiry" | "unauthorized" | "restore",
  ): Promise<Held | null> {
    const held = this.held();
    if (held && (presented === RESTORE || this.presented(held) !== presented)) {
      // Another tab rotated (or answered) while this one waited: use its pair.
      this.adopt(held);
      return held;
    }
    if (!held && presented !== RESTORE) {
      this.end("other-tab");
      return null;
    }
    if (presented === RESTORE) {
      const told = await this.askOthers();
      if (told) return told;
    }
    // The hand-over needs a lock manager that can say which locks are held.
    const spent =
      presented !== RESTORE && typeof this.lockManager?.query === "function" ? await fingerprint(presented) : null;
    if (spent && this.lockManager && (await isHeld(this.lockManager, this.spentLock(spent)))) {
      // Another tab spent this token before releasing the lock, and its new pair has not
      // reached this tab yet: wait for it rather than refreshing again.
      const handed = await this.handOver(spent, presented);
      if (handed) {
        this.adopt(handed);
        return handed;
      }
    }
    if (why === "expiry" && held && !this.expiringSoon(held)) return held;
    const resp = await this.postWithin(REFRESH_PATH, this.refreshBody(held), this.options.refreshTimeoutMs ?? 10_000);
    if (resp.ok) {
      const session = await this.save(await resp.json());
      if (this.cookie || spent) this.tell({ type: "rotated", spent, session });
      if (spent && this.lockManager) {
        // Held before the refresh lock is released, so the next holder knows.
        await holdFor(this.lockManager, this.spentLock(spent), SPENT_MARK_MS);
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

  /**
   * The body of a refresh: the stored token (body transport); nothing, the cookie carries it
   * (cookie transport); or a body-transport token left in storage, moved to the cookie.
   */
  private refreshBody(held: Held | null): Record<string, string> {
    if (!this.cookie) return { refresh_token: held?.refresh ?? "" };
    const left = this.store.read();
    return left ? { refresh_token: left.refresh, transport: "cookie" } : {};
  }

  /**
   * Cookie transport, before a restore: when another tab holds a pair (its Web Lock says so),
   * ask for it and wait for the answer. Lock state is ordered in the browser process, so a tab
   * that just got a pair is seen here even if its announcement is still on the way.
   */
  private async askOthers(): Promise<Held | null> {
    if (!this.cookie || !this.channel || typeof this.lockManager?.query !== "function") return null;
    if (!(await anyHeld(this.lockManager, this.liveLockPrefix()))) return null;
    this.tell({ type: "ask" });
    const deadline = Date.now() + HAND_OVER_MS;
    while (Date.now() < deadline) {
      if (this.memory) return this.memory;
      await new Promise((r) => setTimeout(r, 10));
    }
    return null;
  }

  private spentLock(spent: string): string {
    return `passport-spent:${this.base}:${spent}`;
  }

  private liveLockPrefix(): string {
    return `passport-live:${this.base}:`;
  }

  /** The pair another tab got for `presented`: from its announcement, storage or memory. */
  private async handOver(spent: string, presented: string): Promise<Held | null> {
    const deadline = Date.now() + HAND_OVER_MS;
    while (Date.now() < deadline) {
      const told = this.announced.get(spent);
      if (told) return told;
      const held = this.held();
      if (!held) return null;
      if (this.presented(held) !== presented) return held;
      await new Promise((r) => setTimeout(r, 10));
    }
    return null;
  }

  private async endOnServer(extra: Record<string, unknown>, reason: LogoutReason): Promise<void> {
    const session = this.held();
    try {
      // In the cookie transport the cookie names the session even before this tab has a pair.
      if (session || this.cookie) {
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (session) headers.Authorization = `Bearer ${session.access}`;
        const body = session?.refresh ? { refresh_token: session.refresh, ...extra } : extra;
        const resp = await this.http(`${this.base}/logout`, {
          method: "POST",
          headers,
          body: JSON.stringify(body),
          credentials: this.credentials(),
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
      credentials: this.credentials(),
      signal,
    });
  }

  /** The session cookie goes along (to another origin of the site too) in the cookie transport. */
  private credentials(): RequestCredentials {
    return this.cookie ? "include" : "same-origin";
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

  /**
   * Keeps a login's or refresh's answer: both tokens in storage (body transport), or the access
   * token in memory and only a hint in storage (cookie transport: the answer carries no refresh
   * token, and whatever a body-transport session left in storage is overwritten).
   */
  private async save(pair: { access_token: string; refresh_token?: string; session_id?: string }): Promise<Held> {
    const sessionId = pair.session_id ?? this.held()?.sessionId ?? null;
    if (this.cookie) {
      const session: Held = { access: pair.access_token, refresh: null, sessionId };
      this.store.write({ v: 2, transport: "cookie", sessionId });
      await this.take(session);
      return session;
    }
    const session = { v: 2 as const, access: pair.access_token, refresh: pair.refresh_token ?? "", sessionId };
    this.store.write(session);
    this.adopt(session);
    return session;
  }

  /** Cookie transport: holds `session` in memory (unless this tab holds a newer one). */
  private async take(session: Held): Promise<void> {
    if (this.memory && issuedAt(this.memory.access) > issuedAt(session.access)) return;
    this.memory = session;
    await this.markLive();
    this.adopt(session);
  }

  /** Cookie transport: a Web Lock, held while this tab has a pair, that other tabs can see. */
  private markLive(): Promise<void> {
    if (this.releaseLive || !this.lockManager) return Promise.resolve();
    const name = `${this.liveLockPrefix()}${Math.random().toString(36).slice(2)}`;
    return new Promise<void>((granted) => {
      void this.lockManager?.request(name, () => {
        granted();
        return new Promise<void>((release) => {
          this.releaseLive = release;
        });
      });
    });
  }

  private tell(message: Message): void {
    this.channel?.postMessage(message);
  }

  private heard(m: Message | null): void {
    if (m?.type === "rotated" && isHeldPair(m.session)) {
      if (typeof m.spent === "string") this.announced.set(m.spent, m.session);
      if (this.cookie) void this.take(m.session);
    } else if (m?.type === "ask" && this.cookie && this.memory) {
      this.tell({ type: "rotated", spent: null, session: this.memory });
    } else if (m?.type === "ended" && this.cookie) {
      this.end("other-tab", false);
    }
  }

  /** Takes `session` as this tab's state (after a save here or in another tab). */
  private adopt(session: Held): void {
    this.schedule(session);
    if (this.current.status !== "logged-in" || this.current.sessionId !== session.sessionId) {
      this.emit({ status: "logged-in", sessionId: session.sessionId });
    }
  }

  /** Forgets the tokens and tells everyone, once per logged-in period. */
  private end(reason: LogoutReason, tellOthers = true): void {
    // A private app's passports belong to the account that leaves: forget them on this device.
    const account = accountOf(this.held()?.access);
    if (account) this.apps.forgetUser(account);
    this.store.clear();
    this.memory = null;
    this.releaseLive?.();
    this.releaseLive = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.current.status === "logged-out") return;
    // Cookie transport: the other tabs share this session and have no storage event to see.
    if (this.cookie && tellOthers) this.tell({ type: "ended" });
    this.emit({ status: "logged-out", reason });
    this.options.onLogout?.(reason);
  }

  private emit(status: Status): void {
    this.current = status;
    const state = this.state();
    for (const l of [...this.listeners]) l(state);
  }

  private storageChanged(e: StorageEvent): void {
    if (e.key !== this.store.key && e.key !== null) return;
    const stored = this.store.readAny();
    if (!stored) {
      this.end("other-tab", false);
    } else if (!this.cookie) {
      const session = this.store.read();
      if (session) this.adopt(session);
    }
    // Cookie transport: a new hint means another tab logged in; its pair comes on the channel.
  }

  /** Seconds before expiry at which a refresh is due for `access`. */
  private skew(access: string): number {
    const times = readTimes(access);
    const max = this.options.refreshSkewSeconds ?? 30;
    if (!times) return max;
    const life = times.iat !== undefined ? times.exp - times.iat : Infinity;
    return Math.max(0, Math.min(max, life / 4));
  }

  private expiringSoon(session: Held): boolean {
    const times = readTimes(session.access);
    if (!times) return false;
    return Date.now() / 1000 >= times.exp - this.skew(session.access);
  }

  private schedule(session: Held | null): void {
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
  private proactive(session: Held): void {
    this.timer = null;
    this.refresh(this.presented(session), "expiry").then(
      () => {
        this.failures = 0;
      },
      () => {
        const latest = this.held();
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
