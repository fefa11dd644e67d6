/** Why a webhook URL or address is refused; the machine-readable reason callers see. */
export type WebhookTargetErrorCode =
  'webhook_url_invalid' | 'webhook_url_not_allowed' | 'webhook_host_unresolved';

/**
 * A webhook target the control plane will not call. Thrown both when settings are saved and at
 * delivery (DNS may have changed since): the message names the host or address and why, never
 * the full URL, whose path or query may carry the receiver's token.
 */
export class WebhookTargetError extends Error {
  constructor(
    readonly code: WebhookTargetErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}
