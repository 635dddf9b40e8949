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
import { browserLocks, type LockManagerLike } from "./lock.js";
import { ObtainOnce, type ObtainStep } from "./obtain.js";
import {
  SafeStorage,
  SessionStore,
  browserStorage,
  type StorageMode,
  type TokenStorage,
} from "./storage.js";

import { Passports } from "./passports.js";
import { PassportError, errorOf, isPassportAnswer } from "./errors.js";
import { secondFactor, type SecondFactor } from "./mfa.js";
import { connectedProviders, type ConnectedProviders } from "./federation.js";
import {
  BodyTransport,
  CookieTransport,
  RESTORE,
  type Held,
  type PairJson,
  type TransportStrategy,
} from "./transports.js";

export type { TokenStorage, StoredSession, CookieHint, StorageMode } from "./storage.js";
export type { AccessTokenJson, PassportGrant } from "./passports.js";
export { ANONYMOUS, passportsKey, upgradeAccessTokenJson } from "./passports.js";
export type { LockManagerLike } from "./lock.js";
export { PassportError } from "./errors.js";
export { accounts, type Accounts } from "./accounts.js";
export type { SecondFactor, SecondFactorStatus, AuthenticatorSetup } from "./mfa.js";
export { identityProviders, providerSignInUrl, providerReturn } from "./federation.js";
export type { IdentityProvider, ConnectedProvider, ConnectedProviders, ProviderReturn } from "./federation.js";
export type { ReauthenticationProof, Authentication, PasskeyInfo, DeviceSession, Me, ActivityEvent, ActivityPage } from "./types.js";
import type { ReauthenticationProof, Authentication, PasskeyInfo, DeviceSession, Me, ActivityPage } from "./types.js";
export type { ObtainStep } from "./obtain.js";
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
  /**
   * Sees each step of every cross-tab obtain (a refresh, a restore, a passport), with the
   * obtain's key: README.md, "Across tabs". For tests and debugging.
   */
  onObtainStep?: (key: string, step: ObtainStep) => void;
  /**
   * Asked when Passport answers 403 `reauthentication_required` (a dangerous action and an old
   * sign-in): resolve to the proof to send to `POST /reauthenticate` — `{ password }` or
   * `{ passkey: true }` — or `null` to give up. The action is then retried once.
   */
  reauthenticationPrompt?: () => Promise<ReauthenticationProof | null>;
}

