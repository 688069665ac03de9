import { describe, expect, it } from 'vitest';
import { matchRoute, ROUTES } from './router.ts';

describe('matchRoute', () => {
  it('matches fixed paths and decodes path parameters', () => {
    expect(matchRoute('/clv')?.route.path).toBe('/clv');
    expect(matchRoute('/clv/')?.route.path).toBe('/clv');
    const m = matchRoute('/customers/C%2042');
    expect(m?.route.path).toBe('/customers/:id');
    expect(m?.params).toEqual({ id: 'C 42' });
  });
  it('finds nothing for unknown paths, an empty parameter or a malformed escape', () => {
    expect(matchRoute('/nowhere')).toBeNull();
    expect(matchRoute('/customers/')).toBeNull();
    expect(matchRoute('/customers/%E0%A4%A')).toBeNull();
  });
  it('lists each path once', () => {
    const paths = ROUTES.map((r) => r.path);
    expect(new Set(paths).size).toBe(paths.length);
  });
});
