import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api } from './api/client';
import { ApiError } from './api/errors';
import type { Me } from './api/types';

/**
 * Who is signed in, as `GET /api/v1/me` says. The tenant's short name is remembered in the
 * browser: /me names the tenant by id only, and the sign-in page (where the person chose or was
 * sent to the organisation) is where the console learns it.
 */
export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out' }
  | { status: 'second-factor'; me: Me }
  | { status: 'signed-in'; me: Me };

interface SessionContextValue {
  session: SessionState;
  tenant: string | undefined;
  /** Remembers the organisation, or forgets it (undefined) so that the sign-in page asks. */
  setTenant: (slug: string | undefined) => void;
  refresh: () => Promise<SessionState>;
  signOut: () => Promise<void>;
}

const TENANT_KEY = 'causeway.tenant';
const TENANT_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isTenantSlug(value: string): boolean {
  return TENANT_SLUG.test(value);
}

function storedTenant(): string | undefined {
  try {
    const value = window.localStorage.getItem(TENANT_KEY) ?? '';
    return isTenantSlug(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const SessionContext = createContext<SessionContextValue | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionState>({ status: 'loading' });
  const [tenant, setTenantState] = useState<string | undefined>(() => {
    const fromUrl = new URLSearchParams(window.location.search).get('tenant') ?? '';
    return isTenantSlug(fromUrl) ? fromUrl : storedTenant();
  });

  const setTenant = useCallback((slug: string | undefined) => {
    setTenantState(slug);
    try {
      if (slug === undefined) window.localStorage.removeItem(TENANT_KEY);
      else window.localStorage.setItem(TENANT_KEY, slug);
    } catch {
      // Private browsing without storage: the tenant is asked for again next time.
    }
  }, []);

  useEffect(() => {
    if (tenant !== undefined) setTenant(tenant);
  }, [tenant, setTenant]);

  const refresh = useCallback(async (): Promise<SessionState> => {
    let next: SessionState;
    try {
      const me = await api.me();
      next = me.secondFactorRequired
        ? { status: 'second-factor', me }
        : { status: 'signed-in', me };
    } catch (error) {
      if (error instanceof ApiError && error.status !== 0 && error.status < 500) {
        next = { status: 'signed-out' };
      } else {
        throw error;
      }
    }
    setSession(next);
    return next;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } finally {
      setSession({ status: 'signed-out' });
    }
  }, []);

  useEffect(() => {
    refresh().catch(() => setSession({ status: 'signed-out' }));
  }, [refresh]);

  return (
    <SessionContext.Provider value={{ session, tenant, setTenant, refresh, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
