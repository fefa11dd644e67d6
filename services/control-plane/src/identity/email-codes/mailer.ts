import * as nodemailer from 'nodemailer';
import { EmailCodesError } from './email-codes.errors';

/** What the sign-in email may contain: the code and the tenant's name, nothing else. */
export interface SignInCodeMessage {
  tenantName: string;
  code: string;
  expiresInMinutes: number;
}

/** Sends sign-in codes. The service depends on this, not on SMTP, so it can be replaced. */
export interface Mailer {
  sendSignInCode(to: string, message: SignInCodeMessage): Promise<void>;
}

/** SMTP settings, validated at boot with the rest of the configuration. `auth.pass` is secret. */
export interface SmtpConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** Refuse to send without STARTTLS when `secure` is false. */
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  /** The From address, e.g. `Causeway <no-reply@example.com>`. */
  from: string;
  /** Give up connecting, greeting or sending after this long. Default 10 s. */
  timeoutMs?: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Keeps a tenant name on one line and short, so it cannot forge headers or flood the mail. */
function oneLine(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .trim()
    .slice(0, 100);
}

/** The plain-text and HTML bodies; exported so tests can check what is (not) in them. */
export function renderSignInCode(message: SignInCodeMessage): {
  subject: string;
  text: string;
  html: string;
} {
  const tenant = oneLine(message.tenantName);
  const minutes = message.expiresInMinutes;
  const subject = `Your sign-in code for ${tenant}`;
  const text = [
    `Your sign-in code for ${tenant} is:`,
    '',
    message.code,
    '',
    `It expires in ${minutes} minutes and works once.`,
    'If you did not ask to sign in, you can ignore this email.',
    '',
  ].join('\n');
  const html = [
    '<!doctype html><html><body>',
    `<p>Your sign-in code for ${escapeHtml(tenant)} is:</p>`,
    `<p style="font-size:24px;font-family:monospace;letter-spacing:4px"><strong>${escapeHtml(message.code)}</strong></p>`,
    `<p>It expires in ${minutes} minutes and works once.</p>`,
    '<p>If you did not ask to sign in, you can ignore this email.</p>',
    '</body></html>',
  ].join('');
  return { subject, text, html };
}

/**
 * A Mailer over SMTP with nodemailer. A failure becomes `mail_failed` naming only the kind of
 * failure (nodemailer's error code and the SMTP reply code), never the message, recipient or
 * credentials.
 */
export class SmtpMailer implements Mailer {
  private readonly transport: nodemailer.Transporter;

  constructor(private readonly config: SmtpConfig) {
    const timeout = config.timeoutMs ?? 10_000;
    this.transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: config.requireTls ?? false,
      auth: config.auth,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
      debug: false,
    });
  }

  async sendSignInCode(to: string, message: SignInCodeMessage): Promise<void> {
    const { subject, text, html } = renderSignInCode(message);
    try {
      await this.transport.sendMail({ from: this.config.from, to, subject, text, html });
    } catch (error) {
      throw new EmailCodesError('mail_failed', describeSmtpFailure(error, this.config));
    }
  }

  /** Closes pooled connections (none by default); for orderly shutdown and tests. */
  close(): void {
    this.transport.close();
  }
}

function describeSmtpFailure(error: unknown, config: SmtpConfig): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    responseCode?: unknown;
  };
  const kind = typeof e.code === 'string' ? e.code : 'unknown error';
  const reply = typeof e.responseCode === 'number' ? `, SMTP reply ${e.responseCode}` : '';
  return `(SMTP ${config.host}:${config.port}: ${kind}${reply})`;
}
