import type { Request } from 'express';
import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { mergeMap, type Observable } from 'rxjs';
import type { Principal } from '../access/principal';
import { AuditService, type AuditDetails } from '../audit/audit.service';
import { AUDITED_KEY, type AuditedRoute } from './audited.decorator';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path parameters as the audit record names them (the catalogue's `routeFields`). */
const PARAMS: Record<string, keyof AuditDetails> = {
  tenant: 'tenant',
  ws: 'workspaceId',
  workspace: 'workspaceId',
  node: 'nodeId',
  user: 'userId',
  id: 'id',
  role: 'role',
};

type AuditedRequest = Request & { principal?: Principal };

/** How many items a list answered: an array, or an object with an `items` array. */
function countOf(result: unknown): number | undefined {
  if (Array.isArray(result)) return result.length;
  if (typeof result === 'object' && result !== null) {
    const items = (result as { items?: unknown }).items;
    if (Array.isArray(items)) return items.length;
  }
  return undefined;
}

/** The id of what a route created (a join token, a node): never any other field of it. */
function createdId(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const id = (result as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/** Records the event a route declares with @Audited once its handler succeeded. */
@Injectable()
export class AuditedInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.reflector.get<AuditedRoute | undefined>(AUDITED_KEY, context.getHandler());
    if (!route || context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<AuditedRequest>();
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        await this.record(route, req, result);
        return result;
      }),
    );
  }

  private async record(route: AuditedRoute, req: AuditedRequest, result: unknown): Promise<void> {
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    const details: AuditDetails = {};
    for (const [param, field] of Object.entries(PARAMS)) {
      const value = params[param];
      if (value !== undefined) details[field] = value;
    }
    if (details['id'] === undefined) {
      const id = createdId(result);
      if (id !== undefined) details['id'] = id;
    }
    const count = countOf(result);
    if (count !== undefined) details['count'] = count;
    if (route.method !== undefined) details['method'] = route.method;
    await this.audit.record({
      tenantId: await this.tenantOf(req.principal, params),
      type: route.type,
      outcome: 'success',
      actor: req.principal?.subject ?? null,
      ip: req.ip ?? null,
      details,
    });
  }

  /** The tenant the request concerns: the user's own, or the one its path names. */
  private async tenantOf(
    principal: Principal | undefined,
    params: Record<string, string | undefined>,
  ): Promise<string | null> {
    if (principal?.kind === 'user') return principal.session.tenantId;
    const lookups: Array<[string | undefined, string]> = [
      [params['tenant'], 'SELECT id AS tenant_id FROM tenants WHERE slug = $1'],
      [params['ws'] ?? params['workspace'], 'SELECT tenant_id FROM workspaces WHERE id = $1'],
      [params['node'], 'SELECT tenant_id FROM nodes WHERE id = $1'],
    ];
    for (const [value, sql] of lookups) {
      if (value === undefined) continue;
      if (!sql.includes('slug') && !UUID.test(value)) continue;
      const rows = await this.db.query<Array<{ tenant_id: string }>>(sql, [value]);
      if (rows[0]) return rows[0].tenant_id;
    }
    return null;
  }
}
