// verifyWebhook held to the Standard Webhooks specification's own npm package
// (standardwebhooks): what it signs, we accept; what we refuse, it refuses too.
// No server needed; webhook-delivery.test.ts checks real deliveries.
import assert from "node:assert/strict";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { Webhook, WebhookVerificationError as TheirError } from "standardwebhooks";
import { verifyWebhook, WebhookVerificationError, type Call, type Outcome, type WebhookEvent, type WebhookVerificationCode } from "../src/index.js";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const theirs = new Webhook(secret);

const outcomeEvent = {
  id: "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9",
  type: "outcome.created",
  createdAt: "2026-03-02T14:31:00Z",
  data: {
    id: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    callId: "3f6e2a10-8c4d-4b7e-9f12-5a6b7c8d9e01",
    outcomeType: "Meeting_Booked",
    disqualificationReason: null,
    qualificationFlags: { budget: true, note: "Zürich 🏦" },
    advisoryMode: false,
    deferredObjections: [],
    createdAt: "2026-03-02T14:31:00Z",
  },
} satisfies WebhookEvent;
const body = JSON.stringify(outcomeEvent);

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

/** A delivery signed by standardwebhooks at `at`. */
function signed(payload = body, at = new Date(), id: string = outcomeEvent.id): Delivery {
  return {
    headers: {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": theirs.sign(id, at, payload),
    },
    body: payload,
  };
}

