import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Who is on the other end of a request, as sign-in, allow-lists and the audit trail see it. */
export interface ClientInfo {
  /** The client address: the TCP peer, or what a trusted proxy forwarded (CAUSEWAY_TRUST_PROXY). */
  ip: string | null;
  userAgent: string | null;
}

export function clientOf(req: Request): ClientInfo {
  return {
    ip: req.ip ?? req.socket.remoteAddress ?? null,
    userAgent: req.get('user-agent')?.slice(0, 500) ?? null,
  };
}

/** The client address of the request (see `clientOf`), for handlers that audit what they do. */
export const ClientIp = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string | null =>
    clientOf(ctx.switchToHttp().getRequest<Request>()).ip,
);
