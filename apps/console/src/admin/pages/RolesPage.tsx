import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage, StatusMessage } from '../../components/Messages';
import { adminApi } from '../api';
import type { AdminWorkspace, Assignment, Role, Scope, User } from '../types';
import { AdminPage, LoadState, When, useAction, useLoad, type Loaded } from '../ui';

/** Roles and their permissions, who holds which role where, and the tenant's users. */
export function RolesPage() {
  return (
    <AdminPage
      title="Roles and people"
      intro="Reading needs roles.read and users.read; creating roles roles.manage; assigning roles.assign; adding or disabling people users.manage. Nobody can hand out a permission they do not hold."
    >
      {(tenant) => <Roles tenant={tenant} />}
    </AdminPage>
  );
}

function Roles({ tenant }: { tenant: string }) {
  const roles = useLoad(() => adminApi.roles(tenant), tenant);
  const assignments = useLoad(() => adminApi.assignments(tenant), tenant);
  const users = useLoad(() => adminApi.users(tenant), tenant);
  const workspaces = useLoad(() => adminApi.workspaces(tenant), tenant);
  return (
    <>
      <section aria-labelledby="roles-title">
        <h2 id="roles-title">Roles</h2>
        <LoadState state={roles} permission="roles.read" what="the roles">
          {() => (
            <RoleTable tenant={tenant} roles={roles.data?.items ?? []} onChange={roles.reload} />
          )}
        </LoadState>
      </section>
      <section aria-labelledby="assignments-title">
        <h2 id="assignments-title">Assignments</h2>
        <LoadState state={assignments} permission="roles.read" what="the assignments">
          {() => (
            <Assignments
              tenant={tenant}
              items={assignments.data?.items ?? []}
              roles={roles.data?.items ?? []}
              users={users}
              workspaces={workspaces.data?.items ?? []}
              onChange={assignments.reload}
            />
          )}
        </LoadState>
      </section>
      <section aria-labelledby="users-title">
        <h2 id="users-title">People</h2>
        <LoadState state={users} permission="users.read" what="the people of your organisation">
          {() => <Users tenant={tenant} items={users.data?.items ?? []} onChange={users.reload} />}
        </LoadState>
      </section>
    </>
  );
}

const SCOPE_LABEL = {
  tenant: 'whole tenant',
  workspace: 'a workspace',
  folder: 'a folder',
} as const;

