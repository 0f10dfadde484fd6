// Vite builds the app into dist/ (served by the API at /). `npm run dev` serves it with hot reload
// and forwards /api to a running API (API_URL, default http://127.0.0.1:8000).
import { defineConfig } from "vite";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 1000 },
  server: { proxy: { "/api": process.env.API_URL ?? "http://127.0.0.1:8000" } },
});
