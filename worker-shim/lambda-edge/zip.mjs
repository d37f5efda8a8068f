// zip.mjs — a small, dependency-free ZIP writer and reader (PKZIP APPNOTE 6.3: stored and
// deflated entries, no ZIP64, no encryption), on Node's zlib.  build.mjs writes the Lambda
// package with it; the tests unpack that package with it (and cross-check with `unzip -t` /
// Python's zipfile when the machine has them).
//
//   writeZip([{name, data: Uint8Array, mode?}]) → Uint8Array   reproducible: fixed timestamps,
//                                                              entries in the order given
//   readZip(bytes) → [{name, data, mode, method}]              CRC-checked; throws on anything odd
//
// Entries are deflated (level 9) unless that does not make them smaller.  "Version made by" is
// Unix, so the external attributes carry the file mode (Lambda needs files readable by all:
// the default is 0644).
import { crc32 as zlibCrc32, deflateRawSync, inflateRawSync } from 'node:zlib';

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (1 << 5) | 1; // 1980-01-01: reproducible archives
const MAX32 = 0xffffffff;

let table = null;
function crc32(data) {
  if (typeof zlibCrc32 === 'function') return zlibCrc32(data) >>> 0; // Node >= 20.15 / 22.2
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A ZIP archive of the entries, in order. */
export function writeZip(entries) {
  const enc = new TextEncoder();
  const locals = [];
  const centrals = [];
  let offset = 0;
  const names = new Set();
  for (const { name, data, mode = 0o644 } of entries) {
    if (typeof name !== 'string' || !name || name.startsWith('/') || name.includes('\\') || name.split('/').includes('..')) {
      throw new Error(`zip: bad entry name ${JSON.stringify(name)}`);
    }
    if (names.has(name)) throw new Error(`zip: duplicate entry ${name}`);
    names.add(name);
    const raw = data instanceof Uint8Array ? data : new Uint8Array(data);
    const nameBytes = enc.encode(name);
    const crc = crc32(raw);
    const deflated = deflateRawSync(raw, { level: 9 });
    const stored = deflated.length >= raw.length;
    const body = stored ? raw : new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.length);
    const method = stored ? 0 : 8;
    if (raw.length > MAX32 || offset > MAX32) throw new Error('zip: archive too large (no ZIP64)');
    const flags = 0x0800; // names are UTF-8

    const local = new Uint8Array(30 + nameBytes.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true); // version needed: 2.0
    lv.setUint16(6, flags, true);
    lv.setUint16(8, method, true);
    lv.setUint16(10, DOS_TIME, true);
    lv.setUint16(12, DOS_DATE, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, raw.length, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, 0, true);
    local.set(nameBytes, 30);
    locals.push(local, body);

    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, (3 << 8) | 20, true); // made by: Unix, 2.0
    cv.setUint16(6, 20, true);
    cv.setUint16(8, flags, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, raw.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, 0, true); // extra
    cv.setUint16(32, 0, true); // comment
    cv.setUint16(34, 0, true); // disk
    cv.setUint16(36, 0, true); // internal attributes
    cv.setUint32(38, ((0o100000 | (mode & 0o7777)) << 16) >>> 0, true); // regular file + mode
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    centrals.push(central);
    offset += local.length + body.length;
  }
  if (entries.length > 0xffff) throw new Error('zip: too many entries (no ZIP64)');
  const cdSize = centrals.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const parts = [...locals, ...centrals, end];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The entries of a ZIP archive (files only; directories skipped), CRC-checked. */
export function readZip(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('zip: no end of central directory');
  const count = dv.getUint16(eocd + 10, true);
  const cdOffset = dv.getUint32(eocd + 16, true);
  const dec = new TextDecoder('utf-8', { fatal: true });
  const out = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (dv.getUint32(p, true) !== 0x02014b50) throw new Error(`zip: bad central header at ${p}`);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    const csize = dv.getUint32(p + 20, true);
    const usize = dv.getUint32(p + 24, true);
    const nlen = dv.getUint16(p + 28, true), xlen = dv.getUint16(p + 30, true), clen = dv.getUint16(p + 32, true);
    const attrs = dv.getUint32(p + 38, true);
    const lo = dv.getUint32(p + 42, true);
    const name = dec.decode(b.subarray(p + 46, p + 46 + nlen));
    p += 46 + nlen + xlen + clen;
    if (name.endsWith('/')) continue;
    if (dv.getUint32(lo, true) !== 0x04034b50) throw new Error(`zip: bad local header for ${name}`);
    const start = lo + 30 + dv.getUint16(lo + 26, true) + dv.getUint16(lo + 28, true);
    const body = b.subarray(start, start + csize);
    let data;
    if (method === 0) data = body.slice();
    else if (method === 8) { const d = inflateRawSync(body); data = new Uint8Array(d.buffer, d.byteOffset, d.length); }
    else throw new Error(`zip: ${name}: unsupported method ${method}`);
    if (data.length !== usize) throw new Error(`zip: ${name}: size ${data.length} != ${usize}`);
    if (crc32(data) !== crc) throw new Error(`zip: ${name}: CRC mismatch`);
    out.push({ name, data, mode: (attrs >>> 16) & 0o7777, method });
  }
  return out;
}
