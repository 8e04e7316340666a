/**
 * The demo page: `pnpm --filter @threadkit/demo web` builds it and serves the build. Every
 * response carries COOP and COEP, so the page is cross-origin isolated and threads share
 * memory; `?isolated=0` is served without them (see `headers` below), so the same build
 * shows the message transport.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect } from 'vite';
import { threadkit } from '@threadkit/browser/vite';

const isolation = (req: Connect.IncomingMessage, res: { setHeader(name: string, value: string): void }, next: () => void): void => {
  // A page loaded with ?isolated=0, and every worker it starts (they carry its URL as referrer), goes without.
  const url = new URL(req.url ?? '/', 'http://page');
  const referrer = req.headers.referer ? new URL(req.headers.referer) : undefined;
  const off = url.searchParams.get('isolated') === '0' || referrer?.searchParams.get('isolated') === '0';
  if (!off) {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  }
  next();
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [
    threadkit(),
    {
      name: 'demo-isolation-headers',
      configureServer: (server) => void server.middlewares.use(isolation),
      configurePreviewServer: (server) => void server.middlewares.use(isolation),
    },
  ],
  build: { outDir: '../dist-web', emptyOutDir: true, target: 'es2022' },
});
