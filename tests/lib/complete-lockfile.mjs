#!/usr/bin/env node
// complete-lockfile.mjs — make package-lock.json acceptable to `npm ci` on a
// clean machine whose npm registry lacks some platform binaries.
//
// Why: the registry this project can reach does not serve every version of
// every platform-specific optional package (e.g. @cloudflare/workerd-darwin-64
// at wrangler's pinned workerd version).  `npm install` then silently leaves
// those optional dependencies out of the lockfile, and `npm ci` refuses such a
// lockfile ("Missing: @cloudflare/workerd-darwin-64@ from lock file").
//
// What: for every optionalDependencies edge the lockfile cannot resolve, add
// the entry npm would have written with a complete registry — name, version,
// dev/optional and the os/cpu/libc read off the package name's platform suffix
// (darwin-x64, linux-arm64-musl, win32-x64-msvc, wasm32-wasi, ...).  Such an
// entry is never fetched on a machine it does not fit (linux-x64-glibc here),
// so `npm ci` installs exactly what `npm install` did.  Entries whose platform
// cannot be read from the name are reported and left out (exit 1).
//
// Usage: node tests/lib/complete-lockfile.mjs [package-lock.json]   (idempotent)
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const pkgs = lock.packages;

// Node-style resolution inside the lockfile: from the parent's folder upwards.
function resolve(parentPath, name) {
  let dir = parentPath;
  for (;;) {
    const cand = (dir ? dir + '/' : '') + 'node_modules/' + name;
    if (pkgs[cand]) return cand;
    if (!dir) return null;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

// Platform from a binary package's name (the napi-rs / esbuild conventions).
function platformOf(name) {
  const base = name.split('/').pop();
  if (/wasm32-wasi$/.test(base)) return { cpu: ['wasm32'] };
  const m = base.match(
    /-(android|darwin|freebsd|linux|win32|windows|openharmony|openbsd|netbsd|sunos|aix)-(x64|64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64|mips64el)(?:-(gnu|musl|msvc|eabi|gnueabihf))?$/,
  );
  if (!m) return null;
  const os = m[1] === 'windows' ? 'win32' : m[1];
  const cpu = m[2] === '64' ? 'x64' : m[2];
  const p = { cpu: [cpu], os: [os] };
  if (os === 'linux' && m[3] === 'musl') p.libc = ['musl'];
  else if (os === 'linux' && (m[3] === 'gnu' || m[3] === 'gnueabihf')) p.libc = ['glibc'];
  return p;
}

let added = 0;
const unknown = [];
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const found = resolve(path, name);
    // Exact pins (the norm for platform binaries) must match the found version.
    if (found && (!/^\d+\.\d+\.\d+\S*$/.test(spec) || pkgs[found].version === spec)) continue;
    const plat = platformOf(name);
    if (!plat || !/^\d+\.\d+\.\d+/.test(spec)) { unknown.push(`${name}@${spec} (from ${path || 'root'})`); continue; }
    const at = pkgs['node_modules/' + name] ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    if (pkgs[at]) { unknown.push(`${name}@${spec} (from ${path || 'root'}: ${at} is taken)`); continue; }
    // Keys in npm's order (version first, then alphabetical) so `npm install` keeps the text.
    const fields = { ...plat, dev: entry.dev ?? true, optional: true };
    pkgs[at] = { version: spec, ...Object.fromEntries(Object.keys(fields).sort().map((k) => [k, fields[k]])) };
    added++;
  }
}
// Keep npm's key order (sorted paths after the root) so diffs stay small.
const sorted = { '': pkgs[''] };
for (const k of Object.keys(pkgs).filter((k) => k).sort((a, b) => a.localeCompare(b, 'en'))) sorted[k] = pkgs[k];
lock.packages = sorted;
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.error(`complete-lockfile: ${added} platform entries added`);
if (unknown.length) {
  console.error('complete-lockfile: cannot place (platform not in the name):\n  ' + unknown.join('\n  '));
  process.exit(1);
}
