import { formatBytes } from '../api/errors';
import type { UploadItem } from './uploads';

const STATE_TEXT: Record<UploadItem['state'], string> = {
  uploading: 'Uploading',
  done: 'Uploaded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** One progress bar per file; errors are announced as they happen. */
export function UploadList({
  items,
  onCancel,
  onDismiss,
}: {
  items: UploadItem[];
  onCancel: (key: string) => void;
  onDismiss: (key: string) => void;
}) {
  if (items.length === 0) return null;
  return (
    <section aria-label="Uploads" className="uploads">
      <h2 className="visually-hidden">Uploads</h2>
      <ul className="plain">
        {items.map((item) => (
          <li key={item.key} className={`upload upload-${item.state}`} data-upload={item.name}>
            <div className="upload-head">
              <span className="upload-name">{item.name}</span>
              <span className="muted">
                {formatBytes(item.size)} · {STATE_TEXT[item.state]}
                {item.state === 'uploading' && item.resumed ? ' (resumed)' : ''}
                {item.state !== 'failed' && item.state !== 'cancelled'
                  ? ` · ${item.percent} %`
                  : ''}
              </span>
            </div>
            {/* A native bar, with the ARIA values spelled out for assistive technology that reads only those. */}
            <progress
              role="progressbar"
              max={100}
              value={item.percent}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={item.percent}
              aria-label={`Upload of ${item.name}`}
            />
            {item.error && (
              <p role="alert" className="message message-error">
                {item.name}: {item.error}
              </p>
            )}
            <div className="row">
              {item.state === 'uploading' ? (
                <button
                  type="button"
                  className="secondary small"
                  onClick={() => onCancel(item.key)}
                >
                  Cancel upload of {item.name}
                </button>
              ) : (
                <button type="button" className="link small" onClick={() => onDismiss(item.key)}>
                  Dismiss
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
