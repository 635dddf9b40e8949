/**
 * Reads the times in a JWT's payload without verifying anything: the client uses them only to
 * decide when to refresh, never to trust who the token names.
 */

/** The times of a token, in Unix seconds. */
export interface TokenTimes {
  exp: number;
  iat?: number;
}

function base64UrlDecode(part: string): string {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The payload of `token`, or `null` when it is not a readable JWT. */
export function readPayload(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A string claim of `token`, or `null`. */
export function readClaim(token: string, name: string): string | null {
  const v = readPayload(token)?.[name];
  return typeof v === "string" && v ? v : null;
}

/** `exp` (and `iat` when present) of `token`, or `null` when it is not a readable JWT. */
export function readTimes(token: string): TokenTimes | null {
  const payload = readPayload(token);
  if (!payload) return null;
  const { exp, iat } = payload;
  if (typeof exp !== "number" || !Number.isFinite(exp)) return null;
  return typeof iat === "number" && Number.isFinite(iat) ? { exp, iat } : { exp };
}
