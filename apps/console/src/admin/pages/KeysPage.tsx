import { adminApi } from '../api';
import type { AdminWorkspace } from '../types';
import { ErrorMessage, StatusMessage } from '../../components/Messages';
import { Link } from '../../router';
import { AdminPage, LoadState, When, useAction, useLoad } from '../ui';

/**
 * Workspace master keys: the active version, the schedule the node holds, recent re-wrap jobs,
 * and rotating on demand. The period itself is a tenant setting.
 */
export function KeysPage() {
  return (
    <AdminPage
      title="Keys"
      intro="Reading needs keys.read (owner, admin, auditor); rotating needs keys.rotate (owner, admin). Files stay readable during a rotation."
    >
      {(tenant) => <Keys tenant={tenant} />}
    </AdminPage>
  );
}

function Keys({ tenant }: { tenant: string }) {
  const workspaces = useLoad(() => adminApi.workspaces(tenant), tenant);
  return (
    <>
      <p>
        The rotation period is set for the whole tenant on the{' '}
        <Link to="/admin/settings">settings page</Link>.
      </p>
      <LoadState state={workspaces} permission="workspaces.read" what="the workspaces">
        {() =>
          workspaces.data?.items.length === 0 ? (
            <p className="empty">No workspace yet.</p>
          ) : (
            <ul className="plain key-list">
              {workspaces.data?.items.map((w) => (
                <WorkspaceKeys key={w.id} tenant={tenant} workspace={w} />
              ))}
            </ul>
          )
        }
      </LoadState>
    </>
  );
}

function WorkspaceKeys({ tenant, workspace: w }: { tenant: string; workspace: AdminWorkspace }) {
  const ready = w.state === 'ready';
  const status = useLoad(
    ready ? () => adminApi.keyStatus(tenant, w.id) : undefined,
    `${tenant}/${w.id}`,
  );
  const action = useAction('keys.rotate');
  return (
    <li className="connector">
      <h2>{w.name}</h2>
      {!ready ? (
        <p className="muted">This workspace is {w.state}.</p>
      ) : (
        <LoadState state={status} permission="keys.read" what="its key status">
          {() =>
            status.data && (
              <>
                <dl className="facts">
                  <dt>Active version</dt>
                  <dd>{status.data.activeVersion}</dd>
                  <dt>Last rotated</dt>
                  <dd>
                    {status.data.rotatedAt ? (
                      <When iso={status.data.rotatedAt} relative />
                    ) : (
                      'never'
                    )}
                  </dd>
                  <dt>Period on the node</dt>
                  <dd>
                    {status.data.rotationDays === null
                      ? 'not received yet'
                      : `${status.data.rotationDays} days`}
                  </dd>
                  <dt>Next rotation</dt>
                  <dd>
                    <When iso={status.data.nextRotationDueAt} relative />
                  </dd>
                  {status.data.retiringVersions.length > 0 && (
                    <>
                      <dt>Retiring versions</dt>
                      <dd>{status.data.retiringVersions.join(', ')}</dd>
                    </>
                  )}
                </dl>
                {status.data.jobs.length > 0 && (
                  <details>
                    <summary>Recent re-wrap jobs ({status.data.jobs.length})</summary>
                    <ul>
                      {status.data.jobs.map((j) => (
                        <li key={j.jobId}>
                          version {j.keyVersion}: {j.state}, {j.rewrapped} data keys re-wrapped,
                          started <When iso={j.startedAt} />
                        </li>
                      ))}
                    </ul>
                  </details>
                )}
                <div className="row">
                  <button
                    type="button"
                    className="secondary"
                    disabled={action.busy}
                    onClick={() =>
                      void action.run(async () => {
                        const job = await adminApi.rotateKey(tenant, w.id);
                        status.reload();
                        return `Version ${job.keyVersion} is active; re-wrapping the existing files continues on the node.`;
                      })
                    }
                  >
                    Rotate now
                  </button>
                </div>
                <ErrorMessage message={action.error} />
                <StatusMessage>{action.done}</StatusMessage>
              </>
            )
          }
        </LoadState>
      )}
    </li>
  );
}
