// The TypeScript client CI generates from the served document (make clients), then type-checks.
export default {
  input: "../build/openapi.json",
  output: "../build/clients/typescript/src",
  plugins: ["@hey-api/typescript", "@hey-api/sdk", "@hey-api/client-fetch"],
  logs: { level: "warn" },
};
