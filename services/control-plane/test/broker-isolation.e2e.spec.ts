import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import amqplib from 'amqplib';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import pino from 'pino';
import {
  BridgeClient,
  BridgeServer,
  BridgeTopology,
  DelegationMinter,
  DelegationVerifier,
  HEADER_NODE,
  HEADER_REASON,
  HeartbeatPublisher,
  MemoryReplayCache,
  MessageSigner,
  ROUTE_HEARTBEAT,
  checkNodeSignature,
  createBridgeConnection,
  type RefusedDelegation,
} from '@causeway/bridge';
import { CausewayError, delegationIssuer } from '@causeway/contracts';
import {
  generateSigningKeyPair,
  loadSigningPrivateKey,
  loadSigningPublicKey,
  randomToken,
  signingKeyId,
} from '@causeway/crypto';
import {
  TEST_AMQP_URL,
  deleteBrokerObjects,
  eventually,
  rawAmqp,
  uniqueSuffix,
} from '@causeway/testing';
import { RabbitMqManagementError } from '../src/broker-users/broker-users.errors';
import {
  BrokerUsersService,
  type NodeBrokerCredentials,
} from '../src/broker-users/broker-users.service';
import { RabbitMqManagementClient } from '../src/broker-users/rabbitmq-management.client';

/*
 * "Node A's credentials used to read or publish on node B's queue are refused by the broker",
 * on the real RabbitMQ (AMQP on 5672, management API on 15672; deploy/ensure-services.sh).
 *
 * No credential reaches the test output: passwords are compared with includes() (a failing
 * expectation prints a boolean), credentials objects print redacted, connections are opened
 * with an options object rather than a URL.
 */

const amqpUrl = new URL(TEST_AMQP_URL);
const BROKER_HOST = amqpUrl.hostname;
const BROKER_PORT = Number(amqpUrl.port || 5672);
const MANAGEMENT_URL = process.env.CAUSEWAY_AMQP_MANAGEMENT_URL ?? `http://${BROKER_HOST}:15672`;
const ADMIN_USER =
  process.env.CAUSEWAY_AMQP_MANAGEMENT_USER || decodeURIComponent(amqpUrl.username);
const ADMIN_PASSWORD =
  process.env.CAUSEWAY_AMQP_MANAGEMENT_PASSWORD || decodeURIComponent(amqpUrl.password);

type Connection = amqplib.ChannelModel;
type Channel = amqplib.ConfirmChannel;

interface Refusal {
  code: number | undefined;
  message: string;
}

/** `promise`'s value, or `fallback` after `ms`; the timer never outlives the race. */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function publishConfirmed(
  ch: Channel,
  exchange: string,
  routingKey: string,
  body: string,
  options: amqplib.Options.Publish = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, routingKey, Buffer.from(body), options, (err) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    );
  });
}

