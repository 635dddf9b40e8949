/**
 * The two transports of the refresh token as two small strategies: what a tab holds, what a
 * refresh presents and sends, how an answer is kept, and what storage tells of another tab. The
 * client (`index.ts`) is one for both; where it still asks which one it has, it asks
 * {@link TransportStrategy.inCookie}.
 */

import type { LockManagerLike } from "./lock.js";
import { readTimes } from "./jwt.js";
import type { SessionStore } from "./storage.js";

/** What a tab with no pair presents to restore a cookie session: it holds no token yet. */
export const RESTORE = "";

/** The tokens a tab holds; in the cookie transport `refresh` is `null` (the cookie has it). */
export interface Held {
  access: string;
  refresh: string | null;
  sessionId: string | null;
}

/** What a login or refresh answers. */
export interface PairJson {
  access_token: string;
  refresh_token?: string;
  session_id?: string;
}

/** What differs between the transports. */
export interface TransportStrategy {
  /** `fetch`'s credentials for Passport's own routes: the cookie goes along only when it holds the session. */
  readonly credentials: RequestCredentials;
  /** The extra fields of `POST /login`. */
  readonly loginFields: Record<string, string>;
  /**
   * The session lives in the `HttpOnly` cookie, and the pair in each tab's memory: so a tab with
   * no pair restores it through one refresh, tabs tell each other of each new pair and of the
   * end (no storage event carries them), and logout is sent even with no pair (the cookie names
   * the session).
   */
  readonly inCookie: boolean;
  /** The pair this tab holds. */
  held(): Held | null;
  /** What a refresh of `held` presents; it names the pair across tabs. */
  presented(held: Held): string;
  /** The body of `POST /refresh-token`. */
  refreshBody(held: Held | null): Record<string, string>;
  /** Keeps a login's or refresh's answer; `taken` is false when this tab holds a newer pair. */
  keep(pair: PairJson, sessionId: string | null): Promise<{ session: Held; taken: boolean }>;
  /** Takes a pair another tab announced; `true` when this tab now holds it. */
  take(session: Held): Promise<boolean>;
  /** What this tab hands a tab that asks for the pair, if anything. */
  answerAsk(): Held | null;
  /** The pair to adopt after another tab changed storage, if any. */
  fromStorage(): Held | null;
  /** Forgets this tab's pair (storage is the client's to clear). */
  forget(): void;
  /** Lets go of what other tabs can see of this one (the pair stays). */
  close(): void;
}

/** `"body"`: both tokens in storage, shared by the tabs through it. */
export class BodyTransport implements TransportStrategy {
  readonly credentials: RequestCredentials = "same-origin";
  readonly loginFields: Record<string, string> = {};
  readonly inCookie = false;

  constructor(private readonly store: SessionStore) {}

  held(): Held | null {
    return this.store.read();
  }

  presented(held: Held): string {
    return held.refresh ?? RESTORE;
  }

  refreshBody(held: Held | null): Record<string, string> {
    return { refresh_token: held?.refresh ?? "" };
  }

  async keep(pair: PairJson, sessionId: string | null): Promise<{ session: Held; taken: boolean }> {
    const session = { v: 2 as const, access: pair.access_token, refresh: pair.refresh_token ?? "", sessionId };
    this.store.write(session);
    return { session, taken: true };
  }

  async take(): Promise<boolean> {
    return false;
  }

  answerAsk(): Held | null {
    return null;
  }

  fromStorage(): Held | null {
    return this.store.read();
  }

  forget(): void {}

  close(): void {}
}

/**
 * `"cookie"`: the refresh token in Passport's `HttpOnly` cookie, the access token in this tab's
 * memory, and only a hint ("there is a session") in storage. While it holds a pair, the tab
 * holds a Web Lock named under `liveLocks`, which other tabs list before asking for it.
 */
export class CookieTransport implements TransportStrategy {
  readonly credentials: RequestCredentials = "include";
  readonly loginFields: Record<string, string> = { transport: "cookie" };
  readonly inCookie = true;
  private memory: Held | null = null;
  private releaseLive: (() => void) | null = null;

  constructor(
    private readonly store: SessionStore,
    private readonly locks: () => LockManagerLike | null,
    private readonly liveLocks: string,
  ) {}

  held(): Held | null {
    return this.memory;
  }

  presented(held: Held): string {
    return held.access;
  }

  /** Nothing: the cookie carries the token; or a body-transport token left in storage, moved to the cookie. */
  refreshBody(): Record<string, string> {
    const left = this.store.read();
    return left ? { refresh_token: left.refresh, transport: "cookie" } : {};
  }

  /** The answer carries no refresh token; whatever a body-transport session left in storage is overwritten. */
  async keep(pair: PairJson, sessionId: string | null): Promise<{ session: Held; taken: boolean }> {
    const session: Held = { access: pair.access_token, refresh: null, sessionId };
    this.store.write({ v: 2, transport: "cookie", sessionId });
    return { session, taken: await this.take(session) };
  }

  async take(session: Held): Promise<boolean> {
    if (this.memory && issuedAt(this.memory.access) > issuedAt(session.access)) return false;
    this.memory = session;
    await this.markLive();
    return true;
  }

  answerAsk(): Held | null {
    return this.memory;
  }

  /** A new hint means another tab logged in: its pair comes on the channel, not from storage. */
  fromStorage(): Held | null {
    return null;
  }

  forget(): void {
    this.memory = null;
    this.close();
  }

  close(): void {
    this.releaseLive?.();
    this.releaseLive = null;
  }

  /** Holds a Web Lock while this tab has a pair, which other tabs can see. */
  private markLive(): Promise<void> {
    const locks = this.locks();
    if (this.releaseLive || !locks) return Promise.resolve();
    const name = `${this.liveLocks}${Math.random().toString(36).slice(2)}`;
    return new Promise<void>((granted) => {
      void locks.request(name, () => {
        granted();
        return new Promise<void>((release) => {
          this.releaseLive = release;
        });
      });
    });
  }
}

/** The token's `iat`, to tell a newer pair from an older one. */
function issuedAt(access: string): number {
  const t = readTimes(access);
  return t?.iat ?? t?.exp ?? 0;
}
