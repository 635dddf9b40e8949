// Sign-in with an identity provider on the sessions page: a "Sign in with …" button per
// provider Passport is configured with, the way back (the provider sends the browser here with
// `#oauth=<code>`, traded at once for a session; `#oauth_linked=` or `#oauth_error=`), and the
// account's "Connected accounts": connect another provider, disconnect one.
import { identityProviders, providerReturn, providerSignInUrl } from "/app/client/index.js";

/** What each refusal the provider's way back names says, in words. */
const REASONS = {
  access_denied: "The sign-in was cancelled at the provider.",
  account_exists:
    "An account with this email already exists. Sign in to it (password, passkey or a mailed code), then connect the provider under “Connected accounts”.",
  email_not_verified: "The provider did not confirm an email address for this account, so no account can be made from it.",
  signup_closed: "No account uses this identity, and this service does not let new accounts sign up.",
  account_disabled: "This account is disabled.",
  identity_in_use: "That identity is already connected to another account.",
  provider_already_linked: "Your account already has an identity of this provider connected.",
};
const reason = (r) => REASONS[r] ?? `The provider's sign-in did not work (${r}). Try again.`;

/**
 * Wires the providers to the page. `showLogin(message)` and `secondStep(err)` are the page's;
 * `say(message, failed)` shows a line in the account view. Returns `{ handleReturn, render }`:
 * the first deals with a provider's way back in the address (and says whether there was one),
 * the second fills "Connected accounts".
 */
export function setUpProviders({ $, session, showLogin, secondStep, say }) {
  const page = `${location.origin}/app/`;
  let configured = [];

  const buttons = identityProviders(location.origin)
    .then((list) => {
      configured = list;
      $("providers").replaceChildren(
        ...list.map((p) => {
          const b = document.createElement("button");
          b.type = "button";
          b.className = "secondary provider";
          b.dataset.provider = p.name;
          b.textContent = `Sign in with ${p.label}`;
          b.addEventListener("click", () => location.assign(providerSignInUrl(location.origin, p.name, page)));
          return b;
        }),
      );
      $("providers").hidden = list.length === 0;
    })
    .catch(() => ($("providers").hidden = true));

  /** Clears the fragment (the code is spent once read, and must not stay in the history). */
  const forget = () => history.replaceState(null, "", location.pathname + location.search);

  async function handleReturn() {
    const back = providerReturn(location.hash);
    if (!back) return false;
    forget();
    if (back.kind === "code") {
      try {
        await session.loginWithProviderCode(back.code);
      } catch (err) {
        if (!secondStep(err)) showLogin(err.code === "invalid_oauth_code" ? "That sign-in expired: try again." : err.message);
      }
    } else if (back.kind === "linked") {
      say(`Connected: you can now sign in with ${back.provider}.`);
    } else if (session.state().status === "logged-in") {
      say(reason(back.reason), true);
    } else {
      showLogin(reason(back.reason));
    }
    return true;
  }

  async function render() {
    await buttons;
    const linked = await session.providers.list();
    $("connected").replaceChildren(
      ...linked.map((l) => {
        const li = document.createElement("li");
        li.className = "connected";
        li.dataset.provider = l.provider;
        const name = document.createElement("span");
        name.textContent = l.label + (l.email ? ` · ${l.email}` : "");
        const off = document.createElement("button");
        off.type = "button";
        off.className = "secondary disconnect";
        off.textContent = "Disconnect";
        off.addEventListener("click", async () => {
          off.disabled = true;
          try {
            await session.providers.disconnect(l.provider);
            await render();
          } catch (err) {
            say(err.message, true);
          } finally {
            off.disabled = false;
          }
        });
        li.append(name, off);
        return li;
      }),
    );
    const open = configured.filter((p) => !linked.some((l) => l.provider === p.name));
    $("connect").replaceChildren(
      ...open.map((p) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "secondary connect";
        b.dataset.provider = p.name;
        b.textContent = `Connect ${p.label}`;
        b.addEventListener("click", async () => {
          b.disabled = true;
          try {
            location.assign(await session.providers.connectUrl(p.name, page));
          } catch (err) {
            say(err.message, true);
            b.disabled = false;
          }
        });
        return b;
      }),
    );
    $("providers-card").hidden = configured.length === 0 && linked.length === 0;
  }

  return { handleReturn, render };
}
