import { randomString } from '@causeway/crypto';
import * as argon2 from 'argon2';
import { OWASP_MINIMUM_PARAMETERS } from './passwords';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford-style alphabet without 0/O, 1/I/L, U: easy to read off paper and type. */
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 10 characters from 30 symbols: about 49 bits each, grouped 5-5 for reading. */
const CODE_LENGTH = 10;

/** A freshly generated set: `codes` are shown to the user once, only `hashes` are stored. */
export interface RecoveryCodeSet {
  codes: string[];
  hashes: string[];
}

/** Upper-cases and drops spaces and dashes, so `abcde-fghjk` and `ABCDEFGHJK` match. */
export function normaliseRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]+/g, '');
}

function newCode(): string {
  const raw = randomString(ALPHABET, CODE_LENGTH);
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/** Ten single-use codes and their argon2id hashes. */
export async function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): Promise<RecoveryCodeSet> {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(newCode());
  const list = [...codes];
  const hashes = await Promise.all(
    list.map((code) =>
      argon2.hash(normaliseRecoveryCode(code), {
        type: argon2.argon2id,
        ...OWASP_MINIMUM_PARAMETERS,
      }),
    ),
  );
  return { codes: list, hashes };
}

/** One stored recovery code; `id` lets the store mark exactly this one used. */
export interface StoredRecoveryCode {
  id: string;
  hash: string;
}

/**
 * The id of the stored code that `given` matches, or undefined. Only codes not yet used should
 * be passed in; marking the match used (atomically) is the caller's job.
 */
export async function matchRecoveryCode(
  given: string,
  unused: readonly StoredRecoveryCode[],
): Promise<string | undefined> {
  const normalised = normaliseRecoveryCode(given);
  if (normalised.length !== CODE_LENGTH) return undefined;
  for (const stored of unused) {
    try {
      if (await argon2.verify(stored.hash, normalised)) return stored.id;
    } catch {
      // A damaged hash matches nothing.
    }
  }
  return undefined;
}
