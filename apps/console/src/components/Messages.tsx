import type { ReactNode } from 'react';

/**
 * An error announced to screen readers as it appears. The element stays in the page (empty when
 * there is nothing to say) because some screen readers only announce changes to a live region
 * that already existed.
 */
export function ErrorMessage({ message, id }: { message: string | undefined; id?: string }) {
  return (
    <div role="alert" className={message ? 'message message-error' : 'message-empty'} id={id}>
      {message}
    </div>
  );
}

/** A polite announcement (saved, uploaded, deleted). */
export function StatusMessage({ children }: { children: ReactNode }) {
  return (
    <div role="status" className={children ? 'message message-ok' : 'message-empty'}>
      {children}
    </div>
  );
}
