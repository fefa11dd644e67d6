import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One message the capture server accepted, parsed. */
export interface CapturedMail {
  /** Envelope recipients (RCPT TO), lower-cased. */
  to: string[];
  /** Envelope sender (MAIL FROM). */
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The parsed message, for assertions on headers. */
  parsed: ParsedMail;
}

/** A running SMTP server on 127.0.0.1 that keeps every message it receives. */
export interface SmtpCapture {
  host: string;
  port: number;
  /** The username and password the server accepts (AUTH PLAIN/LOGIN over plain text). */
  auth: { user: string; pass: string };
  readonly messages: readonly CapturedMail[];
  /** Resolves with the first message to `to` not yet returned by an earlier call. */
  waitForMail(to: string, timeoutMs?: number): Promise<CapturedMail>;
  stop(): Promise<void>;
}

export interface SmtpCaptureOptions {
  /** Refuse every message with this SMTP reply text, to test how senders report failures. */
  rejectWith?: string;
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}

/**
 * Starts an in-process SMTP server on a random local port. Tests send mail to it through the
 * real nodemailer transport and read the codes back from what it captured, so the whole path
 * (rendering, SMTP dialogue, MIME) is exercised, not a mock.
 */
export async function startSmtpCapture(options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const delivered = new Set<CapturedMail>();
  const auth = { user: 'causeway-test', pass: 'smtp-test-password' };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(login, _session, callback) {
      if (login.username === auth.user && login.password === auth.pass) {
        callback(null, { user: login.username });
      } else {
        callback(new Error('Invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      if (options.rejectWith) {
        stream.resume();
        stream.on('end', () => {
          const err = new Error(options.rejectWith) as Error & { responseCode: number };
          err.responseCode = 554;
          callback(err);
        });
        return;
      }
      simpleParser(stream)
        .then((parsed) => {
          const envelopeTo = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          messages.push({
            to: envelopeTo.length ? envelopeTo : addressesOf(parsed.to),
            from,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            parsed,
          });
          callback();
        })
        .catch((error: unknown) =>
          callback(error instanceof Error ? error : new Error(String(error))),
        );
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    auth,
    messages,
    async waitForMail(to, timeoutMs = 5_000) {
      const wanted = to.toLowerCase();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find((m) => !delivered.has(m) && m.to.includes(wanted));
        if (found) {
          delivered.add(found);
          return found;
        }
        if (Date.now() > deadline) {
          throw new Error(`no mail to ${to} arrived within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
