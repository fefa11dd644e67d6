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
  /**
   * Broker URL and bridge namespace. Leave both out for a node enrolled in `stateDir`: it reads
   * them (its own broker user) from node.json, and these would override it.
   */
  namespace?: string;
  amqpUrl?: string;
  heartbeatIntervalMs?: number;
  extraEnv?: Record<string, string>;
}

export function startNodeProcess(options: NodeProcessOptions): ServiceProcess {
  return new ServiceProcess('services/node/dist/main.js', {
    CAUSEWAY_NODE_ID: options.nodeId,
    ...(options.amqpUrl === undefined ? {} : { CAUSEWAY_AMQP_URL: options.amqpUrl }),
    ...(options.namespace === undefined ? {} : { CAUSEWAY_BRIDGE_NAMESPACE: options.namespace }),
    CAUSEWAY_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 300),
    CAUSEWAY_STATE_DIR: options.stateDir ?? mkdtempSync(join(tmpdir(), 'causeway-node-')),
    CAUSEWAY_LOG_LEVEL: 'debug',
    ...options.extraEnv,
  });
}

export interface EnrolNodeOptions {
  /** Base URL of a running control plane, e.g. http://127.0.0.1:PORT. */
  controlPlaneUrl: string;
  /** A one-time join token (cwj_…). */
  token: string;
  name: string;
  /** Where the node keeps its keys and node.json; a fresh temporary one when omitted. */
  stateDir?: string;
  extraEnv?: Record<string, string>;
  /** The enrolment is killed and reported as failed after this long (default 60 s). */
  timeoutMs?: number;
}

/**
 * Enrols a node the way an operator does, with `causeway-node enroll` from dist/. Resolves
 * once the CLI exited 0; the state directory then starts a node on its own
 * (`startNodeProcess({ nodeId, stateDir })`). Throws with the CLI's stderr otherwise.
 */
export async function enrolNodeProcess(
  options: EnrolNodeOptions,
): Promise<{ nodeId: string; stateDir: string }> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'causeway-node-'));
  const proc = new ServiceProcess('services/node/dist/cli/main.js', { ...options.extraEnv }, [
    'enroll',
    '--control-plane',
    options.controlPlaneUrl,
    '--token',
    options.token,
    '--name',
    options.name,
    '--state-dir',
    stateDir,
    '--json',
  ]);
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const code = await Promise.race([proc.exited, late]).finally(() => clearTimeout(timer));
  if (code === 'timeout') {
    await proc.stop();
    throw new Error(
      `causeway-node enroll did not finish within ${timeoutMs} ms: ${proc.stderr.join('')}`,
    );
  }
  if (code !== 0) {
    throw new Error(`causeway-node enroll exited with ${String(code)}: ${proc.stderr.join('')}`);
  }
  const printed = proc.lines.at(-1);
  let result: { nodeId?: unknown };
  try {
    result = JSON.parse(printed ?? '') as typeof result;
  } catch {
    throw new Error(`causeway-node enroll printed no JSON: ${proc.lines.join('\n')}`);
  }
  if (typeof result.nodeId !== 'string') {
    throw new Error(`causeway-node enroll printed no node id: ${printed ?? ''}`);
  }
  return { nodeId: result.nodeId, stateDir };
}

export interface NodeAuditEntry {
  seq: number;
  at: string;
  code: string;
  fields: Record<string, unknown>;
}

/** A node's audit trail, read with `causeway-node audit --json` as an operator would. */
export async function readNodeAudit(stateDir: string): Promise<NodeAuditEntry[]> {
  const cli = new ServiceProcess('services/node/dist/cli/main.js', {}, [
    'audit',
    '--json',
    '--state-dir',
    stateDir,
  ]);
  const code = await cli.exited;
  if (code !== 0) throw new Error(`causeway-node audit failed: ${cli.stderr.join('')}`);
  return cli.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as NodeAuditEntry);
}

/** True when `causeway-node audit verify` finds the node's hash chain intact. */
export async function nodeAuditIntact(stateDir: string): Promise<boolean> {
  const cli = new ServiceProcess('services/node/dist/cli/main.js', {}, [
    'audit',
    'verify',
    '--json',
    '--state-dir',
    stateDir,
  ]);
  return (await cli.exited) === 0;
}
