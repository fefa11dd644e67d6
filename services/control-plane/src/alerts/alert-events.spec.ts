import { AuditDetailsError, checkAuditDetails } from '@causeway/audit';
import { AllowList } from '../identity/allow-list/allow-list';
import { ALERT_EVENT_OF, type AlertCandidate } from './rules/alert-rule';
import { downloadVolumeAlert } from './rules/download-volume.rule';
import { outsideNetworksAlert } from './rules/outside-networks.rule';
import { signInBurstAlerts } from './rules/sign-in-burst.rule';

/** The details AlertsService records for a candidate. */
const recorded = (c: AlertCandidate) => ({
  alertId: '4b0c6f0e-0000-4000-8000-000000000000',
  rule: c.rule,
  subject: c.subject,
  ...c.details,
});

const GiB = 1024 ** 3;
const candidates: AlertCandidate[] = [
  outsideNetworksAlert(
    { actor: 'user:u1', ip: '203.0.113.9', workspaceId: 'w1', fileId: 'f1', bytes: 12 },
    AllowList.parse(['10.0.0.0/8']),
  )!,
  outsideNetworksAlert(
    { actor: null, ip: null, workspaceId: null, fileId: null, bytes: 0 },
    AllowList.parse(['10.0.0.0/8']),
  )!,
  downloadVolumeAlert(
    { actor: 'user:u1', windowBytes: 20 * GiB, baselineBytes: 3 * GiB },
    { multiplier: 10, floorBytes: GiB },
  )!,
  ...signInBurstAlerts({ actor: 'email:a@acme.test', ip: '::1', byActor: 10, byIp: 10 }, 10),
];

describe('alert audit events match their catalogue entries', () => {
  it.each(candidates.map((c) => [c.subject, c] as const))(
    'what the rules raise (%s) is recorded as is',
    (_s, c) => {
      expect(() => checkAuditDetails(ALERT_EVENT_OF[c.rule], recorded(c))).not.toThrow();
    },
  );

  it.each([
    ['webhookSecret', 'whsec_abc'],
    ['signature', 't=1,v1=ab'],
    ['webhookUrl', 'https://hooks.example.com/?token=x'],
  ])('refuses a %s field in any alert event', (field, value) => {
    for (const c of candidates) {
      expect(() =>
        checkAuditDetails(ALERT_EVENT_OF[c.rule], { ...recorded(c), [field]: value }),
      ).toThrow(AuditDetailsError);
    }
    expect(() =>
      checkAuditDetails('alert.delivery.failed', {
        alertId: 'a1',
        channel: 'webhook',
        attempts: 8,
        error: 'webhook answered 500',
        [field]: value,
      }),
    ).toThrow(AuditDetailsError);
    expect(() =>
      checkAuditDetails('config.alert_settings.changed', {
        webhookHost: 'hooks.example.com',
        emails: 1,
        trustedNetworks: '',
        secretGenerated: true,
        [field]: value,
      }),
    ).toThrow(AuditDetailsError);
  });

  it("refuses an alert recorded under another rule's event, or a burst naming both", () => {
    const volume = candidates[2];
    expect(() => checkAuditDetails('alert.sign_in.burst', recorded(volume))).toThrow(
      AuditDetailsError,
    );
    const burst = candidates[3];
    expect(() =>
      checkAuditDetails('alert.sign_in.burst', { ...recorded(burst), address: '::1' }),
    ).toThrow(AuditDetailsError);
  });
});
