/**
 * Web-app passports on the browser's side: one passport per app and per user, kept in storage in
 * Dify's `accessTokenJson` shape (version 2, `{appCode: {userKey: passport}}`; version 1,
 * `{appCode: passport}`, is upgraded on read), obtained or renewed with `POST /passport` at most
 * once at a time across the tabs of an origin, and sent with `X-App-Code`.
 */

import { readClaim, readTimes } from "./jwt.js";
import type { ObtainOnce } from "./obtain.js";
import type { TokenStorage } from "./storage.js";

/** The user key of an anonymous visitor (Dify's `DEFAULT`). */
export const ANONYMOUS = "DEFAULT";

/** The storage key of one deployment's passports. */
export function passportsKey(baseUrl: string): string {
  return `passport.apps:${baseUrl}`;
}

/** Version 2: per app, per user key (an account id, or `DEFAULT`), the passport. */
export type AccessTokenJson = Record<string, Record<string, string>>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads `accessTokenJson` text of either version: a version-1 entry (`appCode: "token"`)
 * becomes `appCode: {DEFAULT: "token"}`; anything else unreadable is dropped. Returns the
 * version-2 object and whether it differs from what was stored (then it is written back).
 */
export function upgradeAccessTokenJson(text: string | null): { value: AccessTokenJson; changed: boolean } {
  let parsed: unknown = null;
  try {
    parsed = text === null ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  const value: AccessTokenJson = {};
  let changed = text !== null && !isObject(parsed);
  if (!isObject(parsed)) return { value, changed };
  for (const [app, entry] of Object.entries(parsed)) {
    if (typeof entry === "string") {
      if (entry) value[app] = { [ANONYMOUS]: entry };
      changed = true;
    } else if (isObject(entry)) {
      const users: Record<string, string> = {};
      for (const [user, token] of Object.entries(entry)) {
        if (typeof token === "string" && token) users[user] = token;
        else changed = true;
      }
      value[app] = users;
    } else {
      changed = true;
    }
  }
  return { value, changed };
}

/** What a passport's owner is filed under: its account for a private app, else `DEFAULT`. */
export function userKeyOf(passport: string): string {
  return readClaim(passport, "acct") ?? ANONYMOUS;
}

/** What `POST /passport` answers. */
export interface PassportGrant {
  passport: string;
  expires_in: number;
  end_user_id: string;
  app_code: string;
}

/** What the passports need from the session client. */
export interface PassportDeps {
  base: string;
  /** The client's cross-tab obtains, shared with its token refresh. */
  once: ObtainOnce;
  storage: TokenStorage;
  /** The signed-in account's id, or `null` (read from the access token, to file passports). */
  account: () => string | null;
  /** `POST /passport` with `body`, as the signed-in account when there is one. */
  request: (appCode: string, body: Record<string, string>) => Promise<Response>;
  /** Raw fetch (for `POST /passport/logout` and the app's calls). */
  http: typeof fetch;
  /** Turns a refusal into the client's error. */
  error: (resp: Response) => Promise<Error>;
}

/** Seconds before expiry at which a passport is renewed. */
const RENEW_SKEW_SECONDS = 60;

type Message = { type: "passport"; app: string; user: string; passport: string } | { type: "forget"; app: string; user: string };

/** One deployment's passports, for every app. */
export class Passports {
  private readonly key: string;
  private readonly channel: BroadcastChannel | null;
  /** Passports other tabs announced, by `app user`. */
  private readonly told = new Map<string, string>();

  constructor(private readonly deps: PassportDeps) {
    this.key = passportsKey(deps.base);
    try {
      this.channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(`passport-apps:${deps.base}`) : null;
    } catch {
      this.channel = null;
    }
    this.channel?.addEventListener("message", (e: MessageEvent) => {
      const m = e.data as Message | null;
      if (m?.type === "passport" && typeof m.passport === "string") this.told.set(`${m.app} ${m.user}`, m.passport);
      if (m?.type === "forget") this.told.delete(`${m.app} ${m.user}`);
    });
  }

  close(): void {
    this.channel?.close();
  }

  /** The stored passports, upgraded to version 2 (and written back when that changed them). */
  read(): AccessTokenJson {
    const { value, changed } = upgradeAccessTokenJson(this.deps.storage.getItem(this.key));
    if (changed) this.write(value);
    return value;
  }

  /** A live passport for `appCode`: the stored one, or one obtained or renewed now. */
  passport(appCode: string): Promise<string> {
    const stored = this.stored(appCode);
    if (stored && !expiringSoon(stored)) return Promise.resolve(stored);
    return this.obtain(appCode, stored);
  }

  /**
   * Sends a request to a shared app's API with the passport and `X-App-Code`; on a refusal (401
   * or 403, as API Gateway answers for the app authorizer) renews the passport once and retries.
   */
  async fetch(appCode: string, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const passport = await this.passport(appCode);
    const request = new Request(input, init);
    const retry = request.clone();
    const first = await this.deps.http(withPassport(request, appCode, passport));
    if (first.status !== 401 && first.status !== 403) return first;
    const renewed = await this.obtain(appCode, passport, true);
    return this.deps.http(withPassport(retry, appCode, renewed));
  }

  /** Ends the app's passport session on the server and forgets the passport here. */
  async logout(appCode: string): Promise<void> {
    const passport = this.stored(appCode);
    if (!passport) return;
    try {
      const resp = await this.deps.http(`${this.deps.base}/passport/logout`, {
        method: "POST",
        headers: { Authorization: `Bearer ${passport}`, "X-App-Code": appCode },
      });
      if (!resp.ok && resp.status !== 401) throw await this.deps.error(resp);
    } finally {
      this.forget(appCode, userKeyOf(passport));
    }
  }

  /** Forgets every passport filed under `user` (an account that logged out). */
  forgetUser(user: string): void {
    const all = this.read();
    let changed = false;
    for (const [app, users] of Object.entries(all)) {
      if (user in users) {
        delete users[user];
        if (Object.keys(users).length === 0) delete all[app];
        changed = true;
      }
    }
    if (changed) this.write(all);
  }

  /** The stored passport for `appCode` and the current user (the account's, else anonymous). */
  private stored(appCode: string): string | null {
    const users = this.read()[appCode] ?? {};
    const account = this.deps.account();
    return (account ? users[account] : undefined) ?? users[ANONYMOUS] ?? null;
  }

  /**
   * `POST /passport` once per tab and once across tabs (`ObtainOnce`): a tab that waited uses
   * the passport another tab got, from storage or, since storage writes reach other tabs'
   * processes late in Chromium, from its announcement. `force` asks for a new one even when the
   * stored one looks live (the app refused it).
   */
  private async obtain(appCode: string, previous: string | null, force = false): Promise<string> {
    const user = this.deps.account() ?? ANONYMOUS;
    const got = await this.deps.once.run<string>({
      key: `passport ${appCode}${force ? " force" : ""}`,
      lock: `passport-issue:${this.deps.base}:${appCode}`,
      waitOn: this.markPrefix(appCode, user),
      leave: (passport) => this.markPrefix(appCode, userKeyOf(passport)),
      usable: () => {
        const seen = this.told.get(`${appCode} ${user}`) ?? this.stored(appCode);
        return seen && !expiringSoon(seen) && (seen !== previous || !force) ? seen : null;
      },
      obtain: () => this.issue(appCode, this.told.get(`${appCode} ${user}`) ?? previous),
      announce: (passport) =>
        this.channel?.postMessage({
          type: "passport",
          app: appCode,
          user: userKeyOf(passport),
          passport,
        } satisfies Message),
    });
    // `issue` throws rather than answer `null`, and there is no `gone`: never null.
    if (got === null) throw new Error("no passport");
    return got;
  }

  /** `POST /passport`, keeping the end user of the stored (or `previous`) passport; files it. */
  private async issue(appCode: string, previous: string | null): Promise<string> {
    const body: Record<string, string> = {};
    const keep = this.stored(appCode) ?? previous;
    if (keep) body.passport = keep;
    const resp = await this.deps.request(appCode, body);
    if (!resp.ok) throw await this.deps.error(resp);
    const grant = (await resp.json()) as PassportGrant;
    const all = this.read();
    all[appCode] = { ...(all[appCode] ?? {}), [userKeyOf(grant.passport)]: grant.passport };
    this.write(all);
    return grant.passport;
  }

  /** The names of the Web Locks that say "a passport for this app and user was just issued". */
  private markPrefix(appCode: string, user: string): string {
    return `passport-issued:${this.deps.base}:${appCode}:${user}:`;
  }

  private forget(appCode: string, user: string): void {
    const all = this.read();
    if (all[appCode]) {
      delete all[appCode][user];
      if (Object.keys(all[appCode]).length === 0) delete all[appCode];
      this.write(all);
    }
    this.told.delete(`${appCode} ${user}`);
    this.channel?.postMessage({ type: "forget", app: appCode, user } satisfies Message);
  }

  private write(value: AccessTokenJson): void {
    if (Object.keys(value).length === 0) this.deps.storage.removeItem(this.key);
    else this.deps.storage.setItem(this.key, JSON.stringify(value));
  }
}

function expiringSoon(passport: string): boolean {
  const t = readTimes(passport);
  if (!t) return true;
  return Date.now() / 1000 >= t.exp - RENEW_SKEW_SECONDS;
}

function withPassport(request: Request, appCode: string, passport: string): Request {
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${passport}`);
  headers.set("X-App-Code", appCode);
  return new Request(request, { headers });
}
