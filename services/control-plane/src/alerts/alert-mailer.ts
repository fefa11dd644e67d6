import * as nodemailer from 'nodemailer';
import { createSmtpTransport, type SmtpConfig } from '../identity/email-codes/mailer';
import type { AlertPayload } from './alerts.repository';
import { ALERT_TITLES } from './alerts.dto';

/** One line, short: a value from an event cannot forge headers or flood the message. */
function oneLine(value: unknown): string {
  return String(value)
    .replace(/[\r\n\t]+/g, ' ')
    .trim()
    .slice(0, 200);
}

/** The alert email: plain text, the rule, when, the facts; no secret, no link to follow. */
export function renderAlertEmail(alert: AlertPayload): { subject: string; text: string } {
  const title = ALERT_TITLES[alert.rule];
  const subject = `[Causeway] ${title} in ${oneLine(alert.tenant)}`;
  const facts = Object.entries(alert.details).map(([k, v]) => `  ${k}: ${oneLine(v)}`);
  const text = [
    `${title}.`,
    '',
    `Tenant: ${oneLine(alert.tenant)}`,
    `Event: ${alert.type}`,
    `Subject: ${oneLine(alert.subject)}`,
    `At: ${alert.occurredAt}`,
    `Alert id: ${alert.id}`,
    '',
    'Details:',
    ...facts,
    '',
    'The alert is also in the audit trail under the same id.',
    '',
  ].join('\n');
  return { subject, text };
}

/** Sends alert emails through the same relay as sign-in codes (CAUSEWAY_SMTP_URL). */
export class AlertMailer {
  private readonly transport: nodemailer.Transporter;

  constructor(private readonly config: SmtpConfig) {
    this.transport = createSmtpTransport(config);
  }

  /** Throws an error naming only the kind of failure (never the recipient or credentials). */
  async send(to: string, alert: AlertPayload): Promise<void> {
    const { subject, text } = renderAlertEmail(alert);
    try {
      await this.transport.sendMail({ from: this.config.from, to, subject, text });
    } catch (error) {
      const e = (typeof error === 'object' && error !== null ? error : {}) as {
        code?: unknown;
        responseCode?: unknown;
      };
      const kind = typeof e.code === 'string' ? e.code : 'unknown error';
      const reply = typeof e.responseCode === 'number' ? `, SMTP reply ${e.responseCode}` : '';
      throw new Error(`mail failed (${kind}${reply})`);
    }
  }

  close(): void {
    this.transport.close();
  }
}
