// PostGraphile 5 as bench/serve.py runs it: the app role (roundpool_app) on the same database and policies,
// read-only, and per request exactly the settings roundpool binds (app.user_id, app.tenant_id,
// statement_timeout) taken from the same HS256 JWT (aud "roundpool"; the bench adds `uid` and `tid` claims
// because PostGraphile has no user or membership look-up of its own).
//
// Optionally one setting more, from BENCH_PLAN_CACHE_MODE (bench/serve.py's --postgraphile-plan-cache-mode;
// unset by default: PostgreSQL's auto, as roundpool runs with). Session 8 blamed the page's "slow mode" on a
// generic plan; session 11 found it in the plan of the page without a tenant condition (see QUERIES in
// bench/serve.py), which now names the tenant as roundpool's SQL does.
import jwt from "jsonwebtoken";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const secret = env("BENCH_JWT_SECRET");
const statementTimeout = env("BENCH_STATEMENT_TIMEOUT_MS");
const planCacheMode = process.env.BENCH_PLAN_CACHE_MODE ?? "";

function pgSettingsFrom(authorization) {
  const [scheme, token] = (authorization ?? "").split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token) return {};
  const claims = jwt.verify(token, secret, { algorithms: ["HS256"], audience: "roundpool", clockTolerance: 30 });
  const settings = { "app.user_id": String(claims.uid), "app.tenant_id": String(claims.tid ?? ""), statement_timeout: statementTimeout };
  return planCacheMode ? { ...settings, plan_cache_mode: planCacheMode } : settings;
}

/** @type {GraphileConfig.Preset} */
export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: env("BENCH_PG_URL"), schemas: ["public"], poolConfig: { max: 10 } })],
  schema: {
    // Only reads: the queries need tables, their relations and connections.
    defaultBehavior: "-insert -update -delete -resource:procedure:queryField -resource:procedure:mutationField",
  },
  grafast: {
    explain: false,
    context(requestContext) {
      return { pgSettings: pgSettingsFrom(requestContext.node?.req?.headers?.authorization) };
    },
  },
  grafserv: { host: "127.0.0.1", port: Number(env("BENCH_PORT")), graphiql: false, watch: false, maxRequestLength: 100000 },
};
