/**
 * Key events for the node's audit trail. They carry ids, versions and counts, never key
 * material. The node wires a sink that appends them to NodeAudit once these codes are in its
 * catalogue; until then the default sink drops them.
 */
export type KeyEventCode =
  | 'key.master_created'
  | 'key.rotation_started'
  | 'key.rotation_finished'
  | 'key.master_destroyed'
  | 'key.workspace_destroyed'
  | 'key.tenant_destroyed'
  /** The tenant's rotation period reached the node (from the control plane). */
  | 'key.rotation_period_changed';

export interface KeyEvent {
  code: KeyEventCode;
  fields: Record<string, string | number>;
}

export interface KeyEventSink {
  record(event: KeyEvent): void;
}

export const noKeyEvents: KeyEventSink = { record: () => undefined };
