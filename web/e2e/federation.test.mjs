// Browser tests of sign-in with an identity provider on the sessions page, in headless Chromium,
// against the real local-api (on the private Redis of `make test`) and a real OpenID Provider
// (infra/test/oidc-provider.mjs, which `make test` starts): the page's "Sign in with …" button,
// the provider's own sign-in page, and back to a signed-in page; an address that has an account
// is refused until its owner connects the provider from a password session; disconnecting it
// signs out the devices it signed in, and the password still works.
//
// Needs: LOCAL_API_BIN, PASSPORT_TEST_REDIS_URL, PASSPORT_TEST_OIDC_ISSUER, CHROMIUM (default
// /usr/bin/chromium); screenshots go to WEB_ARTIFACTS (default ../target/web-artifacts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { need, startLocalApi } from "./local-api.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.WEB_ARTIFACTS ?? path.join(here, "../../target/web-artifacts");
const PASSWORD = "amber-falcon-quietly-sings-42";
const OWNER = `owner-${Date.now()}@example.com`;
const NEWCOMER = `newcomer-${Date.now()}@example.com`;

let api;
let base;
let browser;

/** A free loopback port (the provider must know the callback before local-api starts). */
async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

before(async () => {
  const issuer = need("PASSPORT_TEST_OIDC_ISSUER");
  const port = await freePort();
  // A client of its own at the provider (dynamic registration, RFC 7591).
  const reg = await fetch(`${issuer}/reg`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      redirect_uris: [`http://127.0.0.1:${port}/oauth/test/callback`],
      response_types: ["code"],
      grant_types: ["authorization_code"],
    }),
  });
  assert.equal(reg.status, 201);
  const client = await reg.json();
  ({ api, base } = await startLocalApi({
    accounts: [[OWNER, PASSWORD]],
    db: 10,
    port,
    extra: ["--oidc", `test,${issuer},${client.client_id},${client.client_secret}`],
    env: { SIGNING_SECRET: "browser-tests-signing-key-0123456789abcdef" },
  }));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox"],
  });
  mkdirSync(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  api?.kill();
});

/**
 * After a click that leaves for the provider: its sign-in page as `who` — unless the provider
 * remembers this browser's sign-in there (its own session) and sends it straight back — until
 * the page shows `done`.
 */
async function throughProvider(page, who, done) {
  const form = await Promise.race([
    page.waitForSelector("input[name=login]").then(() => true, () => false),
    page.waitForSelector(done).then(() => false, () => false),
  ]);
  if (form) {
    assert.ok(page.url().startsWith(need("PASSPORT_TEST_OIDC_ISSUER")), page.url());
    await page.fill("input[name=login]", who);
    await page.click("button[type=submit]");
  }
  await page.waitForSelector(done);
}

/** From the sign-in view: `email`'s password, to the account view. */
async function signInWithPassword(page, email) {
  await page.fill("#email", email);
  await page.fill("#password", PASSWORD);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#account:not([hidden])");
}

/** From the sign-in view: the provider's button, its sign-in as `who`, and back to `done`. */
async function signInWithProvider(page, who, done = "#account:not([hidden])") {
  await page.click("#providers button[data-provider=test]");
  await throughProvider(page, who, done);
}

test("a first sign-in through the provider makes an account and signs it in", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  try {
    await page.goto(`${base}/app/`);
    await page.waitForSelector("#providers:not([hidden])");
    assert.equal((await page.textContent("#providers button")).trim(), "Sign in with test");
    await signInWithProvider(page, NEWCOMER);
    assert.equal(await page.textContent("#who"), NEWCOMER);
    // The code in the fragment was spent and cleared.
    assert.equal(new URL(page.url()).hash, "");
    await page.waitForSelector("#connected li[data-provider=test]");
    assert.match(await page.textContent("#devices"), /Identity provider/);
    await page.screenshot({ path: path.join(artifacts, "federation-signed-in.png") });
  } finally {
    await context.close();
  }
});

test("an existing account connects the provider from a password session, then disconnects it", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  try {
    // The provider vouches for the owner's address: no account is joined without its owner.
    await page.goto(`${base}/app/`);
    await page.waitForSelector("#providers:not([hidden])");
    await signInWithProvider(page, OWNER, "#login-error:not([hidden])");
    assert.match(await page.textContent("#login-error"), /already exists/);

    // The owner signs in with the password and connects the provider.
    await signInWithPassword(page, OWNER);
    await page.click("#connect button[data-provider=test]");
    await throughProvider(page, OWNER, "#connected li[data-provider=test]");
    assert.match(await page.textContent("#providers-message"), /Connected/);

    // Signed out, the provider signs the owner in.
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    await signInWithProvider(page, OWNER);
    assert.equal(await page.textContent("#who"), OWNER);
    await page.screenshot({ path: path.join(artifacts, "federation-connected.png") });

    // Disconnecting it ends the sessions it signed in: this one.
    await page.click("#connected li[data-provider=test] button.disconnect");
    await page.waitForSelector("#login:not([hidden])");
    // The password still signs in, and nothing is connected any more.
    await signInWithPassword(page, OWNER);
    await page.waitForSelector("#connect button[data-provider=test]");
    assert.equal(await page.$$eval("#connected li", (l) => l.length), 0);
  } finally {
    await context.close();
  }
});
