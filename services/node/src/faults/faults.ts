import type { BridgeFaults } from '@causeway/bridge';
import type { Logger } from 'pino';

/**
 * Fault injection for resilience tests (CAUSEWAY_FAULTS). Off unless set; the node warns at
 * start when it is on. Syntax: a comma-separated list of `crash-after-record:<method>` — the
 * process kills itself (SIGKILL, no clean-up) right after recording the completion of that
 * method, before the reply is published and the request acknowledged.
 */
export function parseFaults(spec: string | undefined, logger: Logger): BridgeFaults | undefined {
  if (!spec) return undefined;
  const crashAfter = new Set<string>();
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [kind, method] = item.split(':');
    // The syntax was validated with the configuration.
    if (kind === 'crash-after-record' && method) crashAfter.add(method);
  }
  logger.warn(
    { faults: [...crashAfter] },
    'FAULT INJECTION IS ON: this node will crash on purpose',
  );
  return {
    afterRecord(method: string) {
      if (crashAfter.has(method)) process.kill(process.pid, 'SIGKILL');
    },
  };
}
