import type { AuditEventType } from '@causeway/audit';
import type { AuditDetails } from '../../audit/audit.service';

/** The anomaly rules. Each raises its own audit event type. */
export type AlertRule = 'download.outside_networks' | 'download.volume' | 'sign_in.burst';

export const ALERT_EVENT_OF: Readonly<Record<AlertRule, AuditEventType>> = {
  'download.outside_networks': 'alert.download.outside_networks',
  'download.volume': 'alert.download.volume',
  'sign_in.burst': 'alert.sign_in.burst',
};

/** What a rule found: the rule, whom or what it is about (the cool-down key), and the facts. */
export interface AlertCandidate {
  rule: AlertRule;
  /** `user:<id>`, `email:<address>`, `ip:<address>`: one alert per rule and subject per cool-down. */
  subject: string;
  details: AuditDetails;
}
