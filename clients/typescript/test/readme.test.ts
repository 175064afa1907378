// The README's TypeScript example is examples/readme.ts, verbatim, and it runs.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { promisify } from "node:util";
import { apiKey, baseUrl } from "./env.js";

const pkg = new URL("../../", import.meta.url); // dist/test/ -> the package

test("the README shows examples/readme.ts as it is", async () => {
  const readme = await readFile(new URL("../../README.md", pkg), "utf8");
  const example = await readFile(new URL("examples/readme.ts", pkg), "utf8");
  assert.ok(readme.includes("```ts\n" + example + "```\n"), "README.md's ```ts block differs from clients/typescript/examples/readme.ts: copy the file into the README");
});

test("the README example runs: one outcome, then 409 outcome_exists, then the call", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["dist/examples/readme.js"], {
    cwd: new URL(".", pkg),
    env: { ...process.env, CALLSVC_URL: baseUrl, CALLSVC_API_KEY: apiKey },
  });
  assert.equal(stdout, "outcome: Meeting_Booked\nagain: 409 outcome_exists\ncall: completed\n");
});
