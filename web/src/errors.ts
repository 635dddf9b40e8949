/** Passport's refusals as the client throws them, read from its answers. */

/** A refusal from Passport, with its HTTP status and error code. */
export class PassportError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** With `mfa_required`: the challenge `Session.completeSignIn` takes with a code. */
    readonly challenge?: string,
  ) {
    super(message);
    this.name = "PassportError";
  }
}

/** Passport's refusals of what a request asked, not of its token: refreshing changes nothing. */
const ANSWERS = new Set(["reauthentication_required", "invalid_credentials", "aal2_required"]);

/**
 * Whether a 401/403 is Passport's own answer about the request (a wrong password to
 * `/reauthenticate`, `reauthentication_required`), not a refused token.
 */
export async function isPassportAnswer(resp: Response): Promise<boolean> {
  try {
    const body = (await resp.clone().json()) as { error?: unknown };
    return typeof body.error === "string" && ANSWERS.has(body.error);
  } catch {
    return false;
  }
}

export async function errorOf(resp: Response): Promise<PassportError> {
  let code = "http_error";
  let message = `HTTP ${resp.status}`;
  let challenge: string | undefined;
  try {
    const body = (await resp.json()) as { error?: unknown; message?: unknown; challenge?: unknown };
    if (typeof body.error === "string") code = body.error;
    if (typeof body.message === "string") message = body.message;
    if (typeof body.challenge === "string") challenge = body.challenge;
  } catch {
    // Not JSON (a proxy's page, say): keep the status.
  }
  return new PassportError(resp.status, code, message, challenge);
}

