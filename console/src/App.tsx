// The console's frame: who is signed in, the tenant being administered, navigation by role,
// and the page for the current address.
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { api } from './api.ts';
import { signOut } from './auth.ts';
import { can, roleLabel, type Me } from './roles.ts';
import { Link, useLocation } from './router.tsx';
import { settings } from './settings.ts';
import { Banner, Button, ErrorBox, Loading, Notices, PageTitle, useAsync } from './ui.tsx';
import { OverviewPage } from './pages/Overview.tsx';
import { AppsPage } from './pages/Apps.tsx';
import { AppProfilePage } from './pages/AppProfile.tsx';
import { UsersPage } from './pages/Users.tsx';
import { UserPage } from './pages/User.tsx';
import { GroupsPage, GroupPage } from './pages/Groups.tsx';
import { OusPage } from './pages/Ous.tsx';
import { PoliciesPage, PolicyPage } from './pages/Policies.tsx';
import { BrandingPage } from './pages/Branding.tsx';
import { KeysPage } from './pages/Keys.tsx';
import { SessionsPage } from './pages/Sessions.tsx';
import { LogsPage } from './pages/Logs.tsx';
import { UpstreamPage, UpstreamsPage } from './pages/Upstreams.tsx';
import { DirectoriesPage, DirectoryPage } from './pages/Directories.tsx';
import { ConnectorsPage } from './pages/Connectors.tsx';
import { WorkstationsPage } from './pages/Workstations.tsx';
import { KerberosPage } from './pages/Kerberos.tsx';
import { TenantsPage } from './pages/Tenants.tsx';

interface Session {
  me: Me;
  tenant: string;
  setTenant: (slug: string) => void;
}
const SessionContext = createContext<Session | null>(null);
export const useSession = (): Session => useContext(SessionContext)!;
/** Admin API path of the tenant being administered: tenantPath('/apps') = /tenants/<slug>/apps. */
export const useTenantPath = () => {
  const { tenant } = useSession();
  return (p: string) => `/tenants/${encodeURIComponent(tenant)}${p}`;
};

const whoAmI = (signal: AbortSignal) => api<Me>('GET', '/me', undefined, { signal });

interface NavItem {
  to: string;
  label: string;
  show: (me: Me) => boolean;
}
const NAV: Array<{ heading: string; items: NavItem[] }> = [
  { heading: '', items: [{ to: '/', label: 'Overview', show: () => true }] },
  { heading: 'Applications', items: [{ to: '/apps', label: 'Single sign-on application profiles', show: can.viewApps }] },
  {
    heading: 'Users',
    items: [
      { to: '/users', label: 'Users', show: can.viewUsers },
      { to: '/groups', label: 'Groups', show: can.viewUsers },
      { to: '/ous', label: 'OUs and domains', show: can.viewUsers },
      { to: '/policies', label: 'User policies', show: can.viewPolicies },
      { to: '/sessions', label: 'Sessions', show: can.sessions },
      { to: '/workstations', label: 'Workstations', show: can.viewWorkstations },
      { to: '/kerberos', label: 'Desktop SSO (Kerberos)', show: can.viewKerberos },
    ],
  },
  {
    heading: 'Directories',
    items: [
      { to: '/directories', label: 'LDAP and Active Directory', show: can.viewDirectories },
      { to: '/connectors', label: 'Connectors', show: can.viewDirectories },
      { to: '/upstreams', label: 'Upstream directories', show: can.viewUpstreams },
    ],
  },
  { heading: 'Logs', items: [{ to: '/logs', label: 'Logs', show: can.viewLogs }] },
  {
    heading: 'Settings',
    items: [
      { to: '/branding', label: 'Web app login configuration', show: can.viewApps },
      { to: '/keys', label: 'Keys and certificates', show: can.viewKeys },
      { to: '/tenants', label: 'Tenants', show: can.tenants },
    ],
  },
];

