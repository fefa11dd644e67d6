import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage, StatusMessage } from '../../components/Messages';
import { adminApi } from '../api';
import { AdminPage, LoadState, lines, useAction, useLoad } from '../ui';

/** The tenant's IP allow-list, edited as text: one network per line. */
export function AllowListPage() {
  return (
    <AdminPage
      title="IP allow-list"
      intro="Needs allow-list.manage. With entries, every sign-in and request of your people must come from one of these networks; an empty list allows every address."
    >
      {(tenant) => <AllowList tenant={tenant} />}
    </AdminPage>
  );
}

function AllowList({ tenant }: { tenant: string }) {
  const state = useLoad(() => adminApi.allowList(tenant), tenant);
  return (
    <LoadState state={state} permission="allow-list.manage" what="the allow-list">
      {() => state.data && <AllowListForm tenant={tenant} entries={state.data.entries} />}
    </LoadState>
  );
}

function AllowListForm({ tenant, entries }: { tenant: string; entries: string[] }) {
  const [saved, setSaved] = useState(entries);
  const [text, setText] = useState(entries.join('\n'));
  const action = useAction('allow-list.manage');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      const answer = await adminApi.replaceAllowList(tenant, lines(text));
      setSaved(answer.entries);
      setText(answer.entries.join('\n'));
      return answer.entries.length === 0
        ? 'Saved: the list is empty, every address is allowed.'
        : `Saved: ${answer.entries.length} network(s). It applies within two seconds.`;
    });
  };
  return (
    <form onSubmit={submit} noValidate aria-label="IP allow-list">
      <p>
        {saved.length === 0
          ? 'No restriction now: every address may connect.'
          : `${saved.length} network(s) allowed now.`}
      </p>
      <label htmlFor={id}>Networks, one per line</label>
      <p className="hint" id={`${id}-hint`}>
        IPv4 or IPv6 in CIDR form (203.0.113.0/24, 2001:db8::/48) or single addresses. At most 500.
        Take care not to lock yourself out: keep the network you are connecting from in the list.
      </p>
      <textarea
        id={id}
        rows={8}
        spellCheck={false}
        aria-describedby={`${id}-hint`}
        aria-invalid={action.error ? true : undefined}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Saving…' : 'Save allow-list'}
      </button>
    </form>
  );
}
