import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { messageOf } from '../api/errors';
import type { Workspace } from '../api/types';
import { PageHeading } from '../components/Heading';
import { ErrorMessage } from '../components/Messages';
import { Link, navigate, useTitle } from '../router';
import { useSession } from '../session';

const STATE_LABEL: Record<Workspace['state'], string> = {
  ready: 'ready',
  provisioning: 'being prepared',
  failed: 'could not be prepared',
  deleting: 'being deleted',
};

/** The workspaces shared with the person; with exactly one ready, it opens it directly. */
export function WorkspacesPage() {
  useTitle('Workspaces');
  const { tenant } = useSession();
  const [items, setItems] = useState<Workspace[]>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (tenant === undefined) return;
    let live = true;
    api.workspaces(tenant).then(
      ({ items: found }) => {
        if (!live) return;
        const ready = found.filter((w) => w.state === 'ready');
        if (found.length === 1 && ready[0]) {
          navigate(`/workspaces/${ready[0].id}`, { replace: true });
          return;
        }
        setItems(found);
      },
      (e: unknown) => live && setError(messageOf(e)),
    );
    return () => {
      live = false;
    };
  }, [tenant]);

  if (tenant === undefined) {
    return (
      <section className="card">
        <PageHeading>Workspaces</PageHeading>
        <p>
          The console does not know your organisation yet. <Link to="/sign-in">Choose it</Link>.
        </p>
      </section>
    );
  }

  return (
    <section className="card" aria-busy={items === undefined && !error}>
      <PageHeading>Workspaces</PageHeading>
      <ErrorMessage message={error} />
      {items === undefined && !error && <p>Loading…</p>}
      {items?.length === 0 && (
        <p>
          No workspace is shared with you yet. When a company invites you, its workspace appears
          here.
        </p>
      )}
      {items && items.length > 0 && (
        <ul className="plain list">
          {items.map((w) => (
            <li key={w.id}>
              {w.state === 'ready' ? (
                <Link to={`/workspaces/${w.id}`} className="list-link">
                  {w.name}
                </Link>
              ) : (
                <span>
                  {w.name} <span className="muted">({STATE_LABEL[w.state]})</span>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
