/** What the session client's requests answer and take: the shapes of Passport's JSON. */

/**
 * How a session proves itself again: its password (with the authenticator's `code` or a
 * `recoveryCode`, which make it two factors), or a passkey of the account.
 */
export type ReauthenticationProof =
  | { password: string; code?: string; recoveryCode?: string }
  | { passkey: true };

/** How and when a session authenticated (RFC 8176 method names). */
export interface Authentication {
  auth_time: string;
  amr: string[];
  /** `aal2` for two factors, else `aal1` (answered by `reauthenticate`). */
  acr?: string;
}

/** A passkey of the account. */
export interface PasskeyInfo {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** A device in the sessions list. */
export interface DeviceSession {
  session_id: string;
  device: string | null;
  /** What the server read from the User-Agent at login ("Chrome 156 on Linux"). */
  agent: string | null;
  auth_time: string;
  amr: string[];
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
}

/** One event of the account's security history (`GET /activity`). */
export interface ActivityEvent {
  /** Its number in the history: what pages count by. */
  id: number;
  /** `sign_in`, `sign_in_refused`, `password_changed`, `session_ended_as_stolen`… */
  event: string;
  at: string;
  /** The methods a sign-in proved (or a refused one tried). */
  amr: string[] | null;
  device: string | null;
  ip: string | null;
  /** `operator` when an operator made the change. */
  by: "operator" | null;
  /** A passkey's name. */
  detail: string | null;
  /** How many refusals in a row this entry stands for. */
  count: number;
}

/** A page of the history, newest first; `next` is the following page's `before`. */
export interface ActivityPage {
  events: ActivityEvent[];
  next: number | null;
}

/** Who the caller is. */
export interface Me extends Authentication {
  user_id: string;
  email: string;
  session_id: string;
}
