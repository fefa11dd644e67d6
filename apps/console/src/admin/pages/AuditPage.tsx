import { useEffect, useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/Messages';
import { navigate, useLocation } from '../../router';
import { ActivityChart } from '../ActivityChart';
import { adminApi, auditExportUrl, auditQuery } from '../api';
import type { AuditEvent, AuditFilters, AuditPage as Page } from '../types';
import { AdminPage, LoadState, adminMessage, formatTime, isForbidden, useLoad } from '../ui';

const FILTER_KEYS = [
  'type',
  'category',
  'outcome',
  'actor',
  'from',
  'to',
  'workspace',
  'ip',
] as const;
const CATEGORIES = ['authentication', 'access', 'configuration', 'administration', 'data', 'alert'];
const PAGE_SIZE = 100;

/** The filters applied now: they live in the address, so a filtered view can be bookmarked. */
function filtersOf(query: URLSearchParams): AuditFilters {
  const filters: AuditFilters = {};
  for (const key of FILTER_KEYS) {
    const value = query.get(key);
    if (value) filters[key] = value;
  }
  return filters;
}

/** ISO instant → the value of a datetime-local input (the browser's time zone). */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value, read in the browser's time zone, as an instant the API accepts. */
function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** The audit viewer: filters mapped to the query API, paging, a chart, and exports. */
export function AuditPage() {
  return (
    <AdminPage
      title="Audit trail"
      intro="Needs audit.read. Without audit.identities.read, people appear as pseudonyms (user~…), the same one for a person everywhere. Reading the trail is itself recorded."
    >
      {(tenant) => <Audit tenant={tenant} />}
    </AdminPage>
  );
}

function Audit({ tenant }: { tenant: string }) {
  const { query } = useLocation();
  const filters = filtersOf(query);
  const key = `${tenant}?${auditQuery(filters)}`;
  const first = useLoad(() => adminApi.auditEvents(tenant, filters, undefined, PAGE_SIZE), key);
  const [more, setMore] = useState<Page[]>([]);
  const [moreError, setMoreError] = useState<string>();
  const [loadingMore, setLoadingMore] = useState(false);
  useEffect(() => {
    setMore([]);
    setMoreError(undefined);
  }, [key]);

  const pages = first.data ? [first.data, ...more] : [];
  const events = pages.flatMap((p) => p.items);
  const nextAfter = pages.length > 0 ? (pages[pages.length - 1]?.nextAfter ?? null) : null;
  const pseudonymised = pages.some((p) => p.pseudonymised);

  const loadMore = async () => {
    if (nextAfter === null) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await adminApi.auditEvents(tenant, filters, nextAfter, PAGE_SIZE);
      setMore((m) => [...m, page]);
    } catch (e) {
      setMoreError(adminMessage(e, 'audit.read'));
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <>
      <FilterForm tenant={tenant} applied={filters} seenTypes={events.map((e) => e.type)} />
      <section aria-labelledby="audit-results-title" aria-busy={first.loading}>
        <h2 id="audit-results-title">Events</h2>
        <LoadState state={first} permission="audit.read" what="the audit trail">
          {() => (
            <>
              <div className="row export" role="group" aria-label="Export">
                <span className="hint">Export every matching event:</span>
                <a
                  className="button secondary small"
                  href={auditExportUrl(tenant, filters, 'csv')}
                  download
                >
                  Export CSV
                </a>
                <a
                  className="button secondary small"
                  href={auditExportUrl(tenant, filters, 'jsonl')}
                  download
                >
                  Export JSONL
                </a>
              </div>
              {pseudonymised && (
                <p className="message message-info" role="note">
                  People are shown as pseudonyms: your role does not include audit.identities.read.
                  Filter by a pseudonym as shown.
                </p>
              )}
              <p aria-live="polite" data-testid="audit-count">
                {events.length === 0
                  ? 'No event matches these filters.'
                  : `${events.length} event${events.length === 1 ? '' : 's'} shown, oldest first${nextAfter === null ? '.' : '; more match.'}`}
              </p>
              {events.length > 0 && (
                <ActivityChart
                  instants={events.map((e) => e.occurredAt)}
                  caption="Activity over time of the events shown"
                />
              )}
              {events.length > 0 && <EventTable events={events} />}
              <ErrorMessage message={moreError} />
              {nextAfter !== null && (
                <button
                  type="button"
                  className="secondary"
                  disabled={loadingMore}
                  onClick={() => void loadMore()}
                >
                  {loadingMore ? 'Loading…' : `Load the next ${PAGE_SIZE}`}
                </button>
              )}
            </>
          )}
        </LoadState>
      </section>
    </>
  );
}

function FilterForm({
  tenant,
  applied,
  seenTypes,
}: {
  tenant: string;
  applied: AuditFilters;
  seenTypes: string[];
}) {
  const id = useId();
  const [draft, setDraft] = useState<AuditFilters>(applied);
  const appliedKey = auditQuery(applied);
  // Back, forward or a link changes the applied filters: the form shows them again.
  useEffect(() => setDraft(filtersOf(new URLSearchParams(appliedKey))), [appliedKey]);
  const workspaces = useLoad(() => adminApi.workspaces(tenant), tenant);
  const set = (key: keyof AuditFilters, value: string) => setDraft({ ...draft, [key]: value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const query = auditQuery(draft);
    navigate(`/admin/audit${query ? `?${query}` : ''}`);
  };
  const types = [...new Set(seenTypes)].sort();
  const canListWorkspaces = workspaces.data !== undefined && !isForbidden(workspaces.error);
  return (
    <form className="filters" onSubmit={submit} aria-label="Audit filters" noValidate>
      <div className="filter-grid">
        <div>
          <label htmlFor={`${id}-type`}>Event type</label>
          <input
            id={`${id}-type`}
            name="type"
            list={`${id}-types`}
            placeholder="data.file.uploaded"
            value={draft.type ?? ''}
            onChange={(e) => set('type', e.target.value)}
          />
          <datalist id={`${id}-types`}>
            {types.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </div>
        <div>
          <label htmlFor={`${id}-category`}>Category</label>
          <select
            id={`${id}-category`}
            name="category"
            value={draft.category ?? ''}
            onChange={(e) => set('category', e.target.value)}
          >
            <option value="">Any</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-outcome`}>Outcome</label>
          <select
            id={`${id}-outcome`}
            name="outcome"
            value={draft.outcome ?? ''}
            onChange={(e) => set('outcome', e.target.value)}
          >
            <option value="">Any</option>
            <option value="success">success</option>
            <option value="failure">failure</option>
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-actor`}>Actor</label>
          <input
            id={`${id}-actor`}
            name="actor"
            placeholder="user:… or user~…"
            value={draft.actor ?? ''}
            onChange={(e) => set('actor', e.target.value)}
          />
        </div>
        <div>
          <label htmlFor={`${id}-from`}>From (your time)</label>
          <input
            id={`${id}-from`}
            name="from"
            type="datetime-local"
            value={toLocalInput(draft.from)}
            onChange={(e) => set('from', fromLocalInput(e.target.value) ?? '')}
          />
        </div>
        <div>
          <label htmlFor={`${id}-to`}>Until (your time)</label>
          <input
            id={`${id}-to`}
            name="to"
            type="datetime-local"
            value={toLocalInput(draft.to)}
            onChange={(e) => set('to', fromLocalInput(e.target.value) ?? '')}
          />
        </div>
        <div>
          <label htmlFor={`${id}-workspace`}>Workspace</label>
          {canListWorkspaces ? (
            <select
              id={`${id}-workspace`}
              name="workspace"
              value={draft.workspace ?? ''}
              onChange={(e) => set('workspace', e.target.value)}
            >
              <option value="">Any</option>
              {workspaces.data?.items.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={`${id}-workspace`}
              name="workspace"
              placeholder="workspace id"
              value={draft.workspace ?? ''}
              onChange={(e) => set('workspace', e.target.value)}
            />
          )}
        </div>
        <div>
          <label htmlFor={`${id}-ip`}>Client address or network</label>
          <input
            id={`${id}-ip`}
            name="ip"
            placeholder="203.0.113.0/24"
            value={draft.ip ?? ''}
            onChange={(e) => set('ip', e.target.value)}
          />
        </div>
      </div>
      <div className="row">
        <button type="submit">Apply filters</button>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setDraft({});
            navigate('/admin/audit');
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function outcomeClass(e: AuditEvent): string {
  return e.outcome === 'failure' ? 'badge status-offline' : 'badge status-online';
}

function EventTable({ events }: { events: AuditEvent[] }) {
  return (
    <div className="table-wrap">
      <table className="data audit-events">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Outcome</th>
            <th scope="col">Actor</th>
            <th scope="col">Address</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-type={e.type}>
              <td data-label="When">
                <time dateTime={e.occurredAt}>{formatTime(e.occurredAt)}</time>
                <div className="hint">#{e.seq}</div>
              </td>
              <th scope="row" data-label="Event">
                <code>{e.type}</code>
                <div className="hint">
                  {e.category} · {e.severity}
                </div>
              </th>
              <td data-label="Outcome">
                <span className={outcomeClass(e)}>{e.outcome}</span>
                {e.reason && <div className="hint">{e.reason}</div>}
              </td>
              <td data-label="Actor">
                <code className="actor">{e.actor ?? '—'}</code>
              </td>
              <td data-label="Address" className="nowrap">
                {e.ip ?? '—'}
              </td>
              <td data-label="Details">
                {Object.keys(e.details).length > 0 ? (
                  <details>
                    <summary>{detailSummary(e.details)}</summary>
                    <pre className="json">{JSON.stringify(e.details, null, 2)}</pre>
                  </details>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The most telling detail first (a file name, a method), so that a row says what happened. */
function detailSummary(details: Record<string, unknown>): string {
  for (const key of ['name', 'method', 'role', 'email', 'rule', 'providerId', 'workspaceId']) {
    const value = details[key];
    if (typeof value === 'string' && value !== '') return `${key}: ${value}`;
  }
  return `${Object.keys(details).length} fields`;
}
