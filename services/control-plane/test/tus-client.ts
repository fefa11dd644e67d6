import * as tus from 'tus-js-client';

/** How a tus-js-client upload ended: the upload URL, the file it became, or the refusal. */
export interface TusOutcome {
  url: string | null;
  fileId: string | null;
  status?: number;
  body?: string;
}

export interface TusUploadOptions {
  /** The session cookie of the uploader. */
  cookie: string;
  filename: string;
  folder?: string;
  /** Bytes per PATCH (default 1 MiB). */
  chunkSize?: number;
  /** Resume this upload instead of creating one. */
  uploadUrl?: string;
  /** Stop after the first PATCH (to resume later). */
  abortAfterFirstChunk?: boolean;
}

/**
 * Uploads with tus-js-client, the way a browser or a script would, and never rejects: a refused
 * upload resolves with the HTTP status and body the client saw.
 */
export function tusUpload(
  baseUrl: string,
  workspaceId: string,
  data: Buffer,
  options: TusUploadOptions,
): Promise<TusOutcome> {
  return new Promise<TusOutcome>((resolve) => {
    let fileId: string | null = null;
    const metadata: Record<string, string> = { filename: options.filename };
    if (options.folder) metadata['folder'] = options.folder;
    const job: tus.Upload = new tus.Upload(data, {
      endpoint: `${baseUrl}/api/v1/workspaces/${workspaceId}/uploads`,
      ...(options.uploadUrl ? { uploadUrl: options.uploadUrl } : {}),
      chunkSize: options.chunkSize ?? 1024 * 1024,
      retryDelays: [],
      metadata,
      headers: { Cookie: options.cookie },
      onAfterResponse: (_req, res) => {
        fileId = res.getHeader('Upload-File-Id') ?? fileId;
      },
      onChunkComplete: () => {
        if (options.abortAfterFirstChunk) {
          void job.abort().then(() => resolve({ url: job.url, fileId: null }));
        }
      },
      onSuccess: () => resolve({ url: job.url, fileId }),
      onError: (error) => {
        const res = (error as tus.DetailedError).originalResponse;
        resolve({ url: job.url, fileId: null, status: res?.getStatus(), body: res?.getBody() });
      },
    });
    job.start();
  });
}
