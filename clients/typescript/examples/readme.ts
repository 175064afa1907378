import { Callsvc, CallsvcError } from "@callsvc/client";

const callsvc = new Callsvc({ baseUrl: process.env.CALLSVC_URL ?? "http://localhost:8080", apiKey: process.env.CALLSVC_API_KEY! });

const prospect = await callsvc.prospects.create({ name: "Acme Wealth", clientCount: 900 });
const call = await callsvc.calls.create({ prospectId: prospect.id, status: "in_progress" });
const outcome = await callsvc.outcomes.create(call.id, { outcomeType: "Meeting_Booked" });
console.log("outcome:", outcome.outcomeType);
try {
  await callsvc.outcomes.create(call.id, { outcomeType: "Not_Interested" }); // decided already
} catch (err) {
  if (!(err instanceof CallsvcError)) throw err;
  console.log("again:", err.status, err.code); // err.requestId finds it in the server's log
}
for await (const c of callsvc.calls.list({ prospectId: prospect.id })) console.log("call:", c.status);
