// Device Bound Session Credentials in a real browser: Debian's headless Chromium in its
// software-key test mode registers a cookie session's device key with local-api, renews the
// bound cookie with signed proofs, and a copy of its cookies in a second profile (another
// "machine", with no key) stops refreshing once the bound cookie's lifetime is over, while the
// first keeps going.
//
// What Chromium wants before it binds (found by trial; ARCHITECTURE.md, "DBSC in a real
// browser"): the features on (the profile's `Local State` and `--enable-features`), HTTPS on a
// real host name — not localhost, not a certificate error — so the page is at
// https://app.test:<port> (`--host-resolver-rules`), served through a TLS proxy here whose
// self-signed certificate Chromium trusts by its key (`--ignore-certificate-errors-spki-list`,
// which, unlike `--ignore-certificate-errors`, leaves no certificate error behind).
//
// Needs: LOCAL_API_BIN, PASSPORT_TEST_REDIS_URL, openssl, CHROMIUM (default /usr/bin/chromium).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import https from "node:https";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { startLocalApi } from "./local-api.mjs";

const PASSWORD = "device-bound password";
const EMAIL = `dbsc-${process.pid}@example.com`;
/** The bound cookie's lifetime: the copy's refreshes stop after it. */
const BOUND_SECONDS = 4;
const HOST = "app.test";

let api;
let proxy;
let origin;
let work;
let spki;
/** What reached local-api through the proxy: "METHOD /path". */
const requests = [];
/** The browsers the test opened, closed after it whatever happened: one left open keeps this
 * process (and `make test`) waiting. */
const browsers = [];

/** A self-signed certificate for HOST, and the SHA-256 of its public key (base64). */
function certificate(dir) {
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", `/CN=${HOST}`,
    "-addext", `subjectAltName=DNS:${HOST}`,
  ], { stdio: "ignore" });
  const pub = execFileSync("openssl", ["x509", "-in", cert, "-pubkey", "-noout"]);
  const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: pub });
  const hash = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: der });
  return { key: readFileSync(key), cert: readFileSync(cert), spki: hash.toString("base64") };
}

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), "passport-dbsc-"));
  const tls = certificate(work);
  spki = tls.spki;
  const started = await startLocalApi({
    accounts: [[EMAIL, PASSWORD]],
    db: 8,
    env: { DBSC_BINDING: "required", DBSC_COOKIE_SECONDS: String(BOUND_SECONDS) },
  });
  api = started.api;
  const listening = new URL(started.base);
  // The TLS in front of local-api, as CloudFront or API Gateway's custom domain would be.
  proxy = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = http.request(
      { host: listening.hostname, port: listening.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  origin = `https://${HOST}:${proxy.address().port}`;
});

after(async () => {
  await Promise.all(browsers.map((b) => b.close().catch(() => {})));
  proxy?.close();
  api?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A browser profile: `dbsc` turns Device Bound Session Credentials on (software keys). */
async function profile(dbsc) {
  const dir = mkdtempSync(path.join(work, "profile-"));
  if (dbsc) {
    writeFileSync(
      path.join(dir, "Local State"),
      JSON.stringify({
        browser: {
          enabled_labs_experiments: [
            "enable-standard-device-bound-session-credentials@2",
            "enable-bound-session-credentials-software-keys-for-manual-testing@1",
          ],
        },
      }),
    );
  }
  const args = [
    "--no-sandbox",
    "--disable-gpu",
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`,
    `--ignore-certificate-errors-spki-list=${spki}`,
  ];
  if (dbsc) {
    args.push(
      "--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false/RefreshQuota/false," +
        "EnableBoundSessionCredentialsSoftwareKeysForManualTesting,DeviceBoundSessionsDevTools",
    );
  }
  return chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args,
  });
}

/** `POST /refresh-token` by the page's cookies: the status and error code. */
const refreshByCookie = (page) =>
  page.evaluate(async () => {
    const r = await fetch("/refresh-token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    const body = await r.json().catch(() => ({}));
    return [r.status, body.error ?? null];
  });

test("Chromium binds the cookie session to its key; a copy of the cookies stops refreshing after the bound cookie's lifetime", async () => {
  const laptop = await profile(true);
  browsers.push(laptop);
  const page = laptop.pages()[0] ?? (await laptop.newPage());
  const cdp = await laptop.newCDPSession(page);
  const events = [];
  await cdp.send("Network.enable");
  await cdp.send("Network.enableDeviceBoundSessions", { enable: true });
  cdp.on("Network.deviceBoundSessionEventOccurred", (e) => events.push(e));

  await page.goto(`${origin}/app/`);
  assert.equal(await page.evaluate(() => window.isSecureContext), true);
  await page.fill("#email", EMAIL);
  await page.fill("#password", PASSWORD);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("body[data-view=account] .device.current");

  // The browser registered its key with the challenge the login offered.
  const deadline = Date.now() + 10_000;
  while (!events.some((e) => e.creationEventDetails) && Date.now() < deadline) await sleep(100);
  const created = events.find((e) => e.creationEventDetails);
  assert.ok(created, `no registration: ${JSON.stringify(events)} ${requests.join(", ")}`);
  assert.equal(created.succeeded, true, JSON.stringify(created));
  assert.ok(requests.includes("POST /dbsc/register"), requests.join(", "));
  const cookies = await laptop.cookies();
  const names = cookies.map((c) => c.name);
  assert.ok(names.some((n) => n.startsWith("__Host-passport_bound")), names.join());

  // The jar, copied to another machine: a profile with no key for this site.
  const thief = await profile(false);
  browsers.push(thief);
  await thief.addCookies(cookies);
  const stolen = thief.pages()[0] ?? (await thief.newPage());
  await stolen.goto(`${origin}/app/?proactive=0`, { waitUntil: "domcontentloaded" });

  await sleep((BOUND_SECONDS + 2) * 1000);
  // The copy: its bound cookie is past its lifetime and it has no key to renew it.
  assert.deepEqual(await refreshByCookie(stolen), [403, "bound_cookie_required"]);
  // The laptop: Chromium renews the bound cookie with a signed proof, and refreshes.
  const seen = () => `events: ${JSON.stringify(events)}; requests: ${requests.join(", ")}`;
  assert.deepEqual(await refreshByCookie(page), [200, null], seen());
  const renewed = events.filter((e) => e.refreshEventDetails?.refreshResult === "Refreshed");
  assert.ok(renewed.length >= 1, JSON.stringify(events.map((e) => Object.keys(e))));
  assert.ok(events.some((e) => e.challengeEventDetails?.challengeResult === "Success"));
  assert.ok(requests.includes("POST /dbsc/refresh"), requests.join(", "));
  // Still the laptop's, still refused to the copy.
  assert.deepEqual(await refreshByCookie(page), [200, null], seen());
  assert.deepEqual(await refreshByCookie(stolen), [403, "bound_cookie_required"]);
});
