// The server the tests talk to: make test-ts starts one on a scratch database and
// sets these; to use your own, set both.
export const baseUrl = required("CALLSVC_URL");
export const apiKey = required("CALLSVC_API_KEY");

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the tests with make test-ts (it starts a server), or set CALLSVC_URL and CALLSVC_API_KEY`);
  }
  return value;
}
