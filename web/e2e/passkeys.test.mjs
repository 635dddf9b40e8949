// Browser tests of passkeys and recent authentication: the sessions page in headless Chromium
// with the DevTools protocol's virtual authenticator (WebAuthn.addVirtualAuthenticator: a
// CTAP2 platform authenticator with resident keys and user verification), against the real
// local-api on the private Redis of `make test`, with an 8 s recent-authentication window.
//
// The page is opened at http://localhost:<port>: a relying-party id is a domain, never an IP
// address, and localhost is a secure context over plain http. local-api's passkey origin is
// that one unless PASSKEY_ORIGINS says otherwise.
//
// Needs: LOCAL_API_BIN, PASSPORT_TEST_REDIS_URL, CHROMIUM (default /usr/bin/chromium).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";
import { startLocalApi } from "./local-api.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.WEB_ARTIFACTS ?? path.join(here, "../../target/web-artifacts");
const PASSWORD = "passkey tests password";
/** The recent-authentication window: long enough for a sign-in and a step on a slow machine. */
const REAUTH = 8;
const accounts = ["passkey", "other", "prompt", "replay"].map((n) => `${n}-${process.pid}@example.com`);

let api;
let base;
let browser;

before(async () => {
  let listening;
  ({ api, base: listening } = await startLocalApi({
    accounts: accounts.map((a) => [a, PASSWORD]),
    db: 7,
    env: { REAUTH_MAX_AGE_SECONDS: String(REAUTH) },
  }));
  base = `http://localhost:${new URL(listening).port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  api?.kill();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A page of the sessions app with a virtual authenticator of its own (another device). */
async function device() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${base}/app/`);
  await page.waitForSelector("body[data-view]");
  const credentials = async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  return { context, page, credentials };
}

async function passwordLogin(page, email) {
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("body[data-view=account] .device.current");
}

async function addPasskey(page, name) {
  await page.fill("#passkey-name", name);
  await page.click("#passkey-form button[type=submit]");
  // Adding a way in asks for a proof made for it, however fresh the sign-in (issue 34).
  await page.waitForSelector("#reauth[open]");
  await page.fill("#reauth-password", PASSWORD);
  await page.click("#reauth-submit");
  await page.waitForSelector(`.passkey:has-text("${name}")`);
}

async function logout(page) {
  await page.click("#logout");
  await page.waitForSelector("body[data-view=login]");
}

const me = (page) => page.evaluate(() => window.passportSession.me());

test("a passkey added on the page signs in, with and without a typed email", async () => {
  const { context, page, credentials } = await device();
  await passwordLogin(page, accounts[0]);
  const current = page.locator(".device.current");
  // The device is named from its user agent, parsed by the server at login.
  assert.match(await current.locator("h3").textContent(), /^Chrome \d+ on Linux/);
  assert.match(await current.textContent(), /Signed in with\s*Password/);

  await addPasskey(page, "Test laptop");
  const [stored] = await credentials();
  assert.equal(stored.isResidentCredential, true, "a discoverable credential");
  await logout(page);

  // No email typed: the authenticator's discoverable credential names the account.
  await page.fill("#email", "");
  await page.click("#passkey-login");
  await page.waitForSelector("body[data-view=account] .device.current");
  assert.equal(await page.textContent("#who"), accounts[0]);
  const who = await me(page);
  assert.deepEqual(who.amr, ["swk", "user"], "a passkey nobody attested is no hardware key");
  assert.match(await page.locator(".device.current").textContent(), /Signed in with\s*Passkey/);
  assert.match(await page.locator(".passkey").textContent(), /from Chrome \d+ on Linux.*last used/);
  await page.screenshot({ path: path.join(artifacts, "passkeys.png"), fullPage: true });
  await logout(page);

  // The email typed: the same.
  await page.fill("#email", accounts[0]);
  await page.click("#passkey-login");
  await page.waitForSelector("body[data-view=account] .device.current");
  await logout(page);

  // Another account's email: refused, the assertion not even checked.
  await page.fill("#email", accounts[1]);
  await page.click("#passkey-login");
  await page.waitForSelector("#login-error:not([hidden])");
  assert.match(await page.textContent("#login-error"), /incorrect/);
  assert.equal(await page.evaluate(() => document.body.dataset.view), "login");
  await context.close();
});

test("an old sign-in asks again: a passkey in the prompt removes that passkey, a password signs out everywhere", async () => {
  const { context, page } = await device();
  await passwordLogin(page, accounts[2]);
  await addPasskey(page, "Only");
  const before = (await me(page)).auth_time;

  await sleep((REAUTH + 2) * 1000);
  await page.locator('.passkey:has-text("Only") button.remove-passkey').click();
  // The server said reauthentication_required; the page's prompt asks; the passkey answers
  // (the password stays the account's other way in, so it may go).
  await page.waitForSelector("#reauth[open]");
  await page.click("#reauth-passkey");
  await page.waitForSelector("#no-passkeys:not([hidden])");
  assert.equal(await page.locator(".passkey").count(), 0);
  const after = await me(page);
  assert.ok(after.auth_time > before, `${after.auth_time} after ${before}`);
  assert.ok(after.amr.includes("user"), after.amr.join());
  assert.equal(await page.locator("#account-error").isHidden(), true);

  // "Log out everywhere" always asks first; a wrong password ends nothing.
  await page.click("#logout-all");
  await page.waitForSelector("#reauth[open]");
  await page.fill("#reauth-password", "not the password at all");
  await page.click("#reauth-submit");
  await page.waitForSelector("#account-error:not([hidden])");
  assert.equal(await page.evaluate(() => document.body.dataset.view), "account");
  await page.click("#logout-all");
  await page.waitForSelector("#reauth[open]");
  await page.fill("#reauth-password", PASSWORD);
  await page.click("#reauth-submit");
  await page.waitForSelector("body[data-view=login]");
  await context.close();
});

test("a replayed assertion is refused: each challenge answers once", async () => {
  const { context, page } = await device();
  await passwordLogin(page, accounts[3]);
  await addPasskey(page, "Replay");
  const statuses = await page.evaluate(async () => {
    const post = (path, body) =>
      fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const { ceremony, publicKey } = await (await post("/login/passkey/options", {})).json();
    const got = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey) });
    const body = { ceremony, credential: got.toJSON() };
    const first = await post("/login/passkey", body);
    const second = await post("/login/passkey", body);
    return [first.status, second.status, (await second.json()).error];
  });
  assert.deepEqual(statuses, [200, 401, "invalid_credentials"]);
  await context.close();
});
