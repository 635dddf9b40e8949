// Browser tests: the sessions page and the session client in headless Chromium, against the
// real local-api on the private Redis of `make test`, with a 4 s access-token lifetime and a
// 1 s reuse grace window.
//
// Needs: LOCAL_API_BIN (the built local-api), PASSPORT_TEST_REDIS_URL, CHROMIUM (default
// /usr/bin/chromium); screenshots go to WEB_ARTIFACTS (default ../target/web-artifacts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";
import { startLocalApi } from "./local-api.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.WEB_ARTIFACTS ?? path.join(here, "../../target/web-artifacts");
const PASSWORD = "browser tests password";
const ACCESS_TTL = 4;
const GRACE = 1;
const accounts = [
  "page", "tabs", "logout", "revoke", "stolen", "cross", "hang", "cookie", "cookietabs", "csrf", "blocked",
  "member",
].map(
  (n) => `${n}-${process.pid}@example.com`,
);

let api;
let base;
let browser;
/** A page on another loopback port: an app on another origin, calling the API through CORS. */
let appServer;
let appPort;
/** A page on yet another loopback port, not in ALLOWED_ORIGINS: same site, unlisted origin. */
let evilServer;
let evilPort;
/** The session cookie's name: local-api suffixes it with its port. */
let cookieName;

/** Serves a blank page and the built client from web/dist, as an app on its own origin would. */
function startAppServer() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/page.html") {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>another app</title><body>app</body>");
    } else if (/^\/client\/[a-z]+\.js$/.test(url.pathname)) {
      const file = path.join(here, "..", "dist", url.pathname.slice("/client/".length));
      res.writeHead(200, { "Content-Type": "text/javascript" });
      res.end(readFileSync(file));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

before(async () => {
  appServer = await startAppServer();
  appPort = appServer.address().port;
  evilServer = await startAppServer();
  evilPort = evilServer.address().port;
  ({ api, base } = await startLocalApi({
    accounts: accounts.map((a) => [a, PASSWORD]),
    db: 6,
    env: {
      SIGNING_SECRET: "browser-tests-signing-key-0123456789abcdef",
      ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL),
      REFRESH_REUSE_GRACE_SECONDS: String(GRACE),
      // The other app's origin; `localhost` on the same port is another origin, not listed.
      ALLOWED_ORIGINS: `http://127.0.0.1:${appPort}`,
    },
  }));
  cookieName = `__Host-passport_refresh_${new URL(base).port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  api?.kill();
  appServer?.close();
  evilServer?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function openPage(context, query = "") {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${base}/app/${query}`);
  await page.waitForSelector("body[data-view]");
  return page;
}

async function login(page, email, device) {
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.fill("#device", device);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("body[data-view=account]");
  await page.waitForSelector(".device.current");
}

const view = (page) => page.evaluate(() => document.body.dataset.view);

async function waitForView(page, want, ms = 5000) {
  await page.waitForFunction((v) => document.body.dataset.view === v, want, { timeout: ms });
}

function storedSession(page) {
  return page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.startsWith("passport.session.v2:"));
    return key ? JSON.parse(localStorage.getItem(key)) : null;
  });
}

