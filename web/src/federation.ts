/**
 * Sign-in with an identity provider (OpenID Connect), as a page drives it: the providers'
 * buttons, the navigation to a provider, the one-time code the browser comes back with (in the
 * page's fragment: `#oauth=<code>`), and the signed-in owner's connected providers. Passport
 * runs the protocol (PKCE, state, nonce, the ID token's checks); the page only navigates.
 */

import { errorOf } from "./errors.js";

/** A configured provider: its name in paths, and what its button says. */
export interface IdentityProvider {
  name: string;
  label: string;
}

/** A provider connected to the signed-in account. */
export interface ConnectedProvider {
  provider: string;
  label: string;
  /** The address the provider gave when it was connected. */
  email: string | null;
  /** Unix seconds. */
  linked_at: number;
}

/** What a page finds in its fragment after a provider sent the browser back. */
export type ProviderReturn =
  | { kind: "code"; code: string }
  | { kind: "linked"; provider: string }
  | { kind: "error"; reason: string };

/** The providers of the Passport at `baseUrl` (empty when none is configured). */
export async function identityProviders(
  baseUrl: string,
  http: typeof fetch = fetch.bind(globalThis),
): Promise<IdentityProvider[]> {
  const resp = await http(`${baseUrl.replace(/\/+$/, "")}/oauth/providers`);
  if (!resp.ok) throw await errorOf(resp);
  return ((await resp.json()) as { providers: IdentityProvider[] }).providers;
}

/**
 * Where to send the browser to sign in with `provider` (a navigation: `location.assign`).
 * `returnTo` must be a page Passport allows (`APP_URL`, `OIDC_RETURN_TO`).
 */
export function providerSignInUrl(baseUrl: string, provider: string, returnTo: string): string {
  const q = new URLSearchParams({ return_to: returnTo });
  return `${baseUrl.replace(/\/+$/, "")}/oauth/${encodeURIComponent(provider)}/start?${q}`;
}

/** What `hash` (a page's `location.hash`) says a provider sent back, if anything. */
export function providerReturn(hash: string): ProviderReturn | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const code = params.get("oauth");
  if (code) return { kind: "code", code };
  const linked = params.get("oauth_linked");
  if (linked) return { kind: "linked", provider: linked };
  const reason = params.get("oauth_error");
  if (reason) return { kind: "error", reason };
  return null;
}

/** The connected providers' requests of a signed-in session. */
export interface ConnectedProviders {
  list(): Promise<ConnectedProvider[]>;
  /**
   * Where to send the browser to connect `provider` to this account (asks to reauthenticate
   * first when the sign-in is old); the provider sends it back to `returnTo` with
   * `#oauth_linked=<provider>`.
   */
  connectUrl(provider: string, returnTo: string): Promise<string>;
  /** Disconnects `provider`: the sessions it signed in end (asks to reauthenticate first). */
  disconnect(provider: string): Promise<void>;
}

/** The requests, given the session's `fetch` for a path of Passport's and its reauthenticating runner. */
export function connectedProviders(
  baseUrl: () => string,
  call: (path: string, init?: RequestInit) => Promise<Response>,
  recently: <T>(action: () => Promise<T>) => Promise<T>,
): ConnectedProviders {
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const resp = await call(path, init);
    if (!resp.ok) throw await errorOf(resp);
    return resp.status === 204 ? (undefined as T) : ((await resp.json()) as T);
  };
  const name = encodeURIComponent;
  return {
    list: async () => (await json<{ links: ConnectedProvider[] }>("/oauth/links")).links,
    connectUrl: (provider, returnTo) =>
      recently(async () => {
        const { ticket } = await json<{ ticket: string }>(`/oauth/${name(provider)}/link`, { method: "POST" });
        const url = new URL(providerSignInUrl(baseUrl(), provider, returnTo));
        url.searchParams.set("link", ticket);
        return url.toString();
      }),
    disconnect: (provider) => recently(() => json<void>(`/oauth/links/${name(provider)}`, { method: "DELETE" })),
  };
}
