import type { ReactNode } from 'react';
import { adminRoutes } from './admin/routes';
import { Link, navigate, useLocation } from './router';
import { useSession } from './session';

/** Header with navigation and the signed-in person, then the page. */
export function Layout({ children }: { children: ReactNode }) {
  const { session, signOut } = useSession();
  const { path } = useLocation();
  const signedIn = session.status === 'signed-in';
  const nav = [
    { label: 'Workspaces', to: '/workspaces' },
    ...adminRoutes.flatMap((r) =>
      r.nav && (!r.nav.shownTo || (session.status === 'signed-in' && r.nav.shownTo(session.me)))
        ? [r.nav]
        : [],
    ),
  ];
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="header-inner">
          <Link to="/" className="brand">
            Causeway
          </Link>
          {signedIn && (
            <nav aria-label="Main" className="main-nav">
              <ul className="plain">
                {nav.map((n) => (
                  <li key={n.to}>
                    <Link
                      to={n.to}
                      aria-current={
                        path === n.to || path.startsWith(`${n.to}/`) ? 'page' : undefined
                      }
                    >
                      {n.label}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {session.status === 'signed-in' || session.status === 'second-factor' ? (
            <div className="who">
              <span className="who-name" title={session.me.email}>
                {session.me.displayName || session.me.email}
              </span>
              <button
                type="button"
                className="secondary small"
                onClick={() => {
                  void signOut().finally(() => navigate('/sign-in', { replace: true }));
                }}
              >
                Sign out
              </button>
            </div>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer className="site-footer">
        <p>
          Causeway · <a href="/api/docs">API reference</a>
        </p>
      </footer>
    </>
  );
}
