import { defineConfig } from 'vite';

// The build lands in runtime/dashboard/dist, which the Go binary embeds
// (committed, so `go build` needs no npm; a test checks it is current).
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../runtime/dashboard/dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/mlflow': 'http://127.0.0.1:8080', '/ui': 'http://127.0.0.1:8080' } },
  test: { environment: 'happy-dom', include: ['src/**/*.test.ts', 'src/**/*.test.tsx'] },
});