function Forbidden({ what, needs }: { what: string; needs: string }) {
  const { me } = useSession();
  return (
    <>
      <PageTitle>{what}</PageTitle>
      <Banner level="error">
        <p>
          <strong>You cannot open {what.toLowerCase()}.</strong> It needs the {needs} role; you are signed in as {me.email} ({roleLabel(me.roles)}).
        </p>
        <p>Ask a superadministrator if you need this access.</p>
      </Banner>
    </>
  );
}

function Route(): ReactNode {
  const { path } = useLocation();
  const { me } = useSession();
  const gate = (ok: boolean, what: string, needs: string, page: ReactNode) => (ok ? page : <Forbidden what={what} needs={needs} />);
  let m: RegExpExecArray | null;
  if (path === '/' || path === '') return <OverviewPage />;
  if (path === '/apps') return gate(can.viewApps(me), 'Application profiles', 'superadmin, admin, helpdesk or auditor', <AppsPage />);
  if ((m = /^\/apps\/new\/(web|spa|native|service|handoff|saml)$/.exec(path))) {
    return gate(can.configureApps(me), 'Application profile configuration', 'superadmin', <AppProfilePage type={m[1] as 'web'} />);
  }
  if ((m = /^\/apps\/([^/]+)$/.exec(path)))
    return gate(can.configureApps(me), 'Application profile configuration', 'superadmin', <AppProfilePage clientId={decodeURIComponent(m[1]!)} />);
  if (path === '/users') return gate(can.viewUsers(me), 'Users', 'admin or helpdesk', <UsersPage />);
  if ((m = /^\/users\/([^/]+)$/.exec(path))) return gate(can.viewUsers(me), 'Users', 'admin or helpdesk', <UserPage id={decodeURIComponent(m[1]!)} />);
  if (path === '/groups') return gate(can.viewUsers(me), 'Groups', 'admin or helpdesk', <GroupsPage />);
  if ((m = /^\/groups\/([^/]+)$/.exec(path))) return gate(can.viewUsers(me), 'Groups', 'admin or helpdesk', <GroupPage id={decodeURIComponent(m[1]!)} />);
  if (path === '/ous') return gate(can.viewUsers(me), 'OUs and domains', 'admin or helpdesk', <OusPage />);
  if (path === '/policies') return gate(can.viewPolicies(me), 'User policies', 'admin, helpdesk or auditor', <PoliciesPage />);
  if ((m = /^\/policies\/([^/]+)$/.exec(path)))
    return gate(can.viewPolicies(me), 'User policies', 'admin, helpdesk or auditor', <PolicyPage id={decodeURIComponent(m[1]!)} />);
  if (path === '/sessions') return gate(can.sessions(me), 'Sessions', 'admin or helpdesk', <SessionsPage />);
  if (path === '/logs') return gate(can.viewLogs(me), 'Logs', 'admin or auditor', <LogsPage />);
  if (path === '/branding') return gate(can.viewApps(me), 'Web app login configuration', 'superadmin, admin, helpdesk or auditor', <BrandingPage />);
  if (path === '/keys') return gate(can.viewKeys(me), 'Keys and certificates', 'admin or auditor', <KeysPage />);
  if (path === '/upstreams') return gate(can.viewUpstreams(me), 'Upstream directories', 'admin or auditor', <UpstreamsPage />);
  if (path === '/upstreams/new') return gate(can.manageUpstreams(me), 'Upstream directory configuration', 'superadmin', <UpstreamPage />);
  if ((m = /^\/upstreams\/([^/]+)$/.exec(path)))
    return gate(can.viewUpstreams(me), 'Upstream directories', 'admin or auditor', <UpstreamPage id={decodeURIComponent(m[1]!)} />);
  if (path === '/directories') return gate(can.viewDirectories(me), 'LDAP and Active Directory', 'admin or auditor', <DirectoriesPage />);
  if (path === '/directories/new') return gate(can.manageDirectories(me), 'Directory configuration', 'superadmin', <DirectoryPage />);
  if ((m = /^\/directories\/([^/]+)$/.exec(path)))
    return gate(can.viewDirectories(me), 'LDAP and Active Directory', 'admin or auditor', <DirectoryPage id={decodeURIComponent(m[1]!)} />);
  if (path === '/kerberos') return gate(can.viewKerberos(me), 'Desktop SSO (Kerberos)', 'admin or auditor', <KerberosPage />);
  if (path === '/workstations') return gate(can.viewWorkstations(me), 'Workstations', 'admin, auditor or helpdesk', <WorkstationsPage />);
  if (path === '/connectors') return gate(can.viewDirectories(me), 'Connectors', 'admin or auditor', <ConnectorsPage />);
  if (path === '/tenants') return gate(can.tenants(me), 'Tenants', 'superadmin of the default tenant', <TenantsPage />);
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is no console page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}

