import type { NodeAuditEventType } from '@causeway/audit';

/**
 * Key events for the node's audit trail. They carry ids, versions and counts, never key
 * material. The node wires a sink that appends them to NodeAudit once these codes are in its
 * catalogue; until then the default sink drops them.
 */
export type KeyEventCode = Extract<NodeAuditEventType, `key.${string}`>;

export interface KeyEvent {
  code: KeyEventCode;
  fields: Record<string, string | number>;
}

export interface KeyEventSink {
  record(event: KeyEvent): void;
}

export const noKeyEvents: KeyEventSink = { record: () => undefined };
