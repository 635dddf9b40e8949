// A shared web app's page (`/app/shared.html?app=CODE`): gets a passport for the app, calls the
// app's guarded route (`GET /apps/me`, behind the app authorizer) with it, and shows who the
// visitor is there. A private app sends a visitor who is not signed in to the sessions page,
// which sends them back here after signing in.
import { createSession } from "/app/client/index.js";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const code = params.get("app") ?? "demo-public";

const session = createSession({
  baseUrl: location.origin,
  transport: params.get("transport") === "body" ? "body" : "cookie",
});
window.passportSession = session;
$("app-title").textContent = code;

async function visit() {
  try {
    const resp = await session.passportFetch(code, `${location.origin}/apps/me`);
    if (!resp.ok) throw new Error(`the app answered ${resp.status}`);
    const me = await resp.json();
    $("end-user").textContent = me.end_user_id;
    $("account-id").textContent = me.account_id ?? "— (anonymous visitor)";
    $("app-code").textContent = me.app_code;
    $("visitor").hidden = false;
    document.body.dataset.view = "visitor";
  } catch (e) {
    if (e.code === "sign_in_required") {
      // Back here once signed in: the sessions page follows `return` (a path on this origin).
      location.assign(`/app/?return=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    $("shared-error").hidden = false;
    $("shared-error").textContent = e.message;
    document.body.dataset.view = "error";
  }
}

$("leave").addEventListener("click", async () => {
  await session.passportLogout(code);
  $("visitor").hidden = true;
  document.body.dataset.view = "left";
});

visit();
