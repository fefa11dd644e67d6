import { pipeline } from 'node:stream';
import { Readable } from 'node:stream';
import type { Response } from 'express';
import type { AuditEventView } from './audit-view';

export type AuditExportFormat = 'csv' | 'jsonl';

/** The columns of a CSV export, in order; `details` is the event's details as JSON. */
export const CSV_COLUMNS = [
  'seq',
  'id',
  'occurredAt',
  'type',
  'category',
  'severity',
  'outcome',
  'actor',
  'reason',
  'ip',
  'details',
] as const;

/** Characters that make a spreadsheet read a cell as a formula (or hide what follows). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, or leading or trailing
 * space; quotes doubled. A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
 * tab, CR first) is prefixed with `'` first (OWASP "CSV injection"), so an attacker-chosen
 * file name or address in the trail cannot run in the analyst's spreadsheet.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated as RFC 4180 says. */
export function csvRow(cells: ReadonlyArray<string | number | null>): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvHeader(): string {
  return csvRow([...CSV_COLUMNS]);
}

export function csvLine(e: AuditEventView): string {
  return csvRow([
    e.seq,
    e.id,
    e.occurredAt,
    e.type,
    e.category,
    e.severity,
    e.outcome,
    e.actor,
    e.reason,
    e.ip,
    JSON.stringify(e.details),
  ]);
}

/** One JSON object per line; JSON.stringify escapes every newline inside a value. */
export function jsonLine(e: AuditEventView): string {
  return `${JSON.stringify(e)}\n`;
}

export interface AuditExportFile {
  format: AuditExportFormat;
  filename: string;
  /** Pulled page by page as the client reads: never the whole result in memory. */
  body: Readable;
}

export const CONTENT_TYPES: Record<AuditExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

/**
 * Sends an export with back-pressure (`pipeline` reads the next page only when the socket has
 * room). A failure after the first byte destroys the connection instead of ending it, so a
 * truncated export can never pass for a complete one.
 */
export function sendExport(
  file: AuditExportFile,
  res: Response,
  onError: (error: Error) => void,
): void {
  res.status(200);
  res.setHeader('Content-Type', CONTENT_TYPES[file.format]);
  res.setHeader('Content-Disposition', `attachment; filename="${file.filename}"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  pipeline(file.body, res, (error) => {
    if (error) onError(error);
  });
}

/** A readable over an async generator of text chunks. */
export function textStream(chunks: AsyncGenerator<string>): Readable {
  return Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 });
}
