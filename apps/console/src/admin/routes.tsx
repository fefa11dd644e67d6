import type { ReactNode } from 'react';
import type { Me } from '../api/types';
import './admin.css';
import { AlertsPage } from './pages/AlertsPage';
import { AllowListPage } from './pages/AllowListPage';
import { AuditPage } from './pages/AuditPage';
import { KeysPage } from './pages/KeysPage';
import { NodesPage } from './pages/NodesPage';
import { OverviewPage } from './pages/OverviewPage';
import { PartnersPage } from './pages/PartnersPage';
import { RolesPage } from './pages/RolesPage';
import { SettingsPage } from './pages/SettingsPage';
import { SignInSetupPage } from './pages/SignInSetupPage';

/**
 * Where the admin console's pages go (issue 9, second half): each entry adds a route and,
 * with `nav`, a link in the header. A route here is shown only to a signed-in person; the API
 * decides what they may see, so a page must still handle 403 answers.
 */
export interface ConsoleRoute {
  /** A path pattern such as `/admin/members/:user`. */
  pattern: string;
  render: (params: Record<string, string>) => ReactNode;
  /** The header link, for top-level pages; `shownTo` hides it from people it cannot serve. */
  nav?: { label: string; to: string; shownTo?: (me: Me) => boolean };
}

/** One header link ("Admin"); the admin pages have their own navigation beside them. */
export const adminRoutes: ConsoleRoute[] = [
  {
    pattern: '/admin',
    render: () => <OverviewPage />,
    // A partner account can never hold a tenant-wide role (docs/admin/partners.md), so every
    // admin page would only refuse them. Anyone else may have been given one: the pages ask.
    nav: { label: 'Admin', to: '/admin', shownTo: (me) => me.userKind !== 'partner' },
  },
  { pattern: '/admin/settings', render: () => <SettingsPage /> },
  { pattern: '/admin/sign-in', render: () => <SignInSetupPage /> },
  { pattern: '/admin/roles', render: () => <RolesPage /> },
  { pattern: '/admin/partners', render: () => <PartnersPage /> },
  { pattern: '/admin/allow-list', render: () => <AllowListPage /> },
  { pattern: '/admin/nodes', render: () => <NodesPage /> },
  { pattern: '/admin/keys', render: () => <KeysPage /> },
  { pattern: '/admin/audit', render: () => <AuditPage /> },
  { pattern: '/admin/alerts', render: () => <AlertsPage /> },
];
