/**
 * The one catalogue of error codes Causeway answers with, over HTTP and over the bridge.
 * Each code has the HTTP status it maps to and a sentence written for the person reading it;
 * callers may add a more specific sentence, never a secret.
 */
export const ERROR_CATALOGUE = {
  validation_failed: { status: 400, message: 'The request is not valid.' },
  unauthenticated: {
    status: 401,
    message: 'Sign in first: this request carries no valid credentials.',
  },
  address_not_allowed: {
    status: 403,
    message:
      'Your organisation does not allow access from your network address. Connect from an allowed network or ask your administrator.',
  },
  sign_in_failed: {
    status: 401,
    message: 'Sign-in failed. Start again from the sign-in page.',
  },
  second_factor_required: {
    status: 403,
    message:
      'Your organisation requires a second factor: confirm this sign-in with your authenticator app or a recovery code first.',
  },
  sign_in_method_not_allowed: {
    status: 403,
    message: 'Your organisation does not allow this way of signing in.',
  },
  too_many_attempts: {
    status: 429,
    message: 'Too many attempts. Wait a while, then try again.',
  },
  mail_unavailable: {
    status: 503,
    message: 'The sign-in email could not be sent. Try again later or ask your administrator.',
  },
  session_expired: {
    status: 401,
    message: 'Your session has ended (signed out, idle too long, or too old). Sign in again.',
  },
  join_token_invalid: {
    status: 401,
    message: 'The join token is not valid: unknown, already used, expired or revoked.',
  },
  invalid_csr: { status: 400, message: 'The certificate signing request is not valid.' },
  forbidden: { status: 403, message: 'You do not have permission to do this.' },
  delegation_refused: {
    status: 403,
    message:
      'The node refused the request: its delegation token is missing, forged, meant for another node, or already used.',
  },
  delegation_expired: {
    status: 503,
    message: 'The request reached the node after its delegation token expired. Try again.',
  },
  delegation_key_unknown: {
    status: 503,
    message: "The node does not know the control plane's signing key yet. Try again.",
  },
  renewal_refused: {
    status: 401,
    message:
      'The certificate renewal was refused: the proof of possession is not valid, or the node is revoked.',
  },
  not_found: { status: 404, message: 'Nothing was found at this address.' },
  residency_violation: {
    status: 409,
    message:
      "This would put the tenant's data outside its data-residency region. Choose a node of the tenant's region.",
  },
  conflict: {
    status: 409,
    message: 'The request conflicts with the current state of the resource.',
  },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  quota_exceeded: {
    status: 413,
    message: "The file does not fit in the workspace's storage quota.",
  },
  range_not_satisfiable: {
    status: 416,
    message: 'The requested byte range is not inside the file.',
  },
  unknown_method: { status: 501, message: 'The node does not know this operation.' },
  invalid_envelope: { status: 400, message: 'The bridge message is malformed.' },
  node_unavailable: {
    status: 503,
    message: 'The node that serves this request is not reachable right now. Try again later.',
  },
  bridge_unavailable: {
    status: 503,
    message: 'The service bridge (message broker) is not reachable right now. Try again later.',
  },
  enrolment_unavailable: {
    status: 503,
    message:
      'Node enrolment is not configured on this control plane (CAUSEWAY_CA_SEAL_KEY is not set).',
  },
  not_ready: {
    status: 503,
    message: 'The service is not ready: one of its dependencies is not reachable.',
  },
  internal_error: { status: 500, message: 'Something went wrong on our side.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, value);
}

/**
 * The typed error every layer throws. The transport (HTTP filter, bridge server) maps it to a
 * reply in one place; `details` must never hold secrets because it may reach the caller.
 */
export class CausewayError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CATALOGUE[code].message);
    this.name = 'CausewayError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}
