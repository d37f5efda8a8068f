// main.mjs — the Lambda entry inside dist/lambda-edge.zip (index.mjs there re-exports `handler`;
// the function's handler setting is `index.handler`).  It reads what build.mjs baked into the
// package — config.json (non-secret settings), wasm/edgerec.wasm, optionally a fallback bundle —
// at cold start, and wires the AWS sources the configuration names (aws.mjs: the SDK the Node.js
// runtime provides, imported lazily).  No environment variables: Lambda@Edge has none.
import { readFileSync } from 'node:fs';
import { cloudwatchOps, cloudwatchSink, firehoseSink, s3Fetcher, secretsManagerSecrets, ssmSecrets } from './aws.mjs';
import { createHandler } from './handler.mjs';

const ROOT = new URL('../../', import.meta.url); // the package root
const config = JSON.parse(readFileSync(new URL('config.json', ROOT), 'utf8'));
const module = new WebAssembly.Module(readFileSync(new URL('wasm/edgerec.wasm', ROOT)));
const fallbackBundle = config.bundle ? new Uint8Array(readFileSync(new URL(config.bundle, ROOT))) : null;

/** The sources a configuration names (exported for the tests and the benchmark). */
export function sourcesFor(cfg) {
  const s = cfg.secrets ?? {};
  const secrets = s.source === 'secretsmanager' ? secretsManagerSecrets({ region: s.region, secretId: s.secretId })
    : s.source === 'ssm' ? ssmSecrets({ region: s.region, idSecret: s.idSecret, cookieKey: s.cookieKey, cookieKeyPrevious: s.cookieKeyPrevious ?? null })
      : null;
  const r = cfg.rollout;
  const fetchObject = r?.bucket ? s3Fetcher({ bucket: r.bucket, region: r.region }) : null;
  const e = cfg.events ?? {};
  const sink = e.sink === 'firehose' ? firehoseSink({ stream: e.stream, region: e.region }) : cloudwatchSink();
  return { secrets, fetchObject, sink, ops: cloudwatchOps() };
}

export { config };
export const handler = createHandler({ config, module, fallbackBundle, ...sourcesFor(config) });

// The init phase of an on-demand Lambda runs with a full vCPU (a 128 MB viewer function otherwise
// gets about 1/14 of one), for up to 10 s.  So the cold start's work happens here: Node's fetch is
// loaded (it loads on first use), the secrets and the S3 manifest and bundles are read (bounded:
// a slow read goes on in the background and requests step aside until it is done; init never
// throws), and the engines and WebCrypto keys are warmed.
await Promise.all([
  fetch('data:,').then((r) => r.arrayBuffer()).catch(() => {}),
  handler.runtime.ready(handler.runtime.config.initWaitMs).then((done) => (done ? handler.runtime.warm() : null)).catch(() => {}),
]);
