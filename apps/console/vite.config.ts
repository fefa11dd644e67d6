import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The control plane serves dist/ itself (services/control-plane/src/console), so the build is
 * plain files: hashed assets under /assets (cached for a year) and an index.html without inline
 * scripts, so that its Content-Security-Policy can forbid them.
 */
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Inlined assets become data: URLs, which the policy would have to allow.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    // `npm run -w @causeway/console dev` against a control plane on its default port.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
