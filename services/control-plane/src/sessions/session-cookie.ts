import { parse, serialize } from 'cookie';

/** The session cookie: the random token only, never readable by scripts, sent back only over TLS. */
export const SESSION_COOKIE = 'causeway_session';

export function sessionCookie(token: string, maxAgeMs: number): string {
  return serialize(SESSION_COOKIE, token, {
    httpOnly: true,
    // Browsers treat http://localhost as secure, so the demo works with it too.
    secure: true,
    // Lax: the cookie comes along when an identity provider redirects the user back (a top-level
    // GET), never on cross-site subrequests or form posts.
    sameSite: 'lax',
    path: '/',
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function clearedSessionCookie(): string {
  return serialize(SESSION_COOKIE, '', {
    httpOnly: true,
    secure: true,
    sameSite: 'lax',
    path: '/',
    maxAge: 0,
  });
}

export function sessionTokenFrom(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  const token = parse(cookieHeader)[SESSION_COOKIE];
  return token && /^[A-Za-z0-9_-]{43}$/.test(token) ? token : undefined;
}
