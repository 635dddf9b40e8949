/**
 * One refresh at a time across the tabs of an origin: the Web Locks API where the browser has
 * it, otherwise a lock entry in storage that expires, so a closed tab cannot hold it forever.
 */

import type { TokenStorage } from "./storage.js";

/** The part of `navigator.locks` the client uses (`query` for the refresh hand-over). */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
  query?(): Promise<{ held?: { name?: string }[] }>;
}

/** How long a tab holds the lock that says "this refresh token is spent". */
export const SPENT_MARK_MS = 60_000;

/**
 * Takes the lock `name` and holds it for `holdMs`, resolving once it is granted. Lock state
 * lives in the browser process and is ordered there: a tab that is granted another lock after
 * this one was granted sees it held in `query()` — unlike `localStorage`, whose writes reach
 * other tabs' processes asynchronously (Chromium), so the pair another tab just stored may not
 * be visible yet.
 */
export function holdFor(locks: LockManagerLike, name: string, holdMs: number): Promise<void> {
  return new Promise<void>((granted) => {
    void locks.request(name, () => {
      granted();
      return sleep(holdMs);
    });
  });
}

/** Whether some tab holds the lock `name`; `false` where the manager cannot say. */
export async function isHeld(locks: LockManagerLike, name: string): Promise<boolean> {
  if (typeof locks.query !== "function") return false;
  const state = await locks.query();
  return (state.held ?? []).some((l) => l.name === name);
}

/** Whether some tab holds a lock whose name starts with `prefix`; `false` where the manager cannot say. */
export async function anyHeld(locks: LockManagerLike, prefix: string): Promise<boolean> {
  if (typeof locks.query !== "function") return false;
  const state = await locks.query();
  return (state.held ?? []).some((l) => l.name?.startsWith(prefix));
}

/** How long a storage lock holds before others may take it over (a crashed tab's lock). */
export const STORAGE_LOCK_MS = 10_000;
const POLL_MS = 25;
/** Time for a racing tab's write to land before the owner re-reads its claim. */
const SETTLE_MS = 15;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The browser's lock manager, when there is one. */
export function browserLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === "function" ? nav.locks : null;
}

/** Runs `fn` holding the lock `name`: with `locks` when given, else through `storage`. */
export async function withLock<T>(
  name: string,
  locks: LockManagerLike | null,
  storage: TokenStorage,
  fn: () => Promise<T>,
): Promise<T> {
  if (locks) return locks.request(name, fn);
  const key = `passport.lock:${name}`;
  const owner = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  for (;;) {
    const held = readLock(storage, key);
    if (held === null || held.until <= Date.now()) {
      storage.setItem(key, JSON.stringify({ owner, until: Date.now() + STORAGE_LOCK_MS }));
      await sleep(SETTLE_MS);
      if (readLock(storage, key)?.owner === owner) break;
    } else {
      await sleep(POLL_MS);
    }
  }
  try {
    return await fn();
  } finally {
    if (readLock(storage, key)?.owner === owner) storage.removeItem(key);
  }
}

function readLock(storage: TokenStorage, key: string): { owner: string; until: number } | null {
  try {
    const v = JSON.parse(storage.getItem(key) ?? "null") as { owner?: unknown; until?: unknown } | null;
    return v && typeof v.owner === "string" && typeof v.until === "number"
      ? { owner: v.owner, until: v.until }
      : null;
  } catch {
    return null;
  }
}
