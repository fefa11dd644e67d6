import { SetMetadata } from '@nestjs/common';
import type { Permission } from '@causeway/contracts';

export const PERMISSION_KEY = 'causeway:permission';
export const PUBLIC_KEY = 'causeway:public';

/** Declares the permission a route needs. Every route declares one, or is explicitly public. */
export const RequirePermission = (permission: Permission): MethodDecorator & ClassDecorator =>
  SetMetadata(PERMISSION_KEY, permission);

/** Marks a route that anyone may call (health checks, sign-in). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_KEY, true);
