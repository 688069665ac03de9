/**
 * The dashboards: `web/` bundled once with esbuild (in memory, when the routes are created) and
 * served at the API's origin. Every page path answers the HTML shell (the client-side router picks
 * the page); `/assets/app.js` and `/assets/app.css` are the bundle, gzipped when the client accepts
 * it, with an ETag so a reload costs one 304.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ApiEnv } from '../auth.ts';

export interface WebRoutesOptions {
  /** Folder of the front-end sources (default: web/ of this package). */
  readonly webDir?: string;
  /** Minify the bundle (default true). */
  readonly minify?: boolean;
}

/** Paths of the dashboard pages (the client-side router's routes). */
export const PAGE_PATHS = [
  '/',
  '/executive',
  '/clv',
  '/segments',
  '/churn',
  '/explore',
  '/sql',
  '/customers/:id',
  '/data',
  '/campaigns',
] as const;

interface Asset {
  readonly body: Uint8Array;
  readonly gzip: Uint8Array;
  readonly type: string;
  readonly etag: string;
}

function asset(text: string, type: string): Asset {
  const body = new TextEncoder().encode(text);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, gzip: gzipSync(body, { level: 6 }), type, etag };
}

/** Bundles web/main.ts into one JS and one CSS file. */
export async function bundleWeb(
  options: WebRoutesOptions = {},
): Promise<{ js: string; css: string; html: string }> {
  const dir = resolve(options.webDir ?? join(import.meta.dirname, '..', '..', '..', 'web'));
  const result = await build({
    entryPoints: [join(dir, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: options.minify ?? true,
    outdir: '/assets',
    entryNames: 'app',
    loader: { '.css': 'css' },
    logLevel: 'silent',
    legalComments: 'none',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  return { js, css, html };
}

function send(c: Context<ApiEnv>, a: Asset, cacheControl: string): Response {
  const headers: Record<string, string> = {
    'content-type': a.type,
    'cache-control': cacheControl,
    etag: a.etag,
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
  };
  if (c.req.header('if-none-match') === a.etag) return c.body(null, 304, headers);
  const gz = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
  if (gz) headers['content-encoding'] = 'gzip';
  return c.body((gz ? a.gzip : a.body).slice().buffer as ArrayBuffer, 200, headers);
}

/** The dashboard routes; bundling happens once, here, so a broken front end fails at start-up. */
export async function webRoutes(options: WebRoutesOptions = {}): Promise<Hono<ApiEnv>> {
  const { js, css, html } = await bundleWeb(options);
  const jsAsset = asset(js, 'text/javascript; charset=utf-8');
  const cssAsset = asset(css, 'text/css; charset=utf-8');
  const htmlAsset = asset(html, 'text/html; charset=utf-8');
  const app = new Hono<ApiEnv>();
  // the shell names the bundle without a version, so browsers revalidate (a 304 when unchanged)
  app.get('/assets/app.js', (c) => send(c, jsAsset, 'no-cache'));
  app.get('/assets/app.css', (c) => send(c, cssAsset, 'no-cache'));
  for (const path of PAGE_PATHS) {
    app.get(path, function dashboardShell(c) {
      return send(c, htmlAsset, 'no-cache');
    });
  }
  return app;
}
