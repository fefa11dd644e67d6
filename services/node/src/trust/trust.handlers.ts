import { Inject, Injectable } from '@nestjs/common';
import type { HandlerMap } from '@causeway/bridge';
import { NodeAudit } from '../audit/node-audit';
import { TrustStore } from './trust-store';

/** Takes new control-plane signing keys (CA-signed; the trust store checks that). */
@Injectable()
export class TrustHandlers {
  constructor(
    @Inject(TrustStore) private readonly trust: TrustStore,
    @Inject(NodeAudit) private readonly audit: NodeAudit,
  ) {}

  handlers(): HandlerMap {
    return {
      'trust.update': (keySet, { logger, messageId, requestId }) => {
        let changed: boolean;
        try {
          changed = this.trust.update(keySet);
        } catch (error) {
          // Not signed by the pinned CA, another installation's, or older: recorded, refused.
          this.audit.record({
            code: 'trust.keys_refused',
            fields: {
              messageId,
              requestId,
              reason: error instanceof Error ? error.message : String(error),
            },
          });
          throw error;
        }
        if (changed) {
          this.audit.record({
            code: 'trust.keys_updated',
            fields: { version: this.trust.version },
          });
          logger.info({ version: this.trust.version }, 'control-plane signing keys updated');
        }
        return Promise.resolve({ version: this.trust.version, changed });
      },
    };
  }
}
