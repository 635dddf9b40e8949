// The sessions page: log in (password, passkey or a mailed code, then a second factor when the
// account has one), create an account and the other mailed steps (mail.js), see who you are,
// your devices and how each signed in, two-step sign-in (an authenticator app and recovery
// codes), recent security activity, your passkeys, revoke one, log out here or everywhere (after confirming it is you).
// Uses the session client exactly as a web app would.
import { createSession } from "/app/client/index.js";
import { VIEWS, setUpMail } from "/app/mail.js";
import { setUpProviders } from "/app/providers.js";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

const session = createSession({
  baseUrl: location.origin,
  // The refresh token stays in Passport's HttpOnly cookie; `?transport=body` keeps it in
  // localStorage instead (the browser tests of the body transport use it).
  transport: params.get("transport") === "body" ? "body" : "cookie",
  // `?proactive=0` turns off the refresh before expiry (the browser tests use it to line up
  // two tabs on an expired token).
  proactiveRefresh: params.get("proactive") !== "0",
  onLogout: () => showLogin(),
  // A dangerous action and an old sign-in: ask again, then the client retries once.
  reauthenticationPrompt: () =>
    askAgain("This needs you to prove it is you again (adding a passkey always does)."),
});
// For the browser tests and for poking at it from the console.
window.passportSession = session;

session.subscribe((state) => {
  document.body.dataset.storage = state.storage;
  $("memory-note").hidden = state.storage !== "memory";
});

function show(section) {
  for (const view of ["login", "account", "second-step", ...VIEWS]) $(view).hidden = section !== view;
  document.body.dataset.view = section;
}

function showLogin(message) {
  $("unverified").hidden = true;
  show("login");
  const err = $("login-error");
  err.hidden = !message;
  err.textContent = message ?? "";
}

const when = (iso) => new Date(iso).toLocaleString();

/** How a session signed in, from its RFC 8176 `amr`. */
const method = (amr) => {
  const first = amr?.includes("swk")
    ? "Passkey"
    : amr?.includes("fed")
      ? "Identity provider"
      : amr?.includes("pwd")
        ? "Password"
        : amr?.includes("otp")
          ? "Emailed code"
          : "Password";
  return amr?.includes("mfa") ? `${first} and authenticator code` : first;
};

/** The sign-in that answered `mfa_required`, waiting for its second step. */
let pending = null;

/** Shows the second step for a sign-in `err` refused with `mfa_required`; whether it did. */
function secondStep(err, device) {
  if (err?.code !== "mfa_required" || !err.challenge) return false;
  pending = { challenge: err.challenge, device };
  $("second-step-code").value = "";
  $("second-step-recovery").value = "";
  $("second-step-error").hidden = true;
  show("second-step");
  $("second-step-code").focus();
  return true;
}

/**
 * Asks the person to prove it is them: the password, or a passkey. Resolves to the proof for
 * `session.reauthenticate`, or null when they cancel.
 */
function askAgain(why) {
  const dialog = $("reauth");
  $("reauth-why").textContent = why;
  $("reauth-password").value = "";
  $("reauth-code").value = "";
  $("reauth-code-label").hidden = !mfaOn;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const password = $("reauth-password").value;
        const code = $("reauth-code").value.trim();
        $("reauth-password").value = "";
        $("reauth-code").value = "";
        if (dialog.returnValue === "passkey") resolve({ passkey: true });
        else if (dialog.returnValue === "password" && password) resolve(code ? { password, code } : { password });
        else resolve(null);
      },
      { once: true },
    );
  });
}

function deviceItem(s) {
  const li = document.createElement("li");
  li.className = "device" + (s.current ? " current" : "");
  li.dataset.sessionId = s.session_id;
  const h = document.createElement("h3");
  h.textContent = s.device ?? s.agent ?? "Unnamed device";
  if (s.current) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "This device";
    h.append(badge);
  }
  li.append(h);
  const revoke = document.createElement("button");
  revoke.type = "button";
  revoke.className = "secondary revoke";
  revoke.textContent = s.current ? "Log out" : "Revoke";
  revoke.addEventListener("click", () =>
    act(revoke, async () => {
      if (s.current) await session.logout();
      else {
        await session.revoke(s.session_id);
        await render();
      }
    }),
  );
  li.append(revoke);
  const dl = document.createElement("dl");
  for (const [k, v] of [
    ["Browser", s.agent ?? s.user_agent ?? "—"],
    ["IP address", s.ip ?? "—"],
    ["Signed in with", method(s.amr)],
    ["Signed in", when(s.created_at)],
    ["Last used", when(s.last_used_at)],
  ]) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  li.append(dl);
  return li;
}

