import { signInBurstAlerts } from './sign-in-burst.rule';

describe('rule: burst of failed sign-ins', () => {
  it('fires per account when one address is guessed at', () => {
    const found = signInBurstAlerts(
      { actor: 'email:a@acme.test', ip: '198.51.100.1', byActor: 10, byIp: 3 },
      10,
    );
    expect(found).toEqual([
      expect.objectContaining({
        rule: 'sign_in.burst',
        subject: 'email:a@acme.test',
        details: expect.objectContaining({ by: 'account', failures: 10 }) as unknown,
      }),
    ]);
  });

  it('fires per IP when one address sprays many accounts', () => {
    const found = signInBurstAlerts(
      { actor: 'email:z@acme.test', ip: '198.51.100.2', byActor: 1, byIp: 12 },
      10,
    );
    expect(found.map((f) => f.subject)).toEqual(['ip:198.51.100.2']);
  });

  it('stays quiet below the threshold (a few typos)', () => {
    expect(
      signInBurstAlerts({ actor: 'email:a@acme.test', ip: '10.0.0.1', byActor: 9, byIp: 9 }, 10),
    ).toEqual([]);
    expect(signInBurstAlerts({ actor: null, ip: null, byActor: 50, byIp: 50 }, 10)).toEqual([]);
  });
});