test("log in through the page, see this device, tidy on a laptop and a phone", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await openPage(context);
  assert.equal(await view(page), "login");
  await login(page, accounts[0], "Work laptop");
  assert.equal(await page.textContent("#who"), accounts[0]);
  const current = page.locator(".device.current");
  assert.match(await current.textContent(), /Work laptop/);
  assert.match(await current.textContent(), /This device/);
  assert.match(await current.textContent(), /127\.0\.0\.1/);
  await page.screenshot({ path: path.join(artifacts, "sessions-laptop.png"), fullPage: true });

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways on a phone by ${overflow}px`);
  await page.screenshot({ path: path.join(artifacts, "sessions-phone.png"), fullPage: true });
  await context.close();
});

test("body transport: five CPU-throttled tabs with an expired access token: one refresh between them, every call succeeds", async () => {
  const context = await browser.newContext();
  const refreshes = [];
  context.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname === "/refresh-token") refreshes.push(r);
  });
  // No refresh before expiry here, so every tab meets the expired token at once.
  const tabs = [await openPage(context, "?proactive=0&transport=body")];
  await login(tabs[0], accounts[1], "Desk");
  for (let i = 1; i < 5; i++) {
    const tab = await openPage(context, "?proactive=0&transport=body");
    await waitForView(tab, "account");
    tabs.push(tab);
  }
  // Slow every renderer down 6x (Chrome DevTools Protocol), as a busy machine does: the
  // hand-over between tabs must not depend on how soon a localStorage write reaches another.
  for (const tab of tabs) {
    const cdp = await context.newCDPSession(tab);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 6 });
  }
  const before = await storedSession(tabs[0]);
  await sleep(ACCESS_TTL * 1000);
  refreshes.length = 0;
  const call = (page) => page.evaluate(() => window.passportSession.me().then((m) => m.email));
  const emails = await Promise.all(tabs.map(call));
  assert.deepEqual(emails, tabs.map(() => accounts[1]));
  assert.equal(refreshes.length, 1, "exactly one POST /refresh-token across the tabs");
  const afterwards = await storedSession(tabs[1]);
  assert.notEqual(afterwards.refresh, before.refresh);
  for (const tab of tabs) assert.deepEqual(await storedSession(tab), afterwards);
  await context.close();
});

test("logging out in one tab logs the other out", async () => {
  const context = await browser.newContext();
  const one = await openPage(context);
  await login(one, accounts[2], "Tablet");
  const two = await openPage(context);
  await waitForView(two, "account");
  await one.click("#logout");
  await waitForView(one, "login");
  await waitForView(two, "login");
  await assert.rejects(two.evaluate(() => window.passportSession.me()), /not logged in|logged_out/);
  await context.close();
});

test("revoking a device from the page sends that device's tab back to the login form", async () => {
  const laptop = await browser.newContext();
  const phone = await browser.newContext();
  const onLaptop = await openPage(laptop);
  await login(onLaptop, accounts[3], "Laptop");
  const onPhone = await openPage(phone);
  await login(onPhone, accounts[3], "Phone");

  await onLaptop.click("#reload");
  const phoneRow = onLaptop.locator(".device", { hasText: "Phone" });
  await phoneRow.waitFor();
  await phoneRow.locator("button.revoke").click();
  await onLaptop.locator(".device", { hasText: "Phone" }).waitFor({ state: "detached" });

  await onPhone.click("#reload");
  await waitForView(onPhone, "login");
  assert.equal(await storedSession(onPhone), null);
  await onLaptop.click("#reload");
  await waitForView(onLaptop, "account");
  await laptop.close();
  await phone.close();
});

test("body transport: a stolen refresh token replayed after the grace window logs out every tab of the session", async () => {
  const context = await browser.newContext();
  const one = await openPage(context, "?transport=body");
  await login(one, accounts[4], "Victim");
  const two = await openPage(context, "?transport=body");
  await waitForView(two, "account");
  const stolen = (await storedSession(one)).refresh;

  // The victim's tabs rotate on their own before expiry; then the grace window passes.
  await one.waitForFunction(
    (old) => {
      const key = Object.keys(localStorage).find((k) => k.startsWith("passport.session.v2:"));
      return key && JSON.parse(localStorage.getItem(key)).refresh !== old;
    },
    stolen,
    { timeout: ACCESS_TTL * 1000 + 2000 },
  );
  await sleep((GRACE + 1) * 1000 + 200);

  const replay = await fetch(`${base}/refresh-token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: stolen }),
  });
  assert.equal(replay.status, 401);
  assert.equal((await replay.json()).error, "refresh_token_reused");

  await one.click("#reload");
  await waitForView(one, "login");
  await waitForView(two, "login");
  assert.equal(await storedSession(two), null);
  await context.close();
});

