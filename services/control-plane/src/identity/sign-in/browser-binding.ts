import type { Request } from 'express';
import { parse, serialize } from 'cookie';

/**
 * A short-lived cookie that ties a redirect-based sign-in (OIDC, SAML) to the browser that
 * started it, so an answer cannot be completed in another browser (login CSRF: an attacker
 * signing a victim into the attacker's account). HttpOnly and Secure like the session cookie,
 * limited to the sign-in routes of one tenant and method. It carries no secret.
 */
export function bindingCookie(options: {
  name: string;
  tenantSlug: string;
  method: 'oidc' | 'saml';
  value: string;
  maxAgeSeconds: number;
  /** `lax` where the provider redirects back (GET); `none` where it posts a form (SAML). */
  sameSite: 'lax' | 'none';
}): string {
  return serialize(options.name, options.value, {
    httpOnly: true,
    secure: true,
    sameSite: options.sameSite,
    path: `/api/v1/auth/${encodeURIComponent(options.tenantSlug)}/${options.method}/`,
    maxAge: options.maxAgeSeconds,
  });
}

/** The binding cookie's value if the browser sent one that matches `shape`. */
export function boundValue(req: Request, name: string, shape: RegExp): RegExpExecArray | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return shape.exec(parse(header)[name] ?? '') ?? undefined;
}
