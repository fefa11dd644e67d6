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

/** What an invitation email may contain: who invites whom to what, and where to sign in. */
export interface InvitationMessage {
  tenantName: string;
  workspaceName: string;
  /** The inviter as people know them (display name or address). */
  inviter: string;
  /** The tenant's sign-in page: `${publicUrl}/api/v1/auth/<tenant>/methods`. */
  signInUrl: string;
  expiresAt: Date;
}

/**
 * Sends partner invitations. Separate from `Mailer` so that code which only sends sign-in codes
 * (and its test doubles) need not implement it; `SmtpMailer` does both.
 */
export interface InvitationMailer {
  sendInvitation(to: string, message: InvitationMessage): Promise<void>;
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

/** The invitation's plain-text and HTML bodies; every value from people is escaped in HTML. */
export function renderInvitation(message: InvitationMessage): {
  subject: string;
  text: string;
  html: string;
} {
  const tenant = oneLine(message.tenantName);
  const workspace = oneLine(message.workspaceName);
  const inviter = oneLine(message.inviter);
  const url = oneLine(message.signInUrl);
  const expires = message.expiresAt.toISOString().slice(0, 10);
  const subject = `${tenant} invites you to the workspace ${workspace}`;
  const text = [
    `${inviter} invited you to the workspace "${workspace}" of ${tenant} on Causeway.`,
    '',
    'Sign in here, with a code sent to this address or with your own company sign-in:',
    url,
    '',
    `Sign in before ${expires}: the invitation ends then if it was not used.`,
    'If you did not expect this invitation, you can ignore this email.',
    '',
  ].join('\n');
  const html = [
    '<!doctype html><html><body>',
    `<p>${escapeHtml(inviter)} invited you to the workspace &quot;${escapeHtml(workspace)}&quot; of ${escapeHtml(tenant)} on Causeway.</p>`,
    '<p>Sign in here, with a code sent to this address or with your own company sign-in:</p>',
    `<p><a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p>`,
    `<p>Sign in before ${escapeHtml(expires)}: the invitation ends then if it was not used.</p>`,
    '<p>If you did not expect this invitation, you can ignore this email.</p>',
    '</body></html>',
  ].join('');
  return { subject, text, html };
}

/** The one nodemailer transport set-up for Causeway's relay: timeouts on, nodemailer's logging off. */
export function createSmtpTransport(config: SmtpConfig): nodemailer.Transporter {
  const timeout = config.timeoutMs ?? 10_000;
  return nodemailer.createTransport({
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

/**
 * A Mailer over SMTP with nodemailer. A failure becomes `mail_failed` naming only the kind of
 * failure (nodemailer's error code and the SMTP reply code), never the message, recipient or
 * credentials.
 */
export class SmtpMailer implements Mailer, InvitationMailer {
  private readonly transport: nodemailer.Transporter;

  constructor(private readonly config: SmtpConfig) {
    this.transport = createSmtpTransport(config);
  }

  async sendSignInCode(to: string, message: SignInCodeMessage): Promise<void> {
    const { subject, text, html } = renderSignInCode(message);
    try {
      await this.transport.sendMail({ from: this.config.from, to, subject, text, html });
    } catch (error) {
      throw new EmailCodesError('mail_failed', describeSmtpFailure(error, this.config));
    }
  }

  async sendInvitation(to: string, message: InvitationMessage): Promise<void> {
    const { subject, text, html } = renderInvitation(message);
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