function Nav({ me, onNavigate }: { me: Me; onNavigate: () => void }) {
  const { path } = useLocation();
  const current = (to: string) => (to === '/' ? path === '/' : path === to || path.startsWith(`${to}/`));
  return (
    <nav className="side" aria-label="Console">
      {NAV.map((section) => {
        const items = section.items.filter((i) => i.show(me));
        if (!items.length) return null;
        return (
          <div key={section.heading || 'top'} className="nav-section">
            {section.heading && <p className="nav-heading">{section.heading}</p>}
            <ul>
              {items.map((i) => (
                <li key={i.to}>
                  <Link to={i.to} aria-current={current(i.to) ? 'page' : undefined} onClick={onNavigate}>
                    {i.label}
                  </Link>
                </li>
              ))}
            </ul>
          </div>
        );
      })}
    </nav>
  );
}

export function App() {
  const me = useAsync((signal) => whoAmI(signal), []);
  const [tenant, setTenant] = useState(settings.tenant);
  const [menuOpen, setMenuOpen] = useState(false);
  const { path } = useLocation();
  useEffect(() => setMenuOpen(false), [path]);
  useEffect(() => {
    document.title = `${tenant === settings.tenant ? settings.tenantName : tenant} · Gatehouse admin console`;
  }, [tenant]);

  if (me.loading && !me.data)
    return (
      <main className="solo">
        <Loading label="Signing in…" />
      </main>
    );
  if (me.error || !me.data)
    return (
      <main className="solo">
        <h1>Admin console</h1>
        <ErrorBox error={me.error ?? new Error('Unknown')} onRetry={me.reload} />
        <p>
          <Button variant="secondary" onClick={() => void signOut()}>
            Sign out
          </Button>
        </p>
      </main>
    );

  const session: Session = { me: me.data, tenant, setTenant };
  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <button type="button" className="menu-toggle secondary" aria-expanded={menuOpen} aria-controls="side-nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <p className="brand">
          <Link to="/">Gatehouse</Link> <span className="muted">admin console</span>
        </p>
        <p className="tenant" title="The organization (tenant) you are administering">
          {tenant === settings.tenant ? settings.tenantName : tenant}
          {tenant !== settings.tenant && (
            <>
              {' '}
              <button type="button" className="link" onClick={() => setTenant(settings.tenant)}>
                back to {settings.tenant}
              </button>
            </>
          )}
        </p>
        <div className="who">
          <span className="email">{me.data.email}</span> <span className="muted role">({roleLabel(me.data.roles)})</span>
          <Button variant="secondary" className="small" onClick={() => void signOut()}>
            Sign out
          </Button>
        </div>
      </header>
      <div className="frame">
        <div id="side-nav" className={`side-wrap${menuOpen ? ' open' : ''}`}>
          <Nav me={me.data} onNavigate={() => setMenuOpen(false)} />
        </div>
        <main id="main" tabIndex={-1}>
          {/* A new address is a new page: nothing of the previous one's state carries over. */}
          <Route key={`${tenant}:${path}`} />
        </main>
      </div>
      <Notices />
    </SessionContext.Provider>
  );
}
