/**
 * Where the session lives: one versioned key per Passport deployment (keyed by its base URL),
 * with a reader that upgrades the previous format in place — and, where `localStorage` is
 * blocked or throws, memory for the tab's life instead of a crash.
 */

/** The part of the Web Storage API the client uses (`localStorage` by default). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Where the session is kept: `localStorage`, or this tab's memory when it cannot be used. */
export type StorageMode = "local" | "memory";

/** The stored session of the body transport, format version 2. */
export interface StoredSession {
  v: 2;
  access: string;
  refresh: string;
  /** The session's id (from the login answer), to mark "this device" in a sessions list. */
  sessionId: string | null;
}

/**
 * What the cookie transport stores, format version 2 too: no token at all (the refresh token is
 * in the `HttpOnly` cookie, the access token in memory), only the fact that there is a session,
 * so that a new tab or a reload knows to restore it through one refresh.
 */
export interface CookieHint {
  v: 2;
  transport: "cookie";
  sessionId: string | null;
}

/** The key of the current format for the deployment at `baseUrl`. */
export function storageKey(baseUrl: string): string {
  return `passport.session.v2:${baseUrl}`;
}

/** The key of format version 1: a flat `{access_token, refresh_token}` object. */
export function legacyKey(baseUrl: string): string {
  return `passport.tokens:${baseUrl}`;
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function isString(v: unknown): v is string {
  return typeof v === "string" && v.length > 0;
}

/** Storage in a `Map`: what a tab keeps when `localStorage` cannot be used. */
export class MemoryStorage implements TokenStorage {
  private readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/**
 * `localStorage` as the browser gives it, or `null` when it cannot be used: site data blocked
 * (reading the property throws a `SecurityError` in Chromium), a sandboxed frame, or a write
 * that throws (a full quota, Safari's private mode of old).
 */
export function browserStorage(): TokenStorage | null {
  try {
    const s = (globalThis as { localStorage?: TokenStorage }).localStorage;
    if (!s) return null;
    const probe = "passport.probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return null;
  }
}

/**
 * A storage that never throws: it uses `inner` until a call to it throws, then memory for the
 * rest of the tab's life (and says so in `mode`).
 */
export class SafeStorage implements TokenStorage {
  private memory: MemoryStorage | null;

  constructor(
    private readonly inner: TokenStorage | null,
    private readonly onFallback: () => void = () => {},
  ) {
    this.memory = inner ? null : new MemoryStorage();
  }

  get mode(): StorageMode {
    return this.memory ? "memory" : "local";
  }

  getItem(key: string): string | null {
    return this.guard((s) => s.getItem(key));
  }

  setItem(key: string, value: string): void {
    this.guard((s) => s.setItem(key, value));
  }

  removeItem(key: string): void {
    this.guard((s) => s.removeItem(key));
  }

  private guard<T>(op: (s: TokenStorage) => T): T {
    if (!this.memory && this.inner) {
      try {
        return op(this.inner);
      } catch {
        this.memory = new MemoryStorage();
        this.onFallback();
      }
    }
    return op(this.memory as MemoryStorage);
  }
}

/** Reads and writes one deployment's session in `storage`. */
export class SessionStore {
  readonly key: string;
  private readonly legacy: string;

  constructor(
    private readonly storage: TokenStorage,
    baseUrl: string,
  ) {
    this.key = storageKey(baseUrl);
    this.legacy = legacyKey(baseUrl);
  }

  /** The body transport's session; `null` for none or for a cookie hint. */
  read(): StoredSession | null {
    const any = this.readAny();
    return any && "refresh" in any ? any : null;
  }

  /**
   * What is stored: a body-transport session, a cookie hint, or nothing. A version-1 entry is
   * upgraded in place; anything unreadable is dropped.
   */
  readAny(): StoredSession | CookieHint | null {
    const current = parse(this.storage.getItem(this.key));
    if (current !== null) {
      const s = current as Partial<StoredSession> & Partial<CookieHint>;
      if (s.v === 2 && s.transport === "cookie") {
        return { v: 2, transport: "cookie", sessionId: s.sessionId ?? null };
      }
      if (s.v === 2 && isString(s.access) && isString(s.refresh)) {
        return { v: 2, access: s.access, refresh: s.refresh, sessionId: s.sessionId ?? null };
      }
      this.storage.removeItem(this.key);
      return null;
    }
    const old = parse(this.storage.getItem(this.legacy)) as Record<string, unknown> | null;
    if (old === null) return null;
    this.storage.removeItem(this.legacy);
    if (!isString(old.access_token) || !isString(old.refresh_token)) return null;
    const upgraded: StoredSession = {
      v: 2,
      access: old.access_token,
      refresh: old.refresh_token,
      sessionId: null,
    };
    this.write(upgraded);
    return upgraded;
  }

  write(session: StoredSession | CookieHint): void {
    this.storage.setItem(this.key, JSON.stringify(session));
  }

  clear(): void {
    this.storage.removeItem(this.key);
    this.storage.removeItem(this.legacy);
  }
}
