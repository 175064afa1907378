/**
 * Verifying callsvc's webhooks: each delivery is signed as the Standard Webhooks
 * specification says (README.md, Webhooks). Node's crypto does the work, so the
 * package gains no runtime dependency; the tests hold it to the specification's own
 * npm package, `standardwebhooks`, and to a real server's deliveries.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { components } from "./schema.gen.js";

type Schemas = components["schemas"];
export type WebhookEventType = Schemas["WebhookEventType"];
export type OutcomeCreatedEvent = Schemas["OutcomeCreatedEvent"];
export type CallCancelledEvent = Schemas["CallCancelledEvent"];
/** A delivery's body: switch on `type` to get `data` typed (the Outcome or the Call). */
export type WebhookEvent = OutcomeCreatedEvent | CallCancelledEvent;

/**
 * The event types verifyWebhook returns. A type the spec adds to WebhookEventType does
 * not compile here until WebhookEvent has its body schema and this list the type.
 */
const eventTypes: { readonly [T in WebhookEventType]: T extends WebhookEvent["type"] ? true : never } = {
  "outcome.created": true,
  "call.cancelled": true,
};

/**
 * A request's headers: a fetch `Headers`, or an object such as Node's
 * `IncomingMessage.headers` (names in any case).
 */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** How far the `webhook-timestamp` may be from `now`, either way, in seconds (default 300: the specification's 5 minutes). */
  toleranceSeconds?: number;
  /** The time to check the timestamp against (default: the clock). */
  now?: Date;
}

/** Why a delivery was refused. Only `unknown_event_type` had a valid signature. */
export type WebhookVerificationCode =
  | "missing_header" // webhook-id, webhook-timestamp or webhook-signature absent or empty
  | "invalid_timestamp" // webhook-timestamp is not Unix seconds
  | "timestamp_out_of_tolerance" // too old (a replay) or too far ahead
  | "bad_signature" // no v1 signature matches the body under the secret
  | "invalid_body" // signed, but not a JSON event
  | "unknown_event_type"; // signed, but a type this package does not know: update it

/** A delivery that must not be trusted (answer it 4xx); `code` says why. */
export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
  readonly code: WebhookVerificationCode;

  constructor(code: WebhookVerificationCode, message: string) {
    super(`callsvc webhook: ${message}`);
    this.code = code;
  }
}

const defaultToleranceSeconds = 5 * 60;
const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks a delivery and returns its event. `secret` is the endpoint's `whsec_...`
 * secret; `rawBody` the body exactly as received (verify before parsing: the
 * signature covers the bytes). Throws a {@link WebhookVerificationError} for a
 * delivery to refuse, and a TypeError for a malformed secret or option (a mistake
 * of the receiver, not of the request).
 *
 * callsvc delivers at least once: deduplicate on the returned event's `id` (the
 * `webhook-id`, the same on every attempt).
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, rawBody: string | Uint8Array, opts: VerifyWebhookOptions = {}): WebhookEvent {
  const key = signingKey(secret);
  const tolerance = opts.toleranceSeconds ?? defaultToleranceSeconds;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new TypeError(`verifyWebhook: toleranceSeconds must be a non-negative number, got ${tolerance}`);
  }
  const now = opts.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new TypeError("verifyWebhook: now is an invalid Date");

  const id = requiredHeader(headers, "webhook-id");
  const timestamp = requiredHeader(headers, "webhook-timestamp");
  const signatures = requiredHeader(headers, "webhook-signature");

  if (!/^[0-9]{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError("invalid_timestamp", `webhook-timestamp is not Unix seconds: ${JSON.stringify(timestamp.slice(0, 40))}`);
  }
  const skew = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (Math.abs(skew) > tolerance) {
    throw new WebhookVerificationError(
      "timestamp_out_of_tolerance",
      `webhook-timestamp is ${Math.abs(skew)} s ${skew > 0 ? "old" : "ahead"}, more than the ${tolerance} s allowed`,
    );
  }

  const expected = Buffer.from(
    createHmac("sha256", key).update(`${id}.${timestamp}.`).update(rawBody).digest("base64"),
  );
  const matched = signatures.split(" ").some((entry) => {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") return false;
    const given = Buffer.from(entry.slice(comma + 1));
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matched) throw new WebhookVerificationError("bad_signature", "no v1 signature in webhook-signature matches the body");

  return parseEvent(rawBody);
}

/** The HMAC key: the base64 after `whsec_` (the prefix is optional, as in the Standard Webhooks libraries). */
function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (encoded === "" || !base64.test(encoded)) {
    throw new TypeError("verifyWebhook: the secret must be the endpoint's secret, whsec_ and standard base64");
  }
  return Buffer.from(encoded, "base64");
}

/** The header's value; an object's names are matched in any case, repeated values joined as fetch joins them. */
function requiredHeader(headers: WebhookHeaders, name: string): string {
  let value: string | null;
  if (isHeaders(headers)) {
    value = headers.get(name);
  } else {
    const values: string[] = [];
    for (const [key, v] of Object.entries(headers)) {
      if (key.toLowerCase() === name && v !== undefined) values.push(...(typeof v === "string" ? [v] : v));
    }
    value = values.length > 0 ? values.join(", ") : null;
  }
  if (value === null || value.trim() === "") throw new WebhookVerificationError("missing_header", `${name} is missing`);
  return value.trim();
}

function isHeaders(headers: WebhookHeaders): headers is Headers {
  return typeof (headers as Partial<Headers>).get === "function";
}

function parseEvent(rawBody: string | Uint8Array): WebhookEvent {
  let body: unknown;
  try {
    body = JSON.parse(typeof rawBody === "string" ? rawBody : utf8.decode(rawBody));
  } catch (err) {
    throw new WebhookVerificationError("invalid_body", `the signed body is not JSON in UTF-8: ${(err as Error).message}`);
  }
  if (!isObject(body) || typeof body["id"] !== "string" || typeof body["type"] !== "string" || typeof body["createdAt"] !== "string" || !isObject(body["data"])) {
    throw new WebhookVerificationError("invalid_body", "the signed body is not an event ({id, type, createdAt, data})");
  }
  if (!Object.hasOwn(eventTypes, body["type"])) {
    throw new WebhookVerificationError("unknown_event_type", `the signature is valid, but event type ${JSON.stringify(body["type"])} is unknown to this version of @callsvc/client`);
  }
  return body as WebhookEvent;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
