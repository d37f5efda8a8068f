// fake.mjs — the state behind the fake AWS SDK v3 clients (client-*.mjs here).  The tests copy
// these files into the unpacked package as node_modules/@aws-sdk/<client>/, where the package's
// lazy `import('@aws-sdk/client-…')` finds them, exactly as it finds the SDK the Lambda Node.js
// runtime ships.  The state lives on globalThis so the test and the package share it:
//   globalThis.__edgerecFakeAws = { ssm: {name: value}, secrets: {id: string}, s3: {"bucket/key": {body, etag}},
//                                   firehose: [{stream, data}], calls: [...], delayMs: {ssm, s3, …}, fail: {ssm, s3, …} }
export function state() {
  globalThis.__edgerecFakeAws ??= { ssm: {}, secrets: {}, s3: {}, firehose: [], calls: [], delayMs: {}, fail: {} };
  return globalThis.__edgerecFakeAws;
}

export async function enter(service, region, input, opts) {
  const s = state();
  s.calls.push({ service, region, input });
  const ms = s.delayMs[service];
  if (ms) {
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      opts?.abortSignal?.addEventListener('abort', () => { clearTimeout(t); reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })); });
    });
  }
  if (s.fail[service]) throw Object.assign(new Error(`${service}: AccessDeniedException (fake)`), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
  return s;
}
