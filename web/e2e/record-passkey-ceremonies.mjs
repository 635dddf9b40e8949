// Records one passkey registration and one sign-in made by Chromium's virtual authenticator
// (DevTools protocol, WebAuthn domain), with the server's half of each ceremony read from the
// store, into shared/tests/fixtures/passkey_ceremonies.json: the recorded ceremonies the Rust
// tests replay (shared/tests/passkeys.rs) to check what a browser cannot be made to send — a
// wrong origin, a wrong relying-party id, a replay, an expired challenge.
//
// Not a test (its file name does not end in .test.mjs); run it again only to re-record:
//   cargo build -p local-api && cd web && npm run build && \
//   LOCAL_API_BIN=../target/debug/local-api REDIS_CLI_PORT=6499 node e2e/record-passkey-ceremonies.mjs
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const PORT = 8123;
const ORIGIN = `http://app.localhost:${PORT}`;
const EMAIL = "recorded@example.com";
const PASSWORD = "a recorded ceremony password";
const redisPort = process.env.REDIS_CLI_PORT ?? "6499";
const DB = "9";

const api = spawn(process.env.LOCAL_API_BIN, ["--port", String(PORT), "--web-dir", path.join(here, ".."), "--account", `${EMAIL}:${PASSWORD}`], {
  env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}/${DB}`, PASSKEY_ORIGINS: ORIGIN, RUST_LOG: "warn" },
  stdio: ["ignore", "pipe", "inherit"],
});
await new Promise((resolve) => createInterface({ input: api.stdout }).on("line", (l) => l.startsWith("Passport local API listening") && resolve()));
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${ORIGIN}/app/?transport=body`);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await page.evaluate(([e, p]) => window.passportSession.login(e, p), [EMAIL, PASSWORD]);
  // Adding a passkey needs a reauthentication made for it.
  await page.evaluate((p) => window.passportSession.reauthenticate({ password: p }), PASSWORD);
  const state = (ceremony) => JSON.parse(execFileSync("redis-cli", ["-p", redisPort, "-n", DB, "GET", `pp:{cer:${ceremony}}:c`]).toString());

  const reg = await page.evaluate(async () => {
    const r = await window.passportSession.fetch(`${location.origin}/passkeys/registration/options`, { method: "POST" });
    return r.json();
  });
  const registration = { state: state(reg.ceremony) };
  registration.credential = await page.evaluate(async (publicKey) => {
    const c = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey) });
    return c.toJSON();
  }, reg.publicKey);

  const auth = await page.evaluate(async () => (await fetch("/login/passkey/options", { method: "POST" })).json());
  const authentication = { state: state(auth.ceremony) };
  authentication.credential = await page.evaluate(async (publicKey) => {
    const c = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey) });
    return c.toJSON();
  }, auth.publicKey);

  const out = { origin: ORIGIN, rp_id: "app.localhost", email: EMAIL, registration, authentication };
  const file = path.join(here, "../../shared/tests/fixtures/passkey_ceremonies.json");
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${file}`);
} finally {
  await browser.close();
  api.kill();
}
