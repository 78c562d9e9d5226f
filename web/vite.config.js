// The browser front-end is three pages built by Vite: the storefront (index.html, served at /),
// the control room (lab/index.html, at /lab/) and the API docs (docs/index.html, at /api/docs).
// Every script, style and library (uPlot, Swagger UI) lands in dist/assets/ under a
// content-hashed name, so the edge can cache those files forever: a new build makes new
// names (seed: "CDN", immutable hashed assets).
// Nothing is loaded from the internet: both come from node_modules, installed from the lock file.
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // Swagger UI is one large module (~1.5 MB, loaded only by /api/docs).
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      checks: { pluginTimings: false },
      input: {
        shop: resolve(import.meta.dirname, "index.html"),
        lab: resolve(import.meta.dirname, "lab/index.html"),
        docs: resolve(import.meta.dirname, "docs/index.html"),
      },
    },
  },
});
