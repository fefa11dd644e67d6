import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, contentUrl } from '../api/client';
import { formatBytes, messageOf } from '../api/errors';
import type { FileVersion, FileView } from '../api/types';
import { ErrorMessage } from '../components/Messages';

type Panel = 'none' | 'rename' | 'move' | 'delete' | 'versions';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

/** One file: its facts, a download link, and the changes a partner editor may make. */
export function FileRow({
  file,
  onChanged,
}: {
  file: FileView;
  onChanged: (message: string) => void;
}) {
  const [panel, setPanel] = useState<Panel>('none');
  const opener = useRef<HTMLButtonElement | null>(null);
  const toggle = (next: Panel, button: HTMLButtonElement) => {
    opener.current = button;
    setPanel((current) => (current === next ? 'none' : next));
  };
  const close = () => {
    setPanel('none');
    // Back to the button that opened the panel, so the keyboard user keeps their place.
    opener.current?.focus();
  };
  const panelId = useId();
  const done = (message: string) => {
    setPanel('none');
    onChanged(message);
  };

  return (
    <>
      <tr data-file={file.name}>
        <th scope="row" data-label="Name" className="file-name">
          {file.name}
        </th>
        <td data-label="Size">{formatBytes(file.size)}</td>
        <td data-label="Version">{file.version}</td>
        <td data-label="Changed">{when(file.updatedAt)}</td>
        <td className="actions">
          <a
            className="button small"
            href={contentUrl(file)}
            download={file.name}
            aria-label={`Download ${file.name}`}
          >
            Download
          </a>
          {(
            [
              ['versions', 'Versions'],
              ['rename', 'Rename'],
              ['move', 'Move'],
              ['delete', 'Delete'],
            ] as const
          ).map(([kind, label]) => (
            <button
              key={kind}
              type="button"
              className={kind === 'delete' ? 'secondary small danger' : 'secondary small'}
              aria-expanded={panel === kind}
              aria-controls={panel === kind ? panelId : undefined}
              aria-label={`${label} ${file.name}`}
              onClick={(e) => toggle(kind, e.currentTarget)}
            >
              {label}
            </button>
          ))}
        </td>
      </tr>
      {panel !== 'none' && (
        <tr className="file-panel">
          <td colSpan={5} id={panelId}>
            {panel === 'rename' && <RenameForm file={file} onDone={done} onCancel={close} />}
            {panel === 'move' && <MoveForm file={file} onDone={done} onCancel={close} />}
            {panel === 'delete' && <DeleteConfirm file={file} onDone={done} onCancel={close} />}
            {panel === 'versions' && <Versions file={file} />}
          </td>
        </tr>
      )}
    </>
  );
}

interface FormProps {
  file: FileView;
  onDone: (message: string) => void;
  onCancel: () => void;
}

function RenameForm({ file, onDone, onCancel }: FormProps) {
  const [name, setName] = useState(file.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const next = name.trim().normalize('NFC');
    if (next === file.name) {
      onCancel();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const renamed = await api.rename(file, next);
      onDone(`Renamed ${file.name} to ${renamed.name}.`);
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate>
      <label htmlFor={id}>New name for {file.name}</label>
      <input
        id={id}
        value={name}
        autoFocus
        onChange={(e) => setName(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      <button type="submit" disabled={busy}>
        Save name
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
      <ErrorMessage message={error} id={`${id}-error`} />
    </form>
  );
}

function MoveForm({ file, onDone, onCancel }: FormProps) {
  const [folder, setFolder] = useState(file.folder);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let next = folder.trim().normalize('NFC');
    if (!next.startsWith('/')) next = `/${next}`;
    if (next.length > 1) next = next.replace(/\/+$/, '');
    setBusy(true);
    setError(undefined);
    try {
      const moved = await api.move(file, next);
      onDone(`Moved ${file.name} to ${moved.folder}.`);
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate>
      <label htmlFor={id}>Move {file.name} to folder</label>
      <input
        id={id}
        value={folder}
        autoFocus
        placeholder="/reports/2026"
        onChange={(e) => setFolder(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      <button type="submit" disabled={busy}>
        Move
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
      <ErrorMessage message={error} />
    </form>
  );
}

function DeleteConfirm({ file, onDone, onCancel }: FormProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => confirmRef.current?.focus(), []);
  const remove = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.remove(file);
      onDone(`Deleted ${file.name}.`);
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <div className="inline-form" role="group" aria-label={`Delete ${file.name}`}>
      <p>
        Delete <strong>{file.name}</strong>
        {file.version > 1 ? ` and all its ${file.version} versions` : ''}? This cannot be undone.
      </p>
      <button
        ref={confirmRef}
        type="button"
        className="danger"
        disabled={busy}
        onClick={() => void remove()}
      >
        Delete for good
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        Keep it
      </button>
      <ErrorMessage message={error} />
    </div>
  );
}

function Versions({ file }: { file: FileView }) {
  const [versions, setVersions] = useState<FileVersion[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let live = true;
    api.versions(file).then(
      (v) => live && setVersions(v.versions),
      (e: unknown) => live && setError(messageOf(e)),
    );
    return () => {
      live = false;
    };
  }, [file]);
  return (
    <div aria-busy={versions === undefined && !error}>
      <h3 className="panel-title">Versions of {file.name}</h3>
      <ErrorMessage message={error} />
      {versions === undefined && !error && <p>Loading…</p>}
      {versions && (
        <ol className="versions" reversed>
          {[...versions].reverse().map((v) => (
            <li key={v.version}>
              <span>
                Version {v.version}
                {v.version === file.version ? ' (current)' : ''} · {formatBytes(v.size)} ·{' '}
                {when(v.createdAt)}
              </span>{' '}
              <a
                href={contentUrl(file, v.version)}
                download={file.name}
                aria-label={`Download version ${v.version} of ${file.name}`}
              >
                Download
              </a>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
