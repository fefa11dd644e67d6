import { AllowList } from '../../identity/allow-list/allow-list';
import { outsideNetworksAlert, type DownloadSeen } from './outside-networks.rule';

const download = (ip: string | null): DownloadSeen => ({
  actor: 'user:u1',
  ip,
  workspaceId: 'w1',
  fileId: 'f1',
  bytes: 1234,
});

describe('rule: download from outside the trusted networks', () => {
  const office = AllowList.parse(['10.0.0.0/8', '2001:db8::/32']);

  it('fires for an address outside every network, keyed by user and address', () => {
    const alert = outsideNetworksAlert(download('203.0.113.9'), office);
    expect(alert).toMatchObject({
      rule: 'download.outside_networks',
      subject: 'user:u1@203.0.113.9',
      details: { user: 'user:u1', address: '203.0.113.9', fileId: 'f1', bytes: 1234 },
    });
  });

  it('fires when the address is unknown or unreadable', () => {
    expect(outsideNetworksAlert(download(null), office)).toBeDefined();
    expect(outsideNetworksAlert(download('not-an-ip'), office)).toBeDefined();
  });

  it('stays quiet for addresses inside the networks (IPv4, IPv6, IPv4-mapped)', () => {
    expect(outsideNetworksAlert(download('10.1.2.3'), office)).toBeUndefined();
    expect(outsideNetworksAlert(download('2001:db8::7'), office)).toBeUndefined();
    expect(outsideNetworksAlert(download('::ffff:10.9.9.9'), office)).toBeUndefined();
  });

  it('stays quiet when the tenant has no networks to compare with', () => {
    expect(outsideNetworksAlert(download('203.0.113.9'), AllowList.open)).toBeUndefined();
  });
});