describe('broker isolation: one RabbitMQ user per node (real RabbitMQ)', () => {
  const ns = `t${uniqueSuffix()}`;
  const topology = new BridgeTopology(ns);
  const instanceId = `cp-${ns}`;
  const A = randomUUID();
  const B = randomUUID();
  const C = randomUUID(); // provisioned before its route exists
  const D = randomUUID(); // declared by the restricted control-plane user
  const E = randomUUID(); // connections closed through the management API
  const cpUser = `causeway-cp-${ns}`;
  const mgmtUser = `causeway-mgmt-${ns}`;

  const connections: Connection[] = [];
  const logLines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );

  let admin: Connection;
  let adminCh: Channel;
  let management: RabbitMqManagementClient;
  let users: BrokerUsersService;
  let credsA: NodeBrokerCredentials;
  let credsB: NodeBrokerCredentials;
  let nodeA: Connection;

  function connectAs(username: string, password: string): Promise<Connection> {
    return amqplib
      .connect({
        protocol: 'amqp',
        hostname: BROKER_HOST,
        port: BROKER_PORT,
        username,
        password,
        vhost: '/',
      })
      .then((c) => {
        c.on('error', () => undefined); // forced closes are what some tests expect
        connections.push(c);
        return c;
      });
  }

  async function channelOf(connection: Connection): Promise<Channel> {
    const ch = await connection.createConfirmChannel();
    ch.on('error', () => undefined);
    return ch;
  }

  /** Runs `op` on a fresh channel and returns how the broker refused it (channel error). */
  async function refusal(
    connection: Connection,
    op: (ch: Channel) => Promise<unknown>,
  ): Promise<Refusal> {
    const ch = await connection.createConfirmChannel();
    let channelError: (Error & { code?: number }) | undefined;
    ch.on('error', (e: Error & { code?: number }) => {
      channelError = e;
    });
    const closed = new Promise<void>((resolve) => ch.once('close', () => resolve()));
    let opError: unknown;
    try {
      await op(ch);
    } catch (e) {
      opError = e;
    }
    await within(closed, 5000, undefined);
    const error = channelError ?? (opError as (Error & { code?: number }) | undefined);
    if (!error) {
      await ch.close().catch(() => undefined);
      throw new Error('the broker accepted an operation it should refuse');
    }
    return { code: error.code, message: error.message };
  }

  beforeAll(async () => {
    admin = await rawAmqp();
    admin.on('error', () => undefined);
    adminCh = await channelOf(admin);
    await topology.assertShared(adminCh);
    await topology.assertReplyQueue(adminCh, instanceId);
    await topology.assertNodeRoute(adminCh, A);
    await topology.assertNodeRoute(adminCh, B);

    management = new RabbitMqManagementClient({
      baseUrl: MANAGEMENT_URL,
      username: ADMIN_USER,
      password: ADMIN_PASSWORD,
      vhost: '/',
      timeoutMs: 5000,
    });
    users = new BrokerUsersService(
      {
        managementUrl: MANAGEMENT_URL,
        adminUsername: ADMIN_USER,
        adminPassword: ADMIN_PASSWORD,
        namespace: ns,
      },
      logger,
    );
    await users.checkReady();
    credsA = await users.provisionNode(A);
    credsB = await users.provisionNode(B);
    nodeA = await connectAs(credsA.username, credsA.password);
  });

  afterAll(async () => {
    for (const c of connections) await c.close().catch(() => undefined);
    if (users) {
      for (const id of [A, B, C, D, E]) await users.revokeNode(id).catch(() => undefined);
    }
    if (management) {
      for (const u of [cpUser, mgmtUser]) await management.deleteUser(u).catch(() => undefined);
    }
    await admin?.close().catch(() => undefined);
    const { queues, exchanges } = topology.names([A, B, C, D], [instanceId, 'cp-probe']);
    await deleteBrokerObjects(queues, exchanges);
  });

  it('creates each node user without tags and with only its own permissions', async () => {
    expect(await management.getUser(credsA.username)).toEqual({
      name: `node-${A}`,
      tags: [],
    });
    const expected = users.permissionsOf(A);
    expect(await management.getPermissions(credsA.username)).toEqual({
      configure: expected.configure,
      write: expected.write,
      read: expected.read,
    });
    expect(credsA.password === credsB.password).toBe(false);
  });

  it('refuses a node user on the management API, and the error shows no password', async () => {
    const asNode = new RabbitMqManagementClient({
      baseUrl: MANAGEMENT_URL,
      username: credsA.username,
      password: credsA.password,
      vhost: '/',
      timeoutMs: 5000,
    });
    const error = await asNode.whoami().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RabbitMqManagementError);
    expect((error as RabbitMqManagementError).status).toBe(401);
    const shown = `${String(error)} ${JSON.stringify(error)}`;
    expect(shown.includes(credsA.password)).toBe(false);
  });

  it("runs the real node bridge under node A's user: request/reply, heartbeats, dead letters", async () => {
    const nodeConnection = createBridgeConnection({
      url: `amqp://${encodeURIComponent(credsA.username)}:${encodeURIComponent(credsA.password)}@${BROKER_HOST}:${BROKER_PORT}`,
      connectionName: `causeway-node:${A}`,
      logger,
    });
    const cpConnection = createBridgeConnection({
      url: TEST_AMQP_URL,
      connectionName: `causeway-control-plane:${instanceId}`,
      logger,
    });
    const managers: AmqpConnectionManager[] = [nodeConnection, cpConnection];

    // Real keys on both sides: the control plane signs delegations, the node its answers.
    const cpKeys = await generateSigningKeyPair();
    const cpPublic = loadSigningPublicKey(cpKeys.publicKeyPem);
    const cpKid = signingKeyId(cpPublic);
    const cpPrivate = loadSigningPrivateKey(cpKeys.privateKeyPem);
    const nodeKeys = await generateSigningKeyPair();
    const nodePublic = loadSigningPublicKey(nodeKeys.publicKeyPem);
    const nodeKid = signingKeyId(nodePublic);
    const pinned = new Map([[cpKid, cpPublic]]);
    const lookupNodeKey = (nodeId: string, kid: string) =>
      nodeId === A && kid === nodeKid ? nodePublic : undefined;
    const issuer = delegationIssuer(ns);
    const tenantId = randomUUID();
    const refusals: RefusedDelegation[] = [];

    const server = new BridgeServer({
      connection: nodeConnection,
      topology,
      nodeId: A,
      logger,
      prefetch: 4,
      handlers: {
        ping: async (payload) => ({
          pong: true as const,
          nodeId: A,
          ...(payload.echo === undefined ? {} : { echo: payload.echo }),
          at: new Date().toISOString(),
        }),
      },
      trust: {
        verifier: new DelegationVerifier({
          issuer,
          nodeId: A,
          key: (kid) => pinned.get(kid),
          replay: new MemoryReplayCache(),
        }),
        signer: new MessageSigner(loadSigningPrivateKey(nodeKeys.privateKeyPem)),
        authorize: (_method, principal) => {
          if (principal.tenantId !== tenantId)
            throw new CausewayError('forbidden', 'Not this node’s tenant.');
        },
        onRefused: (event) => void refusals.push(event),
      },
    });
    const heartbeat = new HeartbeatPublisher({
      connection: nodeConnection,
      topology,
      nodeId: A,
      version: 'test',
      intervalMs: 200,
      logger,
      signer: new MessageSigner(loadSigningPrivateKey(nodeKeys.privateKeyPem)),
    });
    const client = new BridgeClient({
      connection: cpConnection,
      topology,
      instanceId,
      logger,
      trust: {
        minter: new DelegationMinter({
          issuer,
          ttlSeconds: 30,
          activeKey: () => ({ kid: cpKid, privateKey: cpPrivate }),
        }),
        nodeKeys: lookupNodeKey,
      },
    });
    try {
      await server.start();
      heartbeat.start();
      await client.start();
      await client.ensureNodeRoute(A);

      const pong = await client.request(
        A,
        'ping',
        { echo: 'isolated' },
        {
          requestId: 'broker-isolation',
          timeoutMs: 10_000,
          principal: { subject: 'operator:test', tenantId, permissions: ['nodes.ping'] },
        },
      );
      expect(pong).toMatchObject({ pong: true, nodeId: A, echo: 'isolated' });
      expect(refusals).toEqual([]);

      // Heartbeats (routing key `heartbeat`) arrive through A's exchange.
      const beat = await eventually(
        async () => {
          const msg = await adminCh.get(topology.heartbeatQueue, { noAck: true });
          return msg && msg.fields.exchange === topology.nodeExchange(A) ? msg : undefined;
        },
        { timeoutMs: 10_000, what: 'a heartbeat from node A' },
      );
      expect(beat.fields.routingKey).toBe(ROUTE_HEARTBEAT);
      // ...signed by node A's key, as the control plane checks it.
      expect(
        await checkNodeSignature(lookupNodeKey, A, beat.content, beat.properties.headers),
      ).toBe('valid');

      // A malformed request is dead-lettered by the node (routing key `dead-letter`).
      await adminCh.purgeQueue(topology.deadLetterQueue);
      adminCh.sendToQueue(topology.nodeRpcQueue(A), Buffer.from('not json'));
      const dead = await eventually(
        async () => {
          const msg = await adminCh.get(topology.deadLetterQueue, { noAck: true });
          return msg || undefined;
        },
        { timeoutMs: 10_000, what: 'the dead letter published by node A' },
      );
      expect(dead.fields.exchange).toBe(topology.nodeExchange(A));
      expect(dead.properties.headers?.[HEADER_NODE]).toBe(A);
      expect(dead.properties.headers?.[HEADER_REASON]).toBe('invalid_json');
    } finally {
      await heartbeat.stop().catch(() => undefined);
      await server.stop().catch(() => undefined);
      await client.close().catch(() => undefined);
      for (const m of managers) await m.close().catch(() => undefined);
    }
    expect(logLines.join('').includes(credsA.password)).toBe(false);
    expect(logLines.join('').includes('channel error')).toBe(false);
  });

  it('lets node A declare, consume and publish on its own queue and exchange, as itself', async () => {
    const ch = await channelOf(nodeA);
    // Exactly what the node does on every (re)connect.
    await topology.assertNodeOwn(ch, A);

    // Consumes its own queue.
    const marker = randomUUID();
    const received = new Promise<amqplib.ConsumeMessage>((resolve) => {
      void ch.consume(topology.nodeRpcQueue(A), (msg) => {
        if (msg?.properties.messageId === marker) resolve(msg);
        if (msg) ch.ack(msg);
      });
    });
    adminCh.sendToQueue(topology.nodeRpcQueue(A), Buffer.from('{}'), { messageId: marker });
    expect((await received).content.toString()).toBe('{}');

    // Publishes to its own exchange with a confirm, carrying its own user-id.
    await adminCh.purgeQueue(topology.heartbeatQueue);
    await publishConfirmed(ch, topology.nodeExchange(A), ROUTE_HEARTBEAT, '{}', {
      messageId: marker,
      userId: credsA.username,
    });
    const msg = await eventually(
      async () => {
        const m = await adminCh.get(topology.heartbeatQueue, { noAck: true });
        return m && m.properties.messageId === marker ? m : undefined;
      },
      { timeoutMs: 5000, what: 'the message node A published' },
    );
    expect(msg.fields.exchange).toBe(topology.nodeExchange(A));
    expect(msg.properties.userId).toBe(`node-${A}`);
    await ch.close();
  });

  it('does not let a node create its own queue: the DLX argument needs write on <ns>.dead', async () => {
    const credsC = await users.provisionNode(C);
    const nodeC = await connectAs(credsC.username, credsC.password);
    const refused = await refusal(nodeC, (ch) => topology.assertNodeOwn(ch, C));
    expect(refused.code).toBe(403);
    expect(refused.message).toContain(`access to exchange '${topology.deadLetterExchange}'`);

    // Once the control plane has declared the route, the node's own declaration passes.
    await topology.assertNodeRoute(adminCh, C);
    const ch = await channelOf(nodeC);
    await expect(topology.assertNodeOwn(ch, C)).resolves.toBeUndefined();
    await ch.close();
  });

  describe('node A against everything that is not its own', () => {
    const cases: [string, (ch: Channel) => Promise<unknown>][] = [
      ["consume B's request queue", (ch) => ch.consume(topology.nodeRpcQueue(B), () => undefined)],
      ["get from B's request queue", (ch) => ch.get(topology.nodeRpcQueue(B))],
      [
        "publish to B's exchange",
        (ch) => publishConfirmed(ch, topology.nodeExchange(B), ROUTE_HEARTBEAT, '{}'),
      ],
      [
        "publish into B's queue through the default exchange",
        (ch) => publishConfirmed(ch, '', topology.nodeRpcQueue(B), '{}'),
      ],
      [
        'publish to the inbound exchange',
        (ch) => publishConfirmed(ch, topology.inboundExchange, ROUTE_HEARTBEAT, '{}'),
      ],
      [
        'publish to the dead-letter exchange',
        (ch) => publishConfirmed(ch, topology.deadLetterExchange, '', '{}'),
      ],
      [
        'publish on its own exchange with a routing key the bridge does not use',
        (ch) => publishConfirmed(ch, topology.nodeExchange(A), 'audit.events', '{}'),
      ],
      [
        "declare B's queue with the node's arguments",
        (ch) =>
          ch.assertQueue(topology.nodeRpcQueue(B), {
            durable: true,
            arguments: topology.workQueueArguments(),
          }),
      ],
      [
        "declare B's exchange",
        (ch) => ch.assertExchange(topology.nodeExchange(B), 'topic', { durable: true }),
      ],
      ["delete B's queue", (ch) => ch.deleteQueue(topology.nodeRpcQueue(B))],
      ["purge B's queue", (ch) => ch.purgeQueue(topology.nodeRpcQueue(B))],
      ["delete B's exchange", (ch) => ch.deleteExchange(topology.nodeExchange(B))],
      [
        'consume the dead-letter queue',
        (ch) => ch.consume(topology.deadLetterQueue, () => undefined),
      ],
      ['consume the heartbeat queue', (ch) => ch.consume(topology.heartbeatQueue, () => undefined)],
      [
        "consume the control plane's reply queue",
        (ch) => ch.consume(topology.replyQueue(instanceId), () => undefined),
      ],
      [
        'bind its own queue to the inbound exchange',
        (ch) => ch.bindQueue(topology.nodeRpcQueue(A), topology.inboundExchange, '#'),
      ],
      [
        'bind the inbound exchange into its own exchange',
        (ch) => ch.bindExchange(topology.nodeExchange(A), topology.inboundExchange, '#'),
      ],
      [
        'declare a queue whose name merely starts like its own',
        (ch) => ch.assertQueue(`${topology.nodeRpcQueue(A)}.x`, { durable: true }),
      ],
      ['declare a server-named queue', (ch) => ch.assertQueue('', { exclusive: true })],
    ];

    it.each(cases)('cannot %s (403 ACCESS_REFUSED)', async (_what, op) => {
      const refused = await refusal(nodeA, op);
      expect(refused.code).toBe(403);
      expect(refused.message).toContain('ACCESS_REFUSED');
      expect(refused.message).toContain(`for user 'node-${A}'`);
    });

    it("cannot claim to be B: a publish with B's user-id fails (406 PRECONDITION_FAILED)", async () => {
      const refused = await refusal(nodeA, (ch) =>
        publishConfirmed(ch, topology.nodeExchange(A), ROUTE_HEARTBEAT, '{}', {
          userId: credsB.username,
        }),
      );
      expect(refused.code).toBe(406);
      expect(refused.message).toContain('PRECONDITION_FAILED');
      expect(refused.message).toContain(`user_id property set to 'node-${B}'`);
    });

    it("left B's queue and exchange as they were", async () => {
      const q = await adminCh.checkQueue(topology.nodeRpcQueue(B));
      expect(q).toMatchObject({ messageCount: 0, consumerCount: 0 });
      await expect(adminCh.checkExchange(topology.nodeExchange(B))).resolves.toBeDefined();
    });
  });

  it('works for a control-plane user limited to the namespace (docs/operator/broker-users.md)', async () => {
    // The namespace is [a-z0-9-]: nothing in it to escape.
    const password = randomToken();
    await management.putUser(cpUser, password, '');
    await management.setPermissions(cpUser, {
      configure: `^${ns}\\..+$`,
      write: `^(${ns}\\..+|amq\\.default)$`,
      read: `^${ns}\\..+$`,
    });
    const cp = await connectAs(cpUser, password);
    const ch = await channelOf(cp);
    await topology.assertShared(ch);
    await topology.assertReplyQueue(ch, 'cp-probe');
    // Creates a node's queue (with its dead-letter exchange) and binds its exchange in.
    await topology.assertNodeRoute(ch, D);
    await publishConfirmed(ch, '', topology.nodeRpcQueue(D), '{}');
    const got = await eventually(
      async () => (await ch.get(topology.nodeRpcQueue(D), { noAck: true })) || undefined,
      { timeoutMs: 5000, what: 'the request in D’s queue' },
    );
    expect(got.content.toString()).toBe('{}');
    // ...but nothing outside the namespace.
    const refused = await refusal(cp, (c) => c.assertQueue(`x${ns}.other`, { durable: true }));
    expect(refused.code).toBe(403);
    await ch.close();
  });

  it('needs the administrator tag on the management user; management+policymaker+monitoring is not enough', async () => {
    const password = randomToken();
    await management.putUser(mgmtUser, password, 'management,policymaker,monitoring');
    const asMgmt = new RabbitMqManagementClient({
      baseUrl: MANAGEMENT_URL,
      username: mgmtUser,
      password,
      vhost: '/',
      timeoutMs: 5000,
    });
    const probe = `probe-${ns}`;
    const denied = await asMgmt.putUser(probe, randomToken()).then(
      () => undefined,
      (e: unknown) => e as RabbitMqManagementError,
    );
    await management.deleteUser(probe);
    expect(denied?.status).toBe(401);

    // The administrator tag alone, without any permission on the vhost, is enough.
    await management.putUser(mgmtUser, password, 'administrator');
    await asMgmt.putUser(probe, randomToken());
    await asMgmt.setPermissions(probe, { configure: '^$', write: '^$', read: '^$' });
    expect(await asMgmt.deleteUser(probe)).toBe(true);
  });

  it('closes a user’s open connections through the management API, with the reason', async () => {
    const credsE = await users.provisionNode(E);
    const nodeE = await connectAs(credsE.username, credsE.password);
    const closed = new Promise<string>((resolve) =>
      nodeE.once('close', (err?: Error) => resolve(err?.message ?? '')),
    );
    // The management API lists a new connection once its statistics arrive (a few seconds).
    await eventually(async () => (await management.connectionsOf(credsE.username)).length === 1, {
      timeoutMs: 15_000,
      what: 'the connection listed by the management API',
    });
    expect(await management.closeConnectionsOf(credsE.username, 'test says goodbye')).toBe(1);
    const why = await within(closed, 5000, 'still open');
    expect(why).toContain('CONNECTION_FORCED');
    expect(why).toContain('test says goodbye');
  });

  it("revokeNode(A) closes A's open connection at once and refuses a new login; B goes on", async () => {
    const nodeB = await connectAs(credsB.username, credsB.password);
    const chA = await channelOf(nodeA);
    await chA.consume(topology.nodeRpcQueue(A), () => undefined);
    const closedA = new Promise<string>((resolve) =>
      nodeA.once('close', (err?: Error) => resolve(err?.message ?? '')),
    );

    const started = Date.now();
    const revocation = await users.revokeNode(A);
    expect(revocation).toMatchObject({ username: `node-${A}`, userDeleted: true });
    const why = await within(closedA, 5000, 'still open');
    expect(why).toContain('CONNECTION_FORCED');
    expect(Date.now() - started).toBeLessThan(5000);

    const login = await connectAs(credsA.username, credsA.password).then(
      () => 'logged in',
      (e: unknown) => String(e),
    );
    expect(login).toContain('ACCESS_REFUSED');
    expect(login.includes(credsA.password)).toBe(false);
    expect(await management.getUser(credsA.username)).toBeUndefined();

    // B is untouched.
    const chB = await channelOf(nodeB);
    await topology.assertNodeOwn(chB, B);
    await expect(chB.consume(topology.nodeRpcQueue(B), () => undefined)).resolves.toBeDefined();
    await chB.close();

    // Revoking again is harmless.
    expect(await users.revokeNode(A)).toMatchObject({ userDeleted: false, connectionsClosed: 0 });
  });

  it('logged nothing secret', () => {
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all.includes(credsA.password)).toBe(false);
    expect(all.includes(credsB.password)).toBe(false);
    expect(ADMIN_PASSWORD.length > 0 && all.includes(`:${ADMIN_PASSWORD}@`)).toBe(false);
  });
});
