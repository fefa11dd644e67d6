import { PERMISSIONS } from '@causeway/contracts';
import { Stack } from './harness';
import { routeTable, type Route } from './route-table';

/** A route path with every parameter filled in (tenant slugs, ids). */
const concrete = (path: string): string =>
  path.replace(/:tenant\b/g, 'acme').replace(/:[a-z]+/g, '00000000-0000-4000-8000-000000000000');

describe('access: every route declares its permission, and the guard enforces it', () => {
  let stack: Stack;
  let routes: Route[];

  beforeAll(async () => {
    stack = await Stack.start();
    routes = routeTable(stack);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('finds the routes of the API (the table is not empty)', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /healthz',
        'GET /readyz',
        'GET /api/v1/nodes',
        'POST /api/v1/nodes/:node/ping',
      ]),
    );
  });

  it('has a declared permission from the catalogue, or an explicit @Public(), on every route', () => {
    for (const route of routes) {
      const declared =
        route.isPublic || (route.permission !== undefined && route.permission in PERMISSIONS);
      expect({ route: `${route.method} ${route.path}`, declared }).toEqual({
        route: `${route.method} ${route.path}`,
        declared: true,
      });
    }
  });

  it('refuses every protected route without a token, and with a wrong one, as 401 unauthenticated', async () => {
    const protectedRoutes = routes.filter((r) => !r.isPublic);
    expect(protectedRoutes.length).toBeGreaterThan(0);
    for (const route of protectedRoutes) {
      const method = route.method.toLowerCase() as 'get' | 'post';
      const none = await stack.anonymous()[method](concrete(route.path));
      expect({ route: route.path, status: none.status, code: none.body.code }).toEqual({
        route: route.path,
        status: 401,
        code: 'unauthenticated',
      });
      const anonymous = stack.anonymous();
      const wrong = await anonymous[method](concrete(route.path)).set(
        'Authorization',
        `Bearer ${'x'.repeat(40)}`,
      );
      expect({ route: route.path, status: wrong.status }).toEqual({
        route: route.path,
        status: 401,
      });
    }
  });

  it('lets the public health routes through without a token', async () => {
    await stack.anonymous().get('/healthz').expect(200, { status: 'ok' });
    const ready = await stack.anonymous().get('/readyz').expect(200);
    expect(ready.body.checks).toMatchObject({
      database: { status: 'up' },
      broker: { status: 'up' },
    });
  });

  it('serves the OpenAPI description listing the versioned routes', async () => {
    const html = await stack.anonymous().get('/api/docs').expect(200);
    expect(html.text).toContain('swagger');
    const doc = await stack.anonymous().get('/api/docs/openapi.json').expect(200);
    expect(Object.keys(doc.body.paths as object)).toEqual(
      expect.arrayContaining([
        '/api/v1/nodes',
        '/api/v1/nodes/{node}',
        '/api/v1/nodes/{node}/ping',
      ]),
    );
  });

  it('never writes the admin token into the logs', async () => {
    await stack.http().get('/api/v1/nodes').expect(200);
    expect(stack.logs.length).toBeGreaterThan(0);
    expect(stack.logs.join('\n')).not.toContain(stack.config.adminToken);
  });
});
