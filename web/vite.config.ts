/// <reference types="vitest" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by `yilian api` at `/` (src/yilian/api/web.py); `npm run dev` proxies the API to a running `make up`.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 900 },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/dicomweb": "http://127.0.0.1:8000", "/viewer": "http://127.0.0.1:8000" },
  },
  test: { environment: "jsdom", globals: true, setupFiles: ["src/test/setup.ts"], css: false },
});
