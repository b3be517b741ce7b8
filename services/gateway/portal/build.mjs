// Builds the partner portal into dist/: the explorer bundle, then the docs (see docs.mjs).
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { buildDocs } from './docs.mjs';

const here = new URL('.', import.meta.url).pathname;
const dist = `${here}dist`;

await rm(dist, { recursive: true, force: true });
await mkdir(`${dist}/explorer`, { recursive: true });
await build({
  entryPoints: { explorer: `${here}src/explorer.jsx` },
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  outdir: `${dist}/explorer`,
  jsx: 'automatic',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.svg': 'file' },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
await copyFile(`${here}src/explorer.html`, `${dist}/explorer/index.html`);
await buildDocs(dist);
