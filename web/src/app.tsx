import { useEffect } from 'preact/hooks';

import { api } from './api/client';
import { useData } from './components/data';
import { ErrorBox } from './components/ui';
import { navItems, routes } from './registry';
import { location$, navigate, onLink, resolve, tenantPath } from './router';
import { useSignal } from './signal';

function TenantPicker(props: { tenant?: string; rest: string }) {
  const d = useData((signal) => api.get('/api/v1/tenants', { query: { limit: 200 }, signal }), []);
  const items = d.data?.items ?? [];
  return (
    <div class="tenant-picker">
      <label for="tenant-select">Tenant</label>
      <select id="tenant-select" value={props.tenant ?? ''}
        onChange={(e) => { const t = (e.target as HTMLSelectElement).value; if (t) navigate(tenantPath(t) + props.rest); }}>
        <option value="">Choose…</option>
        {items.map((t) => <option key={t.name} value={t.name}>{t.displayName ? `${t.displayName} (${t.name})` : t.name}</option>)}
      </select>
    </div>
  );
}

export function App() {
  const url = useSignal(location$);
  const hit = resolve(routes, url);
  const tenant = hit?.props.params.tenant;
  const path = url.split('?')[0];
  const rest = tenant ? (path.split('/').slice(3, 4).map((s) => '/' + s).join('')) : '';
  useEffect(() => { document.title = hit ? `${hit.route.title}${tenant ? ' · ' + tenant : ''} · ferry` : 'Not found · ferry'; }, [url]);
  const logout = async () => {
    await fetch('/ui/logout', { method: 'POST', headers: { 'X-Ferry-UI': '1' }, credentials: 'same-origin' });
    navigate('/');
    location.reload();
  };
  return (
    <div class="shell" onClick={(e) => onLink(e as unknown as MouseEvent)}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">ferry</a>
        <TenantPicker tenant={tenant} rest={rest} />
        <nav aria-label="Platform" class="global-nav">
          {navItems('global').map((r) => <a key={r.path} href={r.path} aria-current={path === r.path ? 'page' : undefined}>{r.nav!.label}</a>)}
          <button type="button" class="link" onClick={logout}>Log out</button>
        </nav>
      </header>
      <div class="body">
        {tenant && (
          <nav aria-label="Tenant" class="side">
            <ul>
              {navItems('tenant').map((r) => {
                const href = r.path.replace(':tenant', encodeURIComponent(tenant));
                const cur = path === href || (href !== tenantPath(tenant) && path.startsWith(href + '/'));
                return <li key={r.path}><a href={href} aria-current={cur ? 'page' : undefined}>{r.nav!.label}</a></li>;
              })}
            </ul>
          </nav>
        )}
        <main id="main" tabIndex={-1}>
          {hit ? <hit.route.component key={hit.route.path} {...hit.props} /> : <ErrorBox error={`No page at ${path}`} />}
        </main>
      </div>
    </div>
  );
}
