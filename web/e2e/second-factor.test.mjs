// Browser tests of two-step sign-in on the sessions page in headless Chromium, against the real
// local-api (on the private Redis of `make test`): a person sets up an authenticator app from
// the page (the key it shows, read as an app reads it: `otpauth`, RFC 6238), keeps the recovery
// codes, signs out, signs in with the password and then a code, again with a recovery code, is
// refused a wrong code, and turns the second factor off.
//
// Needs: LOCAL_API_BIN, PASSPORT_TEST_REDIS_URL, CHROMIUM (default /usr/bin/chromium);
// screenshots go to WEB_ARTIFACTS (default ../target/web-artifacts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import * as OTPAuth from "otpauth";
import { startLocalApi } from "./local-api.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.WEB_ARTIFACTS ?? path.join(here, "../../target/web-artifacts");
const PASSWORD = "amber-falcon-quietly-sings-42";
const EMAIL = `two-step-${Date.now()}@example.com`;

let api;
let base;
let browser;

before(async () => {
  ({ api, base } = await startLocalApi({
    accounts: [[EMAIL, PASSWORD]],
    db: 5,
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

/** The code an authenticator app holding `secret` shows `offset` steps from now. */
function code(secret, offset = 0) {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + offset * 30_000 });
}

async function signIn(page) {
  await page.goto(`${base}/app/`);
  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await page.click("#login-form button[type=submit]");
}

async function signOut(page) {
  await page.click("#logout");
  await page.waitForSelector("#login:not([hidden])");
}

test("a person sets up an authenticator app, then signs in with a code and with a recovery code", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page);
    await page.waitForSelector("#account:not([hidden])");
    assert.match(await page.textContent("#mfa-status"), /^Off/);

    // Set up: the QR code renders (an image the page's CSP allows), the key is an app's key.
    await page.click("#mfa-setup");
    await page.waitForSelector("#mfa-enrol:not([hidden])");
    const secret = (await page.textContent("#mfa-secret")).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const qrWidth = await page.$eval("#mfa-qr", (img) => img.complete && img.naturalWidth);
    assert.ok(qrWidth > 0, "the QR code did not render");
    await page.screenshot({ path: path.join(artifacts, "second-factor-setup.png") });
    await page.fill("#mfa-code", code(secret));
    await page.click("#mfa-confirm-form button");
    await page.waitForSelector("#mfa-codes:not([hidden])");
    const recovery = await page.$$eval("#mfa-code-list li", (lis) => lis.map((li) => li.textContent));
    assert.equal(recovery.length, 10);
    assert.match(await page.textContent("#mfa-status"), /^On since .* 10 recovery codes left/);

    // The password alone no longer signs in: the second step asks for a code.
    await signOut(page);
    await signIn(page);
    await page.waitForSelector("#second-step:not([hidden])");
    assert.equal(await page.$eval("#account", (s) => s.hidden), true);
    // A wrong code is refused, and the step stays.
    const right = code(secret, 1);
    await page.fill("#second-step-code", right === "000000" ? "111111" : "000000");
    await page.click("#second-step-form button");
    await page.waitForSelector("#second-step-error:not([hidden])");
    // The next step's code (the one the set-up used is spent) signs in.
    await page.fill("#second-step-code", right);
    await page.click("#second-step-form button");
    await page.waitForSelector("#account:not([hidden])");
    const how = await page.textContent("#devices li.current");
    assert.match(how, /Password and authenticator code/);

    // A recovery code signs in once.
    await signOut(page);
    await signIn(page);
    await page.waitForSelector("#second-step:not([hidden])");
    await page.fill("#second-step-recovery", recovery[0].toUpperCase());
    await page.click("#second-step-form button");
    await page.waitForSelector("#account:not([hidden])");
    assert.match(await page.textContent("#mfa-status"), /9 recovery codes left/);
    // The page's security history, newest first: what just happened, each once.
    const events = await page.$$eval("#activity li", (lis) => lis.map((li) => li.dataset.event));
    assert.deepEqual(events.slice(0, 6), [
      "sign_in",
      "recovery_code_used",
      "sign_in",
      "sign_in_refused",
      "second_factor_added",
      "sign_in",
    ]);
    assert.match(await page.textContent("#activity li:first-child"), /Signed in · Password and authenticator code/);
    await page.screenshot({ path: path.join(artifacts, "second-factor-on.png") });

    // Signed in with two factors just now: turning it off needs nothing more.
    await page.click("#mfa-remove");
    await page.waitForFunction(() => document.querySelector("#mfa-status").textContent.startsWith("Off"));
    await signOut(page);
    await signIn(page);
    await page.waitForSelector("#account:not([hidden])");
  } finally {
    await context.close();
  }
});
