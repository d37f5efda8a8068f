// json-spans.mjs — where a value sits in a JSON document's bytes, for tests that check the
// engine's byte-span rewrite: spanOf(text, path) → [start, end] of the value at `path`;
// itemTexts(text) → the bytes of each data.products.items entry.  Shared by the workerd and
// Lambda@Edge suites.
const WS = ' \t\n\r';
const skipWs = (s, i) => { while (i < s.length && WS.includes(s[i])) i++; return i; };
function skipValue(s, i) {
  i = skipWs(s, i);
  if (s[i] === '"') { i++; while (s[i] !== '"') i += s[i] === '\\' ? 2 : 1; return i + 1; }
  if (s[i] === '{' || s[i] === '[') {
    let depth = 0;
    for (; i < s.length; i++) {
      if (s[i] === '"') { i = skipValue(s, i) - 1; continue; }
      if (s[i] === '{' || s[i] === '[') depth++;
      else if ((s[i] === '}' || s[i] === ']') && --depth === 0) return i + 1;
    }
    throw new Error('unterminated JSON');
  }
  while (i < s.length && !',}]'.includes(s[i]) && !WS.includes(s[i])) i++;
  return i;
}
/** [key|null, start, end] of each member of the object or array starting at `start`. */
function members(s, start) {
  const out = [];
  const close = s[start] === '{' ? '}' : ']';
  let i = skipWs(s, start + 1);
  if (s[i] === close) return out;
  for (;;) {
    let key = null;
    if (close === '}') { const k = skipValue(s, i); key = JSON.parse(s.slice(i, k)); i = skipWs(s, k) + 1; }
    const vs = skipWs(s, i), ve = skipValue(s, vs);
    out.push([key, vs, ve]);
    i = skipWs(s, ve);
    if (s[i] !== ',') return out;
    i = skipWs(s, i + 1);
  }
}
export function spanOf(s, path) {
  let start = skipWs(s, 0), end = skipValue(s, start);
  for (const k of path) {
    const m = members(s, start).find(([key]) => key === k);
    if (!m) return null;
    [, start, end] = m;
  }
  return [start, end];
}
export const itemTexts = (s) => { const [a] = spanOf(s, ['data', 'products', 'items']); return members(s, a).map(([, x, y]) => s.slice(x, y)); };
