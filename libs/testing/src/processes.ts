import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..', '..');

/** A built service (from dist/, exactly as operators run it) started as a child process. */
export class ServiceProcess {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(script: string, env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, [join(REPO_ROOT, script), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l.length > 0));
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    // 'close', not 'exit': only then has everything the process wrote been read.
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Parsed JSON log lines (pino). */
  logs(): Array<Record<string, unknown>> {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }
}

export interface NodeProcessOptions {
  nodeId: string;
  /** The node's state directory; a fresh temporary one when omitted. */
  stateDir?: string;
  namespace: string;
  amqpUrl: string;
  heartbeatIntervalMs?: number;
  extraEnv?: Record<string, string>;
}

export function startNodeProcess(options: NodeProcessOptions): ServiceProcess {
  return new ServiceProcess('services/node/dist/main.js', {
    CAUSEWAY_NODE_ID: options.nodeId,
    CAUSEWAY_AMQP_URL: options.amqpUrl,
    CAUSEWAY_BRIDGE_NAMESPACE: options.namespace,
    CAUSEWAY_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 300),
    CAUSEWAY_STATE_DIR: options.stateDir ?? mkdtempSync(join(tmpdir(), 'causeway-node-')),
    CAUSEWAY_LOG_LEVEL: 'debug',
    ...options.extraEnv,
  });
}
