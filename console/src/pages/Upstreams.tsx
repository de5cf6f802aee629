// Upstream directories (Entra ID, Okta, Cognito, any OpenID provider) users sign in through.
// Listed here; created and changed with the API or CLI (docs/federation.md).
import { api, type Page } from '../api.ts';
import { useTenantPath } from '../App.tsx';
import { Badge, Empty, ErrorBox, Loading, PageTitle, useAsync } from '../ui.tsx';

interface Upstream { id: string; name: string; type: string; mode: 'disabled' | 'test' | 'enabled'; issuer?: string; domains?: string[]; settings?: { domains?: string[] } }

export function UpstreamsPage() {
  const tp = useTenantPath();
  const list = useAsync((signal) => api<Page<Upstream>>('GET', tp('/upstreams'), undefined, { signal }), [tp('')]);
  return <>
    <PageTitle>Upstream directories</PageTitle>
    <p className="hint">Add or change them with <code>gatehouse upstream</code> or the admin API (see docs/federation.md).</p>
    {list.loading && !list.data && <Loading />}
    {list.error && <ErrorBox error={list.error} onRetry={list.reload} />}
    {list.data && list.data.items.length === 0 && <Empty title="No upstream directories"><p>Users sign in with Gatehouse passwords. Connect Entra ID, Okta, Cognito or any OpenID provider to sign them in there instead.</p></Empty>}
    {list.data && list.data.items.length > 0 && <div className="table-wrap"><table>
      <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Mode</th><th scope="col">Email domains</th><th scope="col">Issuer</th></tr></thead>
      <tbody>{list.data.items.map((u) => <tr key={u.id}>
        <th scope="row">{u.name}</th><td>{u.type}</td>
        <td><Badge tone={u.mode === 'enabled' ? 'ok' : u.mode === 'test' ? 'warn' : 'neutral'}>{u.mode}</Badge></td>
        <td>{(u.domains ?? u.settings?.domains ?? []).join(', ') || '—'}</td><td><code>{u.issuer ?? '—'}</code></td>
      </tr>)}</tbody>
    </table></div>}
  </>;
}
