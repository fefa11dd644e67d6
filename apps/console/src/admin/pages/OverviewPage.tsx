import { Link } from '../../router';
import { adminApi } from '../api';
import { ADMIN_PAGES, AdminPage, LoadState, useLoad } from '../ui';

/** The admin home: the tenant at a glance and the way to each page. */
export function OverviewPage() {
  return <AdminPage title="Administration">{(tenant) => <Overview tenant={tenant} />}</AdminPage>;
}

function Overview({ tenant }: { tenant: string }) {
  const settings = useLoad(() => adminApi.tenant(tenant), tenant);
  return (
    <>
      <LoadState state={settings} permission="tenant.read" what="your organisation">
        {() =>
          settings.data && (
            <p>
              <strong>{settings.data.name}</strong> (<code>{settings.data.slug}</code>), region{' '}
              <code>{settings.data.region}</code>: audit trail kept {settings.data.retentionDays}{' '}
              days, keys rotated every {settings.data.keyRotationDays} days.
            </p>
          )
        }
      </LoadState>
      <p className="hint">
        Each page shows what your role allows; the server decides, and a page you may not use says
        which permission it needs.
      </p>
      <ul className="plain overview">
        {ADMIN_PAGES.map((p) => (
          <li key={p.to}>
            <Link to={p.to} className="list-link">
              {p.label}
            </Link>
            <span className="hint">{p.summary}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
