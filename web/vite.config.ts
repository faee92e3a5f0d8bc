/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The page is static: `make web` serves `dist/` next to the deployment's /config.json.
export default defineConfig({
  plugins: [react()],
  // The SDK, @langchain/core and React make one ~545 kB bundle (162 kB gzipped).
  build: {
    outDir: "dist",
    sourcemap: true,
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod (under @langchain/core) puts /*#__PURE__*/ where Rollup cannot use it;
        // Rollup drops the comment, and the bundle is the same.
        if (warning.code === "INVALID_ANNOTATION" && warning.id?.includes("node_modules")) return;
        warn(warning);
      },
    },
  },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
