import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import amqplib from 'amqplib';

export interface RabbitMqInstanceOptions {
  /** Enable rabbitmq_management on 127.0.0.1 (adds a few seconds to every start). */
  managementPlugin?: boolean;
  /** Bound on each start (first start, startAgain, restart). Default 60 000 ms. */
  startTimeoutMs?: number;
  /** Directory holding the real `rabbitmq-server` / `rabbitmqctl` scripts. Auto-detected. */
  binDir?: string;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
/** rabbitmqctl's own distribution ports (RABBITMQ_CTL_DIST_PORT_MIN..MAX); never pick them. */
const CLI_DIST_PORTS = { min: 35672, max: 35682 };
const RESERVED_PORTS = new Set([4369, 5672, 5671, 15672, 25672]);

/**
 * Runs beside each instance with a pipe from the test process on stdin. The kernel closes that
 * pipe however the test process ends (even SIGKILL, or a Jest worker being torn down), and then
 * this kills every process of the node (found by RABBITMQ_NODENAME in its environment) and
 * removes the directory. destroy() writes "done" first, which makes it exit quietly.
 */
const WATCHDOG_SCRIPT = `trap '' INT HUP
node="$1"; dir="$2"
IFS= read -r line
[ "$line" = done ] && exit 0
for p in /proc/[0-9]*; do
  grep -qzxF "RABBITMQ_NODENAME=$node" "$p/environ" 2>/dev/null && kill -9 "\${p#/proc/}" 2>/dev/null
done
rm -rf "$dir"
`;

const live = new Set<RabbitMqInstance>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const instance of live) instance.killSync();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function findBinDir(explicit?: string): string {
  const candidates = [
    explicit,
    process.env.RABBITMQ_BIN_DIR,
    '/usr/lib/rabbitmq/bin',
    '/usr/local/lib/rabbitmq/bin',
    // A PATH entry last: on Debian /usr/sbin only holds wrappers that `su` to the rabbitmq user.
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d.length > 0),
  ];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'rabbitmq-server')) && existsSync(join(dir, 'rabbitmqctl'))) {
      return dir;
    }
  }
  throw new Error('RabbitMqInstance: rabbitmq-server not found (set RABBITMQ_BIN_DIR)');
}

/** Distinct free TCP ports on 127.0.0.1, all held open together so they cannot repeat. */
async function freePorts(count: number): Promise<number[]> {
  const held: Array<ReturnType<typeof createServer>> = [];
  const ports: number[] = [];
  try {
    for (let attempts = 0; ports.length < count; attempts++) {
      if (attempts > count * 20) throw new Error('RabbitMqInstance: no free TCP ports found');
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      held.push(server);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const cliRange = port >= CLI_DIST_PORTS.min && port <= CLI_DIST_PORTS.max;
      if (port > 0 && !cliRange && !RESERVED_PORTS.has(port) && !ports.includes(port)) {
        ports.push(port);
      }
    }
    return ports;
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** True when nothing listens on 127.0.0.1:port and we could bind it. */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portIsOpen(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Direct children of `parent` (Linux /proc); empty elsewhere. */
function childPids(parent: number | undefined): number[] {
  if (parent === undefined) return [];
  const found: number[] = [];
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
        // "pid (comm) state ppid ...": comm may contain spaces, so parse after the last ')'.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === parent) found.push(Number(entry));
      } catch {
        // raced with an exiting process
      }
    }
  } catch {
    // no /proc
  }
  return found;
}

function tailOf(path: string, lines: number): string {
  try {
    const all = readFileSync(path, 'utf8').split('\n');
    return all.slice(-lines).join('\n').trim();
  } catch {
    return '(none)';
  }
}

/**
 * A private RabbitMQ server for one test file: its own node name, ports, Erlang cookie and data
 * directory, so fault tests can stop, restart or SIGKILL the broker without disturbing the shared
 * one on 5672. It registers with the machine's epmd (shared by all nodes, started on demand by
 * Erlang if absent) but never talks to any other node.
 *
 * Tests MUST call `destroy()` (typically in `afterAll`). As a safety net, a normal exit of the
 * test process SIGKILLs any instance still running and removes its directory; an abnormal end
 * (SIGKILL of the test process) can still leave a broker behind.
 *
 * ```ts
 * let rabbit: RabbitMqInstance;
 * beforeAll(async () => { rabbit = await RabbitMqInstance.start(); });
 * afterAll(async () => { await rabbit?.destroy(); });
 * ```
 */
export class RabbitMqInstance {
  /** Milliseconds the most recent start / startAgain took until the broker accepted AMQP. */
  lastStartMs = 0;
  /** Milliseconds the most recent stop took. */
  lastStopMs = 0;