/** Asserts that fn throws our WebhookVerificationError with that code. */
function refused(fn: () => unknown, code: WebhookVerificationCode): WebhookVerificationError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof WebhookVerificationError, `expected a WebhookVerificationError ${code}, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  assert.equal(thrown.name, "WebhookVerificationError");
  return thrown;
}

/** Asserts that both libraries refuse the delivery (at the real clock: standardwebhooks has no other). */
function bothRefuse(d: Delivery, code: WebhookVerificationCode) {
  refused(() => verifyWebhook(secret, d.headers, d.body), code);
  assert.throws(() => theirs.verify(d.body, d.headers), TheirError);
}

describe("what standardwebhooks signs, verifyWebhook accepts", () => {
  test("the event comes back parsed and typed", () => {
    const d = signed();
    const event = verifyWebhook(secret, d.headers, d.body);
    assert.deepEqual(event, outcomeEvent);
    assert.deepEqual(event, theirs.verify(d.body, d.headers));
    // The type narrows on `type`: data is an Outcome here (checked by tsc).
    assert.equal(event.type, "outcome.created");
    if (event.type === "outcome.created") {
      const outcome: Outcome = event.data;
      assert.equal(outcome.outcomeType, "Meeting_Booked");
    }
  });

  test("a call.cancelled event carries a Call", () => {
    const cancelled = {
      id: randomUUID(),
      type: "call.cancelled",
      createdAt: "2026-03-02T15:00:00Z",
      data: {
        id: randomUUID(),
        prospectId: randomUUID(),
        status: "cancelled",
        startedAt: "2026-03-02T14:55:00Z",
        endedAt: "2026-03-02T15:00:00Z",
        createdAt: "2026-03-02T14:50:00Z",
        updatedAt: "2026-03-02T15:00:00Z",
      },
    } satisfies WebhookEvent;
    const d = signed(JSON.stringify(cancelled), new Date(), cancelled.id);
    const event = verifyWebhook(secret, d.headers, d.body);
    assert.deepEqual(event, cancelled);
    if (event.type !== "call.cancelled") assert.fail(`type ${event.type}`);
    const call: Call = event.data;
    assert.equal(call.status, "cancelled");
  });

  test("the body as bytes (a Buffer, a plain Uint8Array), and fetch Headers", () => {
    const d = signed();
    assert.deepEqual(verifyWebhook(secret, d.headers, Buffer.from(d.body)), outcomeEvent);
    assert.deepEqual(verifyWebhook(secret, d.headers, new TextEncoder().encode(d.body)), outcomeEvent);
    assert.deepEqual(verifyWebhook(secret, new Headers(d.headers), d.body), outcomeEvent);
  });

  test("header names in any case, values as Node gives them (string[] included)", () => {
    const d = signed();
    const headers = {
      "Webhook-Id": d.headers["webhook-id"],
      "WEBHOOK-TIMESTAMP": [d.headers["webhook-timestamp"] ?? ""],
      "webhook-Signature": d.headers["webhook-signature"],
      "content-type": "application/json",
      "x-absent": undefined,
    };
    assert.deepEqual(verifyWebhook(secret, headers, d.body), outcomeEvent);
  });

  test("one matching v1 entry among several (a rotated secret, other versions) is enough", () => {
    const d = signed();
    const other = new Webhook(`whsec_${randomBytes(32).toString("base64")}`).sign(outcomeEvent.id, new Date(Number(d.headers["webhook-timestamp"]) * 1000), d.body);
    const mine = d.headers["webhook-signature"] ?? "";
    const withOthers = { ...d.headers, "webhook-signature": `${other}  v1a,${mine.slice(3)} v2,${mine.slice(3)} ${mine}` };
    assert.deepEqual(verifyWebhook(secret, withOthers, d.body), outcomeEvent);
    assert.deepEqual(theirs.verify(d.body, withOthers), outcomeEvent);
    // Without our entry, the others' look-alikes (a v1a or v2 with the right MAC) do not count.
    const without = { ...d.headers, "webhook-signature": `${other} v1a,${mine.slice(3)} v2,${mine.slice(3)}` };
    bothRefuse({ headers: without, body: d.body }, "bad_signature");
  });

  test("a secret without whsec_ is the same key, as in the Standard Webhooks libraries", () => {
    const d = signed();
    assert.deepEqual(verifyWebhook(secret.slice("whsec_".length), d.headers, d.body), outcomeEvent);
  });

  test("200 random deliveries (ids, times, bodies with any Unicode) all verify", () => {
    for (let i = 0; i < 200; i++) {
      const event = { ...outcomeEvent, id: randomUUID(), data: { ...outcomeEvent.data, qualificationFlags: { note: randomText() } } };
      const at = new Date(Date.now() - Math.floor(Math.random() * 290_000));
      const d = signed(JSON.stringify(event), at, event.id);
      assert.deepEqual(verifyWebhook(secret, d.headers, d.body), event);
      assert.deepEqual(verifyWebhook(secret, d.headers, Buffer.from(d.body)), event);
    }
  });
});

describe("what is tampered with, both refuse", () => {
  test("a changed body, one byte or one character", () => {
    const d = signed();
    bothRefuse({ ...d, body: d.body.replace("Meeting_Booked", "Meeting_Bookee") }, "bad_signature");
    bothRefuse({ ...d, body: d.body.replace("Zürich", "Zurich") }, "bad_signature");
    bothRefuse({ ...d, body: d.body + " " }, "bad_signature");
    const bytes = Buffer.from(d.body);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 2) ^ 1, bytes.length - 2);
    refused(() => verifyWebhook(secret, d.headers, bytes), "bad_signature");
  });

  test("a changed timestamp, even by one second within the tolerance", () => {
    const d = signed();
    const ts = Number(d.headers["webhook-timestamp"]);
    for (const t of [ts - 1, ts + 1, ts - 60]) bothRefuse({ ...d, headers: { ...d.headers, "webhook-timestamp": String(t) } }, "bad_signature");
  });

  test("a changed id", () => {
    const d = signed();
    bothRefuse({ ...d, headers: { ...d.headers, "webhook-id": randomUUID() } }, "bad_signature");
  });

  test("a changed signature, another secret's signature, or none that is v1", () => {
    const d = signed();
    const sig = d.headers["webhook-signature"] ?? "";
    const flipped = sig.slice(0, 10) + (sig[10] === "A" ? "B" : "A") + sig.slice(11);
    for (const s of [flipped, sig.slice(0, -2), `${sig}AAAA`, "v1,", "v1", "v2," + sig.slice(3), sig.slice(3), "garbage"]) {
      bothRefuse({ ...d, headers: { ...d.headers, "webhook-signature": s } }, "bad_signature");
    }
    const otherSecret = `whsec_${randomBytes(32).toString("base64")}`;
    refused(() => verifyWebhook(otherSecret, d.headers, d.body), "bad_signature");
    assert.throws(() => new Webhook(otherSecret).verify(d.body, d.headers), TheirError);
  });

  test("a missing or empty header", () => {
    const d = signed();
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const { [name]: _, ...rest } = d.headers;
      const err = refused(() => verifyWebhook(secret, rest, d.body), "missing_header");
      assert.match(err.message, new RegExp(name));
      assert.throws(() => theirs.verify(d.body, rest), TheirError);
      refused(() => verifyWebhook(secret, { ...d.headers, [name]: "" }, d.body), "missing_header");
      refused(() => verifyWebhook(secret, { ...d.headers, [name]: [] }, d.body), "missing_header");
    }
    refused(() => verifyWebhook(secret, new Headers(), d.body), "missing_header");
  });
});

describe("the timestamp", () => {
  const at = new Date("2026-03-02T14:31:00Z");
  const d = signed(body, at);
  const plus = (seconds: number) => new Date(at.getTime() + seconds * 1000);

  test("5 minutes either way by default, then refused", () => {
    for (const s of [0, 300, -300, 300.999]) assert.deepEqual(verifyWebhook(secret, d.headers, d.body, { now: plus(s) }), outcomeEvent);
    const old = refused(() => verifyWebhook(secret, d.headers, d.body, { now: plus(301) }), "timestamp_out_of_tolerance");
    assert.match(old.message, /301 s old/);
    const ahead = refused(() => verifyWebhook(secret, d.headers, d.body, { now: plus(-301) }), "timestamp_out_of_tolerance");
    assert.match(ahead.message, /301 s ahead/);
  });

  test("toleranceSeconds sets the window", () => {
    assert.deepEqual(verifyWebhook(secret, d.headers, d.body, { now: plus(3600), toleranceSeconds: 3600 }), outcomeEvent);
    refused(() => verifyWebhook(secret, d.headers, d.body, { now: plus(11), toleranceSeconds: 10 }), "timestamp_out_of_tolerance");
    refused(() => verifyWebhook(secret, d.headers, d.body, { now: plus(1), toleranceSeconds: 0 }), "timestamp_out_of_tolerance");
  });

  test("a delivery 10 minutes old, validly signed, is refused by both (a replay)", () => {
    bothRefuse(signed(body, new Date(Date.now() - 600_000)), "timestamp_out_of_tolerance");
    bothRefuse(signed(body, new Date(Date.now() + 600_000)), "timestamp_out_of_tolerance");
  });

  test("a timestamp that is not Unix seconds", () => {
    for (const t of ["abc", "1.5", "-1", "1e9", " ", "0x10", "1772461860000000000"]) {
      const code: WebhookVerificationCode = t.trim() === "" ? "missing_header" : "invalid_timestamp";
      refused(() => verifyWebhook(secret, { ...d.headers, "webhook-timestamp": t }, d.body, { now: at }), code);
    }
  });
});

describe("what is signed but not an event, and mistakes of the receiver", () => {
  test("a signed body that is not a JSON event is invalid_body", () => {
    for (const payload of ["", "not json", "[]", "null", `{"id":"x","type":"outcome.created","createdAt":"now"}`, `{"id":1,"type":"outcome.created","createdAt":"now","data":{}}`]) {
      refused(() => verifyWebhook(secret, signed(payload).headers, payload), "invalid_body");
    }
    // Bytes that are not UTF-8 (standardwebhooks signs only text, so node:crypto signs them here).
    const latin1 = Buffer.from("{\"note\":\"Z\xfcrich\"}", "latin1");
    const { headers } = signed();
    const mac = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
      .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.`)
      .update(latin1)
      .digest("base64");
    refused(() => verifyWebhook(secret, { ...headers, "webhook-signature": `v1,${mac}` }, latin1), "invalid_body");
  });

  test("a signed event of a type this package does not know is unknown_event_type", () => {
    const payload = JSON.stringify({ ...outcomeEvent, type: "prospect.created" });
    const err = refused(() => verifyWebhook(secret, signed(payload).headers, payload), "unknown_event_type");
    assert.match(err.message, /signature is valid/);
  });

  test("a malformed secret or option is a TypeError, not a refused delivery", () => {
    const d = signed();
    for (const s of ["", "whsec_", "whsec_not base64!", "whsec_abc"]) {
      assert.throws(() => verifyWebhook(s, d.headers, d.body), TypeError, s);
    }
    assert.throws(() => verifyWebhook(secret, d.headers, d.body, { toleranceSeconds: -1 }), TypeError);
    assert.throws(() => verifyWebhook(secret, d.headers, d.body, { toleranceSeconds: Number.NaN }), TypeError);
    assert.throws(() => verifyWebhook(secret, d.headers, d.body, { now: new Date("nope") }), TypeError);
  });
});

/** Up to 40 random code points, astral ones and quotes included. */
function randomText(): string {
  const n = Math.floor(Math.random() * 40);
  let s = "";
  while (s.length < n) {
    const cp = Math.floor(Math.random() * 0x10ffff);
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are not text
    s += String.fromCodePoint(cp);
  }
  return s;
}
