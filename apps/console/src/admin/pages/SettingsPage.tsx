import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/errors';
import { ErrorMessage, StatusMessage } from '../../components/Messages';
import { adminApi } from '../api';
import type { TenantSettings, TenantSettingsChange } from '../types';
import { AdminPage, LoadState, When, useAction, useLoad } from '../ui';

/** Tenant settings: name, data residency (region), retention and key-rotation period. */
export function SettingsPage() {
  return (
    <AdminPage
      title="Settings"
      intro="Reading needs tenant.read; changing needs tenant.settings.manage, which only the owner role holds."
    >
      {(tenant) => <Settings tenant={tenant} />}
    </AdminPage>
  );
}

function Settings({ tenant }: { tenant: string }) {
  const state = useLoad(() => adminApi.tenant(tenant), tenant);
  const [current, setCurrent] = useState<TenantSettings>();
  const settings = current ?? state.data;
  return (
    <LoadState state={state} permission="tenant.read" what="the tenant's settings">
      {() =>
        settings && (
          <>
            <dl className="facts">
              <dt>Identifier</dt>
              <dd>
                <code>{settings.slug}</code>
              </dd>
              <dt>State</dt>
              <dd>{settings.state}</dd>
              <dt>Created</dt>
              <dd>
                <When iso={settings.createdAt} />
              </dd>
            </dl>
            <SettingForm
              tenant={tenant}
              title="Name"
              field="name"
              label="Company name"
              hint="Shown in emails and in the console. 1-200 characters."
              value={settings.name}
              onSaved={setCurrent}
            />
            <SettingForm
              tenant={tenant}
              title="Data residency"
              field="region"
              label="Region"
              hint="Every node and workspace of the tenant lives in this region. It can change only while no node, workspace or unused join token is in another region: move the data first."
              value={settings.region}
              onSaved={setCurrent}
            />
            <SettingForm
              tenant={tenant}
              title="Retention"
              field="retentionDays"
              label="Keep the audit trail and deleted documents for (days)"
              hint="1-3650 days. Only archived audit segments older than this are removed."
              value={settings.retentionDays}
              onSaved={setCurrent}
            />
            <SettingForm
              tenant={tenant}
              title="Key rotation"
              field="keyRotationDays"
              label="Rotate each workspace's master key every (days)"
              hint="1-3650 days. Every node of the tenant receives the new period, also one that is offline now (when it is back)."
              value={settings.keyRotationDays}
              onSaved={setCurrent}
            />
          </>
        )
      }
    </LoadState>
  );
}

type Field = keyof TenantSettingsChange;

/** One setting, saved on its own: a PATCH carries only what changes. */
function SettingForm({
  tenant,
  title,
  field,
  label,
  hint,
  value,
  onSaved,
}: {
  tenant: string;
  title: string;
  field: Field;
  label: string;
  hint: string;
  value: string | number;
  onSaved: (settings: TenantSettings) => void;
}) {
  const [text, setText] = useState(String(value));
  const action = useAction('tenant.settings.manage');
  const id = useId();
  const numeric = typeof value === 'number';
  const submit = (event: FormEvent) => {
    event.preventDefault();
    let change: TenantSettingsChange;
    if (numeric) {
      const days = Number(text);
      if (!Number.isInteger(days) || days < 1 || days > 3650) {
        action.setError('Enter a whole number of days from 1 to 3650.');
        return;
      }
      change = { [field]: days };
    } else {
      change = { [field]: text.trim() };
    }
    void action.run(async () => {
      try {
        onSaved(await adminApi.updateTenant(tenant, change));
      } catch (error) {
        if (error instanceof ApiError && error.code === 'residency_violation') {
          const count = (key: string) => {
            const value = error.details?.[key];
            return typeof value === 'number' ? value : 0;
          };
          throw new ApiError(
            error.status,
            error.code,
            `The region cannot change while data is in another region: ${count('nodes')} node(s), ${count('workspaces')} workspace(s), ${count('joinTokens')} unused join token(s). Move or revoke them first.`,
            error.requestId,
            error.details,
          );
        }
        throw error;
      }
      return `${title} saved.`;
    });
  };
  return (
    <form className="setting" onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <label htmlFor={id}>{label}</label>
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
      <div className="inline-form">
        <input
          id={id}
          name={field}
          inputMode={numeric ? 'numeric' : undefined}
          aria-describedby={`${id}-hint`}
          aria-invalid={action.error ? true : undefined}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={action.busy || text.trim() === String(value)}>
          {action.busy ? 'Saving…' : 'Save'}
        </button>
      </div>
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
    </form>
  );
}
