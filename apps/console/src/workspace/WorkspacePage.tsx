import {
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
  type DragEvent,
  type FormEvent,
} from 'react';
import { api } from '../api/client';
import { ApiError, formatBytes, messageOf } from '../api/errors';
import type { FileList as Listing, Workspace } from '../api/types';
import { PageHeading } from '../components/Heading';
import { ErrorMessage, StatusMessage } from '../components/Messages';
import { Link, navigate, useTitle } from '../router';
import { useSession } from '../session';
import { FileRow } from './FileRow';
import { UploadList } from './UploadList';
import { useUploads } from './uploads';

export function folderHref(ws: string, folder: string): string {
  return folder === '/'
    ? `/workspaces/${ws}`
    : `/workspaces/${ws}?${new URLSearchParams({ folder }).toString()}`;
}

function childFolder(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

/** `/a/b` → [['a', '/a'], ['b', '/a/b']]. */
function crumbs(folder: string): Array<[string, string]> {
  const parts = folder.split('/').filter(Boolean);
  return parts.map((name, i) => [name, `/${parts.slice(0, i + 1).join('/')}`]);
}

/** A name the API would accept as a folder segment; the API checks again. */
function validSegment(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\p{Cc}]/u.test(name);
}

/** The folder browser of one workspace: list, upload, download, versions, rename, move, delete. */
export function WorkspacePage({ workspaceId, folder }: { workspaceId: string; folder: string }) {
  const { tenant, refresh } = useSession();
  const [workspace, setWorkspace] = useState<Workspace>();
  const [listing, setListing] = useState<Listing>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const dragDepth = useRef(0);
  useTitle(workspace ? `${workspace.name}${folder === '/' ? '' : ` ${folder}`}` : 'Workspace');

  const load = useCallback(async () => {
    try {
      setListing(await api.listFiles(workspaceId, folder));
      setError(undefined);
    } catch (e) {
      if (e instanceof ApiError && e.signedOut) {
        await refresh();
        navigate('/sign-in', { replace: true });
        return;
      }
      setError(messageOf(e));
    }
  }, [workspaceId, folder, refresh]);

  useEffect(() => {
    setListing(undefined);
    void load();
  }, [load]);

  useEffect(() => {
    if (tenant === undefined) return;
    let live = true;
    api.workspace(tenant, workspaceId).then(
      (w) => live && setWorkspace(w),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [tenant, workspaceId]);

  const uploads = useUploads(workspaceId, (item) => {
    setStatus(`Uploaded ${item.name}.`);
    if (item.folder === folder) void load();
  });

  const startUploads = (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setStatus(undefined);
    uploads.start(Array.from(files), folder);
  };

  const onDragEnter = (event: DragEvent) => {
    if (!event.dataTransfer.types.includes('Files')) return;
    event.preventDefault();
    dragDepth.current += 1;
    setDragging(true);
  };
  const onDragOver = (event: DragEvent) => {
    if (!event.dataTransfer.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  };
  const onDragLeave = () => {
    dragDepth.current = Math.max(0, dragDepth.current - 1);
    if (dragDepth.current === 0) setDragging(false);
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    startUploads(event.dataTransfer.files);
  };

  const changed = (message: string) => {
    setStatus(message);
    void load();
  };

  const name = workspace?.name ?? 'Workspace';
  const empty = listing && listing.items.length === 0 && listing.folders.length === 0;

  return (
    <section
      className={`card workspace${dragging ? ' dragging' : ''}`}
      onDragEnter={onDragEnter}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
      aria-busy={listing === undefined && !error}
      data-testid="drop-zone"
    >
      <nav aria-label="Breadcrumb" className="breadcrumbs">
        <ol>
          <li>
            <Link to="/workspaces">Workspaces</Link>
          </li>
          <li>
            <Link
              to={folderHref(workspaceId, '/')}
              aria-current={folder === '/' ? 'page' : undefined}
            >
              {name}
            </Link>
          </li>
          {crumbs(folder).map(([label, path]) => (
            <li key={path}>
              <Link
                to={folderHref(workspaceId, path)}
                aria-current={path === folder ? 'page' : undefined}
              >
                {label}
              </Link>
            </li>
          ))}
        </ol>
      </nav>
      <PageHeading key={`${workspaceId}${folder}`}>
        {name}
        {folder !== '/' && <span className="folder-path"> {folder}</span>}
      </PageHeading>

      <div className="toolbar">
        <button type="button" onClick={() => fileInput.current?.click()}>
          Upload files…
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          aria-label={`Files to upload to ${folder}`}
          onChange={(e) => {
            startUploads(e.target.files);
            e.target.value = '';
          }}
        />
        <OpenFolderForm
          onOpen={(segment) => navigate(folderHref(workspaceId, childFolder(folder, segment)))}
        />
      </div>
      <p className="hint drop-hint">
        Or drop files anywhere in this box to upload them to <strong>{folder}</strong>. Uploads
        resume where they stopped if the connection breaks: choose the same file again.
      </p>

      <UploadList items={uploads.items} onCancel={uploads.cancel} onDismiss={uploads.dismiss} />

      <ErrorMessage message={error} />
      <StatusMessage>{status}</StatusMessage>

      {listing === undefined && !error && <p>Loading…</p>}
      {empty && (
        <p className="empty">
          {folder === '/'
            ? 'No files yet.'
            : 'This folder is empty: it exists once a file is uploaded or moved into it.'}
        </p>
      )}
      {listing && !empty && (
        <table className="files">
          <caption className="visually-hidden">Folders and files in {folder}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Size</th>
              <th scope="col">Version</th>
              <th scope="col">Changed</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {listing.folders.map((f) => (
              <tr key={f.path} className="folder-row">
                <th scope="row" data-label="Folder">
                  <Link to={folderHref(workspaceId, f.path)} className="folder-link">
                    <span aria-hidden="true">📁 </span>
                    {f.name}
                  </Link>
                </th>
                <td data-label="Size" />
                <td data-label="Version" />
                <td data-label="Changed" />
                <td />
              </tr>
            ))}
            {listing.items.map((file) => (
              <FileRow key={file.fileId} file={file} onChanged={changed} />
            ))}
          </tbody>
        </table>
      )}
      {workspace?.quotaBytes != null && (
        <p className="hint">
          Storage quota of this workspace: {formatBytes(workspace.quotaBytes)}.
        </p>
      )}
    </section>
  );
}

function OpenFolderForm({ onOpen }: { onOpen: (segment: string) => void }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const id = useId();
  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        New folder…
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const segment = value.trim().normalize('NFC');
    if (!validSegment(segment)) {
      setError('A folder name cannot be empty, "." or "..", or contain / or \\.');
      return;
    }
    setOpen(false);
    setValue('');
    setError(undefined);
    onOpen(segment);
  };
  return (
    <form className="inline-form" onSubmit={submit} noValidate>
      <label htmlFor={id}>Folder name</label>
      <input
        id={id}
        value={value}
        autoFocus
        onChange={(e) => setValue(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      <button type="submit">Open</button>
      <button type="button" className="secondary" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorMessage message={error} />
    </form>
  );
}
