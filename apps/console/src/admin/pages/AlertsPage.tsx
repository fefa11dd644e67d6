import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage, StatusMessage } from '../../components/Messages';
import { Link } from '../../router';
import { adminApi } from '../api';
import type { AlertSettings } from '../types';
import { AdminPage, LoadState, When, isForbidden, lines, useAction, useLoad } from '../ui';

/** Anomaly alerts: where they go (webhook, emails), trusted networks, thresholds; recent ones. */
export function AlertsPage() {
  return (
    <AdminPage
      title="Alerts"
      intro="Needs alerts.manage (owner, admin). Alerts are also audit events of the category alert."
    >
      {(tenant) => (
        <>
          <Settings tenant={tenant} />
          <Recent tenant={tenant} />
        </>
      )}
    </AdminPage>
  );
}

function Settings({ tenant }: { tenant: string }) {
  const state = useLoad(() => adminApi.alertSettings(tenant), tenant);
  return (
    <section aria-labelledby="alert-settings-title">
      <h2 id="alert-settings-title">Where alerts go</h2>
      <LoadState state={state} permission="alerts.manage" what="the alert settings">
        {() => state.data && <SettingsForm tenant={tenant} settings={state.data} />}
      </LoadState>
    </section>
  );
}

function numberOrNull(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

function SettingsForm({ tenant, settings }: { tenant: string; settings: AlertSettings }) {
  const [current, setCurrent] = useState(settings);
  const [v, setV] = useState({
    webhookUrl: settings.webhookUrl ?? '',
    emails: settings.emails.join('\n'),
    trustedNetworks: settings.trustedNetworks.join('\n'),
    volumeMultiplier: String(settings.volumeMultiplier),
    volumeFloorBytes: String(settings.volumeFloorBytes),
    signInBurstThreshold: String(settings.signInBurstThreshold),
  });
  const [rotateSecret, setRotateSecret] = useState(false);
  const [secret, setSecret] = useState<string>();
  const action = useAction('alerts.manage');
  const id = useId();
  const field = (key: keyof typeof v) => ({
    id: `${id}-${key}`,
    name: key,
    value: v[key],
    onChange: (e: { target: { value: string } }) => setV({ ...v, [key]: e.target.value }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSecret(undefined);
    void action.run(async () => {
      const answer = await adminApi.updateAlertSettings(tenant, {
        webhookUrl: v.webhookUrl.trim() === '' ? null : v.webhookUrl.trim(),
        emails: lines(v.emails),
        trustedNetworks: lines(v.trustedNetworks),
        volumeMultiplier: numberOrNull(v.volumeMultiplier),
        volumeFloorBytes: numberOrNull(v.volumeFloorBytes),
        signInBurstThreshold: numberOrNull(v.signInBurstThreshold),
        ...(rotateSecret ? { rotateSecret: true } : {}),
      });
      setCurrent(answer);
      setSecret(answer.webhookSecret);
      setRotateSecret(false);
      return 'Alert settings saved.';
    });
  };
  return (
    <form className="stack" onSubmit={submit} noValidate aria-label="Alert settings">
      <label htmlFor={`${id}-webhookUrl`}>Webhook URL (https, optional)</label>
      <input type="url" {...field('webhookUrl')} />
      <p className="hint">
        {current.webhookSecretSet
          ? 'A signing secret exists; it is never shown again.'
          : 'A signing secret is made when you first set a webhook, and shown once.'}
      </p>
      <div className="check">
        <input
          id={`${id}-rotate`}
          type="checkbox"
          checked={rotateSecret}
          onChange={(e) => setRotateSecret(e.target.checked)}
        />
        <label htmlFor={`${id}-rotate`}>
          Make a new signing secret (the old one stops working)
        </label>
      </div>
      <label htmlFor={`${id}-emails`}>Email addresses, one per line</label>
      <textarea rows={3} {...field('emails')} />
      <label htmlFor={`${id}-trustedNetworks`}>Trusted networks, one per line</label>
      <p className="hint">
        Downloads from outside these raise an alert (never a refusal). Empty: the IP allow-list is
        used.
      </p>
      <textarea rows={3} spellCheck={false} {...field('trustedNetworks')} />
      <label htmlFor={`${id}-volumeMultiplier`}>
        Volume multiplier (× a user’s hourly average)
      </label>
      <input inputMode="numeric" {...field('volumeMultiplier')} />
      <label htmlFor={`${id}-volumeFloorBytes`}>Never alert below (bytes in an hour)</label>
      <input inputMode="numeric" {...field('volumeFloorBytes')} />
      <label htmlFor={`${id}-signInBurstThreshold`}>Failed sign-ins within 5 minutes</label>
      <input inputMode="numeric" {...field('signInBurstThreshold')} />
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
      {secret && (
        <div className="message message-ok" role="status">
          The webhook’s signing secret, shown only now: <code className="secret">{secret}</code>
        </div>
      )}
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Saving…' : 'Save alert settings'}
      </button>
    </form>
  );
}

const RECENT_DAYS = 30;

/** The last alerts, read from the audit trail (needs audit.read as well). */
function Recent({ tenant }: { tenant: string }) {
  // The day boundary keeps the key stable across renders while the page is open.
  const from = new Date(Date.now() - RECENT_DAYS * 86_400_000).toISOString().slice(0, 10);
  const state = useLoad(
    () => adminApi.auditEvents(tenant, { category: 'alert', from }, undefined, 1000),
    `${tenant}/${from}`,
  );
  const items = (state.data?.items ?? []).slice(-20).reverse();
  return (
    <section aria-labelledby="recent-alerts-title">
      <h2 id="recent-alerts-title">Recent alerts</h2>
      {isForbidden(state.error) ? (
        <p className="muted">Reading alerts needs audit.read.</p>
      ) : (
        <LoadState state={state} permission="audit.read" what="recent alerts">
          {() =>
            items.length === 0 ? (
              <p className="empty">No alert in the last {RECENT_DAYS} days.</p>
            ) : (
              <ul className="plain list">
                {items.map((e) => (
                  <li key={e.id} className="alert-item">
                    <strong>{e.type}</strong> <When iso={e.occurredAt} />
                    <div className="hint">
                      {typeof e.details['subject'] === 'string' ? e.details['subject'] : ''}
                    </div>
                  </li>
                ))}
              </ul>
            )
          }
        </LoadState>
      )}
      <p>
        <Link to="/admin/audit?category=alert">All alerts in the audit viewer</Link>
      </p>
    </section>
  );
}
