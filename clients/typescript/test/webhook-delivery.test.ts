// Real deliveries: the server (see env.ts; make test-ts starts it with
// CALLSVC_WEBHOOK_ALLOW_PRIVATE=true and a short CALLSVC_WEBHOOK_RETRY_MIN) POSTs
// events to a receiver on 127.0.0.1 in this process; verifyWebhook checks each, and
// so does standardwebhooks. Other test files share the organization, so the
// receiver acknowledges their events too and each test picks its own by call id.
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Webhook } from "standardwebhooks";
import { Callsvc, CallsvcError, verifyWebhook, type Delivery, type WebhookEvent } from "../src/index.js";
import { apiKey, baseUrl } from "./env.js";

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The call the event is about (parsed unverified, only to route it to its test). */
  callId: string;
}

/** An HTTP receiver on a free loopback port that records every POST. */
class Receiver {
  readonly received: Received[] = [];
  /** The answer's status for a delivery (default 204). */
  status: (r: Received) => number = () => 204;
  private waiting: (() => void)[] = [];
  private readonly server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => this.record(req.method ?? "", req.headers, Buffer.concat(chunks), res));
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callsvc`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The first n deliveries about callId, as they arrive. */
  async deliveries(callId: string, n = 1): Promise<Received[]> {
    for (;;) {
      const mine = this.received.filter((r) => r.callId === callId);
      if (mine.length >= n) return mine.slice(0, n);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private record(method: string, headers: IncomingHttpHeaders, body: Buffer, res: ServerResponse) {
    let callId = "";
    try {
      const event = JSON.parse(body.toString("utf8")) as WebhookEvent;
      callId = event.type === "outcome.created" ? event.data.callId : event.data.id;
    } catch {
      // Not an event: recorded with no call, never picked.
    }
    const r = { headers, body, callId };
    this.received.push(r);
    res.writeHead(method === "POST" ? this.status(r) : 405).end();
    for (const wake of this.waiting.splice(0)) wake();
  }
}

/** Both libraries accept the delivery; ours returns the event. */
function verified(secret: string, r: Received): WebhookEvent {
  const event = verifyWebhook(secret, r.headers, r.body);
  const flat = Object.fromEntries(Object.entries(r.headers).filter((e): e is [string, string] => typeof e[1] === "string"));
  assert.deepEqual(new Webhook(secret).verify(r.body, flat), event, "standardwebhooks agrees");
  assert.equal(event.id, r.headers["webhook-id"], "the body's id is the webhook-id");
  assert.equal(r.headers["content-type"], "application/json");
  return event;
}

describe("deliveries from a real server", { timeout: 120_000 }, () => {
  const callsvc = new Callsvc({ baseUrl, apiKey });
  const receiver = new Receiver();
  let endpointId = "";
  let secret = "";

  before(async () => {
    const url = await receiver.listen();
    const res = await callsvc.api.POST("/v1/webhook-endpoints", { body: { url, eventTypes: ["outcome.created", "call.cancelled"] } });
    if (!res.data) {
      const err = CallsvcError.from(res.response, res.error);
      if (err.code === "webhook_url_not_allowed") err.message += " (start the server with CALLSVC_WEBHOOK_ALLOW_PRIVATE=true, as make test-ts does)";
      throw err;
    }
    assert.match(res.data.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    ({ id: endpointId, secret } = res.data);
  });

  after(async () => {
    if (endpointId) {
      const res = await callsvc.api.DELETE("/v1/webhook-endpoints/{endpointId}", { params: { path: { endpointId } } });
      assert.equal(res.response.status, 204);
    }
    await receiver.close();
  });

  test("outcome.created: verifies, and data is the outcome GET …/outcome shows", async () => {
    const prospect = await callsvc.prospects.create({ name: "Webhook Wealth", clientCount: 900 });
    const call = await callsvc.calls.create({ prospectId: prospect.id, status: "in_progress" });
    await callsvc.outcomes.create(call.id, { outcomeType: "Meeting_Booked", qualificationFlags: { budget: true, note: "Zürich 🏦" } });

    const [delivery] = await receiver.deliveries(call.id);
    assert.ok(delivery);
    const event = verified(secret, delivery);
    if (event.type !== "outcome.created") assert.fail(`expected outcome.created, got ${event.type}`);
    assert.deepEqual(event.data, await callsvc.outcomes.get(call.id));
    assert.ok(Date.parse(event.createdAt) > 0);

    // The same bytes under another secret, or altered, are refused.
    assert.throws(() => verifyWebhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`, delivery.headers, delivery.body), { code: "bad_signature" });
    assert.throws(() => verifyWebhook(secret, delivery.headers, delivery.body.toString().replace("Meeting_Booked", "Not_Interested")), { code: "bad_signature" });
  });

  test("call.cancelled: verifies, and data is the call GET /v1/calls/{id} shows", async () => {
    const prospect = await callsvc.prospects.create({ name: "Webhook Advisors" });
    const call = await callsvc.calls.create({ prospectId: prospect.id });
    await callsvc.calls.cancel(call.id);

    const [delivery] = await receiver.deliveries(call.id);
    assert.ok(delivery);
    const event = verified(secret, delivery);
    if (event.type !== "call.cancelled") assert.fail(`expected call.cancelled, got ${event.type}`);
    assert.equal(event.data.status, "cancelled");
    assert.deepEqual(event.data, await callsvc.calls.get(call.id));
  });

  test("a refused attempt is retried with the same webhook-id, and each attempt verifies", async () => {
    const prospect = await callsvc.prospects.create({ name: "Webhook Retry", clientCount: 900 });
    const call = await callsvc.calls.create({ prospectId: prospect.id, status: "in_progress" });
    let attempts = 0;
    receiver.status = (r) => (r.callId === call.id && attempts++ === 0 ? 503 : 204);
    await callsvc.outcomes.create(call.id, { outcomeType: "Follow_up_Scheduled" });

    const [first, second] = await receiver.deliveries(call.id, 2);
    assert.ok(first && second);
    const a = verified(secret, first);
    const b = verified(secret, second);
    assert.equal(first.headers["webhook-id"], second.headers["webhook-id"]);
    assert.deepEqual(a, b);
    assert.deepEqual(a.data, await callsvc.outcomes.get(call.id));

    // The server recorded it: succeeded at the second attempt, after a 204.
    let delivery: Delivery | undefined;
    do {
      if (delivery) await sleep(50);
      const res = await callsvc.api.GET("/v1/webhook-endpoints/{endpointId}/deliveries", { params: { path: { endpointId }, query: { limit: 100 } } });
      delivery = res.data?.items.find((d) => d.eventId === a.id);
      assert.ok(delivery, `no delivery of event ${a.id} in the endpoint's first page`);
    } while (delivery.status === "pending");
    assert.equal(delivery.status, "succeeded");
    assert.equal(delivery.attempts, 2);
    assert.equal(delivery.lastResponseStatus, 204);
    assert.equal(delivery.eventType, "outcome.created");
  });
});
