/**
 * A TypeScript client for callsvc's HTTP API.
 *
 * The types come from api/openapi.yaml (openapi-typescript, `schema.gen.ts`) and the
 * requests go through openapi-fetch, typed by the same spec. This file adds only what
 * pays: the API key, an Idempotency-Key on every POST, problem+json answers thrown as
 * a {@link CallsvcError}, lists as async iterables that fetch one page at a time, and
 * {@link verifyWebhook} for the webhooks callsvc sends (webhook.ts).
 * For anything else (response headers, HEAD, a request the helpers do not cover) use
 * {@link Callsvc.api}, the typed openapi-fetch client underneath.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.gen.js";

export type { components, operations, paths } from "./schema.gen.js";
export {
  verifyWebhook,
  WebhookVerificationError,
  type CallCancelledEvent,
  type OutcomeCreatedEvent,
  type VerifyWebhookOptions,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookHeaders,
  type WebhookVerificationCode,
} from "./webhook.js";

type Schemas = components["schemas"];
export type Prospect = Schemas["Prospect"];
export type ProspectCreate = Schemas["ProspectCreate"];
export type ProspectUpdate = Schemas["ProspectUpdate"];
export type Call = Schemas["Call"];
export type CallCreate = Schemas["CallCreate"];
export type CallStatus = Schemas["CallStatus"];
export type Objection = Schemas["Objection"];
export type ObjectionCreate = Schemas["ObjectionCreate"];
export type Outcome = Schemas["Outcome"];
export type OutcomeCreate = Schemas["OutcomeCreate"];
export type OutcomeType = Schemas["OutcomeType"];
export type Problem = Schemas["Problem"];
export type ProblemCode = Schemas["ProblemCode"];
export type WebhookEndpoint = Schemas["WebhookEndpoint"];
export type WebhookEndpointCreate = Schemas["WebhookEndpointCreate"];
export type WebhookEndpointCreated = Schemas["WebhookEndpointCreated"];
export type Delivery = Schemas["Delivery"];

/** Filters and paging of `calls.list`: `limit` is the page size, `cursor` where to start. */
export type ListCallsQuery = NonNullable<operations["listCalls"]["parameters"]["query"]>;
/** Paging of the other lists: `limit` is the page size, `cursor` where to start. */
export type PageQuery = NonNullable<operations["listProspects"]["parameters"]["query"]>;

export interface CallsvcOptions {
  /** Where the API is, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** An API key, from `callsvc org create` or `callsvc key create`. */
  apiKey: string;
  /** The fetch to send requests with (default: the global fetch); one that retries resends the same Idempotency-Key. */
  fetch?: (request: Request) => Promise<Response>;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface PostOptions extends RequestOptions {
  /**
   * The Idempotency-Key to send instead of a new one. To retry a POST safely (after a
   * timeout, a crash), make a key once, keep it with the work and send it on every
   * attempt: the server acts once and replays its first answer to the others for 24 h.
   */
  idempotencyKey?: string;
}

/**
 * A non-2xx answer. `code` is the problem's stable code (switch on it); `requestId`
 * equals the answer's `X-Request-Id`, for finding the request in the server's log.
 * An answer that is not a problem document (a proxy's error page) has code `""`.
 */
export class CallsvcError extends Error {
  override readonly name = "CallsvcError";
  readonly status: number;
  readonly code: ProblemCode | (string & {});
  readonly requestId: string;
  /** The problem document, when the answer was one. */
  readonly problem: Problem | undefined;

  constructor(status: number, code: string, requestId: string, detail: string, problem?: Problem) {
    super(`callsvc: ${status} ${code}${detail ? `: ${detail}` : ""}${requestId ? ` (request ${requestId})` : ""}`);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.problem = problem;
  }

