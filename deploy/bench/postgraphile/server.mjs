// PostGraphile 5 over the gateway's read model, for deploy/bench/versus_postgraphile.py.
// Environment: PGL_DATABASE_URL (the gateway's database) and PGL_PORT. It serves POST /graphql
// on 127.0.0.1 and exits if the schema cannot be built. No GraphiQL, no watch mode, no cache of
// answers: like the gateway run cold, each request plans (from its cache of documents) and asks
// Postgres.
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const port = Number(process.env.PGL_PORT);
const preset = {
  extends: [PostGraphileAmberPreset],
  // By default PostGraphile offers conditions and orderings only on indexed leading columns;
  // the query filters the link rows by status, which the read model indexes second.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({ connectionString: process.env.PGL_DATABASE_URL, schemas: ["public"] }),
  ],
  grafserv: { port, host: "127.0.0.1", graphqlPath: "/graphql", graphiql: false, watch: false },
};

const serv = postgraphile(preset).createServ(grafserv);
const server = createServer();
serv.addTo(server).catch((error) => {
  console.error(error);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => console.log(`postgraphile listening on 127.0.0.1:${port}`));
