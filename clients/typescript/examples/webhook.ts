import { createServer } from "node:http";
import { verifyWebhook, WebhookVerificationError } from "@callsvc/client";

createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const event = verifyWebhook(process.env.WEBHOOK_SECRET!, req.headers, Buffer.concat(chunks)); // the raw body
    if (event.type === "outcome.created") console.log("outcome:", event.data.callId, event.data.outcomeType);
    if (event.type === "call.cancelled") console.log("cancelled:", event.data.id);
    res.writeHead(204).end(); // answer within 10 s; deduplicate on event.id (delivered at least once)
  } catch (err) {
    // 400: not signed with the secret, or too old (err.code says why); 500: a bug here. Both are retried.
    res.writeHead(err instanceof WebhookVerificationError ? 400 : 500).end();
  }
}).listen(Number(process.env.PORT ?? 9000), "127.0.0.1");
