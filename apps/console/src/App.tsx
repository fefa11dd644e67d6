import type { ReactNode } from 'react';
import { adminRoutes } from './admin/routes';
import { PageHeading } from './components/Heading';
import { Layout } from './Layout';
import { SecondFactorPage } from './pages/SecondFactorPage';
import { SignInPage } from './pages/SignInPage';
import { WorkspacesPage } from './pages/WorkspacesPage';
import { Link, Redirect, match, useLocation, useTitle } from './router';
import { SessionProvider, useSession } from './session';
import { WorkspacePage } from './workspace/WorkspacePage';

export function App() {
  return (
    <SessionProvider>
      <Layout>
        <Routes />
      </Layout>
    </SessionProvider>
  );
}

function Routes() {
  const { path, query } = useLocation();
  const { session } = useSession();

  if (session.status === 'loading') {
    return (
      <p className="loading" aria-live="polite">
        Loading…
      </p>
    );
  }
  if (path === '/sign-in/second-factor') {
    return session.status === 'signed-in' ? <Redirect to="/workspaces" /> : <SecondFactorPage />;
  }
  if (path === '/sign-in') {
    if (session.status === 'signed-in') return <Redirect to="/workspaces" />;
    if (session.status === 'second-factor') return <Redirect to="/sign-in/second-factor" />;
    return <SignInPage />;
  }
  // Everything below needs a confirmed session.
  if (session.status === 'signed-out') return <Redirect to="/sign-in" />;
  if (session.status === 'second-factor') return <Redirect to="/sign-in/second-factor" />;

  if (path === '/') return <Redirect to="/workspaces" />;
  if (path === '/workspaces') return <WorkspacesPage />;
  const ws = match('/workspaces/:ws', path);
  if (ws?.['ws']) {
    const folder = query.get('folder') ?? '/';
    return <WorkspacePage key={ws['ws']} workspaceId={ws['ws']} folder={folder} />;
  }
  for (const route of adminRoutes) {
    const params = match(route.pattern, path);
    if (params) return <>{route.render(params)}</>;
  }
  return <NotFound />;
}

function NotFound(): ReactNode {
  useTitle('Not found');
  return (
    <section className="card narrow">
      <PageHeading>Page not found</PageHeading>
      <p>
        There is no page at this address. <Link to="/workspaces">Go to your workspaces</Link>.
      </p>
    </section>
  );
}
