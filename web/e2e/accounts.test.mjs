// Browser tests of what a person does by mail, on the sessions page in headless Chromium,
// against the real local-api (on the private Redis of `make test`) printing its mail in its
// terminal, as README's first command does: a new user signs up, follows the link from the
// mail, signs in, signs out, forgets the password, resets it from the next mail, and signs in
// with a mailed code; an unconfirmed account is told so and can ask for the link again.
//
// Needs: LOCAL_API_BIN, PASSPORT_TEST_REDIS_URL, CHROMIUM (default /usr/bin/chromium);
// screenshots go to WEB_ARTIFACTS (default ../target/web-artifacts).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startLocalApi } from "./local-api.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.WEB_ARTIFACTS ?? path.join(here, "../../target/web-artifacts");
const PASSWORD = "vivid-otter-quantum-lamp-91";
const NEW_PASSWORD = "copper kettle whispers at dawn 7";

let api;
let base;
let lines;
let browser;

before(async () => {
  ({ api, base, lines } = await startLocalApi({
    accounts: [],
    db: 9,
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
 * The `n`th mail (1-based) local-api printed to `to`: its text, waited for up to ten seconds.
 * local-api prints each as `----- mail -----`, headers, the text, then a line of dashes.
 */
async function mail(to, n) {
  for (let i = 0; i < 100; i++) {
    const found = [];
    for (let k = 0; k < lines.length; k++) {
      if (lines[k] !== "----- mail -----" || lines[k + 2] !== `To: ${to}`) continue;
      const end = lines.indexOf("----------------", k);
      if (end > k) found.push(lines.slice(k, end).join("\n"));
    }
    if (found.length >= n) return found[n - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail ${n} to ${to}`);
}

/** The link in a mail's text (the page's address with the token in its fragment). */
const linkIn = (text) => text.match(/https?:\/\/\S+#(?:verify|reset|email)=\S+/)[0];
/** A notice's "this wasn't me" link. */
const notMeIn = (text) => text.match(/https?:\/\/\S+#not-me=\S+/)[0];

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/app/`);
  await page.waitForSelector("#login:not([hidden])");
  return page;
}

async function signIn(page, email, password) {
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("#login-form button[type=submit]");
}

test("a new user signs up, confirms, signs out, resets the password and signs in with a code", async () => {
  const email = `new-${process.pid}@example.com`;
  const page = await newPage();

  await page.click("#show-signup");
  await page.waitForSelector("#signup:not([hidden])");
  // A guessable password is refused with the reason.
  await page.fill("#signup-email", email);
  await page.fill("#signup-password", "password1234");
  await page.click("#signup-form button");
  await page.waitForSelector("#signup-message.error:not([hidden])");
  assert.match(await page.textContent("#signup-message"), /too easy to guess/);
  await page.fill("#signup-password", PASSWORD);
  await page.click("#signup-form button");
  await page.waitForSelector("#signup-message:not(.error):not([hidden])");
  assert.match(await page.textContent("#signup-message"), /check your inbox/);

  // The link opens a page that asks first (a mail scanner's GET confirms nothing).
  const verify = linkIn(await mail(email, 1));
  await page.goto(verify);
  await page.waitForSelector("#link:not([hidden])");
  await page.click("#link-confirm");
  await page.waitForSelector("#link-message:not([hidden])");
  assert.match(await page.textContent("#link-message"), new RegExp(`${email} is confirmed`));

  await page.click("#link a.back");
  await page.waitForSelector("#login:not([hidden])");
  await signIn(page, email, PASSWORD);
  await page.waitForSelector("#account:not([hidden])");
  assert.equal(await page.textContent("#who"), email);
  await page.click("#logout");
  await page.waitForSelector("#login:not([hidden])");

  await page.click("#show-forgot");
  await page.fill("#forgot-email", email);
  await page.click("#forgot-form button");
  await page.waitForSelector("#forgot-message:not([hidden])");
  await page.goto(linkIn(await mail(email, 2)));
  await page.waitForSelector("#reset:not([hidden])");
  await page.fill("#reset-password", NEW_PASSWORD);
  await page.click("#reset-form button");
  await page.waitForSelector("#reset-message:not([hidden])");
  assert.match(await page.textContent("#reset-message"), /password is changed/);
  assert.match(await mail(email, 3), /Subject: Your password was changed/);

  await page.click("#reset a.back");
  await signIn(page, email, PASSWORD);
  await page.waitForSelector("#login-error:not([hidden])");
  assert.match(await page.textContent("#login-error"), /invalid|wrong|password/i);

  await page.goto(`${base}/app/#code`);
  await page.waitForSelector("#code:not([hidden])");
  await page.fill("#code-email", email);
  await page.click("#code-request-form button");
  await page.waitForSelector("#code-form:not([hidden])");
  const code = (await mail(email, 4)).match(/Code: (\d{6})/)[1];
  await page.fill("#code-value", code);
  await page.click("#code-form button");
  await page.waitForSelector("#account:not([hidden])");
  assert.equal(await page.textContent("#who"), email);
  await page.waitForSelector(".device.current");
  assert.match(await page.textContent(".device.current"), /Emailed code/);
  await page.screenshot({ path: path.join(artifacts, "accounts-signed-in-with-a-code.png") });

  // The reset's notice says "this wasn't me": its page asks, then signs out every device —
  // this browser's session too, which then finds itself signed out.
  await page.goto(notMeIn(await mail(email, 3)));
  await page.waitForSelector("#link:not([hidden])");
  assert.equal(await page.textContent("#link-title"), "Wasn't you?");
  await page.click("#link-confirm");
  await page.waitForSelector("#link-message:not([hidden])");
  assert.match(await page.textContent("#link-message"), /Every device was signed out \(1 sessions ended\)/);
  await page.goto(`${base}/app/`);
  await page.waitForSelector("#login:not([hidden])");
  await page.context().close();
});

test("an unconfirmed account is told so at sign-in and can ask for the link again", async () => {
  const email = `unconfirmed-${process.pid}@example.com`;
  const page = await newPage();
  await page.goto(`${base}/app/#signup`);
  await page.fill("#signup-email", email);
  await page.fill("#signup-password", PASSWORD);
  await page.click("#signup-form button");
  await page.waitForSelector("#signup-message:not(.error):not([hidden])");
  await page.click("#signup a.back");
  await signIn(page, email, PASSWORD);
  await page.waitForSelector("#unverified:not([hidden])");
  assert.match(await page.textContent("#login-error"), /verify your email/);
  await page.click("#resend");
  const second = linkIn(await mail(email, 2));
  assert.notEqual(second, linkIn(await mail(email, 1)));
  await page.goto(second);
  await page.click("#link-confirm");
  await page.waitForSelector("#link-message:not([hidden])");
  await page.click("#link a.back");
  await signIn(page, email, PASSWORD);
  await page.waitForSelector("#account:not([hidden])");
  await page.context().close();
});
