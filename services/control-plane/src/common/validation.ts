import { CausewayError } from '@causeway/contracts';
import type { ZodType } from 'zod';

/** Validates a request part against its schema, answering 400 with what was wrong. */
export function parseInput<T>(schema: ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => ({
    field: i.path.join('.') || '(root)',
    problem: i.message,
  }));
  throw new CausewayError('validation_failed', `The ${what} is not valid.`, { issues });
}
