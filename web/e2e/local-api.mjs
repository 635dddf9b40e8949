// What the browser tests share: their environment, and the real local-api they run against
// (`LOCAL_API_BIN`, on the private Redis of `make test`). Not a test itself (no `.test.`).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const webDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

/** An environment variable `make test` sets, or a clear error. */
export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the browser tests through make test`);
  return v;
}

/**
 * Starts local-api on `port` (default: a free one), serving web/, with `accounts`
 * (`[email, password]`), `extra` arguments and `env` beside the process's, on Redis database
 * `db`: the process, its base URL (from its start-up line) and every line it prints (mail
 * included, when it prints mail).
 */
export async function startLocalApi({ accounts, env, db, port = 0, extra = [] }) {
  const redis = need("PASSPORT_TEST_REDIS_URL").replace(/\/+$/, "");
  const args = ["--port", String(port), "--web-dir", webDir, ...extra];
  for (const [email, password] of accounts) args.push("--account", `${email}:${password}`);
  const api = spawn(need("LOCAL_API_BIN"), args, {
    env: { ...process.env, REDIS_URL: `${redis}/${db}`, RUST_LOG: "warn", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = [];
  const base = await new Promise((resolve, reject) => {
    api.once("exit", (code) => reject(new Error(`local-api exited with ${code}`)));
    createInterface({ input: api.stdout }).on("line", (line) => {
      lines.push(line);
      const m = line.match(/^Passport local API listening on (\S+)/);
      if (m) resolve(m[1]);
    });
  });
  return { api, base, lines };
}
