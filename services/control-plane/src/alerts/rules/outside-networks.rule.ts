import type { AllowList } from '../../identity/allow-list/allow-list';
import type { AlertCandidate } from './alert-rule';

/** The parts of a `data.file.downloaded` event this rule reads. */
export interface DownloadSeen {
  actor: string | null;
  ip: string | null;
  workspaceId: string | null;
  fileId: string | null;
  bytes: number;
}

/**
 * A download from an address outside the tenant's trusted networks. `networks` is the tenant's
 * trusted-networks list when set, else its IP allow-list; when both are empty there is nothing
 * to compare with and the rule stays quiet. An address that cannot be read counts as outside.
 */
export function outsideNetworksAlert(
  download: DownloadSeen,
  networks: AllowList,
): AlertCandidate | undefined {
  if (networks.allowsAll) return undefined;
  if (download.ip !== null && networks.allows(download.ip)) return undefined;
  const actor = download.actor ?? 'unknown';
  return {
    rule: 'download.outside_networks',
    subject: `${actor}@${download.ip ?? 'unknown'}`,
    details: {
      user: actor,
      address: download.ip,
      workspaceId: download.workspaceId,
      fileId: download.fileId,
      bytes: download.bytes,
      networks: networks.entries.join(','),
    },
  };
}