/** The client: create one per Passport deployment and page. */
export interface Session {
  login(email: string, password: string, device?: string): Promise<void>;
  /** A drop-in `fetch` that sends `Authorization: Bearer <access token>`. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  logout(): Promise<void>;
  logoutEverywhere(): Promise<void>;
  sessions(): Promise<DeviceSession[]>;
  /** The account's security history, newest first; `before` is the previous page's `next`. */
  activity(page?: { before?: number; limit?: number }): Promise<ActivityPage>;
  revoke(sessionId: string): Promise<void>;
  me(): Promise<Me>;
  /** Proves the session again (`POST /reauthenticate`): its `auth_time` becomes now. */
  reauthenticate(proof: ReauthenticationProof): Promise<Authentication>;
  /** Signs in with a passkey (discoverable: `email` is optional; when given, it must match). */
  loginWithPasskey(email?: string, device?: string): Promise<void>;
  /** Signs in with the six-digit code `accounts(...).requestEmailCode` mailed. */
  loginWithEmailCode(email: string, code: string, device?: string): Promise<void>;
  /**
   * Completes a sign-in that answered `mfa_required` (`PassportError.challenge`) with the
   * authenticator's code or a recovery code.
   */
  completeSignIn(challenge: string, proof: { code: string } | { recoveryCode: string }, device?: string): Promise<void>;
  /** The second factor: an authenticator app and recovery codes. */
  readonly mfa: SecondFactor;
  /**
   * Signs in with the one-time code an identity provider's sign-in brought back
   * (`providerReturn(location.hash)`), once and within 30 seconds.
   */
  loginWithProviderCode(code: string, device?: string): Promise<void>;
  /** The identity providers connected to the account: list, connect, disconnect. */
  readonly providers: ConnectedProviders;
  /** Moves the account to `email` once that address confirms (asks to reauthenticate first). */
  changeEmail(email: string): Promise<void>;
  /** Registers a new passkey with the browser's authenticator. */
  registerPasskey(name?: string): Promise<PasskeyInfo>;
  passkeys(): Promise<PasskeyInfo[]>;
  removePasskey(id: string): Promise<void>;
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
/** What a guarded route answers for a token it does not take: the authorizer's refusal. */
const DENIED = new Set([401, 403]);
/** Backoff for a failed proactive refresh: 1 s, 2 s, 4 s, … up to this, then the next call's. */
const RETRY_MAX_MS = 30_000;

/** A short, non-secret name for a refresh token (lock names are listed by `locks.query()`). */
async function fingerprint(token: string): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
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

/** The account an access token names (`sub`), to file its passports; never trusted. */
function accountOf(access: string | undefined): string | null {
  return access ? readClaim(access, "sub") : null;
}

/** A ceremony's options as Passport sends them. */
interface CeremonyJson {
  ceremony: string;
  publicKey: unknown;
}

class Client implements Session {
  private readonly base: string;
  private readonly transport: TransportStrategy;
  private readonly store: SessionStore;
  private readonly storage: SafeStorage;
  private readonly webLocks: LockManagerLike | null;
  private readonly http: typeof fetch;
  private readonly listeners = new Set<(s: SessionState) => void>();
  private readonly once: ObtainOnce;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private current: Status;
  private readonly apiOrigins: Set<string>;
  /** Failed proactive refreshes in a row (for the backoff). */
  private failures = 0;
  private readonly onStorage = (e: StorageEvent) => this.storageChanged(e);
  /** Pairs other tabs announced, by the fingerprint of the token they spent. */
  private readonly announced = new Map<string, Held>();
  private readonly channel: BroadcastChannel | null;
  private readonly apps: Passports;

