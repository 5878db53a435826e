// Serves graphile.config.mjs with grafserv's plain Node adaptor on loopback (started by bench/serve.py).
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import preset from "./graphile.config.mjs";

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (error) => { console.error(error); process.exit(1); });
serv.addTo(server).then(() => {
  server.listen(preset.grafserv.port, preset.grafserv.host, () => console.log("postgraphile ready"));
});
const stop = () => { server.close(); pgl.release().finally(() => process.exit(0)); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
