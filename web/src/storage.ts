/**
 * Where the tokens live: one versioned key per Passport deployment (keyed by its base URL),
 * with a reader that upgrades the previous format in place.
 */

/** The part of the Web Storage API the client uses (`localStorage` by default). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The stored session, format version 2. */
export interface StoredSession {
  v: 2;
  access: string;
  refresh: string;
  /** The session's id (from the login answer), to mark "this device" in a sessions list. */
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

  /** The stored session; a version-1 entry is upgraded in place; anything unreadable is dropped. */
  read(): StoredSession | null {
    const current = parse(this.storage.getItem(this.key));
    if (current !== null) {
      const s = current as Partial<StoredSession>;
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

  write(session: StoredSession): void {
    this.storage.setItem(this.key, JSON.stringify(session));
  }

  clear(): void {
    this.storage.removeItem(this.key);
    this.storage.removeItem(this.legacy);
  }
}