  constructor(private readonly options: SessionOptions) {
    this.base = options.baseUrl.replace(/\/+$/, "");
    this.storage = new SafeStorage(options.storage ?? browserStorage(), () => this.emit(this.current));
    this.store = new SessionStore(this.storage, this.base);
    this.webLocks = options.locks === undefined ? browserLocks() : options.locks;
    this.transport =
      options.transport === "cookie"
        ? new CookieTransport(this.store, () => this.lockManager, this.liveLockPrefix())
        : new BodyTransport(this.store);
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
    this.once = new ObtainOnce(() => this.lockManager, this.storage, options.onObtainStep);
    this.apps = new Passports({
      base: this.base,
      once: this.once,
      storage: this.storage,
      account: () => accountOf(this.held()?.access),
      request: (appCode, body) => this.requestPassport(appCode, body),
      http: this.http,
      error: errorOf,
    });
    this.channel?.addEventListener("message", (e: MessageEvent) => this.heard(e.data as Message));
    if (!this.transport.inCookie) {
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
    this.transport.close();
  }

  async login(email: string, password: string, device?: string): Promise<void> {
    await this.signIn("/login", { email, password }, device);
  }

  /**
   * A sign-in at `path` (`/login`, `/login/passkey`): the transport's fields and the device
   * name go with `fields`, and the answer's pair is kept (and told to the other tabs in the
   * cookie transport).
   */
  private async signIn(path: string, fields: Record<string, unknown>, device?: string): Promise<void> {
    const body: Record<string, unknown> = { ...fields, ...this.transport.loginFields };
    if (device) body.device = device;
    const resp = await this.post(path, body);
    if (!resp.ok) throw await errorOf(resp);
    const session = await this.save(await resp.json());
    if (this.transport.inCookie) this.tell({ type: "rotated", spent: null, session });
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let session = this.held();
    if (!session && this.transport.inCookie && this.current.status === "logged-in") session = await this.restore();
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
    if (!DENIED.has(first.status) || (await isPassportAnswer(first))) return first;

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
    // Ending every session needs a recent sign-in: the prompt, then once more. Refused for
    // that alone, nothing ended and this tab stays signed in; otherwise this side forgets the
    // tokens whatever the server said, as `logout` does.
    try {
      await this.withRecentAuthentication(async () => {
        const resp = await this.logoutRequest({ all: true });
        if (resp && !resp.ok && resp.status !== 401) throw await errorOf(resp);
      });
    } catch (e) {
      if (e instanceof PassportError && e.code === "reauthentication_required") throw e;
      this.end("logout-everywhere");
      throw e;
    }
    this.end("logout-everywhere");
  }

  async reauthenticate(proof: ReauthenticationProof): Promise<Authentication> {
    let body: Record<string, unknown>;
    if ("password" in proof) {
      body = { password: proof.password };
      if (proof.code) body.code = proof.code;
      else if (proof.recoveryCode) body.recovery_code = proof.recoveryCode;
    } else {
      const { ceremony, credential } = await this.passkeyAssertion();
      body = { ceremony, credential };
    }
    const resp = await this.fetch(`${this.base}/reauthenticate`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw await errorOf(resp);
    return (await resp.json()) as Authentication;
  }

  async loginWithPasskey(email?: string, device?: string): Promise<void> {
    const { ceremony, credential } = await this.passkeyAssertion();
    await this.signIn("/login/passkey", email ? { ceremony, credential, email } : { ceremony, credential }, device);
  }

  async loginWithEmailCode(email: string, code: string, device?: string): Promise<void> {
    await this.signIn("/login/email-code/verify", { email, code }, device);
  }

  async completeSignIn(challenge: string, proof: { code: string } | { recoveryCode: string }, device?: string) {
    const second = "code" in proof ? { code: proof.code } : { recovery_code: proof.recoveryCode };
    await this.signIn("/login/mfa", { challenge, ...second }, device);
  }

  async loginWithProviderCode(code: string, device?: string) {
    await this.signIn("/oauth/token", { code }, device);
  }

  readonly providers: ConnectedProviders = connectedProviders(
    () => this.base,
    (path, init) => this.fetch(`${this.base}${path}`, init),
    (action) => this.withRecentAuthentication(action),
  );

  readonly mfa: SecondFactor = secondFactor(
    (path, init) => this.fetch(`${this.base}${path}`, init),
    (action) => this.withRecentAuthentication(action),
  );

  async changeEmail(email: string): Promise<void> {
    await this.withRecentAuthentication(async () => {
      const resp = await this.fetch(`${this.base}/email`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email }),
      });
      if (!resp.ok) throw await errorOf(resp);
    });
  }

