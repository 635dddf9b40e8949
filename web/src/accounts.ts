/**
 * What a person does by mail before there is a session (`POST /signup`, `/email/verify`,
 * `/password/forgot`, `/password/reset`, `/login/email-code`, `/email/confirm`,
 * `/email/not-me`): plain requests,
 * no tokens held. Every mailing request answers 202 the same whether or not an account has the
 * address; a refusal throws `PassportError` (a weak password's reason is its message).
 */

import { errorOf } from "./errors.js";

/** The account requests of one Passport deployment. */
export interface Accounts {
  /** A new account; a verification link is mailed. */
  signUp(email: string, password: string): Promise<void>;
  /** Another verification link. */
  resendVerification(email: string): Promise<void>;
  /** The token of a verification link (`#verify=`): the address is verified. */
  verifyEmail(token: string): Promise<{ email: string }>;
  /** A reset link by mail. */
  forgotPassword(email: string): Promise<void>;
  /** The token of a reset link (`#reset=`) and the new password; every session ends. */
  resetPassword(token: string, password: string): Promise<void>;
  /** A six-digit sign-in code by mail (then `Session.loginWithEmailCode`). */
  requestEmailCode(email: string): Promise<void>;
  /** The token of an email change's link (`#email=`): the account moves to that address. */
  confirmEmail(token: string): Promise<{ email: string }>;
  /** The token of a notice's "this wasn't me" link (`#not-me=`): every session of the account ends. */
  endSessions(token: string): Promise<{ sessions_ended: number }>;
}

/** The account requests to the Passport at `baseUrl`. */
export function accounts(baseUrl: string, http: typeof fetch = fetch.bind(globalThis)): Accounts {
  const base = baseUrl.replace(/\/+$/, "");
  const post = async (path: string, body: Record<string, string>): Promise<unknown> => {
    const resp = await http(`${base}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw await errorOf(resp);
    return resp.json();
  };
  return {
    signUp: async (email, password) => void (await post("/signup", { email, password })),
    resendVerification: async (email) => void (await post("/email/verify/resend", { email })),
    verifyEmail: async (token) => (await post("/email/verify", { token })) as { email: string },
    forgotPassword: async (email) => void (await post("/password/forgot", { email })),
    resetPassword: async (token, password) => void (await post("/password/reset", { token, password })),
    requestEmailCode: async (email) => void (await post("/login/email-code", { email })),
    confirmEmail: async (token) => (await post("/email/confirm", { token })) as { email: string },
    endSessions: async (token) => (await post("/email/not-me", { token })) as { sessions_ended: number },
  };
}
