/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The page is static: `make web` serves `dist/` next to the deployment's /config.json.
export default defineConfig({
  plugins: [react()],
  // The SDK, @langchain/core and React make one ~525 kB bundle (155 kB gzipped).
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 700 },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
