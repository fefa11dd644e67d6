import type { AlertCandidate } from './alert-rule';

/** Failed sign-ins within this window are counted together. */
export const BURST_WINDOW_MS = 5 * 60_000;
/** Default: this many failures in the window, for one address or from one IP, is a burst. */
export const DEFAULT_BURST_THRESHOLD = 10;

/** What the rule reads: the failure just recorded and the counts within the window. */
export interface FailuresSeen {
  /** `email:<address>` or `user:<id>` as recorded. */
  actor: string | null;
  ip: string | null;
  /** Failures in the window with this actor (including this one). */
  byActor: number;
  /** Failures in the window from this IP (including this one). */
  byIp: number;
}

/**
 * A burst of failed sign-ins: at least `threshold` within five minutes for one account
 * (password guessing) or from one address (spraying many accounts). Up to two candidates; the
 * cool-down then keeps each to one alert.
 */
export function signInBurstAlerts(seen: FailuresSeen, threshold: number): AlertCandidate[] {
  const found: AlertCandidate[] = [];
  const window = BURST_WINDOW_MS / 60_000;
  if (seen.actor !== null && seen.byActor >= threshold) {
    found.push({
      rule: 'sign_in.burst',
      subject: seen.actor,
      details: {
        by: 'account',
        account: seen.actor,
        failures: seen.byActor,
        windowMinutes: window,
      },
    });
  }
  if (seen.ip !== null && seen.byIp >= threshold) {
    found.push({
      rule: 'sign_in.burst',
      subject: `ip:${seen.ip}`,
      details: { by: 'address', address: seen.ip, failures: seen.byIp, windowMinutes: window },
    });
  }
  return found;
}
