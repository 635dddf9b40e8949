// The Lambda runtime loop for the Node.js peer, as AWS documents it for a custom runtime ("Using
// the Lambda runtime API for custom runtimes", Lambda Developer Guide): GET the next invocation,
// run the handler, POST its result. AWS's own Node.js runtime interface client (npm
// `aws-lambda-ric`) does the same over a native HTTP client, but builds curl and aws-lambda-cpp
// from source at install (cmake, autotools); this loop uses `node:http` with keep-alive instead.
import http from "node:http";
import path from "node:path";

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const base = "/2018-06-01/runtime/invocation";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const root = process.env.LAMBDA_TASK_ROOT ?? path.dirname(new URL(import.meta.url).pathname);
const { handler } = await import(path.join(root, "handler.mjs"));

function call(method, p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: p, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

for (;;) {
  const next = await call("GET", `${base}/next`);
  const id = next.headers["lambda-runtime-aws-request-id"];
  try {
    const result = await handler(JSON.parse(next.body));
    await call("POST", `${base}/${id}/response`, JSON.stringify(result));
  } catch (e) {
    const error = { errorMessage: String(e?.message ?? e), errorType: e?.name ?? "Error" };
    await call("POST", `${base}/${id}/error`, JSON.stringify(error));
  }
}
