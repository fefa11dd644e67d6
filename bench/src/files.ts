import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { get as httpGet, request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import * as tus from 'tus-js-client';
import { LocalDiskStore } from '@causeway/node/dist/storage/local-disk-store';
import type { Ready } from './files-child';
import { formatTable } from './load';

const MiB = 1024 * 1024;
/** Bytes per tus PATCH: large, so that the per-request overhead is small. */
const TUS_CHUNK = 64 * MiB;
/** Bytes per chunk of the generated source. */
const SOURCE_CHUNK = MiB;
const DEFAULT_MIB = 1024;
/** Set-up (database, enrolment, workspace) is given this long. */
const SETUP_MS = 120_000;
/** The whole benchmark is ended after this long. */
export const FILES_HARD_LIMIT_MS = 600_000;

interface Transfer {
  bytes: number;
  elapsedMs: number;
  sha256: string;
}

/** Size of the file in bytes: CAUSEWAY_BENCH_FILES_MB MiB, 1 GiB by default. */
function benchBytes(): number {
  const raw = process.env.CAUSEWAY_BENCH_FILES_MB;
  if (raw === undefined || raw === '') return DEFAULT_MIB * MiB;
  const mib = Number(raw);
  if (!Number.isInteger(mib) || mib <= 0) {
    throw new Error(`CAUSEWAY_BENCH_FILES_MB must be a positive whole number (got "${raw}")`);
  }
  return mib * MiB;
}

/**
 * `size` bytes, generated as they are read (never all in memory): one random MiB repeated,
 * each copy stamped with its index so that no two MiB are the same. The hash is of what was
 * read.
 */
function source(size: number, hash: Hash): Readable {
  const block = randomBytes(SOURCE_CHUNK);
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: SOURCE_CHUNK,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(SOURCE_CHUNK, size - sent);
      const chunk = Buffer.allocUnsafe(length);
      block.copy(chunk, 0, 0, length);
      if (length >= 8) chunk.writeBigUInt64BE(BigInt(index), 0);
      index += 1;
      sent += length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

async function drain(stream: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    bytes += buffer.length;
    hash.update(buffer);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** VmHWM (peak resident set size) of a process, in bytes. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** CPU seconds (user + system) a process has used so far; 0 when it cannot be read. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The local RabbitMQ's Erlang VM, to show what the broker costs; undefined when not found. */
function brokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'beam.smp') return Number(entry);
    } catch {
      // The process ended meanwhile.
    }
  }
  return undefined;
}

/** CPU seconds per process over one transfer. */
interface CpuUse {
  controlPlane: number;
  node: number;
  client: number;
  broker: number;
}

function cpuNow(pids: { cp: number; node: number; broker: number | undefined }): CpuUse {
  return {
    controlPlane: cpuSeconds(pids.cp),
    node: cpuSeconds(pids.node),
    client: cpuSeconds(process.pid),
    broker: pids.broker === undefined ? 0 : cpuSeconds(pids.broker),
  };
}

function cpuSince(before: CpuUse, after: CpuUse): CpuUse {
  return {
    controlPlane: after.controlPlane - before.controlPlane,
    node: after.node - before.node,
    client: after.client - before.client,
    broker: after.broker - before.broker,
  };
}

function cpuLine(what: string, use: CpuUse): string {
  return (
    `CPU seconds during the ${what}: control plane ${use.controlPlane.toFixed(1)}, ` +
    `node ${use.node.toFixed(1)}, broker ${use.broker.toFixed(1)}, bench client ${use.client.toFixed(1)}\n`
  );
}

/**
 * Uploads a file through the whole path (tus-js-client -> control plane -> bridge stream ->
 * node -> envelope encryption -> local disk) and downloads it back over HTTP, beside a direct
 * write and read of the same number of bytes with the node's LocalDiskStore on the same
 * directory. The control plane runs in a child process of its own and the node in another, so
 * each peak RSS (VmHWM) is that process's alone. Prints a table, then `files: ratio X.XX` (the
 * lower of the upload and download ratios, whole path over direct) last.
 */
