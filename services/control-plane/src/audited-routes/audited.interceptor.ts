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
import { mergeMap, tap, type Observable } from 'rxjs';
import { PinoLogger } from 'nestjs-pino';
import type { Principal } from '../access/principal';
import { AuditService, type AuditDetails, type RecordedCount } from '../audit/audit.service';
import { AUDITED_KEY, NOT_AUDITED_KEY, type AuditedRoute } from './audited.decorator';

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

/** The message of the check below: tests fail on it (see the test harness). */
export const UNAUDITED_ROUTE = 'a request succeeded without recording an audit event';

/**
 * Records the event a route declares with @Audited once its handler succeeded. Every other
 * route is watched: one that succeeds without its handler (or what the handler awaited)
 * recording an event, and without @NotAudited, is reported as an error, so that an action
 * added without its audit event shows up in the tests and in the logs.
 */
@Injectable()
export class AuditedInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    @InjectDataSource() private readonly db: DataSource,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('AuditedInterceptor');
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const targets = [context.getHandler(), context.getClass()];
    const route = this.reflector.get<AuditedRoute | undefined>(AUDITED_KEY, context.getHandler());
    if (!route) {
      if (this.reflector.getAllAndOverride<string>(NOT_AUDITED_KEY, targets)) return next.handle();
      return this.watched(context, next);
    }
    const req = context.switchToHttp().getRequest<AuditedRequest>();
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        await this.record(route, req, result);
        return result;
      }),
    );
  }

  private watched(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const count: RecordedCount = { recorded: 0 };
    // `handle()` binds the handler to the async context it is called in: this one.
    return this.audit
      .counting(count, () => next.handle())
      .pipe(
        tap({
          complete: () => {
            if (count.recorded > 0) return;
            const req = context.switchToHttp().getRequest<Request>();
            this.logger.error(
              {
                route: `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? req.path}`,
                handler: `${context.getClass().name}.${context.getHandler().name}`,
              },
              UNAUDITED_ROUTE,
            );
          },
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
