/**
 * One refresh at a time across the tabs of an origin: the Web Locks API where the browser has
 * it, otherwise a lock entry in storage that expires, so a closed tab cannot hold it forever.
 */

import type { TokenStorage } from "./storage.js";

/** The part of `navigator.locks` the client uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
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