export async function runFiles(): Promise<void> {
  const size = benchBytes();
  const progress = (line: string): void => void process.stderr.write(`files: ${line}\n`);
  progress(`setting up a control plane, a node and a workspace (${size / MiB} MiB file)`);
  // The control plane's code is loaded in the child only: this process (the bench client)
  // stays small, so its garbage collections stay cheap on the CPU the transfers share.
  const cp = fork(join(__dirname, 'files-child.js'), ['--control-plane'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => cp.on('exit', (code) => resolve(code)));
  try {
    const ready = await waitForReady(cp, exited);

    // Direct: the node's own store on the node's own directory, nothing in between.
    const store = new LocalDiskStore(ready.storageDir);
    const key = `bench-direct/${randomBytes(8).toString('hex')}`;
    progress('direct write');
    const writeHash = createHash('sha256');
    let started = performance.now();
    await store.put(key, source(size, writeHash), size);
    const directWrite: Transfer = {
      bytes: size,
      elapsedMs: performance.now() - started,
      sha256: writeHash.digest('hex'),
    };
    progress('direct read');
    started = performance.now();
    const read = await drain(await store.get(key));
    const directRead: Transfer = { ...read, elapsedMs: performance.now() - started };
    await store.delete(key);
    if (read.bytes !== size || read.sha256 !== directWrite.sha256) {
      throw new Error('the direct read did not return the bytes written');
    }

    const pids = { cp: cp.pid ?? 0, node: ready.nodePid, broker: brokerPid() };
    progress('upload (tus, one streamed PATCH)');
    const beforeUpload = cpuNow(pids);
    const upload = await streamedUpload(ready, size);
    const afterUpload = cpuNow(pids);
    progress(`upload (tus-js-client, ${TUS_CHUNK / MiB} MiB PATCHes)`);
    const beforeClient = cpuNow(pids);
    const clientUpload = await tusUpload(ready, size);
    const clientCpu = cpuSince(beforeClient, cpuNow(pids));
    progress('download');
    const beforeDownload = cpuNow(pids);
    const download = await httpDownload(ready, upload.fileId);
    const uploadCpu = cpuSince(beforeUpload, afterUpload);
    const downloadCpu = cpuSince(beforeDownload, cpuNow(pids));
    if (download.bytes !== size || download.sha256 !== upload.sha256) {
      throw new Error(
        `the download (${download.bytes} bytes, SHA-256 ${download.sha256}) is not the upload ` +
          `(${size} bytes, SHA-256 ${upload.sha256})`,
      );
    }

    const cpPeak = peakRss(cp.pid ?? 0);
    const nodePeak = peakRss(ready.nodePid);
    const benchPeak = peakRss(process.pid);
    // Each PATCH's time (from the answer before it); the last one also waited for
    // `files.upload.complete` to answer.
    const patches = clientUpload.responses
      .slice(1)
      .map((at, i) => at - (clientUpload.responses[i] ?? 0));
    const lastPatch = patches.at(-1) ?? 0;
    const others = patches.slice(0, -1).sort((a, b) => a - b);
    const medianPatch = others[Math.floor(others.length / 2)] ?? 0;
    const mbs = (t: Transfer): number => t.bytes / 1e6 / (t.elapsedMs / 1000);
    const uploadRatio = mbs(upload) / mbs(directWrite);
    const clientRatio = mbs(clientUpload) / mbs(directWrite);
    const downloadRatio = mbs(download) / mbs(directRead);
    const row = (what: string, t: Transfer): string[] => [
      what,
      (t.bytes / MiB).toFixed(0),
      (t.elapsedMs / 1000).toFixed(2),
      mbs(t).toFixed(0),
    ];
    const mib = (bytes: number): string => (bytes / MiB).toFixed(0);
    process.stdout.write(
      `files: ${mib(size)} MiB, local-disk storage, SHA-256 checked end to end\n` +
        formatTable(
          ['transfer', 'MiB', 'seconds', 'MB/s'],
          [
            row('upload: http -> control plane -> bridge -> node -> disk', upload),
            row(`  the same with tus-js-client, ${TUS_CHUNK / MiB} MiB PATCHes`, clientUpload),
            row('direct write (LocalDiskStore.put)', directWrite),
            row('download: disk -> node -> bridge -> control plane -> http', download),
            row('direct read (LocalDiskStore.get)', directRead),
          ],
        ) +
        '\n' +
        `upload ratio ${uploadRatio.toFixed(2)}, download ratio ${downloadRatio.toFixed(2)} ` +
        `(whole path MB/s over direct MB/s); with tus-js-client ${clientRatio.toFixed(2)}\n` +
        `tus PATCHes: ${patches.length}, median ${(medianPatch / 1000).toFixed(2)} s, ` +
        `last ${(lastPatch / 1000).toFixed(2)} s (it includes the upload's completion)\n` +
        cpuLine('upload', uploadCpu) +
        cpuLine('tus-js-client upload', clientCpu) +
        cpuLine('download', downloadCpu) +
        `peak RSS (VmHWM): control plane ${mib(cpPeak)} MiB, node ${mib(nodePeak)} MiB, ` +
        `bench client ${mib(benchPeak)} MiB\n` +
        `files: ratio ${Math.min(uploadRatio, downloadRatio).toFixed(2)}\n`,
    );
  } finally {
    if (cp.connected) cp.send('close');
    const code = await Promise.race([
      exited,
      new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 60_000).unref()),
    ]);
    if (code === 'late') {
      cp.kill('SIGKILL');
      progress('the control plane did not clean up within 60 s; killed');
    } else if (code !== 0) {
      progress(`the control plane exited with ${String(code)}`);
    }
  }
}

