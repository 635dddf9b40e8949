/**
 * The second factor, as the signed-in owner manages it: an authenticator app (TOTP) set up
 * from its QR code and confirmed with a first code, the recovery codes, and removing it. Each
 * request goes through the session's `fetch`; those that need a recent sign-in go through its
 * reauthentication prompt first.
 */

import { errorOf } from "./errors.js";

/** What `GET /mfa` says. */
export interface SecondFactorStatus {
  totp: boolean;
  totp_since?: string;
  recovery_codes_left: number;
}

/** A new authenticator secret, pending until confirmed (shown once). */
export interface AuthenticatorSetup {
  /** Base32, to type into the app. */
  secret: string;
  /** `otpauth://totp/…`, what the QR code holds. */
  otpauth_uri: string;
  /** The QR code, SVG. */
  qr_svg: string;
  /** Seconds left to confirm it. */
  expires_in: number;
}

/** The second factor's requests of a signed-in session. */
export interface SecondFactor {
  status(): Promise<SecondFactorStatus>;
  /** A new authenticator secret (asks to reauthenticate first when the sign-in is old). */
  setUpAuthenticator(): Promise<AuthenticatorSetup>;
  /** The app's first code: the second factor is on; answers ten recovery codes, once. */
  confirmAuthenticator(code: string): Promise<string[]>;
  /** Removes the app and its recovery codes: needs two factors, recently (`aal2_required`). */
  removeAuthenticator(): Promise<void>;
  /** A new set of recovery codes, the old void: needs two factors, recently. */
  newRecoveryCodes(): Promise<string[]>;
}

/**
 * The requests, given the session's `fetch` for a path of Passport's and its runner that
 * reauthenticates once on `reauthentication_required`.
 */
export function secondFactor(
  call: (path: string, init?: RequestInit) => Promise<Response>,
  recently: <T>(action: () => Promise<T>) => Promise<T>,
): SecondFactor {
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const resp = await call(path, init);
    if (!resp.ok) throw await errorOf(resp);
    return resp.status === 204 ? (undefined as T) : ((await resp.json()) as T);
  };
  const post = (body?: unknown): RequestInit => ({
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return {
    status: () => json<SecondFactorStatus>("/mfa"),
    setUpAuthenticator: () => recently(() => json<AuthenticatorSetup>("/mfa/totp", post())),
    confirmAuthenticator: (code) =>
      recently(async () => (await json<{ recovery_codes: string[] }>("/mfa/totp/confirm", post({ code }))).recovery_codes),
    removeAuthenticator: () => recently(() => json<void>("/mfa/totp", { method: "DELETE" })),
    newRecoveryCodes: () =>
      recently(async () => (await json<{ recovery_codes: string[] }>("/mfa/recovery-codes", post())).recovery_codes),
  };
}
