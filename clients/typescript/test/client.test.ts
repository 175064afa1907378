// The client against a real callsvc server (see env.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Callsvc, CallsvcError, type Call } from "../src/index.js";
import { apiKey, baseUrl } from "./env.js";

/** A client whose requests and answers are recorded, to check headers. */
function recorded(key = apiKey) {
  const exchanges: { request: Request; response: Response }[] = [];
  const callsvc = new Callsvc({
    baseUrl,
    apiKey: key,
    fetch: async (request) => {
      const response = await fetch(request);
      exchanges.push({ request, response });
      return response;
    },
  });
  return { callsvc, exchanges };
}

/** Asserts that promise rejects with a CallsvcError of that status and code, and returns it. */
async function problem(promise: Promise<unknown>, status: number, code: string): Promise<CallsvcError> {
  const err = await promise.then(
    () => assert.fail(`expected ${status} ${code}, got a success`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CallsvcError, `expected a CallsvcError, got ${String(err)}`);
  assert.equal(err.status, status);
  assert.equal(err.code, code);
  return err;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("a call, from prospect to outcome", () => {
  test("create prospect, call, objection and outcome", async () => {
    const callsvc = new Callsvc({ baseUrl, apiKey });
    const prospect = await callsvc.prospects.create({ name: "Acme Wealth", clientCount: 900 });
    assert.match(prospect.id, uuid);
    assert.equal(prospect.advisoryMode, false);

    const call = await callsvc.calls.create({ prospectId: prospect.id, status: "in_progress" });
    assert.equal(call.status, "in_progress");
    assert.notEqual(call.startedAt, null);

    const objection = await callsvc.objections.create(call.id, { objection: "Too expensive", outcome: "Deferred" });
    const outcome = await callsvc.outcomes.create(call.id, { outcomeType: "Meeting_Booked", qualificationFlags: { budget: true } });
    assert.equal(outcome.outcomeType, "Meeting_Booked");
    assert.equal(outcome.advisoryMode, false);
    assert.deepEqual(outcome.qualificationFlags, { budget: true });
    assert.deepEqual(outcome.deferredObjections.map((o) => o.id), [objection.id]);

    assert.deepEqual(await callsvc.outcomes.get(call.id), outcome);
    const after = await callsvc.calls.get(call.id);
    assert.equal(after.status, "completed");
    assert.notEqual(after.endedAt, null);
  });

  test("a second outcome is a CallsvcError 409 outcome_exists carrying the request id", async () => {
    const { callsvc, exchanges } = recorded();
    const prospect = await callsvc.prospects.create({ name: "Northwind Advisors" }); // advisory mode
    const call = await callsvc.calls.create({ prospectId: prospect.id, status: "in_progress" });
    await callsvc.outcomes.create(call.id, { outcomeType: "Follow_up_Scheduled" });

    const err = await problem(callsvc.outcomes.create(call.id, { outcomeType: "Disqualified", disqualificationReason: "No budget" }), 409, "outcome_exists");
    const last = exchanges.at(-1);
    assert.ok(last);
    assert.equal(err.requestId, last.response.headers.get("X-Request-Id"));
    assert.equal(err.problem?.requestId, err.requestId);
    assert.equal(err.name, "CallsvcError");
    assert.match(err.message, /^callsvc: 409 outcome_exists: /);
  });

  test("other problems are CallsvcErrors too", async () => {
    const callsvc = new Callsvc({ baseUrl, apiKey });
    await problem(callsvc.calls.get("00000000-0000-4000-8000-000000000000"), 404, "call_not_found");
    await problem(callsvc.calls.get("not-a-uuid"), 400, "invalid_request");
    await problem(callsvc.calls.start("00000000-0000-4000-8000-000000000000"), 404, "call_not_found");
    await problem(new Callsvc({ baseUrl, apiKey: "csk_wrong" }).prospects.get("00000000-0000-4000-8000-000000000000"), 401, "unauthorized");
  });

  test("an answer that is not a problem document is a CallsvcError with no code", async () => {
    const callsvc = new Callsvc({
      baseUrl: "http://proxy.invalid",
      apiKey,
      fetch: async () => new Response("<h1>502 Bad Gateway</h1>\n<p>upstream gone</p>", { status: 502, statusText: "Bad Gateway", headers: { "Content-Type": "text/html" } }),
    });
    const err = await problem(callsvc.calls.get("00000000-0000-4000-8000-000000000000"), 502, "");
    assert.equal(err.problem, undefined);
    assert.equal(err.message, "callsvc: 502 : <h1>502 Bad Gateway</h1>");
  });
});

describe("idempotency", () => {
  test("every POST carries an Idempotency-Key of its own; GET none", async () => {
    const { callsvc, exchanges } = recorded();
    const a = await callsvc.prospects.create({ name: "Contoso" });
    const b = await callsvc.prospects.create({ name: "Contoso" });
    assert.notEqual(a.id, b.id, "two calls, two keys, two prospects");
    await callsvc.prospects.get(a.id);

    const keys = exchanges.map((e) => e.request.headers.get("Idempotency-Key"));
    assert.equal(keys.length, 3);
    assert.match(keys[0] ?? "", uuid);
    assert.match(keys[1] ?? "", uuid);
    assert.notEqual(keys[0], keys[1]);
    assert.equal(keys[2], null);
    for (const e of exchanges) assert.equal(e.request.headers.get("Authorization"), `Bearer ${apiKey}`);
  });

  test("a retry with the same key is replayed (Idempotent-Replayed: true) and creates nothing", async () => {
    const { callsvc, exchanges } = recorded();
    const idempotencyKey = crypto.randomUUID();
    const prospect = await callsvc.prospects.create({ name: "Fabrikam" });
    const call = await callsvc.calls.create({ prospectId: prospect.id }, { idempotencyKey });
    const retry = await callsvc.calls.create({ prospectId: prospect.id }, { idempotencyKey });
    assert.deepEqual(retry, call);

    const [, first, second] = exchanges;
    assert.ok(first && second);
    assert.equal(first.request.headers.get("Idempotency-Key"), idempotencyKey);
    assert.equal(second.request.headers.get("Idempotency-Key"), idempotencyKey);
    assert.equal(first.response.headers.get("Idempotent-Replayed"), null);
    assert.equal(second.response.headers.get("Idempotent-Replayed"), "true");

    const calls: Call[] = [];
    for await (const c of callsvc.calls.list({ prospectId: prospect.id })) calls.push(c);
    assert.deepEqual(calls.map((c) => c.id), [call.id], "the retry created no second call");

    // The same key with another body is refused.
    const other = await callsvc.prospects.create({ name: "Fabrikam 2" });
    await problem(callsvc.calls.create({ prospectId: other.id }, { idempotencyKey }), 422, "idempotency_key_reused");
  });

  test("the typed openapi-fetch client underneath shows the answer's headers", async () => {
    const callsvc = new Callsvc({ baseUrl, apiKey });
    const key = crypto.randomUUID();
    const body = { name: "Tailspin" };
    const first = await callsvc.api.POST("/v1/prospects", { body, params: { header: { "Idempotency-Key": key } } });
    const again = await callsvc.api.POST("/v1/prospects", { body, params: { header: { "Idempotency-Key": key } } });
    assert.equal(first.response.status, 201);
    assert.equal(again.response.headers.get("Idempotent-Replayed"), "true");
    assert.equal(again.data?.id, first.data?.id);
    assert.equal(again.response.headers.get("Location"), `/v1/prospects/${first.data?.id}`);
  });
});

describe("paging", () => {
  test("for await pages through 250 calls, newest first, 100 at a time", async () => {
    const { callsvc, exchanges } = recorded();
    const prospect = await callsvc.prospects.create({ name: "Wide World Importers" });
    const created = new Set<string>();
    for (let i = 0; i < 250; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => callsvc.calls.create({ prospectId: prospect.id })));
      for (const c of batch) created.add(c.id);
    }
    assert.equal(created.size, 250);

    const before = exchanges.length;
    const seen: Call[] = [];
    for await (const call of callsvc.calls.list({ prospectId: prospect.id, limit: 100 })) seen.push(call);
    assert.equal(seen.length, 250);
    assert.deepEqual(new Set(seen.map((c) => c.id)), created, "each call once");
    for (let i = 1; i < seen.length; i++) {
      const [newer, older] = [seen[i - 1], seen[i]];
      assert.ok(newer && older && Date.parse(newer.createdAt) >= Date.parse(older.createdAt), "newest first");
    }
    const pages = exchanges.slice(before);
    assert.equal(pages.length, 3, "pages of 100, 100 and 50");
    assert.equal(new URL(pages[0]?.request.url ?? "").searchParams.get("cursor"), null);
    assert.ok(new URL(pages[1]?.request.url ?? "").searchParams.get("cursor"));

    // Filters hold on every page: none of them is completed.
    let completed = 0;
    for await (const _ of callsvc.calls.list({ prospectId: prospect.id, status: "completed" })) completed++;
    assert.equal(completed, 0);
  });

  test("leaving the loop early fetches no further page", async () => {
    const { callsvc, exchanges } = recorded();
    const prospect = await callsvc.prospects.create({ name: "Adventure Works" });
    for (let i = 0; i < 3; i++) await callsvc.calls.create({ prospectId: prospect.id });
    const before = exchanges.length;
    for await (const call of callsvc.calls.list({ prospectId: prospect.id, limit: 1 })) {
      assert.equal(call.prospectId, prospect.id);
      break;
    }
    assert.equal(exchanges.length - before, 1);
  });

  test("a page that fails throws from the loop", async () => {
    const callsvc = new Callsvc({ baseUrl, apiKey });
    await problem(
      (async () => {
        for await (const _ of callsvc.prospects.list({ cursor: "forged" })) assert.fail("no item expected");
      })(),
      400,
      "invalid_request",
    );
  });
});
