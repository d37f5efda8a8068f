// recording-env.mjs — for tests that drive the Worker INSIDE workerd: the test env with a recording
// Queue in place of env.EVENTS, so a test hands what the Worker sent to the real consumer
// (worker.queue with createMessageBatch) exactly when it says.
import { env } from 'cloudflare:test';

/** env with `vars` and a recording Queue: `queued` holds every message the Worker sent. */
export function recordingEnv(vars = {}) {
  const queued = [];
  const EVENTS = {
    send: async (body) => { queued.push(structuredClone(body)); },
    sendBatch: async (msgs) => { for (const m of msgs) queued.push(structuredClone(m.body)); },
  };
  return { env: { ...env, ...vars, EVENTS }, queued };
}
