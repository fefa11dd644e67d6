import type { IncomingMessage } from 'node:http';
import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { CausewayError, type Permission } from '@causeway/contracts';
import type { Principal } from './principal';

export const PERMISSION_KEY = 'causeway:permission';
export const PUBLIC_KEY = 'causeway:public';

/** Declares the permission a route needs. Every route declares one, or is explicitly public. */
export const RequirePermission = (permission: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(PERMISSION_KEY, permission);

export const PENDING_SECOND_FACTOR_KEY = 'causeway:pending-second-factor';

/**
 * Marks a route a signed-in user may call before confirming a second factor their tenant
 * requires (who am I, sign out, set up or confirm the second factor). Every other route
 * answers `second_factor_required` until then.
 */
export const AllowPendingSecondFactor = (): MethodDecorator =>
  SetMetadata(PENDING_SECOND_FACTOR_KEY, true);

/** Marks a route that anyone may call (health checks, sign-in). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);

/** The authenticated caller of the current request, as the guard recorded it. */
export const Caller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<IncomingMessage & { principal?: Principal }>();
  if (!req.principal) throw new CausewayError('unauthenticated');
  return req.principal;
});
