/**
 * The sealing schedule: times of day (UTC) at which the log since the previous seal becomes a
 * segment. Both sides read it from CAUSEWAY_AUDIT_SEAL_TIMES, `HH:MM[,HH:MM...]`.
 */
export const DEFAULT_SEAL_TIMES = '00:00,12:00';
export const SEAL_TIMES_PATTERN = /^([01]\d|2[0-3]):[0-5]\d(,([01]\d|2[0-3]):[0-5]\d)*$/;

/** Minutes after midnight UTC, sorted and without duplicates. */
export function parseSealTimes(value: string): number[] {
  if (!SEAL_TIMES_PATTERN.test(value)) {
    throw new Error(`"${value}" is not a list of HH:MM times such as ${DEFAULT_SEAL_TIMES}`);
  }
  const minutes = value.split(',').map((t) => {
    const [h, m] = t.split(':').map(Number);
    return h * 60 + m;
  });
  return [...new Set(minutes)].sort((a, b) => a - b);
}

/** The latest scheduled instant at or before `now`. */
export function lastSealSlot(now: Date, times: readonly number[]): Date {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const minute = Math.floor((now.getTime() - midnight) / 60_000);
  const today = times.filter((t) => t <= minute);
  if (today.length > 0) return new Date(midnight + today[today.length - 1] * 60_000);
  return new Date(midnight - 86_400_000 + times[times.length - 1] * 60_000);
}
