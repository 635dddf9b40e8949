// The sessions page: log in, see who you are and your devices, revoke one, log out here or
// everywhere. Uses the session client exactly as a web app would.
import { createSession } from "/app/client/index.js";

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
});
// For the browser tests and for poking at it from the console.
window.passportSession = session;

session.subscribe((state) => {
  document.body.dataset.storage = state.storage;
  $("memory-note").hidden = state.storage !== "memory";
});

function show(section) {
  $("login").hidden = section !== "login";
  $("account").hidden = section !== "account";
  document.body.dataset.view = section;
}

function showLogin(message) {
  show("login");
  const err = $("login-error");
  err.hidden = !message;
  err.textContent = message ?? "";
}

const when = (iso) => new Date(iso).toLocaleString();

function deviceItem(s) {
  const li = document.createElement("li");
  li.className = "device" + (s.current ? " current" : "");
  li.dataset.sessionId = s.session_id;
  const h = document.createElement("h3");
  h.textContent = s.device ?? "Unnamed device";
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
    ["Browser", s.user_agent ?? "—"],
    ["IP address", s.ip ?? "—"],
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

async function render() {
  if (session.state().status !== "logged-in") return showLogin();
  try {
    const [me, devices] = await Promise.all([session.me(), session.sessions()]);
    $("who").textContent = me.email;
    $("devices").replaceChildren(...devices.map(deviceItem));
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
    showLogin(err.message);
  } finally {
    button.disabled = false;
  }
});
$("reload").addEventListener("click", (e) => act(e.currentTarget, render));
$("logout").addEventListener("click", (e) => act(e.currentTarget, () => session.logout()));
$("logout-all").addEventListener("click", (e) => act(e.currentTarget, () => session.logoutEverywhere()));
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

if (!(session.state().status === "logged-in" && goBack())) render();
