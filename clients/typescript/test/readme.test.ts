// The README's TypeScript examples are examples/readme.ts and examples/webhook.ts,
// verbatim, and they run.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Webhook } from "standardwebhooks";
import type { WebhookEvent } from "../src/index.js";
import { apiKey, baseUrl } from "./env.js";

const pkg = new URL("../../", import.meta.url); // dist/test/ -> the package

for (const example of ["readme.ts", "webhook.ts"]) {
  test(`the README shows examples/${example} as it is`, async () => {
    const readme = await readFile(new URL("../../README.md", pkg), "utf8");
    const code = await readFile(new URL(`examples/${example}`, pkg), "utf8");
    assert.ok(readme.includes("```ts\n" + code + "```\n"), `README.md's \`\`\`ts block differs from clients/typescript/examples/${example}: copy the file into the README`);
  });
}

test("the README example runs: one outcome, then 409 outcome_exists, then the call", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["dist/examples/readme.js"], {
    cwd: new URL(".", pkg),
    env: { ...process.env, CALLSVC_URL: baseUrl, CALLSVC_API_KEY: apiKey },
  });
  assert.equal(stdout, "outcome: Meeting_Booked\nagain: 409 outcome_exists\ncall: completed\n");
});

test("the README's webhook receiver runs: a signed event is 204 and printed, a forged one 400", async () => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const port = await freePort();
  const receiver = spawn(process.execPath, ["dist/examples/webhook.js"], {
    cwd: new URL(".", pkg),
    env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  receiver.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  const exited = once(receiver, "close");
  const callId = randomUUID();
  try {
    const event = {
      id: randomUUID(),
      type: "outcome.created",
      createdAt: new Date().toISOString(),
      data: {
        id: randomUUID(),
        callId,
        outcomeType: "Meeting_Booked",
        disqualificationReason: null,
        qualificationFlags: {},
        advisoryMode: false,
        deferredObjections: [],
        createdAt: new Date().toISOString(),
      },
    } satisfies WebhookEvent;
    const body = JSON.stringify(event);
    const now = new Date();
    const headers = {
      "Content-Type": "application/json",
      "webhook-id": event.id,
      "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(event.id, now, body),
    };
    const post = (b: string) => fetch(`http://127.0.0.1:${port}/callsvc`, { method: "POST", headers, body: b });
    let ok: Response | undefined;
    while (!ok) {
      assert.equal(receiver.exitCode, null, "the receiver exited");
      ok = await post(body).catch(() => sleep(50).then(() => undefined)); // until it listens
    }
    assert.equal(ok.status, 204);
    assert.equal((await post(body.replace("Meeting_Booked", "Not_Interested"))).status, 400);
  } finally {
    receiver.kill();
    await exited;
  }
  assert.equal(stdout, `outcome: ${callId} Meeting_Booked\n`, "printed once: the forged one is not");
});

/** A port nothing listens on now (on loopback: the OS does not hand it out again at once). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}
