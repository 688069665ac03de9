import { gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../auth.ts';
import { webRoutes } from './web.ts';

describe('dashboard routes', () => {
  let app: Hono<ApiEnv>;
  beforeAll(async () => {
    app = new Hono<ApiEnv>();
    app.route('/', await webRoutes());
  });

  it('answers every page path with the HTML shell that loads the bundle', async () => {
    for (const path of [
      '/',
      '/executive',
      '/clv',
      '/churn',
      '/segments',
      '/explore',
      '/sql',
      '/customers/C%2042',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await res.text();
      expect(html).toContain('<script type="module" src="/assets/app.js">');
      expect(html).toContain('/assets/app.css');
    }
    expect((await app.request('/nowhere')).status).toBe(404);
  });

  it('serves the bundle gzipped with an ETag, and 304 when the browser has it', async () => {
    const res = await app.request('/assets/app.js', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const js = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    expect(js).toContain('data-page-ready');
    const plain = await app.request('/assets/app.js');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(js);
    const etag = res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = await app.request('/assets/app.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const css = await app.request('/assets/app.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain('prefers-color-scheme');
  });
});