/** The entry of `bench/src/main.ts`. */
export const FILES_BENCHMARK = {
  summary: 'a 1 GiB file uploaded (tus) and downloaded through the whole path against direct disk',
  run: runFiles,
  hardLimitMs: FILES_HARD_LIMIT_MS,
};

async function waitForReady(cp: ChildProcess, exited: Promise<number | null>): Promise<Ready> {
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<Ready>((resolve) => {
    cp.on('message', (message: unknown) => resolve(message as Ready));
  });
  const failed = exited.then((code) => {
    throw new Error(`the control plane exited with ${String(code)} during set-up`);
  });
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`set-up took over ${SETUP_MS} ms`)), SETUP_MS);
  });
  try {
    return await Promise.race([ready, failed, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function tusUpload(
  ready: Ready,
  size: number,
): Promise<Transfer & { fileId: string; responses: number[] }> {
  const hash = createHash('sha256');
  const started = performance.now();
  /** When each tus answer (POST, then every PATCH) came, from the start. */
  const responses: number[] = [];
  const fileId = await new Promise<string>((resolve, reject) => {
    let id: string | null = null;
    const job = new tus.Upload(source(size, hash), {
      endpoint: `${ready.url}/api/v1/workspaces/${ready.ws}/uploads`,
      uploadSize: size,
      chunkSize: TUS_CHUNK,
      retryDelays: [],
      metadata: { filename: 'bench.bin' },
      headers: { Cookie: ready.cookie },
      onAfterResponse: (_req, res) => {
        responses.push(performance.now() - started);
        id = res.getHeader('Upload-File-Id') ?? id;
      },
      onSuccess: () => (id ? resolve(id) : reject(new Error('no Upload-File-Id in the answer'))),
      onError: (error) => reject(error),
    });
    job.start();
  });
  return {
    bytes: size,
    elapsedMs: performance.now() - started,
    sha256: hash.digest('hex'),
    fileId,
    responses,
  };
}

/** Answers of one HTTP request: status, headers, and the body read to the end. */
function send(
  url: string,
  options: { method: string; headers: Record<string, string | number> },
  body?: Readable,
): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

/**
 * A tus upload the way a server-side client (or `curl`) sends it: the creation POST, then the
 * whole file as one PATCH whose body is streamed from the source, never held in memory.
 */
async function streamedUpload(ready: Ready, size: number): Promise<Transfer & { fileId: string }> {
  const hash = createHash('sha256');
  const started = performance.now();
  const created = await send(`${ready.url}/api/v1/workspaces/${ready.ws}/uploads`, {
    method: 'POST',
    headers: {
      cookie: ready.cookie,
      'Tus-Resumable': '1.0.0',
      'Upload-Length': size,
      'Upload-Metadata': `filename ${Buffer.from('bench-streamed.bin').toString('base64')}`,
    },
  });
  const location = created.headers.location;
  if (created.statusCode !== 201 || !location) {
    throw new Error(`the tus creation answered ${String(created.statusCode)}`);
  }
  const patched = await send(
    new URL(location, ready.url).toString(),
    {
      method: 'PATCH',
      headers: {
        cookie: ready.cookie,
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': 0,
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': size,
      },
    },
    source(size, hash),
  );
  const fileId = patched.headers['upload-file-id'];
  if (patched.statusCode !== 204 || typeof fileId !== 'string') {
    throw new Error(`the tus PATCH answered ${String(patched.statusCode)} without a file id`);
  }
  return {
    bytes: size,
    elapsedMs: performance.now() - started,
    sha256: hash.digest('hex'),
    fileId,
  };
}

async function httpDownload(ready: Ready, fileId: string): Promise<Transfer> {
  const started = performance.now();
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    httpGet(
      `${ready.url}/api/v1/workspaces/${ready.ws}/files/${fileId}/content`,
      { headers: { cookie: ready.cookie } },
      resolve,
    ).on('error', reject);
  });
  if (res.statusCode !== 200) {
    const body = await drain(res);
    throw new Error(`download answered ${String(res.statusCode)} (${body.bytes} bytes)`);
  }
  const got = await drain(res);
  return { ...got, elapsedMs: performance.now() - started };
}