  async registerPasskey(name?: string): Promise<PasskeyInfo> {
    return this.withRecentAuthentication(async () => {
      const options = await this.fetch(`${this.base}/passkeys/registration/options`, { method: "POST" });
      if (!options.ok) throw await errorOf(options);
      const { ceremony, publicKey } = (await options.json()) as CeremonyJson;
      const created = (await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey as PublicKeyCredentialCreationOptionsJSON),
      })) as PublicKeyCredential | null;
      if (!created) throw new PassportError(0, "cancelled", "no passkey was created");
      const resp = await this.fetch(`${this.base}/passkeys`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ceremony, credential: created.toJSON(), ...(name ? { name } : {}) }),
      });
      if (!resp.ok) throw await errorOf(resp);
      return (await resp.json()) as PasskeyInfo;
    });
  }

  async passkeys(): Promise<PasskeyInfo[]> {
    return (await this.getJson<{ passkeys: PasskeyInfo[] }>("/passkeys")).passkeys;
  }

  async removePasskey(id: string): Promise<void> {
    await this.withRecentAuthentication(async () => {
      const resp = await this.fetch(`${this.base}/passkeys/${encodeURIComponent(id)}`, { method: "DELETE" });
      if (!resp.ok) throw await errorOf(resp);
    });
  }

  /** A passkey's answer to a fresh sign-in challenge (`POST /login/passkey/options`). */
  private async passkeyAssertion(): Promise<{ ceremony: string; credential: unknown }> {
    const options = await this.post("/login/passkey/options", {});
    if (!options.ok) throw await errorOf(options);
    const { ceremony, publicKey } = (await options.json()) as CeremonyJson;
    const got = (await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey as PublicKeyCredentialRequestOptionsJSON),
    })) as PublicKeyCredential | null;
    if (!got) throw new PassportError(0, "cancelled", "no passkey answered");
    return { ceremony, credential: got.toJSON() };
  }

  /**
   * Runs `action`; when Passport answers `reauthentication_required`, asks the app's prompt
   * for a proof, reauthenticates, and runs `action` once more.
   */
  private async withRecentAuthentication<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (e) {
      const prompt = this.options.reauthenticationPrompt;
      if (!(e instanceof PassportError) || e.code !== "reauthentication_required" || !prompt) throw e;
      const proof = await prompt();
      if (!proof) throw e;
      await this.reauthenticate(proof);
      return action();
    }
  }

  async sessions(): Promise<DeviceSession[]> {
    return (await this.getJson<{ sessions: DeviceSession[] }>("/sessions")).sessions;
  }

  async activity(page: { before?: number; limit?: number } = {}): Promise<ActivityPage> {
    const q = Object.entries(page).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    return this.getJson<ActivityPage>(`/activity${q.length ? `?${q.join("&")}` : ""}`);
  }

  async revoke(sessionId: string): Promise<void> {
    await this.withRecentAuthentication(async () => {
      const resp = await this.fetch(`${this.base}/sessions/${encodeURIComponent(sessionId)}`, {
        method: "DELETE",
      });
      if (!resp.ok) throw await errorOf(resp);
    });
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
    if (!session && this.transport.inCookie && this.current.status === "logged-in") session = await this.restore();
    if (session && this.expiringSoon(session)) session = await this.refresh(this.presented(session), "expiry");
    const headers: Record<string, string> = { "Content-Type": "application/json", "X-App-Code": appCode };
    if (session) headers.Authorization = `Bearer ${session.access}`;
    return this.http(`${this.base}/passport`, { method: "POST", headers, body: JSON.stringify(body) });
  }

  async me(): Promise<Me> {
    return this.getJson<Me>("/me");
  }

  /** The JSON answer to an authenticated `GET` of `path`; an error answer throws. */
  private async getJson<T>(path: string): Promise<T> {
    const resp = await this.fetch(`${this.base}${path}`);
    if (!resp.ok) throw await errorOf(resp);
    return (await resp.json()) as T;
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
    return this.transport.held();
  }

  /** What a refresh of `session` presents, and what names it across tabs. */
  private presented(session: Held): string {
    return this.transport.presented(session);
  }

  /** Cookie transport: the pair from another tab, or one refresh through the cookie. */
  private restore(): Promise<Held | null> {
    return this.refresh(RESTORE, "restore");
  }

  /**
   * Trades `presented` for a new pair, once per tab (callers share one promise) and once across
   * tabs (`ObtainOnce`: a tab that waited uses the pair another tab got). A cookie session's
   * restore (`presented` is `RESTORE`) first asks a tab that holds a pair. Resolves to `null`
   * when the session is over.
   */
  private async refresh(presented: string, why: "expiry" | "unauthorized" | "restore"): Promise<Held | null> {
    // A spent token is named by its fingerprint, in mark names any tab can list; the hand-over
    // needs a lock manager that can list them.
    const canList = typeof this.lockManager?.query === "function";
    const spent = presented !== RESTORE && canList ? await fingerprint(presented) : null;
    const restoring = presented === RESTORE;
    const got = await this.once.run<Held>({
      key: "refresh",
      lock: `passport-refresh:${this.base}`,
      waitOn: restoring ? (this.transport.inCookie && this.channel ? this.liveLockPrefix() : null) : spent && this.spentMark(spent),
      leave: () => (spent ? this.spentMark(spent) : null),
      usable: () => {
        const held = this.held();
        // Another tab rotated (or answered) while this one waited, or the pair is not due yet.
        if (held && (restoring || this.presented(held) !== presented)) return held;
        if (held && why === "expiry" && !this.expiringSoon(held)) return held;
        return (spent && this.announced.get(spent)) || null;
      },
      gone: () => !restoring && !this.held(),
      handingOver: restoring ? () => this.tell({ type: "ask" }) : undefined,
      obtain: () => this.rotate(),
      announce: (session) => {
        if (this.transport.inCookie || spent) this.tell({ type: "rotated", spent, session });
      },
    });
    if (got) this.adopt(got);
    else if (!restoring) this.end("other-tab");
    return got;
  }

  /** `POST /refresh-token`: the new pair, or `null` when the session is over. */
  private async rotate(): Promise<Held | null> {
    const held = this.held();
    const resp = await this.postWithin(
      REFRESH_PATH,
      this.transport.refreshBody(held),
      this.options.refreshTimeoutMs ?? 10_000,
    );
    if (resp.ok) return this.save(await resp.json());
    if (resp.status === 400 || resp.status === 401) {
      this.end("refresh-failed");
      return null;
    }
    // 429, 503, a proxy's 502: the session may be fine; keep the tokens, tell the caller.
    throw await errorOf(resp);
  }

  /** The marks that say "this refresh token was just spent" (by its fingerprint). */
  private spentMark(spent: string): string {
    return `passport-spent:${this.base}:${spent}:`;
  }

  /** The Web Locks of tabs that hold a cookie session's pair. */
  private liveLockPrefix(): string {
    return `passport-live:${this.base}:`;
  }

  private async endOnServer(extra: Record<string, unknown>, reason: LogoutReason): Promise<void> {
    try {
      const resp = await this.logoutRequest(extra);
      if (resp && !resp.ok && resp.status !== 401) throw await errorOf(resp);
    } finally {
      // The user asked to leave: this side forgets the tokens whatever the server said.
      this.end(reason);
    }
  }

  /** `POST /logout` with this tab's credentials (none to send: `null`). */
  private async logoutRequest(extra: Record<string, unknown>): Promise<Response | null> {
    const session = this.held();
    // In the cookie transport the cookie names the session even before this tab has a pair.
    if (!session && !this.transport.inCookie) return null;
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (session) headers.Authorization = `Bearer ${session.access}`;
    const body = session?.refresh ? { refresh_token: session.refresh, ...extra } : extra;
    return this.http(`${this.base}/logout`, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      credentials: this.credentials(),
    });
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
    return this.transport.credentials;
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

  /** Keeps a login's or refresh's answer, as the transport keeps it, and adopts it. */
  private async save(pair: PairJson): Promise<Held> {
    const sessionId = pair.session_id ?? this.held()?.sessionId ?? null;
    const { session, taken } = await this.transport.keep(pair, sessionId);
    if (taken) this.adopt(session);
    return session;
  }

  private tell(message: Message): void {
    this.channel?.postMessage(message);
  }

  private heard(m: Message | null): void {
    if (m?.type === "rotated" && isHeldPair(m.session)) {
      const session = m.session;
      if (typeof m.spent === "string") this.announced.set(m.spent, session);
      void this.transport.take(session).then((taken) => taken && this.adopt(session));
    } else if (m?.type === "ask") {
      const mine = this.transport.answerAsk();
      if (mine) this.tell({ type: "rotated", spent: null, session: mine });
    } else if (m?.type === "ended" && this.transport.inCookie) {
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
    this.transport.forget();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.current.status === "logged-out") return;
    // Cookie transport: the other tabs share this session and have no storage event to see.
    if (this.transport.inCookie && tellOthers) this.tell({ type: "ended" });
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
      return;
    }
    const session = this.transport.fromStorage();
    if (session) this.adopt(session);
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
