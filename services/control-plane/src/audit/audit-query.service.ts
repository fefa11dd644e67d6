import { Injectable } from '@nestjs/common';
import { CausewayError } from '@causeway/contracts';
import { Clock } from '../common/clock';
import { TenantsService } from '../tenants/tenants.service';
import { csvHeader, csvLine, jsonLine, textStream, type AuditExportFile } from './audit-export';
import {
  auditExportQuerySchema,
  auditListQuerySchema,
  describeFilters,
  parseAuditQuery,
  whereOf,
  type AuditFilters,
} from './audit-query';
import { AuditQueryRepository } from './audit-query.repository';
import { AuditService } from './audit.service';
import { viewOf, type AuditEventView, type AuditViewRow } from './audit-view';
import {
  PSEUDONYM,
  Pseudonyms,
  SEE_IDENTITIES,
  type AuditReader,
  type IdentityKind,
  type TenantPseudonyms,
} from './pseudonyms';

/** Rows read per query while exporting: bounds memory whatever the size of the export. */
const EXPORT_PAGE = 1000;

/** Who reads: recorded with each read and export (reading the trail is itself audited). */
export interface AuditRequester {
  actor: string;
  ip: string | null;
}

export interface AuditPage {
  items: AuditEventView[];
  /** Pass as `after` for the next page; null when this page is the last. */
  nextAfter: number | null;
  /** True when people are shown as pseudonyms (the reader lacks `audit.identities.read`). */
  pseudonymised: boolean;
}

/**
 * Reading the audit trail: filtered pages and streamed exports, with people pseudonymised for
 * readers who may not see identities. Recording is AuditService's; this only reads.
 */
@Injectable()
export class AuditQueryService {
  constructor(
    private readonly repository: AuditQueryRepository,
    private readonly tenants: TenantsService,
    private readonly pseudonyms: Pseudonyms,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** One page; its own read is recorded after the page is taken, so it is not in the page. */
  async list(
    tenantSlug: string,
    query: unknown,
    reader: AuditReader,
    by: AuditRequester,
  ): Promise<AuditPage> {
    const q = parseAuditQuery(auditListQuerySchema, query);
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const names = this.pseudonyms.forTenant(tenant.id);
    const where = whereOf(tenant.id, q, await this.actors(tenant.id, q, reader, names));
    const rows = await this.repository.page(where, q.limit);
    const last = rows[rows.length - 1];
    // Recorded before the answer: a read that cannot be recorded is not answered.
    await this.audit.record({
      tenantId: tenant.id,
      type: 'audit.log.read',
      outcome: 'success',
      actor: by.actor,
      ip: by.ip,
      details: {
        tenant: tenant.slug,
        ...describeFilters(q),
        count: rows.length,
        pseudonymised: !reader.seesIdentities,
      },
    });
    return {
      items: rows.map((r) => this.shown(r, reader, names)),
      nextAfter: rows.length === q.limit && last ? Number(last.seq) : null,
      pseudonymised: !reader.seesIdentities,
    };
  }

  /**
   * An export of every matching event up to the last one recorded when it starts (events
   * recorded meanwhile are left for the next export). Validation and the tenant are checked
   * before the first byte, so a bad query is still a 400.
   */
  async export(
    tenantSlug: string,
    query: unknown,
    reader: AuditReader,
    by: AuditRequester,
  ): Promise<AuditExportFile> {
    const q = parseAuditQuery(auditExportQuerySchema, query);
    const tenant = await this.tenants.getBySlug(tenantSlug);
    const names = this.pseudonyms.forTenant(tenant.id);
    const where = whereOf(tenant.id, q, await this.actors(tenant.id, q, reader, names));
    const upToSeq = await this.repository.lastSeq(tenant.id);
    const format = q.format;
    const line = format === 'csv' ? csvLine : jsonLine;
    const repository = this.repository;
    const shown = (r: AuditViewRow) => this.shown(r, reader, names);
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    const read = (afterSeq: number | undefined, remaining: number) =>
      repository.page(where, Math.min(EXPORT_PAGE, remaining), {
        ...(afterSeq === undefined ? {} : { afterSeq }),
        upToSeq,
      });
    // The first page is read before the answer starts, so a failing database is still a 500.
    const first = await read(undefined, limit);
    await this.audit.record({
      tenantId: tenant.id,
      type: 'audit.log.exported',
      outcome: 'success',
      actor: by.actor,
      ip: by.ip,
      details: {
        tenant: tenant.slug,
        format,
        ...describeFilters(q),
        upToSeq,
        pseudonymised: !reader.seesIdentities,
      },
    });
    async function* chunks(): AsyncGenerator<string> {
      if (format === 'csv') yield csvHeader();
      let rows = first;
      let remaining = limit;
      for (;;) {
        const last = rows[rows.length - 1];
        if (!last) return;
        yield rows.map((r) => line(shown(r))).join('');
        remaining -= rows.length;
        if (rows.length < EXPORT_PAGE || remaining <= 0) return;
        rows = await read(Number(last.seq), remaining);
      }
    }
    const stamp = this.clock
      .now()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return {
      format,
      filename: `audit-events-${tenant.slug}-${stamp}.${format}`,
      body: textStream(chunks()),
    };
  }

  private shown(row: AuditViewRow, reader: AuditReader, names: TenantPseudonyms): AuditEventView {
    const view = viewOf(row);
    if (reader.seesIdentities) return view;
    return { ...view, actor: names.actor(view.actor), details: names.details(view.details) };
  }

  /**
   * The actor filter as stored values. A pseudonym (what a pseudonymised reader sees) becomes
   * the identities behind it in this tenant. A reader who may not see identities cannot filter
   * by one: that would tell them which pseudonym is whom.
   */
  private async actors(
    tenantId: string,
    q: AuditFilters,
    reader: AuditReader,
    names: TenantPseudonyms,
  ): Promise<string[] | undefined> {
    if (q.actor === undefined) return undefined;
    if (PSEUDONYM.test(q.actor)) {
      const kind = q.actor.slice(0, q.actor.indexOf('~')) as IdentityKind;
      const known = await this.repository.actorsOfKind(tenantId, kind);
      return known.filter((a) => names.actor(a) === q.actor);
    }
    if (!reader.seesIdentities && /^(user|email):/.test(q.actor)) {
      throw new CausewayError(
        'validation_failed',
        `The audit query is not valid: "actor" must be the pseudonym you see (user~… or email~…); filtering by a user id or address needs the "${SEE_IDENTITIES}" permission.`,
        { issues: [{ field: 'actor', problem: 'identity without permission' }] },
      );
    }
    return [q.actor];
  }
}
