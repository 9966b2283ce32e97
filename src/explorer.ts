// A GraphQL explorer that works without internet: GraphiQL and React from this installation's
// node_modules, served at /explorer with the example operations (examples/queries.graphql)
// preloaded. Apollo Sandbox (GET /graphql) loads from a CDN and stays for machines online.
import { ErrorCode, sendCodedError } from './errors.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);

/** The files the page loads, by the name it asks for: [package, file in it, content type]. */
const ASSETS: Record<string, [string, string, string]> = {
  'react.js': ['react', 'umd/react.production.min.js', 'text/javascript; charset=utf-8'],
  'react-dom.js': [
    'react-dom',
    'umd/react-dom.production.min.js',
    'text/javascript; charset=utf-8',
  ],
  'graphiql.js': ['graphiql', 'graphiql.min.js', 'text/javascript; charset=utf-8'],
  'graphiql.css': ['graphiql', 'graphiql.min.css', 'text/css; charset=utf-8'],
};

/** A file of an installed package (its `exports` need not list it: the UMD builds are not). */
const packageFile = (pkg: string, file: string) =>
  path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file);

function page(examples: string): string {
  // JSON inside a <script>: `<` escaped so that no string can close the element.
  const json = JSON.stringify(examples).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Foresight GraphQL explorer</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/explorer/assets/graphiql.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading the explorer…</div>
  <script src="/explorer/assets/react.js"></script>
  <script src="/explorer/assets/react-dom.js"></script>
  <script src="/explorer/assets/graphiql.js"></script>
  <script>
    const examples = ${json};
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher: GraphiQL.createFetcher({ url: '/graphql' }),
        defaultQuery: examples,
        defaultEditorToolsVisibility: true,
      }),
    );
  </script>
</body>
</html>
`;
}

/** The assets' contents (1.4 MB), read once per process: every server shares them. */
let assets: Map<string, { body: Buffer; type: string }> | undefined;

/** Registers GET /explorer and its assets; `examplesFile` is preloaded into the editor. */
export function registerExplorer(app: FastifyInstance, examplesFile: string): void {
  const html = page(readFileSync(examplesFile, 'utf8'));
  const files = (assets ??= new Map(
    Object.entries(ASSETS).map(([name, [pkg, file, type]]) => [
      name,
      { body: readFileSync(packageFile(pkg, file)), type },
    ]),
  ));
  app.get('/explorer', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html),
  );
  app.get<{ Params: { name: string } }>('/explorer/assets/:name', async (req, reply) => {
    const f = files.get(req.params.name);
    if (!f)
      return sendCodedError(
        reply,
        404,
        ErrorCode.ROUTE_NOT_FOUND,
        `no explorer asset "${req.params.name}"`,
      );
    return reply.type(f.type).header('cache-control', 'public, max-age=86400').send(f.body);
  });
}

/** examples/queries.graphql of this checkout. */
export const EXAMPLES_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'examples',
  'queries.graphql',
);