function RoleTable({
  tenant,
  roles,
  onChange,
}: {
  tenant: string;
  roles: Role[];
  onChange: () => void;
}) {
  const action = useAction('roles.manage');
  const [creating, setCreating] = useState(false);
  return (
    <>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Assignable on</th>
              <th scope="col">Permissions</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {roles.map((r) => (
              <tr key={r.name}>
                <th scope="row" data-label="Role">
                  {r.name}{' '}
                  {r.builtIn ? (
                    <span className="badge">built-in</span>
                  ) : (
                    <span className="badge">from {r.template}</span>
                  )}
                  {r.description && <div className="hint">{r.description}</div>}
                </th>
                <td data-label="Assignable on">
                  {r.assignableScopes.map((s) => SCOPE_LABEL[s]).join(', ')}
                </td>
                <td data-label="Permissions">
                  <details>
                    <summary>{r.permissions.length} permissions</summary>
                    <ul className="perm-list">
                      {r.permissions.map((p) => (
                        <li key={p}>
                          <code>{p}</code>
                        </li>
                      ))}
                    </ul>
                  </details>
                </td>
                <td className="actions">
                  {!r.builtIn && (
                    <button
                      type="button"
                      className="secondary danger small"
                      disabled={action.busy}
                      aria-label={`Delete role ${r.name}`}
                      onClick={() =>
                        void action.run(async () => {
                          await adminApi.deleteRole(tenant, r.name);
                          onChange();
                          return `Role ${r.name} deleted, with its assignments.`;
                        })
                      }
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
      <button
        type="button"
        className="secondary"
        aria-expanded={creating}
        onClick={() => setCreating(!creating)}
      >
        Create a custom role
      </button>
      {creating && (
        <NewRoleForm
          tenant={tenant}
          templates={roles.filter((r) => r.builtIn)}
          onCreated={() => {
            setCreating(false);
            onChange();
          }}
        />
      )}
    </>
  );
}

function NewRoleForm({
  tenant,
  templates,
  onCreated,
}: {
  tenant: string;
  templates: Role[];
  onCreated: () => void;
}) {
  const [name, setName] = useState('');
  const [template, setTemplate] = useState(templates[0]?.name ?? '');
  const [description, setDescription] = useState('');
  const base = templates.find((r) => r.name === template)?.permissions ?? [];
  const [left, setLeft] = useState<Set<string>>(new Set());
  const action = useAction('roles.manage');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      const permissions = base.filter((p) => !left.has(p));
      await adminApi.createRole(tenant, {
        name: name.trim(),
        template,
        ...(left.size > 0 ? { permissions } : {}),
        ...(description.trim() ? { description: description.trim() } : {}),
      });
      onCreated();
    });
  };
  return (
    <form className="stack subform" onSubmit={submit} noValidate aria-label="New role">
      <label htmlFor={`${id}-name`}>Name</label>
      <p className="hint" id={`${id}-name-hint`}>
        2-63 of a-z, 0-9 and -, starting with a letter.
      </p>
      <input
        id={`${id}-name`}
        aria-describedby={`${id}-name-hint`}
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <label htmlFor={`${id}-template`}>Derived from</label>
      <select
        id={`${id}-template`}
        value={template}
        onChange={(e) => {
          setTemplate(e.target.value);
          setLeft(new Set());
        }}
      >
        {templates.map((r) => (
          <option key={r.name} value={r.name}>
            {r.name}
          </option>
        ))}
      </select>
      <fieldset>
        <legend>Permissions (the template's, or fewer)</legend>
        {base.map((p) => (
          <div className="check" key={p}>
            <input
              id={`${id}-${p}`}
              type="checkbox"
              checked={!left.has(p)}
              onChange={(e) => {
                const next = new Set(left);
                if (e.target.checked) next.delete(p);
                else next.add(p);
                setLeft(next);
              }}
            />
            <label htmlFor={`${id}-${p}`}>
              <code>{p}</code>
            </label>
          </div>
        ))}
      </fieldset>
      <label htmlFor={`${id}-description`}>Description (optional)</label>
      <input
        id={`${id}-description`}
        value={description}
        onChange={(e) => setDescription(e.target.value)}
      />
      <ErrorMessage message={action.error} />
      <button type="submit" disabled={action.busy}>
        Create role
      </button>
    </form>
  );
}

function describeScope(scope: Scope, workspaces: AdminWorkspace[]): string {
  if (scope.type === 'tenant') return 'Whole tenant';
  const ws = workspaces.find((w) => w.id === scope.workspaceId)?.name ?? scope.workspaceId;
  return scope.type === 'workspace' ? `Workspace ${ws}` : `Folder ${scope.folder} of ${ws}`;
}

function describePrincipal(principal: string, users: User[]): string {
  if (principal.startsWith('user:')) {
    const user = users.find((u) => u.id === principal.slice(5));
    return user ? user.email : principal;
  }
  if (principal.startsWith('group:')) return `SSO group ${principal.slice(6)}`;
  return principal;
}

function Assignments({
  tenant,
  items,
  roles,
  users,
  workspaces,
  onChange,
}: {
  tenant: string;
  items: Assignment[];
  roles: Role[];
  users: Loaded<{ items: User[] }>;
  workspaces: AdminWorkspace[];
  onChange: () => void;
}) {
  const action = useAction('roles.assign');
  const people = users.data?.items ?? [];
  return (
    <>
      {items.length === 0 ? (
        <p className="empty">No assignments.</p>
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Role</th>
                <th scope="col">Where</th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id}>
                  <th scope="row" data-label="Who">
                    {describePrincipal(a.principal, people)}
                  </th>
                  <td data-label="Role">{a.role}</td>
                  <td data-label="Where">{describeScope(a.scope, workspaces)}</td>
                  <td data-label="Since">
                    <When iso={a.createdAt} />
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      className="secondary danger small"
                      disabled={action.busy}
                      aria-label={`Remove ${a.role} from ${describePrincipal(a.principal, people)}`}
                      onClick={() =>
                        void action.run(async () => {
                          await adminApi.unassign(tenant, a.id);
                          onChange();
                          return 'Assignment removed: it no longer applies from the next request.';
                        })
                      }
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
      <AssignForm
        tenant={tenant}
        roles={roles}
        people={people}
        workspaces={workspaces}
        onAssigned={onChange}
      />
    </>
  );
}

function AssignForm({
  tenant,
  roles,
  people,
  workspaces,
  onAssigned,
}: {
  tenant: string;
  roles: Role[];
  people: User[];
  workspaces: AdminWorkspace[];
  onAssigned: () => void;
}) {
  const [role, setRole] = useState('');
  const [who, setWho] = useState<'user' | 'group'>('user');
  const [user, setUser] = useState('');
  const [group, setGroup] = useState('');
  const [scopeType, setScopeType] = useState<Scope['type']>('tenant');
  const [workspaceId, setWorkspaceId] = useState('');
  const [folder, setFolder] = useState('');
  const action = useAction('roles.assign');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosenRole = role || roles[0]?.name || '';
    const scope: Scope =
      scopeType === 'tenant'
        ? { type: 'tenant' }
        : scopeType === 'workspace'
          ? { type: 'workspace', workspaceId }
          : { type: 'folder', workspaceId, folder };
    void action.run(async () => {
      await adminApi.assign(tenant, {
        role: chosenRole,
        ...(who === 'user' ? { user: user || people[0]?.id || '' } : { group: group.trim() }),
        scope,
      });
      onAssigned();
      return `${chosenRole} assigned.`;
    });
  };
  return (
    <form className="stack subform" onSubmit={submit} noValidate aria-label="Assign a role">
      <h3>Assign a role</h3>
      <label htmlFor={`${id}-role`}>Role</label>
      <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value)}>
        {roles.map((r) => (
          <option key={r.name} value={r.name}>
            {r.name}
          </option>
        ))}
      </select>
      <fieldset>
        <legend>To</legend>
        <div className="check">
          <input
            id={`${id}-u`}
            type="radio"
            name="who"
            checked={who === 'user'}
            onChange={() => setWho('user')}
          />
          <label htmlFor={`${id}-u`}>A person</label>
        </div>
        <div className="check">
          <input
            id={`${id}-g`}
            type="radio"
            name="who"
            checked={who === 'group'}
            onChange={() => setWho('group')}
          />
          <label htmlFor={`${id}-g`}>An SSO group</label>
        </div>
      </fieldset>
      {who === 'user' ? (
        <>
          <label htmlFor={`${id}-user`}>Person</label>
          <select id={`${id}-user`} value={user} onChange={(e) => setUser(e.target.value)}>
            {people.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
                {u.kind === 'partner' ? ' (partner)' : ''}
              </option>
            ))}
          </select>
        </>
      ) : (
        <>
          <label htmlFor={`${id}-group`}>Group name, as your identity provider sends it</label>
          <input id={`${id}-group`} value={group} onChange={(e) => setGroup(e.target.value)} />
        </>
      )}
      <label htmlFor={`${id}-scope`}>Where</label>
      <select
        id={`${id}-scope`}
        value={scopeType}
        onChange={(e) => setScopeType(e.target.value as Scope['type'])}
      >
        <option value="tenant">The whole tenant</option>
        <option value="workspace">One workspace</option>
        <option value="folder">One folder of a workspace</option>
      </select>
      {scopeType !== 'tenant' && (
        <>
          <label htmlFor={`${id}-ws`}>Workspace</label>
          <select
            id={`${id}-ws`}
            value={workspaceId}
            onChange={(e) => setWorkspaceId(e.target.value)}
          >
            <option value="">Choose a workspace</option>
            {workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </>
      )}
      {scopeType === 'folder' && (
        <>
          <label htmlFor={`${id}-folder`}>Folder</label>
          <input
            id={`${id}-folder`}
            placeholder="/contracts/2026"
            value={folder}
            onChange={(e) => setFolder(e.target.value)}
          />
        </>
      )}
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
      <button type="submit" disabled={action.busy}>
        Assign
      </button>
    </form>
  );
}

