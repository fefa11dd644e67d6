import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { ApiError, messageOf } from '../api/errors';
import { PageHeading } from '../components/Heading';
import { ErrorMessage } from '../components/Messages';
import { Link, useLocation, useTitle } from '../router';
import { useSession } from '../session';

/** The admin pages, in the order of the sub-navigation. */
export const ADMIN_PAGES = [
  {
    to: '/admin/settings',
    label: 'Settings',
    summary: 'Name, data residency, retention, key-rotation period.',
  },
  {
    to: '/admin/sign-in',
    label: 'Sign-in',
    summary: 'SSO connectors (OIDC, SAML), emailed codes, passwords, second factor.',
  },
  {
    to: '/admin/roles',
    label: 'Roles',
    summary: 'Roles, who holds them where, and the people of your organisation.',
  },
  {
    to: '/admin/partners',
    label: 'Partners',
    summary: 'Invite people from other companies into a workspace.',
  },
  {
    to: '/admin/allow-list',
    label: 'IP allow-list',
    summary: 'The networks your people may connect from.',
  },
  {
    to: '/admin/nodes',
    label: 'Nodes',
    summary: 'Status, last heartbeat, version and certificate expiry of your nodes.',
  },
  {
    to: '/admin/keys',
    label: 'Keys',
    summary: 'Workspace master keys: versions, schedule, rotate now.',
  },
  { to: '/admin/audit', label: 'Audit', summary: 'Search, chart and export the audit trail.' },
  {
    to: '/admin/alerts',
    label: 'Alerts',
    summary: 'Where anomaly alerts go, and their thresholds.',
  },
] as const;

/**
 * A request's progress. `error` keeps the ApiError so that a 403 can be told apart from a
 * failure: the API, not the console, decides who may see what.
 */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads once per change of `key`, and again on reload(); late answers of older loads are dropped.
 * A new key shows nothing until its answer arrives (never the old key's data under new
 * filters); a reload keeps the data on screen while it refreshes.
 */
export function useLoad<T>(load: (() => Promise<T>) | undefined, key: string): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown; loading: boolean }>({
    key,
    loading: load !== undefined,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (!load) return;
    let live = true;
    setState((s) => (s.key === key ? { ...s, loading: true } : { key, loading: true }));
    load().then(
      (data) => live && setState({ key, data, loading: false }),
      (error: unknown) => live && setState({ key, error, loading: false }),
    );
    return () => {
      live = false;
    };
    // `load` is a new closure on each render; `key` says when it asks for something else.
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    loading: current ? state.loading : true,
    reload,
  };
}

export function isForbidden(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403 && error.code === 'forbidden';
}

/** The sentence for a failed admin action; a refusal names what the person's role lacks. */
export function adminMessage(error: unknown, permission?: string): string {
  if (isForbidden(error)) {
    return permission
      ? `Your role does not allow this (it needs the ${permission} permission). The owner or an admin of your organisation can change your role.`
      : 'Your role does not allow this. The owner or an admin of your organisation can change your role.';
  }
  return messageOf(error);
}

/** What a section shows instead of its content while loading, when refused, or on failure. */
export function LoadState({
  state,
  permission,
  what,
  children,
}: {
  state: Loaded<unknown>;
  permission: string;
  what: string;
  children: () => ReactNode;
}) {
  if (state.error !== undefined) {
    if (isForbidden(state.error)) {
      return (
        <p className="message message-info" role="status">
          You cannot see {what}: your role does not include the <code>{permission}</code>{' '}
          permission. Ask the owner or an admin of your organisation if you need it.
        </p>
      );
    }
    return (
      <div>
        <ErrorMessage message={messageOf(state.error)} />
        <button type="button" className="secondary small" onClick={state.reload}>
          Try again
        </button>
      </div>
    );
  }
  if (state.data === undefined) {
    return (
      <p className="muted" aria-live="polite">
        Loading {what}…
      </p>
    );
  }
  return <>{children()}</>;
}

/** The frame of every admin page: title, sub-navigation, and the tenant it is about. */
export function AdminPage({
  title,
  intro,
  children,
}: {
  title: string;
  intro?: ReactNode;
  children: (tenant: string) => ReactNode;
}) {
  useTitle(`${title} · Admin`);
  const { tenant } = useSession();
  return (
    <div className="admin">
      <AdminNav />
      <section className="card admin-main" aria-labelledby="admin-page-title">
        <div id="admin-page-title">
          <PageHeading>{title}</PageHeading>
        </div>
        {intro && <p className="hint">{intro}</p>}
        {tenant === undefined ? (
          <p>
            The console does not know your organisation yet. <Link to="/sign-in">Choose it</Link>.
          </p>
        ) : (
          children(tenant)
        )}
      </section>
    </div>
  );
}

export function AdminNav() {
  const { path } = useLocation();
  return (
    <nav aria-label="Administration" className="admin-nav">
      <ul className="plain">
        <li>
          <Link to="/admin" aria-current={path === '/admin' ? 'page' : undefined}>
            Overview
          </Link>
        </li>
        {ADMIN_PAGES.map((p) => (
          <li key={p.to}>
            <Link to={p.to} aria-current={path === p.to ? 'page' : undefined}>
              {p.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** "3 minutes ago", "in 5 days": how far an instant is from `now`. */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, 'second');
}

/** A <time> with the full date as its text and the distance as a hint. */
export function When({
  iso,
  relative = false,
}: {
  iso: string | null | undefined;
  relative?: boolean;
}) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {formatTime(iso)}
      {relative && <span className="muted"> ({relativeTime(iso)})</span>}
    </time>
  );
}

/** Lines of a textarea as a list: trimmed, blank lines dropped. */
export function lines(text: string): string[] {
  return text
    .split(/[\n,]+/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Runs an action with a busy flag and turns its failure into a sentence. */
export function useAction(permission?: string) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const run = useCallback(
    async (action: () => Promise<string | undefined | void>) => {
      setBusy(true);
      setError(undefined);
      setDone(undefined);
      try {
        const message = await action();
        if (typeof message === 'string') setDone(message);
        return true;
      } catch (e) {
        setError(adminMessage(e, permission));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [permission],
  );
  return { busy, error, done, run, setError };
}