function passkeyItem(p) {
  const li = document.createElement("li");
  li.className = "passkey";
  li.dataset.passkeyId = p.id;
  const name = document.createElement("span");
  name.className = "passkey-name";
  name.textContent = p.name;
  const used = document.createElement("span");
  used.className = "muted";
  // Which session added it: a passkey its owner does not recognise is worth removing.
  const by = p.added_by ? ` from ${p.added_by.agent ?? "an unnamed device"}` : "";
  used.textContent =
    ` added ${when(p.created_at)}${by}` + (p.last_used_at ? `, last used ${when(p.last_used_at)}` : "");
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary remove-passkey";
  remove.textContent = "Remove";
  remove.addEventListener("click", () =>
    act(remove, async () => {
      await session.removePasskey(p.id);
      await render();
    }),
  );
  li.append(name, used, remove);
  return li;
}

/** What each history event says, in words. */
const EVENTS = {
  sign_in: "Signed in",
  identity_linked: "Sign-in provider connected",
  identity_unlinked: "Sign-in provider disconnected",
  sign_in_refused: "Sign-in refused (wrong password or code)",
  sign_in_locked: "Sign-in blocked after too many attempts",
  password_changed: "Password changed",
  password_reset: "Password reset by email",
  email_changed: "Email changed",
  passkey_added: "Passkey added",
  passkey_removed: "Passkey removed",
  second_factor_added: "Two-step sign-in turned on",
  second_factor_removed: "Two-step sign-in turned off",
  recovery_code_used: "Recovery code used",
  session_ended_as_stolen: "A session was ended: its sign-in token was used twice (a copy was taken)",
  signed_out_everywhere: "Logged out everywhere",
};

/** One line of the security history. */
function activityItem(e) {
  const li = document.createElement("li");
  li.className = "event";
  li.dataset.event = e.event;
  const what = document.createElement("span");
  what.className = "event-what";
  what.textContent =
    (EVENTS[e.event] ?? e.event) +
    (e.event === "sign_in" && e.amr ? ` · ${method(e.amr)}` : "") +
    (e.detail ? ` · ${e.detail}` : "") +
    (e.count > 1 ? ` · ${e.count} times` : "") +
    (e.by === "operator" ? " · by an administrator" : "");
  const where = document.createElement("span");
  where.className = "muted";
  where.textContent = [when(e.at), e.device, e.ip].filter(Boolean).join(" · ");
  li.append(what, where);
  return li;
}

/** The next page's `before`, when there is one. */
let olderActivity = null;

function showActivity(page, append) {
  const items = page.events.map(activityItem);
  if (append) $("activity").append(...items);
  else $("activity").replaceChildren(...items);
  olderActivity = page.next;
  $("activity-more").hidden = page.next === null;
}

/** Whether the account has an authenticator app (the reauthentication dialog then asks for a code). */
let mfaOn = false;

/** Shows the second factor's state in the account view. */
function mfaItem(status) {
  mfaOn = status.totp;
  $("mfa-status").textContent = status.totp
    ? `On since ${when(status.totp_since)}: signing in with a password also asks for a code from your app. ${status.recovery_codes_left} recovery codes left.`
    : "Off: your password alone signs you in. Add an authenticator app so that a stolen password is not enough.";
  $("mfa-setup").hidden = status.totp;
  $("mfa-new-codes").hidden = !status.totp;
  $("mfa-remove").hidden = !status.totp;
  if (status.totp) $("mfa-enrol").hidden = true;
}

function showCodes(codes) {
  $("mfa-code-list").replaceChildren(
    ...codes.map((c) => {
      const li = document.createElement("li");
      li.textContent = c;
      return li;
    }),
  );
  $("mfa-codes").hidden = false;
}

/**
 * Runs `fn`; when Passport wants two factors recently (`aal2_required`), asks for the password
 * and a code, reauthenticates, and runs it once more.
 */
async function withTwoFactors(fn) {
  try {
    return await fn();
  } catch (e) {
    if (e.code !== "aal2_required") throw e;
    const proof = await askAgain("This needs your password and a code from your authenticator app (or a passkey).");
    if (!proof) return undefined;
    await session.reauthenticate(proof);
    return fn();
  }
}

const route = setUpMail({ $, show, session, secondStep });
const providers = setUpProviders({
  $,
  session,
  showLogin,
  secondStep,
  say: (text, failed = false) => {
    const el = $("providers-message");
    el.hidden = false;
    el.textContent = text;
    el.classList.toggle("error", failed);
  },
});
window.addEventListener("hashchange", () => route() || render());

async function render() {
  // A mailed link's view comes first, signed in or not.
  if (location.hash.includes("=") && route()) return;
  if (session.state().status !== "logged-in") return route() || showLogin();
  try {
    const [me, devices, passkeys, mfa, activity] = await Promise.all([
      session.me(),
      session.sessions(),
      session.passkeys(),
      session.mfa.status(),
      session.activity({ limit: 10 }),
      providers.render(),
    ]);
    $("who").textContent = me.email;
    mfaItem(mfa);
    showActivity(activity, false);
    $("devices").replaceChildren(...devices.map(deviceItem));
    $("passkeys").replaceChildren(...passkeys.map(passkeyItem));
    $("no-passkeys").hidden = passkeys.length > 0;
    $("account-error").hidden = true;
    show("account");
  } catch (e) {
    if (session.state().status !== "logged-in") return showLogin();
    $("account-error").hidden = false;
    $("account-error").textContent = e.message;
    show("account");
  }
}

