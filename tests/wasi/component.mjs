// component.mjs — make build/edgerec-cli.component.wasm (the WASI CLI wrapped
// as a component with jco's bundled preview1 command adapter) for `jco run`;
// again whenever wasm/edgerec-cli.wasm is newer.  Offline: the adapter ships
// inside the npm package.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';

export const JCO = 'node_modules/@bytecodealliance/jco/dist/jco.js';
export const COMPONENT = 'build/edgerec-cli.component.wasm';
const mtime = (p) => { try { return statSync(p).mtimeMs; } catch { return 0; } };

/** Run from the repo root.  Throws when jco cannot make the component. */
export function ensureComponent(cli = 'wasm/edgerec-cli.wasm') {
  if (mtime(COMPONENT) >= mtime(cli)) return COMPONENT;
  const r = spawnSync(process.execPath, [JCO, 'new', cli, '--wasi-command', '-o', COMPONENT], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jco new failed: ${r.stderr || r.error}`);
  return COMPONENT;
}

/** `jco run` once with --jco-dir build/jco-run, keeping what it generates:
 * build/jco-run/_run.js is jco run's own runner (transpiled component, the
 * preview2 shim, our preopen setup).  Running it again with other arguments is
 * `jco run` without re-transpiling the same component each time (~0.2 s
 * instead of ~1.5 s a run).  Returns the runner's path. */
export function prepareJcoRunner(dir = 'build/jco-run') {
  const comp = ensureComponent();
  const r = spawnSync(process.execPath, [JCO, 'run', '--jco-dir', dir, '--jco-import', 'tests/wasi/jco-preopen.mjs', comp, 'version'],
    { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.startsWith('edgerec ')) throw new Error(`jco run failed: ${r.stderr || r.stdout}`);
  return `${dir}/_run.js`;
}
