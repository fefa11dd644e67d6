import * as argon2 from 'argon2';
import { argon2idParameters } from './argon2-parameters';

/**
 * argon2id parameters. OWASP's Password Storage Cheat Sheet asks for at least 19 MiB of memory,
 * two passes and one lane; these are the floor, a deployment may raise them.
 */
export interface PasswordHashParameters {
  /** KiB. */
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_MINIMUM_PARAMETERS: Readonly<PasswordHashParameters> = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
});

/**
 * Hashes and checks local passwords with argon2id. Only the PHC string (`$argon2id$v=19$...`,
 * which carries its own salt and parameters) is ever stored; `needsRehash` tells the sign-in
 * code to store a fresh hash after a successful check when the parameters have been raised.
 */
export class PasswordHasher {
  readonly parameters: Readonly<PasswordHashParameters>;

  constructor(parameters: Partial<PasswordHashParameters> = {}) {
    const chosen = { ...OWASP_MINIMUM_PARAMETERS, ...parameters };
    if (
      chosen.memoryCost < OWASP_MINIMUM_PARAMETERS.memoryCost ||
      chosen.timeCost < OWASP_MINIMUM_PARAMETERS.timeCost ||
      chosen.parallelism < 1
    ) {
      throw new RangeError(
        'argon2id parameters below the OWASP minimum (19456 KiB, 2 passes, 1 lane).',
      );
    }
    this.parameters = Object.freeze(chosen);
  }

  async hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, ...this.parameters });
  }

  /**
   * True when `password` matches `storedHash`. A malformed stored hash counts as no match
   * rather than an exception, so a damaged row cannot be told apart from a wrong password.
   */
  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(storedHash, password);
    } catch {
      return false;
    }
  }

  /** True when `storedHash` is not argon2id with exactly the current version and parameters. */
  needsRehash(storedHash: string): boolean {
    if (!argon2idParameters(storedHash)) return true;
    try {
      return argon2.needsRehash(storedHash, this.parameters);
    } catch {
      return true;
    }
  }
}
