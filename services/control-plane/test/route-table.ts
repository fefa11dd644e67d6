import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { Permission } from '@causeway/contracts';
import { PERMISSION_KEY, PUBLIC_KEY } from '../src/access/permission.decorator';
import type { Stack } from './harness';

export interface Route {
  method: string;
  path: string;
  permission: Permission | undefined;
  isPublic: boolean;
}

/** The application's route table, read from the running app's controllers. */
export function routeTable(stack: Stack): Route[] {
  const modules = stack.app.get(ModulesContainer);
  const scanner = new MetadataScanner();
  const routes: Route[] = [];
  const wrappers = [...modules.values()].flatMap((m) => [...m.controllers.values()]);
  for (const wrapper of wrappers) {
    const type = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
    if (!type) continue;
    const base = (Reflect.getMetadata('path', type) as string | undefined) ?? '';
    for (const name of scanner.getAllMethodNames(type.prototype)) {
      const handler = (type.prototype as Record<string, unknown>)[name] as object;
      const path = Reflect.getMetadata('path', handler) as string | undefined;
      if (path === undefined) continue;
      const verbs = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'ALL', 'OPTIONS', 'HEAD'];
      const verb = verbs[Reflect.getMetadata('method', handler) as number] ?? 'UNKNOWN';
      const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
      routes.push({
        method: verb,
        path: full,
        permission: (Reflect.getMetadata(PERMISSION_KEY, handler) ??
          Reflect.getMetadata(PERMISSION_KEY, type)) as Permission | undefined,
        isPublic: Boolean(
          Reflect.getMetadata(PUBLIC_KEY, handler) ?? Reflect.getMetadata(PUBLIC_KEY, type),
        ),
      });
    }
  }
  return routes;
}
