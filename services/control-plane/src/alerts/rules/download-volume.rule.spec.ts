import {
  BASELINE_HOURS,
  downloadVolumeAlert,
  volumeLimit,
  windowCanAlert,
  type VolumeThresholds,
} from './download-volume.rule';

const GiB = 1024 ** 3;
const thresholds: VolumeThresholds = { multiplier: 10, floorBytes: GiB };

describe('rule: download volume far above the baseline', () => {
  it('fires when the hour is above N × the hourly average and above the floor', () => {
    // 1 GiB an hour on average over 14 days; 11 GiB in the last hour.
    const baselineBytes = GiB * BASELINE_HOURS;
    const alert = downloadVolumeAlert(
      { actor: 'user:u1', windowBytes: 11 * GiB, baselineBytes },
      thresholds,
    );
    expect(alert).toMatchObject({
      rule: 'download.volume',
      subject: 'user:u1',
      details: { windowBytes: 11 * GiB, baselineHourlyBytes: GiB, limitBytes: 10 * GiB },
    });
  });

  it('fires for a user without history once the floor is passed', () => {
    const alert = downloadVolumeAlert(
      { actor: 'user:new', windowBytes: GiB + 1, baselineBytes: 0 },
      thresholds,
    );
    expect(alert?.details.limitBytes).toBe(GiB);
  });

  it('stays quiet for normal traffic: within N × the baseline, or under the floor', () => {
    const baselineBytes = GiB * BASELINE_HOURS;
    expect(
      downloadVolumeAlert({ actor: 'user:u1', windowBytes: 9 * GiB, baselineBytes }, thresholds),
    ).toBeUndefined();
    expect(
      downloadVolumeAlert(
        { actor: 'user:u2', windowBytes: 500 * 1024 ** 2, baselineBytes: 0 },
        thresholds,
      ),
    ).toBeUndefined();
  });

  it('needs no baseline for a window under the floor: it is quiet whatever the baseline', () => {
    for (const windowBytes of [0, 1, GiB - 1, GiB]) {
      expect(windowCanAlert(windowBytes, thresholds)).toBe(false);
      for (const baselineBytes of [0, 1, GiB, 1000 * GiB * BASELINE_HOURS]) {
        expect(
          downloadVolumeAlert({ actor: 'user:u1', windowBytes, baselineBytes }, thresholds),
        ).toBeUndefined();
      }
    }
    expect(windowCanAlert(GiB + 1, thresholds)).toBe(true);
  });

  it('uses the larger of N × the average and the floor', () => {
    expect(volumeLimit(0, thresholds)).toBe(GiB);
    expect(volumeLimit(GiB, thresholds)).toBe(10 * GiB);
    expect(volumeLimit(100, { multiplier: 3, floorBytes: 1 })).toBe(300);
  });
});
