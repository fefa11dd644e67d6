/**
 * Why an allow-list was refused or a request turned away. Stable codes, one sentence each for
 * people; a refused entry is named so the admin can fix it.
 */
export const ALLOW_LIST_ERRORS = {
  allow_list_invalid: 'The IP allow-list is not valid.',
  address_not_allowed: 'This organisation does not allow access from your network address.',
} as const;

export type AllowListErrorCode = keyof typeof ALLOW_LIST_ERRORS;

/** Base of every error this module throws. */
export class AllowListError extends Error {
  constructor(
    readonly code: AllowListErrorCode,
    detail?: string,
  ) {
    super(detail ? `${ALLOW_LIST_ERRORS[code]} ${detail}` : ALLOW_LIST_ERRORS[code]);
    this.name = 'AllowListError';
  }
}
