import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/Messages';
import { adminApi } from '../api';
import type { AdminWorkspace, CreatedInvitation, Invitation, Role } from '../types';
import { AdminPage, LoadState, When, useAction, useLoad } from '../ui';

/** Partner invitations: invite an address into a workspace with a role; follow and revoke. */
export function PartnersPage() {
  return (
    <AdminPage
      title="Partners"
      intro="Needs invitations.manage (owner, admin). You can only invite with a role whose permissions you hold on that workspace."
    >
      {(tenant) => <Partners tenant={tenant} />}
    </AdminPage>
  );
}

function Partners({ tenant }: { tenant: string }) {
  const invitations = useLoad(() => adminApi.invitations(tenant), tenant);
  const workspaces = useLoad(() => adminApi.workspaces(tenant), tenant);
  const roles = useLoad(() => adminApi.roles(tenant), tenant);
  return (
    <>
      <section aria-labelledby="invite-title">
        <h2 id="invite-title">Invite a partner</h2>
        <LoadState state={workspaces} permission="workspaces.read" what="the workspaces">
          {() => (
            <InviteForm
              tenant={tenant}
              workspaces={workspaces.data?.items ?? []}
              roles={roles.data?.items}
              onInvited={invitations.reload}
            />
          )}
        </LoadState>
      </section>
      <section aria-labelledby="invitations-title">
        <h2 id="invitations-title">Invitations</h2>
        <LoadState state={invitations} permission="invitations.manage" what="the invitations">
          {() => (
            <InvitationTable
              tenant={tenant}
              items={invitations.data?.items ?? []}
              onChange={invitations.reload}
            />
          )}
        </LoadState>
      </section>
    </>
  );
}

/** Roles that may be given on a workspace without tenant-wide permissions. */
function workspaceRoles(roles: Role[] | undefined): string[] {
  if (!roles) return ['partner-viewer', 'partner-editor', 'member'];
  return roles.filter((r) => r.assignableScopes.includes('workspace')).map((r) => r.name);
}

function InviteForm({
  tenant,
  workspaces,
  roles,
  onInvited,
}: {
  tenant: string;
  workspaces: AdminWorkspace[];
  roles: Role[] | undefined;
  onInvited: () => void;
}) {
  const ready = workspaces.filter((w) => w.state === 'ready');
  const [email, setEmail] = useState('');
  const [workspaceId, setWorkspaceId] = useState('');
  const [role, setRole] = useState('partner-viewer');
  const [created, setCreated] = useState<CreatedInvitation>();
  const action = useAction('invitations.manage');
  const id = useId();
  if (ready.length === 0) {
    return (
      <p className="empty">No workspace is ready yet: partners are invited into a workspace.</p>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ws = workspaceId || ready[0]?.id || '';
    if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) {
      action.setError('Enter the partner’s email address.');
      return;
    }
    setCreated(undefined);
    void action.run(async () => {
      setCreated(await adminApi.invite(tenant, ws, { email: email.trim(), role }));
      setEmail('');
      onInvited();
    });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate aria-label="Invite a partner">
      <label htmlFor={`${id}-email`}>Partner’s email address</label>
      <input
        id={`${id}-email`}
        type="email"
        autoComplete="off"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
      />
      <label htmlFor={`${id}-ws`}>Workspace</label>
      <select id={`${id}-ws`} value={workspaceId} onChange={(e) => setWorkspaceId(e.target.value)}>
        {ready.map((w) => (
          <option key={w.id} value={w.id}>
            {w.name}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-role`}>Role</label>
      <p className="hint" id={`${id}-role-hint`}>
        partner-viewer: list and download. partner-editor: also upload, rename, move and delete.
      </p>
      <select
        id={`${id}-role`}
        aria-describedby={`${id}-role-hint`}
        value={role}
        onChange={(e) => setRole(e.target.value)}
      >
        {workspaceRoles(roles).map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <ErrorMessage message={action.error} />
      {created && (
        <div role="status" className="message message-ok">
          {created.email} is invited until <When iso={created.expiresAt} />.{' '}
          {created.emailSent ? (
            'The invitation email is on its way.'
          ) : (
            <>
              No email was sent (no mail relay): send them this sign-in link yourself:{' '}
              <code>{created.signInUrl}</code>
            </>
          )}
        </div>
      )}
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Inviting…' : 'Invite'}
      </button>
    </form>
  );
}

const STATE_TEXT: Record<Invitation['state'], string> = {
  pending: 'pending',
  accepted: 'accepted',
  expired: 'expired',
  revoked: 'revoked',
};

function InvitationTable({
  tenant,
  items,
  onChange,
}: {
  tenant: string;
  items: Invitation[];
  onChange: () => void;
}) {
  const action = useAction('invitations.manage');
  if (items.length === 0) return <p className="empty">No invitation yet.</p>;
  return (
    <>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Partner</th>
              <th scope="col">Workspace</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.id}>
                <th scope="row" data-label="Partner">
                  {i.email}
                </th>
                <td data-label="Workspace">{i.workspaceName}</td>
                <td data-label="Role">{i.role}</td>
                <td data-label="State">
                  <span className={`badge state-${i.state}`}>{STATE_TEXT[i.state]}</span>
                </td>
                <td data-label="Expires">
                  <When iso={i.expiresAt} />
                </td>
                <td className="actions">
                  {(i.state === 'pending' || i.state === 'accepted') && (
                    <button
                      type="button"
                      className="secondary danger small"
                      disabled={action.busy}
                      aria-label={`Revoke the invitation of ${i.email} to ${i.workspaceName}`}
                      onClick={() =>
                        void action.run(async () => {
                          await adminApi.revokeInvitation(tenant, i.id);
                          onChange();
                        })
                      }
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorMessage message={action.error} />
    </>
  );
}
