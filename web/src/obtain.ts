/**
 * Obtaining one credential once across the tabs of an origin: the session's token pair (a
 * refresh, or a cookie session's restore) and a web-app passport go through the same steps.
 * README.md, "Across tabs", draws them.
 */

import { SPENT_MARK_MS, anyHeld, holdFor, withLock, type LockManagerLike } from "./lock.js";
import type { TokenStorage } from "./storage.js";

/**
 * The steps of one obtain, in the order a call can walk them:
 *
 * - `joined`: another call in this tab is obtaining the same thing: it shares that promise.
 * - `locked`: this tab holds the cross-tab lock; every other tab's obtain of it waits.
 * - `reused`: what this tab can see is usable (another tab obtained it while this one waited):
 *   nothing is asked.
 * - `gone`: there is nothing left to obtain for (another tab ended the session): `null`.
 * - `handing-over`: a mark says another tab has just obtained one that has not reached this tab
 *   (Chromium delivers storage writes to other tabs late): wait for it, at most
 *   {@link HAND_OVER_MS}, then `reused`, or `obtaining` if it never came.
 * - `obtaining`: ask Passport.
 * - `announced`: the new credential is told to the other tabs, and a mark held for
 *   `SPENT_MARK_MS` before the lock is released, so that the next holder waits for it rather
 *   than asking again.
 */
export type ObtainStep = "joined" | "locked" | "reused" | "gone" | "handing-over" | "obtaining" | "announced";

/** How long a tab that finds a fresh mark waits for what another tab obtained. */
export const HAND_OVER_MS = 5_000;
const POLL_MS = 10;

/** One thing to obtain, and where this tab looks for it. */
export interface Obtaining<T> {
  /** Calls in this tab with the same key share one obtain. */
  key: string;
  /** The cross-tab lock. */
  lock: string;
  /** The prefix of the marks to wait on (`handing-over`); `null` for none. */
  waitOn: string | null;
  /** The prefix of the mark to leave after obtaining `value`; `null` for none. */
  leave(value: T): string | null;
  /** What this tab can use now, if anything: its storage, its memory, an announcement. */
  usable(): T | null;
  /** Whether there is nothing left to obtain for (absent: there always is). */
  gone?(): boolean;
  /** Called on entering `handing-over` (a cookie session's restore asks the other tabs). */
  handingOver?(): void;
  /** Asks Passport; `null` when the answer ends the session. */
  obtain(): Promise<T | null>;
  /** Tells the other tabs what was obtained. */
  announce(value: T): void;
}

/** The obtains of one client; `onStep` sees every step (tests, debugging). */
export class ObtainOnce {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly locks: () => LockManagerLike | null,
    private readonly storage: TokenStorage,
    private readonly onStep: (key: string, step: ObtainStep) => void = () => {},
  ) {}

  /** Runs `o` unless this tab is already running an obtain with its key. */
  run<T>(o: Obtaining<T>): Promise<T | null> {
    const joined = this.inflight.get(o.key) as Promise<T | null> | undefined;
    if (joined) {
      this.onStep(o.key, "joined");
      return joined;
    }
    const p = withLock(o.lock, this.locks(), this.storage, () => this.holdingLock(o)).finally(() =>
      this.inflight.delete(o.key),
    );
    this.inflight.set(o.key, p);
    return p;
  }

  private async holdingLock<T>(o: Obtaining<T>): Promise<T | null> {
    const step = (s: ObtainStep) => this.onStep(o.key, s);
    step("locked");
    // What this tab can already answer with: a usable credential, or nothing left to obtain.
    const settled = (): { value: T | null } | null => {
      const seen = o.usable();
      if (seen !== null) {
        step("reused");
        return { value: seen };
      }
      if (o.gone?.()) {
        step("gone");
        return { value: null };
      }
      return null;
    };
    const now = settled();
    if (now) return now.value;
    const locks = this.locks();
    if (o.waitOn !== null && locks && (await anyHeld(locks, o.waitOn))) {
      step("handing-over");
      o.handingOver?.();
      const deadline = Date.now() + HAND_OVER_MS;
      while (Date.now() < deadline) {
        const handed = settled();
        if (handed) return handed.value;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    }
    step("obtaining");
    const got = await o.obtain();
    if (got === null) return null;
    o.announce(got);
    const mark = o.leave(got);
    if (mark !== null && locks) {
      // Each obtain its own name: a mark another tab still holds never delays this one.
      await holdFor(locks, `${mark}${Math.random().toString(36).slice(2)}`, SPENT_MARK_MS);
    }
    step("announced");
    return got;
  }
}
