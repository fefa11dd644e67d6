import { useCallback, useEffect, useRef, useState } from 'react';
import * as tus from 'tus-js-client';
import { uploadsEndpoint } from '../api/client';
import { toApiError } from '../api/errors';

export type UploadState = 'uploading' | 'done' | 'failed' | 'cancelled';

export interface UploadItem {
  key: string;
  name: string;
  folder: string;
  size: number;
  /** Whole percent, 0-100; 100 only once the server has the whole file. */
  percent: number;
  state: UploadState;
  error?: string;
  fileId?: string;
  resumed: boolean;
}

/** Bytes per PATCH: small enough that a broken connection loses little, large enough to be quick. */
const CHUNK_SIZE = 4 * 1024 * 1024;

let counter = 0;

/**
 * Resumable uploads with tus-js-client. Each file's upload URL is remembered in the browser
 * (tus-js-client's fingerprint store) until it finishes, so choosing the same file again after a
 * broken connection or a closed tab sends only the bytes the server does not have yet.
 */
export function useUploads(workspaceId: string, onFinished: (item: UploadItem) => void) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const jobs = useRef(new Map<string, tus.Upload>());
  const finished = useRef(onFinished);
  finished.current = onFinished;

  const update = useCallback((key: string, change: Partial<UploadItem>) => {
    setItems((all) => all.map((i) => (i.key === key ? { ...i, ...change } : i)));
  }, []);

  useEffect(() => {
    const running = jobs.current;
    // Leaving the workspace pauses its uploads; they resume when the file is chosen again.
    return () => {
      for (const job of running.values()) void job.abort(false);
      running.clear();
    };
  }, [workspaceId]);

  const start = useCallback(
    (files: File[], folder: string) => {
      for (const file of files) {
        counter += 1;
        const key = `u${counter}`;
        // The API refuses names that are not in NFC (macOS hands out NFD): send what the person
        // sees, in the form the API accepts.
        const name = file.name.normalize('NFC');
        const item: UploadItem = {
          key,
          name,
          folder,
          size: file.size,
          percent: 0,
          state: 'uploading',
          resumed: false,
        };
        setItems((all) => [item, ...all].slice(0, 50));
        let fileId: string | undefined;
        const job = new tus.Upload(file, {
          endpoint: uploadsEndpoint(workspaceId),
          chunkSize: CHUNK_SIZE,
          // Client errors (quota, name, permission) are final; only network and 5xx are retried.
          retryDelays: [0, 1000, 3000, 5000],
          metadata: { filename: name, folder },
          removeFingerprintOnSuccess: true,
          // The workspace and folder are part of what makes an upload the same one.
          fingerprint: (f: File) =>
            Promise.resolve(
              ['causeway', workspaceId, folder, f.name, f.size, f.lastModified].join(':'),
            ),
          onProgress: (sent, total) => {
            const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
            update(key, { percent: Math.min(percent, 99) });
          },
          onAfterResponse: (_req, res) => {
            fileId = res.getHeader('Upload-File-Id') ?? fileId;
          },
          onSuccess: () => {
            jobs.current.delete(key);
            const done = { ...item, percent: 100, state: 'done' as const, fileId };
            update(key, { percent: 100, state: 'done', fileId });
            finished.current(done);
          },
          onError: (error) => {
            jobs.current.delete(key);
            const res = (error as tus.DetailedError).originalResponse;
            const message = res
              ? toApiError(res.getStatus(), res.getBody() ?? '', 'upload').message
              : 'The upload was interrupted: the server could not be reached. Choose the file again to resume where it stopped.';
            update(key, { state: 'failed', error: message });
          },
        });
        jobs.current.set(key, job);
        void job
          .findPreviousUploads()
          .then((previous) => {
            const last = previous[0];
            if (last) {
              job.resumeFromPreviousUpload(last);
              update(key, { resumed: true });
            }
          })
          .catch(() => undefined)
          .finally(() => job.start());
      }
    },
    [workspaceId, update],
  );

  const cancel = useCallback(
    (key: string) => {
      const job = jobs.current.get(key);
      jobs.current.delete(key);
      update(key, { state: 'cancelled' });
      // Termination deletes what was sent and frees its room in the quota.
      if (job) void job.abort(true).catch(() => undefined);
    },
    [update],
  );

  const dismiss = useCallback((key: string) => {
    setItems((all) => all.filter((i) => i.key !== key));
  }, []);

  return { items, start, cancel, dismiss };
}
