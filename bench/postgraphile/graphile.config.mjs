// PostGraphile 5 as bench/serve.py runs it: the app role (roundpool_app) on the same database and policies,
// read-only, and per request exactly the settings roundpool binds (app.user_id, app.tenant_id,
// statement_timeout) taken from the same HS256 JWT (aud "roundpool"; the bench adds `uid` and `tid` claims
// because PostGraphile has no user or membership look-up of its own).
//
// One setting more, in PostGraphile's favour, from BENCH_PLAN_CACHE_MODE (bench/serve.py's default:
// force_custom_plan). PostGraphile prepares its statements, and after five executions PostgreSQL may switch
// the audit page to a generic plan that costs its backend ~7 ms of CPU a request instead of ~0.2 (the "slow
// mode" of BENCHMARKS.md: 230 req/s instead of 1,500). Whether it switches depends on the fresh database's
// statistics; with the database set to force_generic_plan the slow mode came every time, with
// force_custom_plan never (session 8). Custom plans cost the tiny query more backend CPU.
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