/** In `page`: a client for `apiBase` (loaded from `module`) logs in and asks who it is. */
function signInElsewhere(page, module, apiBase, email) {
  return page.evaluate(
    async ({ module, apiBase, email, password }) => {
      try {
        const { createSession } = await import(module);
        const s = createSession({ baseUrl: apiBase, proactiveRefresh: false });
        await s.login(email, password, "another app");
        return (await s.me()).email;
      } catch (e) {
        return `refused: ${e}`;
      }
    },
    { module, apiBase, email, password: PASSWORD },
  );
}

test("an app on another origin signs in and calls the API through CORS; an unlisted origin cannot", async () => {
  const context = await browser.newContext();
  const listed = await context.newPage();
  await listed.goto(`http://127.0.0.1:${appPort}/page.html`);
  assert.equal(await signInElsewhere(listed, "/client/index.js", base, accounts[5]), accounts[5]);
  const unlisted = await context.newPage();
  await unlisted.goto(`http://localhost:${appPort}/page.html`);
  const answer = await signInElsewhere(unlisted, "/client/index.js", base, accounts[5]);
  assert.match(answer, /^refused: TypeError/, "the browser let an unlisted origin through");
  await context.close();
});

test("a refresh that hangs is abandoned after its timeout, and the next one goes through", async () => {
  const context = await browser.newContext();
  const page = await openPage(context, "?proactive=0&transport=body");
  await login(page, accounts[6], "Hang");
  await sleep(ACCESS_TTL * 1000);
  let refreshes = 0;
  await page.route("**/refresh-token", (route) => {
    refreshes += 1;
    // The first refresh never gets an answer; the next ones go to local-api.
    if (refreshes > 1) route.continue();
  });
  const call = () =>
    page.evaluate(async () => {
      const { createSession } = await import("/app/client/index.js");
      const s = createSession({ baseUrl: location.origin, proactiveRefresh: false, refreshTimeoutMs: 1000 });
      try {
        return (await s.me()).email;
      } catch (e) {
        return e.code ?? String(e);
      }
    });
  assert.equal(await call(), "timeout");
  assert.ok((await storedSession(page)) !== null, "a hung refresh dropped the tokens");
  assert.equal(await call(), accounts[6], "the lock was not released");
  assert.equal(refreshes, 2);
  await context.close();
});

/** The session cookie in the browser's jar for local-api, or undefined. */
async function sessionCookie(context) {
  return (await context.cookies(base)).find((c) => c.name.includes("passport_refresh"));
}

/** Counts `POST /refresh-token` requests made in `context`. */
function countRefreshes(context) {
  const seen = [];
  context.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname === "/refresh-token") seen.push(r);
  });
  return seen;
}

test("cookie transport: the refresh token is an HttpOnly cookie no script reads; a reload restores the session with one refresh", async () => {
  const context = await browser.newContext();
  const refreshes = countRefreshes(context);
  const page = await openPage(context);
  await login(page, accounts[7], "Cookie laptop");
  const cookie = await sessionCookie(context);
  assert.ok(cookie, "no session cookie");
  assert.equal(cookie.name, cookieName);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(cookie.path, "/");
  assert.ok(cookie.expires > Date.now() / 1000 + 86_400, "the cookie lives as long as the session");
  assert.ok(!(await page.evaluate(() => document.cookie)).includes("passport_refresh"));
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!stored.includes(cookie.value), "the refresh token is in localStorage");
  assert.ok(!stored.includes("eyJ"), "an access token is in localStorage");
  assert.equal(refreshes.length, 0);

  await page.reload();
  await page.waitForSelector(".device.current");
  assert.equal(await page.textContent("#who"), accounts[7]);
  assert.equal(refreshes.length, 1, "a reload costs exactly one refresh");
  assert.notEqual((await sessionCookie(context)).value, cookie.value, "the refresh rotated the cookie");
  await context.close();
});