function Users({
  tenant,
  items,
  onChange,
}: {
  tenant: string;
  items: User[];
  onChange: () => void;
}) {
  const action = useAction('users.manage');
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [kind, setKind] = useState<User['kind']>('member');
  const id = useId();
  const add = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      await adminApi.addUser(tenant, {
        email: email.trim(),
        kind,
        ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
      });
      setEmail('');
      setDisplayName('');
      onChange();
      return `${email.trim()} added. Give them a role so that they can work.`;
    });
  };
  return (
    <>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Kind</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((u) => (
              <tr key={u.id}>
                <th scope="row" data-label="Person">
                  {u.email}
                  {u.displayName && u.displayName !== u.email && (
                    <div className="hint">{u.displayName}</div>
                  )}
                  <div className="hint">
                    <code>user:{u.id}</code>
                  </div>
                </th>
                <td data-label="Kind">
                  {u.kind}
                  {u.disabled && <span className="badge warn">disabled</span>}
                </td>
                <td data-label="Since">
                  <When iso={u.createdAt} />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    className={u.disabled ? 'secondary small' : 'secondary danger small'}
                    disabled={action.busy}
                    onClick={() =>
                      void action.run(async () => {
                        await adminApi.setUserDisabled(tenant, u.id, !u.disabled);
                        onChange();
                        return u.disabled
                          ? `${u.email} may sign in again.`
                          : `${u.email} is disabled and signed out everywhere.`;
                      })
                    }
                  >
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form className="stack subform" onSubmit={add} noValidate aria-label="Add a person">
        <h3>Add a person</h3>
        <label htmlFor={`${id}-email`}>Email address</label>
        <input
          id={`${id}-email`}
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor={`${id}-name`}>Display name (optional)</label>
        <input
          id={`${id}-name`}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
        />
        <label htmlFor={`${id}-kind`}>Kind</label>
        <select
          id={`${id}-kind`}
          value={kind}
          onChange={(e) => setKind(e.target.value as User['kind'])}
        >
          <option value="member">Member (an employee)</option>
          <option value="partner">Partner (from another company)</option>
        </select>
        <ErrorMessage message={action.error} />
        <StatusMessage>{action.done}</StatusMessage>
        <button type="submit" disabled={action.busy}>
          Add person
        </button>
      </form>
    </>
  );
}
