/**
 * Why a broker-user operation failed. Stable codes, one sentence each for the person reading
 * the log; none of them ever carries a password, a token or an Authorization header.
 */
export const BROKER_USERS_ERRORS = {
  management_unreachable: 'The RabbitMQ management API could not be reached.',
  management_timeout: 'The RabbitMQ management API did not answer in time.',
  management_rejected: 'The RabbitMQ management API refused the request.',
  management_not_administrator:
    'The management user lacks the administrator tag it needs to manage node users.',
  invalid_node_id:
    'A node id must be 1-64 lowercase letters, digits or -, starting with a letter or digit.',
} as const;

export type BrokerUsersErrorCode = keyof typeof BROKER_USERS_ERRORS;

/** Base of every error this module throws. */
export class BrokerUsersError extends Error {
  constructor(
    readonly code: BrokerUsersErrorCode,
    detail?: string,
  ) {
    super(detail ? `${BROKER_USERS_ERRORS[code]} ${detail}` : BROKER_USERS_ERRORS[code]);
    this.name = 'BrokerUsersError';
  }
}

/**
 * A failed call to the management API: the HTTP status (when there was an answer), the method
 * and the endpoint path. Built from scrubbed parts only: the request's credentials and any
 * password it carried are never copied into it, and the broker's own explanation is stripped of
 * them before it is kept.
 */
export class RabbitMqManagementError extends BrokerUsersError {
  constructor(
    code: Extract<
      BrokerUsersErrorCode,
      'management_unreachable' | 'management_timeout' | 'management_rejected'
    >,
    readonly method: string,
    readonly endpoint: string,
    readonly status?: number,
    reason?: string,
  ) {
    const where = `${method} ${endpoint}`;
    const answer = status === undefined ? '' : ` answered ${status}`;
    super(code, `(${where}${answer}${reason ? `: ${reason}` : ''})`);
    this.name = 'RabbitMqManagementError';
  }
}