  /** The error for an answer that was not 2xx, with its parsed body (openapi-fetch's `error`). */
  static from(response: Response, body: unknown): CallsvcError {
    const requestId = response.headers.get("X-Request-Id") ?? "";
    if (isProblem(body)) {
      return new CallsvcError(response.status, body.code, body.requestId || requestId, body.detail, body);
    }
    const text = typeof body === "string" ? (body.split("\n")[0] ?? "").slice(0, 200).trim() : "";
    return new CallsvcError(response.status, "", requestId, text || response.statusText);
  }
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const p = body as Record<string, unknown>;
  return typeof p["code"] === "string" && typeof p["status"] === "number" && typeof p["requestId"] === "string";
}

/** Sets a new Idempotency-Key (a random UUID) on every POST that has none. */
const idempotencyKeys: Middleware = {
  onRequest({ request }) {
    if (request.method === "POST" && !request.headers.has("Idempotency-Key")) {
      request.headers.set("Idempotency-Key", crypto.randomUUID());
    }
    return request;
  },
};

/** What openapi-fetch answers: data on 2xx, the parsed body as error otherwise. */
interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

function unwrap<T>(result: Result<T>): T {
  if (!result.response.ok) throw CallsvcError.from(result.response, result.error);
  return result.data as T;
}

function header(opts: PostOptions): { "Idempotency-Key"?: string } {
  return opts.idempotencyKey === undefined ? {} : { "Idempotency-Key": opts.idempotencyKey };
}

function init(opts: RequestOptions): { signal?: AbortSignal } {
  return opts.signal === undefined ? {} : { signal: opts.signal };
}

/** The query for the page at cursor (undefined: the first page). */
function page<Q extends { cursor?: string }>(query: Q, cursor: string | undefined): Q {
  return cursor === undefined ? query : { ...query, cursor };
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Every item of a list, newest first, one page fetched when the loop gets there. */
async function* paginate<T>(cursor: string | undefined, page: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T, void, undefined> {
  let next = cursor;
  do {
    const { items, nextCursor } = await page(next);
    yield* items;
    next = nextCursor ?? undefined;
  } while (next !== undefined);
}

/**
 * The client: `new Callsvc({ baseUrl, apiKey })`, then `prospects`, `calls`,
 * `objections` and `outcomes`. Every method throws a {@link CallsvcError} for a
 * non-2xx answer; a network failure is thrown as fetch threw it.
 */
export class Callsvc {
  /** The typed openapi-fetch client, with the API key and Idempotency-Keys: full answers, headers included. */
  readonly api: Client<paths>;

  constructor(options: CallsvcOptions) {
    this.api = createClient<paths>({
      baseUrl: options.baseUrl,
      headers: { Authorization: `Bearer ${options.apiKey}` },
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.api.use(idempotencyKeys);
  }

  readonly prospects = {
    create: async (body: ProspectCreate, opts: PostOptions = {}): Promise<Prospect> =>
      unwrap(await this.api.POST("/v1/prospects", { body, params: { header: header(opts) }, ...init(opts) })),
    get: async (prospectId: string, opts: RequestOptions = {}): Promise<Prospect> =>
      unwrap(await this.api.GET("/v1/prospects/{prospectId}", { params: { path: { prospectId } }, ...init(opts) })),
    update: async (prospectId: string, body: ProspectUpdate, opts: RequestOptions = {}): Promise<Prospect> =>
      unwrap(await this.api.PATCH("/v1/prospects/{prospectId}", { params: { path: { prospectId } }, body, ...init(opts) })),
    list: (query: PageQuery = {}, opts: RequestOptions = {}): AsyncGenerator<Prospect, void, undefined> =>
      paginate(query.cursor, async (cursor) =>
        unwrap(await this.api.GET("/v1/prospects", { params: { query: page(query, cursor) }, ...init(opts) })),
      ),
  };

  readonly calls = {
    create: async (body: CallCreate, opts: PostOptions = {}): Promise<Call> =>
      unwrap(await this.api.POST("/v1/calls", { body, params: { header: header(opts) }, ...init(opts) })),
    get: async (callId: string, opts: RequestOptions = {}): Promise<Call> =>
      unwrap(await this.api.GET("/v1/calls/{callId}", { params: { path: { callId } }, ...init(opts) })),
    /** `for await (const call of callsvc.calls.list({ status: "completed" }))`: every call the filters select. */
    list: (query: ListCallsQuery = {}, opts: RequestOptions = {}): AsyncGenerator<Call, void, undefined> =>
      paginate(query.cursor, async (cursor) =>
        unwrap(await this.api.GET("/v1/calls", { params: { query: page(query, cursor) }, ...init(opts) })),
      ),
    start: async (callId: string, opts: PostOptions = {}): Promise<Call> =>
      unwrap(await this.api.POST("/v1/calls/{callId}/start", { params: { path: { callId }, header: header(opts) }, ...init(opts) })),
    cancel: async (callId: string, opts: PostOptions = {}): Promise<Call> =>
      unwrap(await this.api.POST("/v1/calls/{callId}/cancel", { params: { path: { callId }, header: header(opts) }, ...init(opts) })),
  };

  readonly objections = {
    create: async (callId: string, body: ObjectionCreate, opts: PostOptions = {}): Promise<Objection> =>
      unwrap(await this.api.POST("/v1/calls/{callId}/objections", { params: { path: { callId }, header: header(opts) }, body, ...init(opts) })),
    list: (callId: string, query: PageQuery = {}, opts: RequestOptions = {}): AsyncGenerator<Objection, void, undefined> =>
      paginate(query.cursor, async (cursor) =>
        unwrap(await this.api.GET("/v1/calls/{callId}/objections", { params: { path: { callId }, query: page(query, cursor) }, ...init(opts) })),
      ),
  };

  readonly outcomes = {
    /** Decides the call's outcome, once: a second one is a 409 `outcome_exists` CallsvcError. */
    create: async (callId: string, body: OutcomeCreate, opts: PostOptions = {}): Promise<Outcome> =>
      unwrap(await this.api.POST("/v1/calls/{callId}/outcome", { params: { path: { callId }, header: header(opts) }, body, ...init(opts) })),
    get: async (callId: string, opts: RequestOptions = {}): Promise<Outcome> =>
      unwrap(await this.api.GET("/v1/calls/{callId}/outcome", { params: { path: { callId } }, ...init(opts) })),
  };
}
