import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseSealTimes } from '@causeway/audit';
import type { NodeConfig } from '../config/config';
import { NodeStore } from '../state/node-store';
import { LocalDiskStore } from '../storage/local-disk-store';
import { STATE_FILES } from '../trust/files';
import { NodeAudit } from './node-audit';
import { NodeAuditArchiver, objectStoreArchive } from './node-audit-archive';
import { CHECK_INTERVAL_MS, NodeAuditScheduler } from './node-audit-scheduler';

const segment = (first: number, last: number) =>
  `audit/node/${String(first).padStart(12, '0')}-${String(last).padStart(12, '0')}`;

/**
 * The scheduler as the node runs it (its minute timer, its start-up run, its store), with the
 * clock injected and only the timers faked: the seal and the storage run for real.
 */
describe('NodeAuditScheduler (injected clock, SQLite + local disk)', () => {
  let dir: string;
  let now: number;
  let store: NodeStore;
  let scheduler: NodeAuditScheduler;
  let runs: jest.SpyInstance<Promise<Date | undefined>, []>;
  const errors: unknown[] = [];
  const logger = { error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;
  const config = {
    audit: { sealTimes: parseSealTimes('00:00,12:00'), retentionDays: 365 },
  } as NodeConfig;
  const objects = () => new LocalDiskStore(join(dir, 'storage'));
  const archived = async () =>
    [...new Set((await objectStoreArchive(objects()).list('audit/node/')).map(segmentOf))].sort();
  const segmentOf = (key: string) => key.replace(/\/(segment|manifest)$/, '');
  const record = (n: number) =>
    new NodeAudit(store, () => now).record({
      code: 'access.denied',
      fields: { path: `/f/${n}` },
    });

  /** Starts the scheduler as Nest does on a (re)start of the node. */
  function boot(): void {
    store = NodeStore.open(dir);
    scheduler = new NodeAuditScheduler(
      store,
      objects(),
      { ...config, stateDir: dir },
      logger,
      () => now,
    );
    runs = jest.spyOn(scheduler, 'runDue');
    scheduler.onApplicationBootstrap();
  }

  async function shutDown(): Promise<void> {
    await scheduler.onApplicationShutdown();
    store.close();
  }

  /** The result of the latest run, after checking how many runs there have been. */
  async function lastRun(count: number): Promise<Date | undefined> {
    expect(runs).toHaveBeenCalledTimes(count);
    return runs.mock.results[count - 1].value as Promise<Date | undefined>;
  }

  /** Lets the minute timer fire once at `iso`. */
  function minuteLater(iso: string): void {
    now = Date.parse(iso);
    jest.advanceTimersByTime(CHECK_INTERVAL_MS);
  }

  beforeEach(() => {
    // Only the timers: promises, streams and SQLite must run as they do in the node.
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'Date', 'hrtime', 'performance'],
    });
    dir = mkdtempSync(join(tmpdir(), 'node-audit-scheduler-'));
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(
      join(dir, STATE_FILES.signingKey),
      privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    errors.length = 0;
  });

  afterEach(async () => {
    await shutDown();
    jest.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
  });

  it('seals at each scheduled time, never before it nor twice for a slot, and catches up at start', async () => {
    now = Date.parse('2026-02-01T09:30:00Z');
    store = NodeStore.open(dir);
    record(1);
    record(2);
    store.close();

    // First start, 09:30: the 00:00 slot never ran here, so it runs at start, without the timer.
    boot();
    expect(await lastRun(1)).toEqual(new Date('2026-02-01T00:00:00Z'));
    expect(await archived()).toEqual([segment(1, 2)]);

    record(3);
    minuteLater('2026-02-01T11:59:59.999Z');
    expect(await lastRun(2)).toBeUndefined();
    expect(await archived()).toEqual([segment(1, 2)]);

    minuteLater('2026-02-01T12:00:00Z');
    expect(await lastRun(3)).toEqual(new Date('2026-02-01T12:00:00Z'));
    expect(await archived()).toEqual([segment(1, 2), segment(3, 3)]);

    record(4);
    minuteLater('2026-02-01T12:01:00Z');
    expect(await lastRun(4)).toBeUndefined();
    minuteLater('2026-02-01T23:59:00Z');
    expect(await lastRun(5)).toBeUndefined();
    expect(await archived()).toEqual([segment(1, 2), segment(3, 3)]);

    // The next slot is the next day's first.
    minuteLater('2026-02-02T00:00:00Z');
    expect(await lastRun(6)).toEqual(new Date('2026-02-02T00:00:00Z'));
    expect(await archived()).toEqual([segment(1, 2), segment(3, 3), segment(4, 4)]);

    // Down from 00:05 to 13:30: the 12:00 slot is missed, and sealed as soon as the node is back.
    now = Date.parse('2026-02-02T00:05:00Z');
    record(5);
    await shutDown();
    now = Date.parse('2026-02-02T13:30:00Z');
    boot();
    expect(await lastRun(1)).toEqual(new Date('2026-02-02T12:00:00Z'));
    const all = [segment(1, 2), segment(3, 3), segment(4, 4), segment(5, 5)];
    expect(await archived()).toEqual(all);
    // Sealed at the injected time, not the machine's.
    const manifest = (await objectStoreArchive(objects()).get(`${segment(5, 5)}/manifest`))!;
    const signed = JSON.parse(manifest.toString('utf8')) as { manifest: string };
    expect(JSON.parse(signed.manifest)).toMatchObject({ sealedAt: '2026-02-02T13:30:00.000Z' });

    // A restart within a slot already sealed does not seal it again.
    record(6);
    await shutDown();
    now = Date.parse('2026-02-02T13:45:00Z');
    boot();
    expect(await lastRun(1)).toBeUndefined();
    expect(await archived()).toEqual(all);

    const report = await new NodeAuditArchiver(store, objectStoreArchive(objects())).verify();
    expect(report).toMatchObject({ ok: true, segments: 4, problems: [] });
  });

  it('does not run twice at once when the timer fires during a slow seal', async () => {
    now = Date.parse('2026-02-01T12:00:00Z');
    store = NodeStore.open(dir);
    record(1);
    store.close();
    boot();
    // The start-up run is still in progress when the minute passes.
    jest.advanceTimersByTime(CHECK_INTERVAL_MS);
    const [first, second] = runs.mock.results.map((r) => r.value as Promise<Date | undefined>);
    expect(second).toBe(first);
    expect(await first).toEqual(new Date('2026-02-01T12:00:00Z'));
    expect(await archived()).toEqual([segment(1, 1)]);
  });

  it('logs a failed seal and seals at the next check', async () => {
    now = Date.parse('2026-02-01T12:00:00Z');
    store = NodeStore.open(dir);
    record(1);
    store.close();
    const key = join(dir, STATE_FILES.signingKey);
    const pem = readFileSync(key);
    writeFileSync(key, 'not a key');
    boot();
    expect(await lastRun(1)).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(await archived()).toEqual([]);
    errors.length = 0;

    writeFileSync(key, pem);
    minuteLater('2026-02-01T12:01:00Z');
    expect(await lastRun(2)).toEqual(new Date('2026-02-01T12:00:00Z'));
    expect(await archived()).toEqual([segment(1, 1)]);
  });
});
