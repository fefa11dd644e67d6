import { newWebhookSecret, signWebhook, verifyWebhookSignature } from './webhook-signature';
import { retryDelayMs } from './alert-delivery.service';

describe('webhook signatures', () => {
  const secret = newWebhookSecret();
  const at = new Date('2026-03-01T12:00:00Z');
  const body = JSON.stringify({ id: 'a1', type: 'alert.sign_in.burst' });

  it('verifies a signed body with the secret', () => {
    const header = signWebhook(secret, body, at);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(secret, header, body, at)).toBe(true);
  });

  it('refuses a tampered body, another secret, a stale timestamp and no header', () => {
    const header = signWebhook(secret, body, at);
    expect(verifyWebhookSignature(secret, header, body.replace('a1', 'a2'), at)).toBe(false);
    expect(verifyWebhookSignature(newWebhookSecret(), header, body, at)).toBe(false);
    const later = new Date(at.getTime() + 301_000);
    expect(verifyWebhookSignature(secret, header, body, later)).toBe(false);
    expect(verifyWebhookSignature(secret, undefined, body, at)).toBe(false);
    expect(verifyWebhookSignature(secret, 'v1=00,t=x', body, at)).toBe(false);
  });

  it('makes a fresh secret each time', () => {
    expect(newWebhookSecret()).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(secret);
  });
});

describe('delivery retries', () => {
  it('back off exponentially with jitter, capped at an hour', () => {
    expect(retryDelayMs(1, 1000, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, () => 1)).toBe(4000);
    expect(retryDelayMs(3, 1000, () => 0)).toBe(2000);
    expect(retryDelayMs(40, 1000, () => 1)).toBe(3_600_000);
  });
});
