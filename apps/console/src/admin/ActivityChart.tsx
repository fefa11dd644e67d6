import { useId } from 'react';

export type Granularity = 'hour' | 'day' | 'week';

export interface Bucket {
  start: Date;
  count: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function floorTo(time: number, granularity: Granularity): number {
  const d = new Date(time);
  d.setMinutes(0, 0, 0);
  if (granularity !== 'hour') d.setHours(0);
  if (granularity === 'week') d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d.getTime();
}

function next(time: number, granularity: Granularity): number {
  const d = new Date(time);
  if (granularity === 'hour') d.setHours(d.getHours() + 1);
  else d.setDate(d.getDate() + (granularity === 'day' ? 1 : 7));
  return d.getTime();
}

/**
 * Counts per hour (up to two days), per day (up to 120 days) or per week, in the browser's time
 * zone, with empty buckets kept so that quiet periods show as gaps rather than disappearing.
 */
export function bucketize(instants: string[]): { granularity: Granularity; buckets: Bucket[] } {
  const times = instants.map((i) => new Date(i).getTime()).filter((t) => !Number.isNaN(t));
  if (times.length === 0) return { granularity: 'hour', buckets: [] };
  const min = Math.min(...times);
  const max = Math.max(...times);
  const span = max - min;
  const granularity: Granularity = span <= 2 * DAY ? 'hour' : span <= 120 * DAY ? 'day' : 'week';
  const counts = new Map<number, number>();
  for (const t of times) {
    const key = floorTo(t, granularity);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const buckets: Bucket[] = [];
  for (let t = floorTo(min, granularity); t <= max; t = next(t, granularity)) {
    buckets.push({ start: new Date(t), count: counts.get(t) ?? 0 });
  }
  return { granularity, buckets };
}

const hourFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

function label(start: Date, granularity: Granularity): string {
  if (granularity === 'hour') return hourFormat.format(start);
  return granularity === 'day' ? dayFormat.format(start) : `week of ${dayFormat.format(start)}`;
}

const W = 640;
const H = 160;
const PAD = { top: 12, right: 8, bottom: 28, left: 36 };

/**
 * A bar chart of events over time, as inline SVG: a handful of rects and labels do not justify a
 * chart library, and the page's Content-Security-Policy stays simple (no inline scripts).
 */
export function ActivityChart({ instants, caption }: { instants: string[]; caption: string }) {
  const id = useId();
  const { granularity, buckets } = bucketize(instants);
  if (buckets.length === 0) return null;
  const max = Math.max(...buckets.map((b) => b.count));
  const busiest = buckets.find((b) => b.count === max);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / buckets.length;
  // A lone bucket would otherwise be one slab across the whole chart.
  const barW = Math.min(Math.max(1, slot * 0.8), 48);
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const span =
    first && last && buckets.length > 1
      ? ` from ${label(first.start, granularity)} to ${label(last.start, granularity)}`
      : first
        ? ` (${label(first.start, granularity)})`
        : '';
  const summary =
    `${plural(instants.length, 'event')} over ${plural(buckets.length, granularity)}${span}, counted per ${granularity}` +
    (busiest && buckets.length > 1
      ? `; the busiest ${granularity} (${label(busiest.start, granularity)}) has ${max}.`
      : '.');
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        preserveAspectRatio="xMidYMid meet"
        data-granularity={granularity}
      >
        <title id={`${id}-title`}>{caption}</title>
        <desc id={`${id}-desc`}>{summary}</desc>
        <line
          className="axis"
          x1={PAD.left}
          y1={PAD.top + plotH}
          x2={W - PAD.right}
          y2={PAD.top + plotH}
        />
        <text className="tick" x={PAD.left - 4} y={PAD.top + 4} textAnchor="end">
          {max}
        </text>
        <text className="tick" x={PAD.left - 4} y={PAD.top + plotH} textAnchor="end">
          0
        </text>
        {buckets.map((b, i) => {
          const h = max === 0 ? 0 : (b.count / max) * plotH;
          return (
            <rect
              key={b.start.getTime()}
              className="bar"
              x={PAD.left + i * slot + (slot - barW) / 2}
              y={PAD.top + plotH - h}
              width={barW}
              height={h}
            >
              <title>{`${label(b.start, granularity)}: ${b.count}`}</title>
            </rect>
          );
        })}
        {first && (
          <text className="tick" x={PAD.left} y={H - 8} textAnchor="start">
            {label(first.start, granularity)}
          </text>
        )}
        {last && buckets.length > 1 && (
          <text className="tick" x={W - PAD.right} y={H - 8} textAnchor="end">
            {label(last.start, granularity)}
          </text>
        )}
      </svg>
      <figcaption className="hint">{summary}</figcaption>
    </figure>
  );
}
