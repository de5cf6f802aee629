// Start: read the tenant's settings, finish or start signing in, then show the console.
import { StrictMode, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import './styles.css';
import { initSettings, settings } from './settings.ts';

function Solo({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="solo">
      <h1>{title}</h1>
      {children}
    </main>
  );
}

async function boot() {
  const root = createRoot(document.getElementById('root')!);
  try {
    initSettings();
  } catch (e) {
    root.render(
      <Solo title="Admin console unavailable">
        <p>{(e as Error).message}</p>
      </Solo>,
    );
    return;
  }
  const auth = await import('./auth.ts');
  const result = await auth.start();
  const again = (
    <p>
      <button type="button" onClick={() => void auth.signIn(`${settings.base}/`)}>
        Sign in
      </button>
    </p>
  );
  if (result.kind === 'redirecting') return;
  if (result.kind === 'signed-out') {
    root.render(
      <Solo title="You are signed out">
        <p>You have signed out of the {settings.tenantName} admin console and of Gatehouse in this browser.</p>
        {again}
      </Solo>,
    );
    return;
  }
  if (result.kind === 'denied') {
    root.render(
      <Solo title="The admin console is for administrators">
        <p className="alert error" role="alert">
          {result.message}
        </p>
        <p>Ask a superadministrator to give your account an administrator role, or sign in with another account.</p>
        <p>
          <button
            type="button"
            onClick={() => {
              location.assign(
                `${settings.issuer}/session/end?client_id=${encodeURIComponent(settings.clientId)}&post_logout_redirect_uri=${encodeURIComponent(`${settings.issuer}/console/signed-out`)}`,
              );
            }}
          >
            Sign out
          </button>
        </p>
      </Solo>,
    );
    return;
  }
  if (result.kind === 'failed') {
    root.render(
      <Solo title="Sign-in did not complete">
        <p className="alert error" role="alert">
          {result.message}
        </p>
        {again}
      </Solo>,
    );
    return;
  }
  const { App } = await import('./App.tsx');
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void boot();
