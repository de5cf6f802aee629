// The tenant's settings, which the server puts in the page as <meta name="gatehouse-console">
// (src/admin/console.ts): no inline script, and nothing to fetch before signing in.
export interface Settings {
  tenant: string;
  tenantName: string;
  issuer: string;
  clientId: string;
  scope: string;
  resource: string;
  api: string;
  /** The console's path prefix: /t/<slug>/console */
  base: string;
}

export function readSettings(): Settings {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="gatehouse-console"]');
  if (!meta) throw new Error('This page was not served by Gatehouse (its settings are missing). Open /console on your Gatehouse server.');
  return JSON.parse(meta.content) as Settings;
}

/** Set once by main.tsx before anything else runs. */
export let settings: Settings;
export function initSettings(): void {
  settings = readSettings();
}
