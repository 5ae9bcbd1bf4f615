import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Served by each region's gateway at /; the API is the same origin.
export default defineConfig({
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false },
  test: { environment: "jsdom" },
});