async function act(button, fn) {
  button.disabled = true;
  try {
    await fn();
  } catch (e) {
    $("account-error").hidden = false;
    $("account-error").textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = e.target.querySelector("button");
  button.disabled = true;
  try {
    // Logging in changes the state, which renders the account view (see `subscribe` below).
    await session.login($("email").value, $("password").value, $("device").value || undefined);
    $("password").value = "";
  } catch (err) {
    $("password").value = "";
    if (secondStep(err, $("device").value || undefined)) return;
    showLogin(err.message);
    // The password was right, the address is not confirmed yet: offer the link again.
    $("unverified").hidden = err.code !== "email_not_verified";
  } finally {
    button.disabled = false;
  }
});
$("passkey-login").addEventListener("click", async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    await session.loginWithPasskey($("email").value || undefined, $("device").value || undefined);
  } catch (err) {
    showLogin(err.message);
  } finally {
    button.disabled = false;
  }
});
$("second-step-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = e.target.querySelector("button");
  const code = $("second-step-code").value.trim();
  const recoveryCode = $("second-step-recovery").value.trim();
  if (!pending || (!code && !recoveryCode)) return;
  button.disabled = true;
  try {
    await session.completeSignIn(pending.challenge, code ? { code } : { recoveryCode }, pending.device);
    pending = null;
  } catch (err) {
    $("second-step-error").hidden = false;
    $("second-step-error").textContent =
      err.code === "invalid_credentials" ? "That code did not work. Try the next one your app shows." : err.message;
  } finally {
    button.disabled = false;
  }
});
$("activity-more").addEventListener("click", (e) =>
  act(e.currentTarget, async () => showActivity(await session.activity({ before: olderActivity, limit: 10 }), true)),
);
$("mfa-setup").addEventListener("click", (e) =>
  act(e.currentTarget, async () => {
    const setup = await session.mfa.setUpAuthenticator();
    $("mfa-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(setup.qr_svg);
    $("mfa-secret").textContent = setup.secret;
    $("mfa-codes").hidden = true;
    $("mfa-enrol").hidden = false;
    $("mfa-code").focus();
  }),
);
$("mfa-confirm-form").addEventListener("submit", (e) => {
  e.preventDefault();
  act(e.target.querySelector("button"), async () => {
    const codes = await session.mfa.confirmAuthenticator($("mfa-code").value.trim());
    $("mfa-code").value = "";
    $("mfa-enrol").hidden = true;
    mfaItem(await session.mfa.status());
    showCodes(codes);
  });
});
$("mfa-new-codes").addEventListener("click", (e) =>
  act(e.currentTarget, async () => {
    const codes = await withTwoFactors(() => session.mfa.newRecoveryCodes());
    if (codes) showCodes(codes);
    mfaItem(await session.mfa.status());
  }),
);
$("mfa-remove").addEventListener("click", (e) =>
  act(e.currentTarget, async () => {
    await withTwoFactors(() => session.mfa.removeAuthenticator());
    $("mfa-codes").hidden = true;
    mfaItem(await session.mfa.status());
  }),
);
$("passkey-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const button = e.target.querySelector("button");
  act(button, async () => {
    await session.registerPasskey($("passkey-name").value || undefined);
    $("passkey-name").value = "";
    await render();
  });
});
$("reload").addEventListener("click", (e) => act(e.currentTarget, render));
$("logout").addEventListener("click", (e) => act(e.currentTarget, () => session.logout()));
// Ending every session is what a thief holding this one would want most: ask again first,
// whatever the server's window says.
$("logout-all").addEventListener("click", (e) =>
  act(e.currentTarget, async () => {
    const proof = await askAgain("Signing out everywhere ends every session of your account.");
    if (!proof) return;
    await session.reauthenticate(proof);
    await session.logoutEverywhere();
  }),
);
session.subscribe((state) => {
  if (state.status === "logged-in" && goBack()) return;
  if (state.status === "logged-in" && document.body.dataset.view !== "account") render();
});

// A shared app's page sent the visitor here to sign in: back there once signed in. Only a path
// of this page's own (never another origin: `//host` and `/\host` are refused).
function goBack() {
  const back = params.get("return");
  if (!back || !/^\/app\/[A-Za-z0-9._?=&%-]*$/.test(back)) return false;
  location.assign(back);
  return true;
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) render();
});

// A provider's way back first (its one-time code signs in, then the state change renders).
providers.handleReturn().then((returned) => {
  if (returned && session.state().status !== "logged-in") return;
  if (!(session.state().status === "logged-in" && goBack())) render();
});
