// The admin console's build. Its assets are served from /console/assets/ (one copy for every
// tenant, content-hashed so they are cached for a year); index.html is served per tenant at
// /t/<slug>/console/ by src/admin/console.ts, which adds the tenant's settings to it.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Nothing inline: the console's CSP allows scripts and styles from files only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