test("cookie transport: three tabs with an expired access token refresh once on the wire; logout clears the cookie", async () => {
  const context = await browser.newContext();
  const refreshes = countRefreshes(context);
  const tabs = [await openPage(context, "?proactive=0")];
  await login(tabs[0], accounts[8], "Desk");
  for (let i = 1; i < 3; i++) {
    const tab = await openPage(context, "?proactive=0");
    await tab.waitForSelector(".device.current");
    tabs.push(tab);
  }
  assert.equal(refreshes.length, 0, "new tabs take the pair from an open tab");
  await sleep(ACCESS_TTL * 1000);
  const call = (page) => page.evaluate(() => window.passportSession.me().then((m) => m.email));
  const emails = await Promise.all(tabs.map(call));
  assert.deepEqual(emails, tabs.map(() => accounts[8]));
  assert.equal(refreshes.length, 1, "exactly one POST /refresh-token across the tabs");

  await tabs[0].click("#logout");
  for (const tab of tabs) await waitForView(tab, "login");
  assert.equal(await sessionCookie(context), undefined, "logout left the cookie");
  await context.close();
});

test("cookie transport: a page on another loopback port cannot refresh or log out with the cookie", async () => {
  const context = await browser.newContext();
  const victim = await openPage(context, "?proactive=0");
  await login(victim, accounts[9], "Victim");
  const before = (await sessionCookie(context)).value;
  const answered = [];
  context.on("response", (r) => {
    if (r.request().method() === "POST" && new URL(r.url()).origin === base) {
      answered.push(`${new URL(r.url()).pathname} ${r.status()}`);
    }
  });
  // Same site (127.0.0.1), another origin, not listed: the Strict cookie would go along.
  const attacker = await context.newPage();
  await attacker.goto(`http://127.0.0.1:${evilPort}/page.html`);
  const fetched = await attacker.evaluate(async (api) => {
    const out = [];
    for (const path of ["/refresh-token", "/logout"]) {
      for (const type of ["application/json", "text/plain"]) {
        try {
          const r = await fetch(api + path, {
            method: "POST",
            credentials: "include",
            headers: { "Content-Type": type },
            body: "{}",
          });
          out.push(`${path} ${type} read ${r.status}`);
        } catch (e) {
          out.push(`${path} ${type} ${e.name}`);
        }
      }
    }
    return out;
  }, base);
  for (const line of fetched) assert.match(line, /TypeError$/, "the attacker read an answer");
  // A form needs no CORS at all: the browser navigates to the answer.
  for (const path of ["/refresh-token", "/logout"]) {
    const [resp] = await Promise.all([
      attacker.waitForResponse((r) => r.url() === `${base}${path}`),
      attacker.evaluate((action) => {
        const form = document.createElement("form");
        form.method = "POST";
        form.action = action;
        form.enctype = "text/plain";
        const input = document.createElement("input");
        input.name = '{"all": true, "x": "';
        input.value = '"}';
        form.append(input);
        document.body.append(form);
        form.submit();
      }, `${base}${path}`),
    ]);
    assert.equal(resp.status(), 403, path);
    assert.equal((await resp.json()).error, "csrf_rejected", path);
    await attacker.goto(`http://127.0.0.1:${evilPort}/page.html`);
  }
  // Every answer the browser saw was a refusal: the two forms' for certain (the JSON fetches never
  // left the browser, their preflight was refused; the text/plain ones reached the API and were
  // refused there, and Playwright may or may not report an answer CORS hid from the page).
  assert.ok(answered.includes("/refresh-token 403") && answered.includes("/logout 403"), `${answered}`);
  for (const a of answered) assert.match(a, / 403$/, `${answered}`);
  assert.equal((await sessionCookie(context)).value, before, "the cookie was rotated or cleared");
  assert.equal(await victim.evaluate(() => window.passportSession.me().then((m) => m.email)), accounts[9]);
  await context.close();
});

