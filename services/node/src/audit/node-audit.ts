import type { Statement } from 'better-sqlite3';
import {
  appendEntry,
  checkAuditDetails,
  verifyChain,
  type ChainProblem,
  type ChainedEntry,
  type NodeAuditEventType,
} from '@causeway/audit';
import type { NodeStore } from '../state/node-store';

/** The catalogue's events recorded on the node (side 'node' or 'both', libs/audit). */
export type NodeAuditCode = NodeAuditEventType;

export interface NodeAuditEvent {
  code: NodeAuditCode;
  /** What the event concerns, without secrets: token claims, reasons, ids. */
  fields: Record<string, unknown>;
}

export interface NodeAuditRecord {
  seq: number;
  at: string;
  code: NodeAuditCode;
  fields: Record<string, unknown>;
  hash: string;
}

/**
 * The node's own audit trail: append-only and hash-chained in its database, written where the
 * event happens, so the record of what the node refused does not depend on the control plane.
 */
export class NodeAudit {
  private readonly last: Statement;
  private readonly insert: Statement;
  private readonly all: Statement;
  private readonly append: (event: NodeAuditEvent, at: string) => ChainedEntry;

  constructor(
    store: NodeStore,
    private readonly now: () => number = Date.now,
  ) {
    this.last = store.db.prepare(
      'SELECT seq, prev_hash AS prevHash, hash, body FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    this.insert = store.db.prepare(
      'INSERT INTO audit_log (seq, prev_hash, hash, body) VALUES (?, ?, ?, ?)',
    );
    this.all = store.db.prepare(
      'SELECT seq, prev_hash AS prevHash, hash, body FROM audit_log ORDER BY seq',
    );
    // One transaction reads the tail and appends: two writers can never fork the chain.
    this.append = store.db.transaction((event: NodeAuditEvent, at: string) => {
      const previous = this.last.get() as ChainedEntry | undefined;
      const entry = appendEntry(previous, { at, code: event.code, fields: event.fields });
      this.insert.run(entry.seq, entry.prevHash, entry.hash, entry.body);
      return entry;
    });
  }

  record(event: NodeAuditEvent): NodeAuditRecord {
    // Fields the catalogue does not name (or of the wrong type) are a bug: refused, not chained.
    checkAuditDetails(event.code, event.fields);
    return toRecord(this.append(event, new Date(this.now()).toISOString()));
  }

  list(): NodeAuditRecord[] {
    return (this.all.all() as ChainedEntry[]).map(toRecord);
  }

  /** The first break in the chain, or undefined when every entry is intact. */
  verify(): ChainProblem | undefined {
    return verifyChain(this.all.all() as ChainedEntry[]);
  }
}

function toRecord(entry: ChainedEntry): NodeAuditRecord {
  const body = JSON.parse(entry.body) as {
    at: string;
    code: NodeAuditCode;
    fields: Record<string, unknown>;
  };
  return { seq: entry.seq, at: body.at, code: body.code, fields: body.fields, hash: entry.hash };
}