  private child: ChildProcess | undefined;
  private childExited: Promise<void> = Promise.resolve();
  private beamPid: number | undefined;
  private watchdog: ChildProcess | undefined;
  private destroyed = false;

  private constructor(
    readonly nodeName: string,
    readonly amqpPort: number,
    readonly distPort: number,
    readonly managementPort: number | undefined,
    /** The instance's own directory: data, logs, config, cookie. Removed by destroy(). */
    readonly dir: string,
    private readonly binDir: string,
    private readonly startTimeoutMs: number,
  ) {}

  /** Starts a fresh broker on free ports; retries with new ports if one was taken meanwhile. */
  static async start(options: RabbitMqInstanceOptions = {}): Promise<RabbitMqInstance> {
    const binDir = findBinDir(options.binDir);
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const ports = await freePorts(options.managementPlugin ? 3 : 2);
      const dir = await mkdtemp(join(tmpdir(), 'cw-rabbitmq-'));
      const instance = new RabbitMqInstance(
        `cw-${randomBytes(6).toString('hex')}@localhost`,
        ports[0],
        ports[1],
        options.managementPlugin ? ports[2] : undefined,
        dir,
        binDir,
        timeoutMs,
      );
      try {
        instance.startWatchdog();
        await instance.writeFiles();
        await instance.launch(Math.max(deadline - Date.now(), 1_000));
        return instance;
      } catch (error) {
        await instance.destroy().catch(() => undefined);
        // A port picked above was taken before the broker bound it: try again with new ones.
        const portClash = /eaddrinuse|dist_port_already_used|address already in use/i.test(
          errorText(error),
        );
        if (!portClash || attempt >= 3 || Date.now() > deadline - 5_000) throw error;
      }
    }
  }

  get amqpUrl(): string {
    return `amqp://guest:guest@127.0.0.1:${this.amqpPort}`;
  }

  /** http://127.0.0.1:<port> when started with `managementPlugin: true`. */
  get managementUrl(): string | undefined {
    return this.managementPort === undefined
      ? undefined
      : `http://127.0.0.1:${this.managementPort}`;
  }

  /** Whether the broker's OS process is up (it may still be booting or shutting down). */
  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** The Erlang VM's OS pid while running. */
  get pid(): number | undefined {
    return this.running ? this.beamPid : undefined;
  }

  /** Graceful `rabbitmqctl stop`: broker app and Erlang VM of this node only; data dir kept. */
  async stop(): Promise<void> {
    this.assertUsable();
    if (!this.running) return;
    const started = Date.now();
    const pidFile = this.path('rabbitmq.pid');
    if (this.managementPort !== undefined) {
      // RabbitMQ < 3.13 spends 5 s at shutdown in this handler's terminate (rabbitmq-server
      // PR #11070); removing it while the node still runs normally takes milliseconds.
      await this.ctl(
        ['eval', 'gen_event:delete_handler(rabbit_event, rabbit_mgmt_db_handler, []).'],
        10_000,
      ).catch(() => undefined);
    }
    try {
      // With a pid file, `stop` waits for the OS process to exit, not just for the app to stop.
      await this.ctl(['stop', ...(existsSync(pidFile) ? [pidFile] : [])], STOP_TIMEOUT_MS);
    } catch {
      this.signal('SIGTERM');
    }
    if (!(await this.waitForExit(STOP_TIMEOUT_MS))) {
      this.signal('SIGKILL');
      await this.waitForExit(5_000);
    }
    this.lastStopMs = Date.now() - started;
  }

  /** Starts the stopped (or killed) broker again: same node name, ports and data directory. */
  async startAgain(): Promise<void> {
    this.assertUsable();
    if (this.running) throw new Error(`RabbitMqInstance ${this.nodeName} is already running`);
    const deadline = Date.now() + 10_000;
    for (const port of this.ports()) {
      while (!(await portIsFree(port))) {
        if (Date.now() > deadline) {
          throw new Error(
            `RabbitMqInstance ${this.nodeName}: port ${port} is taken by someone else`,
          );
        }
        await sleep(200);
      }
    }
    await this.launch(this.startTimeoutMs);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  /** SIGKILLs the Erlang VM (a crash: no clean shutdown). `startAgain()` works afterwards. */
  async kill(): Promise<void> {
    this.assertUsable();
    if (!this.running) return;
    this.signal('SIGKILL');
    await this.waitForExit(10_000);
  }

  /** Stops the broker if running and deletes its directory. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    try {
      if (this.running) await this.stop();
    } catch {
      this.signal('SIGKILL');
      await this.waitForExit(5_000);
    } finally {
      this.destroyed = true;
      live.delete(this);
      await rm(this.dir, { recursive: true, force: true });
      this.stopWatchdog();
    }
  }

  /** The last lines of the broker's log and console output, for failure messages. */
  logTail(lines = 40): string {
    return [
      `--- ${this.nodeName}.log (tail) ---`,
      tailOf(this.logFile, lines),
      '--- console (tail) ---',
      tailOf(this.path('console.log'), Math.ceil(lines / 2)),
    ].join('\n');
  }

  /** Runs `rabbitmqctl -n <node> ...args` against this node; resolves with stdout. */
  async ctl(args: string[], timeoutMs = 30_000): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      execFile(
        join(this.binDir, 'rabbitmqctl'),
        ['-n', this.nodeName, ...args],
        { cwd: this.dir, env: this.env(), timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const why = error.killed ? `timed out after ${timeoutMs} ms` : `exit ${error.code}`;
          const output = `${stdout}\n${stderr}`.trim();
          reject(new Error(`rabbitmqctl ${args.join(' ')}: ${why}\n${output}`));
        },
      );
    });
  }

  /** @internal Last resort on process exit: SIGKILL the VM, remove the directory (sync). */
  killSync(): void {
    this.signal('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
    this.stopWatchdog();
  }

  private startWatchdog(): void {
    const watchdog = spawn(
      '/bin/sh',
      ['-c', WATCHDOG_SCRIPT, 'cw-rabbitmq-watchdog', this.nodeName, this.dir],
      {
        // Own session: a Ctrl-C on the test run must not kill it before it has cleaned up.
        detached: true,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
    watchdog.once('error', () => undefined);
    watchdog.stdin?.on('error', () => undefined);
    // Neither the watchdog nor its pipe may keep the test process alive.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.watchdog = watchdog;
  }

  private stopWatchdog(): void {
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    if (watchdog === undefined || watchdog.exitCode !== null) return;
    try {
      watchdog.stdin?.end('done\n');
    } catch {
      // pipe already closed
    }
  }

  private ports(): number[] {
    return [this.amqpPort, this.distPort, ...(this.managementPort ? [this.managementPort] : [])];
  }

  private path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  private assertUsable(): void {
    if (this.destroyed) throw new Error(`RabbitMqInstance ${this.nodeName} was destroyed`);
  }

  private async writeFiles(): Promise<void> {
    await mkdir(this.path('mnesia'), { recursive: true });
    await mkdir(this.path('log'), { recursive: true });
    await mkdir(this.path('conf.d'), { recursive: true });
    // A private cookie (HOME points here) for this node and the rabbitmqctl calls that manage it.
    await writeFile(this.path('.erlang.cookie'), randomBytes(16).toString('hex').toUpperCase(), {
      mode: 0o400,
    });
    // Replaces /etc/rabbitmq/rabbitmq-env.conf, which names the shared node.
    await writeFile(
      this.path('rabbitmq-env.conf'),
      '# private test instance: all settings in env\n',
    );
    const plugins = this.managementPort === undefined ? '[].' : '[rabbitmq_management].';
    await writeFile(this.path('enabled_plugins'), `${plugins}\n`);
    const conf = [
      // guest may log in from loopback only (the default); everything here is on 127.0.0.1.
      'loopback_users.guest = true',
      // Flow control threshold (RabbitMQ's own accounting), not a hard limit.
      'vm_memory_high_watermark.absolute = 512MiB',
      'disk_free_limit.absolute = 50MB',
      // The quorum-queue write-ahead log is kept in memory up to this size (default 512 MiB).
      'raft.wal_max_size_bytes = 33554432',
      'log.file.level = info',
      'log.console = false',
      ...(this.managementPort === undefined
        ? []
        : [
            `management.tcp.port = ${this.managementPort}`,
            'management.tcp.ip = 127.0.0.1',
            'management.rates_mode = none',
          ]),
    ];
    await writeFile(this.path('rabbitmq.conf'), `${conf.join('\n')}\n`);
  }

  private env(): NodeJS.ProcessEnv {
    // A clean environment: nothing from the caller's RABBITMQ_* / ERL_* leaks in.
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      HOME: this.dir,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      ERL_EPMD_ADDRESS: '127.0.0.1',
      ERL_CRASH_DUMP: this.path('erl_crash.dump'),
      RABBITMQ_CONF_ENV_FILE: this.path('rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_USE_LONGNAME: 'false',
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.amqpPort),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: this.path('mnesia'),
      RABBITMQ_LOG_BASE: this.path('log'),
      RABBITMQ_CONFIG_FILE: this.path('rabbitmq.conf'),
      RABBITMQ_CONFIG_FILES: this.path('conf.d'),
      RABBITMQ_ADVANCED_CONFIG_FILE: this.path('advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: this.path('enabled_plugins'),
      RABBITMQ_PID_FILE: this.path('rabbitmq.pid'),
      RABBITMQ_MOTD_FILE: this.path('motd'),
      // Fewer process slots than the 1M default; distribution only on loopback.
      RABBITMQ_MAX_NUMBER_OF_PROCESSES: '131072',
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  private async launch(timeoutMs: number): Promise<void> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    const pidFile = this.path('rabbitmq.pid');
    await unlink(pidFile).catch(() => undefined);
    this.beamPid = undefined;

    const out = openSync(this.path('console.log'), 'a');
    let child: ChildProcess;
    try {
      // Foreground mode: the script traps SIGTERM/SIGINT (e.g. Ctrl-C on the test run) and shuts
      // the node down; -detached would lose that and the early-exit detection below.
      child = spawn(join(this.binDir, 'rabbitmq-server'), [], {
        cwd: this.dir,
        env: this.env(),
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    this.child = child;
    this.childExited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.once('error', () => undefined);
    // Never keep the test process alive for the broker's sake; the exit hook cleans up.
    child.unref();
    live.add(this);
    installExitHook();

    const fail = async (what: string, cause?: unknown): Promise<never> => {
      this.signal('SIGKILL');
      await this.waitForExit(5_000);
      const because = cause === undefined ? '' : `: ${errorText(cause)}`;
      throw new Error(
        `RabbitMqInstance ${this.nodeName} (amqp ${this.amqpPort}, dist ${this.distPort}` +
          `${this.managementPort ? `, http ${this.managementPort}` : ''}) ${what}` +
          ` after ${Date.now() - started} ms${because}\n${this.logTail()}`,
      );
    };

    // 1. Node booted: the pid file appears early, then await_startup blocks until rabbit runs.
    let lastError: unknown;
    for (;;) {
      if (!this.running) return fail('exited during startup', lastError);
      const remaining = deadline - Date.now();
      if (remaining <= 0) return fail('did not start in time', lastError);
      if (existsSync(pidFile)) {
        try {
          const seconds = Math.max(1, Math.floor(remaining / 1000));
          await this.ctl(['await_startup', '--timeout', String(seconds)], remaining + 5_000);
          break;
        } catch (error) {
          lastError = error; // not registered with epmd yet, or boot failed: look again
        }
      }
      await sleep(200);
    }
    this.beamPid = this.readBeamPid();

    // 2. The AMQP listener accepts guest.
    for (;;) {
      try {
        const connection = await amqplib.connect(this.amqpUrl, { timeout: 5_000 });
        await connection.close();
        break;
      } catch (error) {
        lastError = error;
      }
      if (!this.running) return fail('exited during startup', lastError);
      if (Date.now() > deadline) return fail('never accepted AMQP', lastError);
      await sleep(200);
    }

    // 3. The management API answers, when enabled.
    if (this.managementUrl !== undefined) {
      const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
      for (;;) {
        try {
          const res = await fetch(`${this.managementUrl}/api/overview`, {
            headers: { authorization: auth },
            signal: AbortSignal.timeout(5_000),
          });
          if (res.ok) break;
          lastError = new Error(`GET /api/overview: HTTP ${res.status}`);
        } catch (error) {
          lastError = error;
        }
        if (Date.now() > deadline) return fail('management API never answered', lastError);
        await sleep(200);
      }
    }
    this.lastStartMs = Date.now() - started;
  }

  /** The Erlang VM pid from the pid file (written early in boot, removed on clean exit). */
  private readBeamPid(): number | undefined {
    try {
      const pid = Number.parseInt(readFileSync(this.path('rabbitmq.pid'), 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0) return pid;
    } catch {
      // not written yet
    }
    return undefined;
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    const pid = this.beamPid ?? this.readBeamPid();
    const targets =
      pid !== undefined && isAlive(pid)
        ? [pid]
        : // Early in boot: whatever the script started (it becomes the VM via exec), then itself.
          [
            ...childPids(this.child?.pid),
            ...(this.child?.pid === undefined ? [] : [this.child.pid]),
          ];
    if (pid !== undefined) this.beamPid = pid;
    for (const target of targets) {
      try {
        process.kill(target, signal);
      } catch {
        // exited meanwhile
      }
    }
  }

  private async waitForExit(timeoutMs: number): Promise<boolean> {
    const beam = this.beamPid;
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      this.childExited.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!exited) return false;
    // The script waits for the VM, but be sure the VM (and its ports) are really gone.
    for (let i = 0; beam !== undefined && isAlive(beam) && i < 50; i++) await sleep(100);
    return true;
  }

  /** Absolute path of the instance's main log file. */
  get logFile(): string {
    return this.path('log', `${this.nodeName}.log`);
  }
}
