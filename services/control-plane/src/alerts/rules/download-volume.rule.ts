import type { AlertCandidate } from './alert-rule';

/** How far above their baseline a user's downloads must go to raise an alert. */
export interface VolumeThresholds {
  /** Alert above this many times the user's average hourly volume (default 10). */
  multiplier: number;
  /** ... and never below this many bytes in the window (default 1 GiB). */
  floorBytes: number;
}

export const DEFAULT_VOLUME_THRESHOLDS: VolumeThresholds = {
  multiplier: 10,
  floorBytes: 1024 ** 3,
};

/** The window whose volume is compared, and the history the baseline is the average of. */
export const VOLUME_WINDOW_MS = 3_600_000;
export const BASELINE_DAYS = 14;
export const BASELINE_HOURS = BASELINE_DAYS * 24;

/** What the rule reads: the user's bytes in the last hour and in the 14 days before it. */
export interface VolumeSeen {
  actor: string;
  windowBytes: number;
  baselineBytes: number;
}

/** The volume above which the window alerts: max(multiplier × hourly average, floor). */
export function volumeLimit(baselineHourlyBytes: number, thresholds: VolumeThresholds): number {
  return Math.max(thresholds.multiplier * baselineHourlyBytes, thresholds.floorBytes);
}

/**
 * Whether the window can alert at all: the limit is never below the floor, so a window under it
 * is quiet whatever the baseline, and the 14-day baseline (the costly read) is not needed.
 */
export function windowCanAlert(windowBytes: number, thresholds: VolumeThresholds): boolean {
  return windowBytes > thresholds.floorBytes;
}

/**
 * A user's download volume in the last hour far above their baseline: more than `multiplier`
 * times their average hourly volume over the 14 days before (idle hours count as zero), and
 * more than the floor, so a user with little history is not flagged for one ordinary file.
 */
export function downloadVolumeAlert(
  seen: VolumeSeen,
  thresholds: VolumeThresholds,
): AlertCandidate | undefined {
  const hourly = seen.baselineBytes / BASELINE_HOURS;
  const limit = volumeLimit(hourly, thresholds);
  if (seen.windowBytes <= limit) return undefined;
  return {
    rule: 'download.volume',
    subject: seen.actor,
    details: {
      user: seen.actor,
      windowBytes: seen.windowBytes,
      windowMinutes: VOLUME_WINDOW_MS / 60_000,
      baselineHourlyBytes: Math.round(hourly),
      limitBytes: Math.round(limit),
    },
  };
}
