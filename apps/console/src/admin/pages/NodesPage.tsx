import { adminApi } from '../api';
import type { NodeView } from '../types';
import { AdminPage, LoadState, When, relativeTime, useLoad } from '../ui';

/** Certificates closer to expiry than this are flagged: nodes renew with a third of 7 days left. */
const RENEWAL_OVERDUE_MS = 2 * 24 * 3600 * 1000;

/** The tenant's nodes: status, last heartbeat, version and certificate expiry. */
export function NodesPage() {
  return (
    <AdminPage
      title="Nodes"
      intro="Needs nodes.read. Nodes renew their certificate on their own; an expiry that comes close means the node is not renewing (its operator finds why in the node's audit trail)."
    >
      {(tenant) => <Nodes tenant={tenant} />}
    </AdminPage>
  );
}

function Nodes({ tenant }: { tenant: string }) {
  const state = useLoad(() => adminApi.nodes(tenant), tenant);
  return (
    <LoadState state={state} permission="nodes.read" what="the nodes">
      {() => (
        <>
          <div className="row">
            <button type="button" className="secondary small" onClick={state.reload}>
              Refresh
            </button>
          </div>
          {state.data?.items.length === 0 ? (
            <p className="empty">
              No node yet. An operator enrols one with a join token (see the operator guide).
            </p>
          ) : (
            <div className="table-wrap">
              <table className="data">
                <thead>
                  <tr>
                    <th scope="col">Node</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last heartbeat</th>
                    <th scope="col">Version</th>
                    <th scope="col">Certificate expires</th>
                  </tr>
                </thead>
                <tbody>
                  {state.data?.items.map((n) => (
                    <NodeRow key={n.id} node={n} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </LoadState>
  );
}

function NodeRow({ node: n }: { node: NodeView }) {
  const notAfter = n.certificate?.notAfter;
  const left = notAfter ? new Date(notAfter).getTime() - Date.now() : undefined;
  const certClass =
    left === undefined ? '' : left <= 0 ? 'bad' : left < RENEWAL_OVERDUE_MS ? 'warn' : '';
  return (
    <tr>
      <th scope="row" data-label="Node">
        {n.name}
        <div className="hint">
          {n.hostname ?? 'host not reported'} · region {n.region}
        </div>
      </th>
      <td data-label="Status">
        <span className={`badge status-${n.status}`}>{n.status}</span>
      </td>
      <td data-label="Last heartbeat">
        {n.lastHeartbeatAt ? (
          <When iso={n.lastHeartbeatAt} relative />
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td data-label="Version">{n.version ?? <span className="muted">unknown</span>}</td>
      <td data-label="Certificate expires">
        {notAfter ? (
          <span className={certClass}>
            <When iso={notAfter} />
            <span className="muted"> ({relativeTime(notAfter)})</span>
            {certClass === 'bad' && ' — expired'}
            {certClass === 'warn' && ' — not renewing?'}
          </span>
        ) : (
          <span className="muted">no certificate</span>
        )}
      </td>
    </tr>
  );
}