test("with site data blocked, the client keeps the session in memory: log in, call the API, refresh", async () => {
  // Chromium's own setting "block all site data" (a profile preference): localStorage throws a
  // SecurityError and cookies are refused, so this is the body transport in memory.
  const profile = mkdtempSync(path.join(tmpdir(), "passport-blocked-"));
  mkdirSync(path.join(profile, "Default"));
  writeFileSync(
    path.join(profile, "Default", "Preferences"),
    JSON.stringify({ profile: { default_content_setting_values: { cookies: 2 } } }),
  );
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const refreshes = countRefreshes(context);
    const page = await openPage(context, "?proactive=0&transport=body");
    const blocked = await page.evaluate(() => {
      try {
        return String(localStorage.length) && "usable";
      } catch (e) {
        return e.name;
      }
    });
    assert.equal(blocked, "SecurityError", "this Chromium did not block site data");
    await login(page, accounts[10], "Locked-down browser");
    assert.equal(await page.evaluate(() => document.body.dataset.storage), "memory");
    assert.equal(await page.isVisible("#memory-note"), true);
    await sleep(ACCESS_TTL * 1000);
    const email = await page.evaluate(() => window.passportSession.me().then((m) => m.email));
    assert.equal(email, accounts[10]);
    assert.equal(refreshes.length, 1);
    assert.equal(await page.evaluate(() => window.passportSession.state().status), "logged-in");
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

/** The `POST /passport` requests `context` sends, as they happen. */
function countPassports(context) {
  const seen = [];
  context.on("request", (r) => {
    if (r.method() === "POST" && new URL(r.url()).pathname === "/passport") seen.push(r.url());
  });
  return seen;
}

async function visitor(page) {
  await page.waitForSelector("body[data-view]");
  const shown = await page.evaluate(() => document.body.dataset.view);
  if (shown !== "visitor") {
    const why = await page.evaluate(() => document.getElementById("shared-error")?.textContent);
    assert.fail(`the shared app's page shows ${shown}: ${why}`);
  }
  return page.evaluate(() => ({
    endUser: document.getElementById("end-user").textContent,
    account: document.getElementById("account-id").textContent,
  }));
}

test("a visitor opens a public app in two tabs at once and gets one passport, kept as version 2", async () => {
  const context = await browser.newContext();
  const passports = countPassports(context);
  const [a, b] = await Promise.all([context.newPage(), context.newPage()]);
  const url = `${base}/app/shared.html?app=demo-public`;
  await Promise.all([a.goto(url), b.goto(url)]);
  const [va, vb] = await Promise.all([visitor(a), visitor(b)]);
  assert.equal(passports.length, 1, "one POST /passport between the two tabs");
  assert.equal(va.endUser, vb.endUser);
  assert.match(va.account, /anonymous/);
  const stored = await a.evaluate((key) => JSON.parse(localStorage.getItem(key)), `passport.apps:${base}`);
  assert.deepEqual(Object.keys(stored), ["demo-public"]);
  assert.deepEqual(Object.keys(stored["demo-public"]), ["DEFAULT"]);
  // A reload uses the stored passport: no new end user, no new request.
  await a.reload();
  assert.equal((await visitor(a)).endUser, va.endUser);
  assert.equal(passports.length, 1);
  await a.screenshot({ path: path.join(artifacts, "shared-public.png") });
  await context.close();
});

test("a private app sends the visitor to sign in and back, then knows the account", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${base}/app/shared.html?app=demo-private`);
  await page.waitForURL(/\/app\/\?return=/);
  await page.waitForSelector("body[data-view=login]");
  await page.fill("#email", accounts[11]);
  await page.fill("#password", PASSWORD);
  await page.click("#login-form button[type=submit]");
  await page.waitForURL(/\/app\/shared\.html\?app=demo-private$/);
  const v = await visitor(page);
  assert.match(v.account, /^[A-Za-z0-9_-]{22}$/, "the passport is bound to the account");
  // The same account in a fresh tab of the same browser: the same end user.
  const again = await context.newPage();
  await again.goto(`${base}/app/shared.html?app=demo-private`);
  assert.equal((await visitor(again)).endUser, v.endUser);
  await page.screenshot({ path: path.join(artifacts, "shared-private.png") });
  await context.close();
});
