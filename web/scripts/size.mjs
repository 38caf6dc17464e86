// Prints the initial JavaScript (the entry script and its static imports,
// as index.html loads them) gzipped, and fails over the 200 KB budget.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = process.argv[2] ?? new URL('../../runtime/dashboard/dist', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const srcs = [...html.matchAll(/<(?:script[^>]+src|link[^>]+rel="modulepreload"[^>]+href)="([^"]+\.js)"/g)].map((m) => m[1]);
let raw = 0, gz = 0;
for (const s of srcs) {
  const b = readFileSync(join(dist, s));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
console.log(`initial JS: ${srcs.length} file(s), ${kb(raw)} KB raw, ${kb(gz)} KB gzipped (budget 200 KB)`);
if (!srcs.length || gz > 200 * 1024) process.exit(1);
