// What a person does by mail, on the sessions page: create an account, confirm the address,
// reset a forgotten password, sign in with a mailed code, move the account to another address.
// The page's address says which view is shown: `#signup`, `#forgot`, `#code`; a mailed link
// opens `#verify=<token>`, `#reset=<token>`, `#email=<token>` or a notice's `#not-me=<token>`
// ("this wasn't me": every session ends) (a fragment: never sent to a
// server), and nothing is POSTed until the person presses the button (mail scanners open links).
import { accounts as accountsOf } from "/app/client/index.js";

/** The views this module shows, besides the sign-in and account views. */
export const VIEWS = ["signup", "forgot", "code", "link", "reset"];

/**
 * Wires the mail views to `session` (the page's session client); `show(view)` shows one view.
 * Returns `route()`, which shows the view the address asks for and says whether it did.
 */
export function setUpMail({ $, show, session, secondStep }) {
  const accounts = accountsOf(location.origin);
  let token = null;

  const say = (id, text, failed = false) => {
    const el = $(id);
    el.hidden = false;
    el.textContent = text;
    el.classList.toggle("error", failed);
  };
  const quiet = (id) => ($(id).hidden = true);
  /** Runs `fn` with `form`'s button disabled; a refusal's message goes to `message`. */
  const submitting = (form, message, fn) =>
    $(form).addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = e.target.querySelector("button");
      button.disabled = true;
      quiet(message);
      try {
        await fn();
      } catch (err) {
        say(message, err.message, true);
      } finally {
        button.disabled = false;
      }
    });
  const sent = "If the address can receive mail, a message is on its way: check your inbox.";

  submitting("signup-form", "signup-message", async () => {
    await accounts.signUp($("signup-email").value, $("signup-password").value);
    $("signup-password").value = "";
    say("signup-message", `${sent} Follow its link to confirm your email, then sign in.`);
  });
  submitting("forgot-form", "forgot-message", async () => {
    await accounts.forgotPassword($("forgot-email").value);
    say("forgot-message", `${sent} Its link works for 30 minutes.`);
  });
  submitting("code-request-form", "code-message", async () => {
    await accounts.requestEmailCode($("code-email").value);
    $("code-form").hidden = false;
    $("code-value").focus();
    say("code-message", `${sent} Enter the six digits it holds.`);
  });
  submitting("code-form", "code-message", async () => {
    // Signing in changes the session's state: the page then shows the account.
    try {
      await session.loginWithEmailCode($("code-email").value, $("code-value").value.trim());
    } catch (err) {
      // The account has an authenticator app: its code next.
      if (secondStep(err)) return;
      throw err;
    } finally {
      $("code-value").value = "";
    }
    history.replaceState(null, "", location.pathname + location.search);
  });
  submitting("reset-form", "reset-message", async () => {
    await accounts.resetPassword(token, $("reset-password").value);
    $("reset-password").value = "";
    $("reset-form").hidden = true;
    say("reset-message", "Your password is changed, and every device was signed out. Sign in with the new one.");
  });
  $("link-confirm").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const kind = $("link").dataset.kind;
      button.hidden = true;
      if (kind === "not-me") {
        const done = await accounts.endSessions(token);
        say(
          "link-message",
          `Every device was signed out (${done.sessions_ended} sessions ended). If someone may know your password, set a new one now: “Forgot your password?” on the sign-in page.`,
        );
        return;
      }
      const done = kind === "email" ? await accounts.confirmEmail(token) : await accounts.verifyEmail(token);
      say(
        "link-message",
        kind === "email"
          ? `Your account now uses ${done.email}.`
          : `${done.email} is confirmed: you can sign in.`,
      );
    } catch (err) {
      button.hidden = false;
      say("link-message", err.message, true);
    } finally {
      button.disabled = false;
    }
  });
  $("resend").addEventListener("click", (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    accounts
      .resendVerification($("email").value)
      .then(() => say("login-error", sent))
      .catch((err) => say("login-error", err.message, true))
      .finally(() => (button.disabled = false));
  });
  $("email-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = e.target.querySelector("button");
    button.disabled = true;
    quiet("email-message");
    try {
      await session.changeEmail($("new-email").value);
      say("email-message", `Check ${$("new-email").value}: your account moves there once you follow the link we mailed.`);
      $("new-email").value = "";
    } catch (err) {
      say("email-message", err.message, true);
    } finally {
      button.disabled = false;
    }
  });
  document.querySelectorAll("a.back").forEach((a) =>
    a.addEventListener("click", (e) => {
      e.preventDefault();
      history.pushState(null, "", location.pathname + location.search);
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    }),
  );

  /** Shows the view the address's fragment asks for; false when it asks for none. */
  return function route() {
    const hash = location.hash.slice(1);
    const [view, value] = hash.includes("=") ? hash.split("=", 2) : [hash, null];
    token = value;
    if (value && (view === "verify" || view === "email" || view === "not-me")) {
      const words = {
        verify: ["Confirm your email", "Press the button to confirm this address is yours.", "Confirm"],
        email: ["Confirm your new email", "Press the button to make this address your account's email.", "Confirm"],
        "not-me": [
          "Wasn't you?",
          "Press the button to sign out every device signed in to your account, this one included.",
          "Sign out every device",
        ],
      }[view];
      $("link").dataset.kind = view;
      $("link-title").textContent = words[0];
      $("link-text").textContent = words[1];
      $("link-confirm").textContent = words[2];
      $("link-confirm").hidden = false;
      quiet("link-message");
      show("link");
      return true;
    }
    if (value && view === "reset") {
      $("reset-form").hidden = false;
      quiet("reset-message");
      show("reset");
      return true;
    }
    if (VIEWS.includes(view) && !value) {
      show(view);
      return true;
    }
    return false;
  };
}
