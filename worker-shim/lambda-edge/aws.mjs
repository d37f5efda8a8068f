// aws.mjs — the real sources behind runtime.mjs, on the AWS SDK for JavaScript v3 that the
// Lambda Node.js runtimes (nodejs20.x, nodejs22.x) ship.  The SDK is NOT in the package: each
// client is imported lazily, on first use, so the package stays small and the tests (which
// never call these, or give fakes under node_modules/@aws-sdk/) need no SDK installed.
//
//   ssmSecrets({region, idSecret, cookieKey})   Parameter Store: two SecureString parameters
//   secretsManagerSecrets({region, secretId})   Secrets Manager: one JSON secret
//                                               {"EDGEREC_ID_SECRET": "…", "EDGEREC_COOKIE_KEY": "…"}
//   s3Fetcher({bucket, region, timeoutMs})      GetObject (with If-None-Match for the manifest)
//   firehoseSink({stream, region})              PutRecordBatch, one NDJSON line per record
//   cloudwatchSink(write)                       one NDJSON line per event on stdout → CloudWatch Logs
//   cloudwatchOps(write)                        erasures and metrics, one JSON line each, on stdout
//
// Lambda@Edge runs the function in the AWS Region nearest the viewer; these clients call the
// Region named in the configuration (us-east-1 unless the build says otherwise), so the cold
// start pays one cross-Region round trip per read.  Credentials come from the function's
// execution role (docs/lambda-edge.md lists the policy).
const TIMEOUT_MS = 3_000;

function withTimeout(ms) {
  return typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(Math.max(1, Math.floor(ms))) : undefined;
}

export function ssmSecrets({ region = 'us-east-1', idSecret, cookieKey, cookieKeyPrevious = null, timeoutMs = TIMEOUT_MS }) {
  let client = null, Command = null;
  return async () => {
    if (!client) {
      const sdk = await import('@aws-sdk/client-ssm');
      client = new sdk.SSMClient({ region });
      Command = sdk.GetParametersCommand;
    }
    const names = [idSecret, cookieKey, ...(cookieKeyPrevious ? [cookieKeyPrevious] : [])];
    const out = await client.send(new Command({ Names: names, WithDecryption: true }), { abortSignal: withTimeout(timeoutMs) });
    const byName = new Map((out.Parameters ?? []).map((p) => [p.Name, p.Value]));
    const missing = [idSecret, cookieKey].filter((n) => typeof byName.get(n) !== 'string');
    if (missing.length) throw new Error(`Parameter Store has no ${missing.join(', ')} (in ${region})`);
    // the older cookie keys are optional: absent (the usual case), no rotation is under way
    const previous = cookieKeyPrevious ? byName.get(cookieKeyPrevious) : undefined;
    return { idSecret: byName.get(idSecret), cookieKey: byName.get(cookieKey), ...(typeof previous === 'string' ? { cookieKeyPrevious: previous } : {}) };
  };
}

export function secretsManagerSecrets({ region = 'us-east-1', secretId, timeoutMs = TIMEOUT_MS }) {
  let client = null, Command = null;
  return async () => {
    if (!client) {
      const sdk = await import('@aws-sdk/client-secrets-manager');
      client = new sdk.SecretsManagerClient({ region });
      Command = sdk.GetSecretValueCommand;
    }
    const out = await client.send(new Command({ SecretId: secretId }), { abortSignal: withTimeout(timeoutMs) });
    let v;
    try { v = JSON.parse(out.SecretString ?? ''); } catch { throw new Error(`secret ${secretId} is not a JSON object`); }
    if (typeof v?.EDGEREC_ID_SECRET !== 'string' || typeof v?.EDGEREC_COOKIE_KEY !== 'string') {
      throw new Error(`secret ${secretId} needs the keys EDGEREC_ID_SECRET and EDGEREC_COOKIE_KEY`);
    }
    if (v.EDGEREC_COOKIE_KEY_PREVIOUS !== undefined && typeof v.EDGEREC_COOKIE_KEY_PREVIOUS !== 'string') {
      throw new Error(`secret ${secretId}: EDGEREC_COOKIE_KEY_PREVIOUS must be a string (comma-separated keys)`);
    }
    return { idSecret: v.EDGEREC_ID_SECRET, cookieKey: v.EDGEREC_COOKIE_KEY,
      ...(typeof v.EDGEREC_COOKIE_KEY_PREVIOUS === 'string' ? { cookieKeyPrevious: v.EDGEREC_COOKIE_KEY_PREVIOUS } : {}) };
  };
}

export function s3Fetcher({ bucket, region = 'us-east-1', timeoutMs = TIMEOUT_MS }) {
  let client = null, Command = null;
  return async (key, { etag = null } = {}) => {
    if (!client) {
      const sdk = await import('@aws-sdk/client-s3');
      client = new sdk.S3Client({ region });
      Command = sdk.GetObjectCommand;
    }
    try {
      const out = await client.send(new Command({ Bucket: bucket, Key: key, ...(etag ? { IfNoneMatch: etag } : {}) }),
        { abortSignal: withTimeout(timeoutMs) });
      return { status: 200, body: await out.Body.transformToByteArray(), etag: out.ETag ?? null };
    } catch (e) {
      const code = e?.$metadata?.httpStatusCode;
      if (code === 304 || e?.name === 'NotModified') return { status: 304 };
      if (code === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound') return { status: 404 };
      throw e;
    }
  };
}

export function firehoseSink({ stream, region = 'us-east-1', timeoutMs = TIMEOUT_MS }) {
  let client = null, Command = null;
  const enc = new TextEncoder();
  return async (events) => {
    if (!client) {
      const sdk = await import('@aws-sdk/client-firehose');
      client = new sdk.FirehoseClient({ region });
      Command = sdk.PutRecordBatchCommand;
    }
    for (let i = 0; i < events.length; i += 500) { // PutRecordBatch: at most 500 records
      const Records = events.slice(i, i + 500).map((e) => ({ Data: enc.encode(`${JSON.stringify(e)}\n`) }));
      const out = await client.send(new Command({ DeliveryStreamName: stream, Records }), { abortSignal: withTimeout(timeoutMs) });
      if (out.FailedPutCount) throw new Error(`Firehose refused ${out.FailedPutCount} of ${Records.length} events`);
    }
  };
}

/** The default sink: each event as one JSON line on stdout, which Lambda sends to CloudWatch Logs
 * (log group /aws/lambda/us-east-1.<function> in the Region that ran it) without the prefix
 * console.log adds. */
export function cloudwatchSink(write = (s) => process.stdout.write(s)) {
  return (events) => { for (const e of events) write(`${JSON.stringify(e)}\n`); };
}

/** The default ops log: one JSON line per record on stdout, next to the events in CloudWatch Logs
 * but without a `type` (an event filter never takes it for an event): {"erase": userHash, "ts": …}
 * and {"metric": "error", "arm": …, "model": …, "ts": …}. */
export function cloudwatchOps(write = (s) => process.stdout.write(s)) {
  return (record) => { write(`${JSON.stringify(record)}\n`); };
}
