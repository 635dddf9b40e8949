import { describe, expect, it, vi } from "vitest";
import {
  ANONYMOUS,
  MemoryStorage,
  PassportError,
  createSession,
  passportsKey,
  upgradeAccessTokenJson,
} from "../src/index.js";

const BASE = "https://auth.example.test";
const nowSecs = () => Math.floor(Date.now() / 1000);

/** An unsigned JWT-shaped token (the client never verifies tokens). */
function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "HS256", typ: "passport+jwt" })}.${enc(claims)}.sig`;
}

/** Passport's passport routes, scripted: counts issues, checks the app's API by passport. */
class Server {
  issued = 0;
  bodies: Array<Record<string, unknown>> = [];
  bearers: Array<string | null> = [];
  /** Passports the app's API refuses (403, as API Gateway answers for the app authorizer). */
  refused = new Set<string>();
  refuseAll = false;
  privateApps = new Set<string>();
  ttl = 3600;
  gate: Promise<void> | null = null;
  apiCalls: Array<{ passport: string; code: string | null }> = [];
  loggedOut: string[] = [];

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const path = new URL(req.url).pathname;
    const json = (status: number, body: unknown) =>
      new Response(body === null ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
    const bearer = req.headers.get("Authorization")?.replace(/^Bearer /, "") ?? null;
    const code = req.headers.get("X-App-Code");
    if (path === "/login") {
      return json(200, {
        access_token: jwt({ sub: "account-1", exp: nowSecs() + 900, iat: nowSecs() }),
        refresh_token: "r1",
        token_type: "Bearer",
        expires_in: 900,
        session_id: "s1",
      });
    }
    if (path === "/passport") {
      if (this.gate) await this.gate;
      this.issued += 1;
      this.bodies.push((await req.json()) as Record<string, unknown>);
      this.bearers.push(bearer);
      const priv = this.privateApps.has(code ?? "");
      if (priv && !bearer) return json(401, { error: "sign_in_required", message: "sign in" });
      const claims: Record<string, unknown> = {
        sub: `eu-${this.issued}`,
        app_code: code,
        exp: nowSecs() + this.ttl,
        iat: nowSecs(),
        n: this.issued,
      };
      if (priv) claims.acct = "account-1";
      return json(200, { passport: jwt(claims), expires_in: this.ttl, end_user_id: claims.sub, app_code: code });
    }
    if (path === "/passport/logout") {
      this.loggedOut.push(bearer ?? "");
      return json(204, null);
    }
    if (path === "/logout") return json(204, null);
    this.apiCalls.push({ passport: bearer ?? "", code });
    if (!bearer || this.refuseAll || this.refused.has(bearer)) return json(403, { message: "Forbidden" });
    return json(200, { ok: true });
  };
}

function client(server: Server, storage = new MemoryStorage(), steps: string[] = []) {
  return createSession({
    baseUrl: BASE,
    storage,
    locks: null,
    fetch: server.fetch,
    proactiveRefresh: false,
    onObtainStep: (_, step) => steps.push(step),
  });
}

describe("accessTokenJson", () => {
  it("upgrades version 1 to version 2 and drops what it cannot read", () => {
    expect(upgradeAccessTokenJson(JSON.stringify({ app1: "tok1", app2: "" }))).toEqual({
      value: { app1: { [ANONYMOUS]: "tok1" } },
      changed: true,
    });
    const v2 = { app1: { [ANONYMOUS]: "a", "account-1": "b" } };
    expect(upgradeAccessTokenJson(JSON.stringify(v2))).toEqual({ value: v2, changed: false });
    expect(upgradeAccessTokenJson("not json")).toEqual({ value: {}, changed: true });
    expect(upgradeAccessTokenJson(JSON.stringify({ app1: 5, app2: { u: 7 } }))).toEqual({
      value: { app2: {} },
      changed: true,
    });
    expect(upgradeAccessTokenJson(null)).toEqual({ value: {}, changed: false });
  });

  it("uses a version-1 passport and rewrites storage as version 2 on read", async () => {
    const server = new Server();
    const storage = new MemoryStorage();
    const old = jwt({ sub: "eu-old", exp: nowSecs() + 3600 });
    storage.setItem(passportsKey(BASE), JSON.stringify({ "demo-app": old }));
    const s = client(server, storage);
    expect(await s.passport("demo-app")).toBe(old);
    expect(server.issued).toBe(0);
    expect(JSON.parse(storage.getItem(passportsKey(BASE)) ?? "null")).toEqual({ "demo-app": { [ANONYMOUS]: old } });
  });
});

describe("session.passport", () => {
  it("asks once for many callers in one tab and across two tabs", async () => {
    const server = new Server();
    let open!: () => void;
    server.gate = new Promise((r) => (open = r));
    const storage = new MemoryStorage();
    const steps: string[] = [];
    const [a, b] = [client(server, storage, steps), client(server, storage, steps)];
    const asks = [a.passport("demo-app"), a.passport("demo-app"), b.passport("demo-app"), b.passport("demo-app")];
    // Held at the server's gate: one tab is asking, every other call waits on it or the lock.
    await vi.waitFor(() => expect(steps).toContain("obtaining"));
    open();
    const got = await Promise.all(asks);
    expect(server.issued).toBe(1);
    expect(new Set(got).size).toBe(1);
  });

  it("renews an expiring passport with the previous one, keeping the visitor", async () => {
    const server = new Server();
    const storage = new MemoryStorage();
    const expiring = jwt({ sub: "eu-1", exp: nowSecs() + 10 });
    storage.setItem(passportsKey(BASE), JSON.stringify({ "demo-app": { [ANONYMOUS]: expiring } }));
    const fresh = await client(server, storage).passport("demo-app");
    expect(fresh).not.toBe(expiring);
    expect(server.bodies).toEqual([{ passport: expiring }]);
  });

  it("sends the passport and X-App-Code, and renews once on a refusal", async () => {
    const server = new Server();
    const s = client(server);
    const first = await s.passport("demo-app");
    server.refused.add(first);
    const resp = await s.passportFetch("demo-app", `${BASE}/apps/me`);
    expect(resp.status).toBe(200);
    expect(server.apiCalls.map((c) => c.code)).toEqual(["demo-app", "demo-app"]);
    expect(server.apiCalls[0].passport).toBe(first);
    expect(server.apiCalls[1].passport).not.toBe(first);
    expect(server.bodies.at(-1)).toEqual({ passport: first });
    // Refused whatever it sends: one renewal, then the refusal is the answer (no loop).
    server.refuseAll = true;
    const issued = server.issued;
    const again = await s.passportFetch("demo-app", `${BASE}/apps/me`);
    expect(again.status).toBe(403);
    expect(server.apiCalls).toHaveLength(4);
    expect(server.issued).toBe(issued + 1);
    await expect(s.passportFetch("demo-app", "https://elsewhere.test/x")).rejects.toMatchObject({
      code: "origin_not_allowed",
    });
  });

  it("a private app wants the signed-in account, files its passport under it, and forgets it at logout", async () => {
    const server = new Server();
    server.privateApps.add("members");
    const storage = new MemoryStorage();
    const s = client(server, storage);
    await expect(s.passport("members")).rejects.toEqual(expect.any(PassportError));
    await expect(s.passport("members")).rejects.toMatchObject({ status: 401, code: "sign_in_required" });
    await s.login("ada@example.com", "correct horse battery staple");
    const p = await s.passport("members");
    expect(server.bearers.at(-1)).toMatch(/\./);
    const stored = JSON.parse(storage.getItem(passportsKey(BASE)) ?? "{}") as Record<string, Record<string, string>>;
    expect(stored.members).toEqual({ "account-1": p });
    await s.logout();
    expect(storage.getItem(passportsKey(BASE))).toBeNull();
  });

  it("passportLogout ends the passport's session and forgets it", async () => {
    const server = new Server();
    const storage = new MemoryStorage();
    const s = client(server, storage);
    const p = await s.passport("demo-app");
    await s.passportLogout("demo-app");
    expect(server.loggedOut).toEqual([p]);
    expect(storage.getItem(passportsKey(BASE))).toBeNull();
    await s.passport("demo-app");
    expect(server.bodies.at(-1)).toEqual({});
  });
});
