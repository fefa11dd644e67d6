import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { requestIdSchema } from '@causeway/contracts';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Takes the caller's X-Request-Id when it is well-formed (so a trace can start at a load
 * balancer), otherwise makes one; echoes it in the response. Used by pino-http as genReqId.
 */
export function requestIdFor(req: IncomingMessage & { id?: unknown }, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const given = req.headers[REQUEST_ID_HEADER];
  const candidate = Array.isArray(given) ? given[0] : given;
  const id =
    candidate !== undefined && requestIdSchema.safeParse(candidate).success
      ? candidate
      : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  req.id = id;
  return id;
}

/** The id of the current HTTP request, as set by pino-http. */
export function requestIdOf(req: IncomingMessage & { id?: unknown }): string {
  return typeof req.id === 'string' ? req.id : 'unknown';
}

export const RequestId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string =>
  requestIdOf(ctx.switchToHttp().getRequest<IncomingMessage & { id?: unknown }>()),
);
