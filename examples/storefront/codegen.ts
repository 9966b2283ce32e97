// GraphQL Code Generator for this folder on its own (a copy of it, outside the Foresight
// repository): the schema is read from a running gateway by introspection, the operations are
// operations/*.graphql, and the client preset writes typed documents and the
// persisted-documents manifest (src/gql/persisted-documents.json) the gateway can list in
// OPERATION_ALLOW_LIST. Inside the repository the root codegen.ts writes the same files from
// schema/*.graphql.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: process.env.FORESIGHT_URL ?? 'http://127.0.0.1:4000/graphql',
  documents: 'operations/*.graphql',
  generates: {
    'src/gql/': {
      preset: 'client',
      config: {
        emitLegacyCommonJSImports: false,
        documentMode: 'string',
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', Date: 'string', JSON: 'Record<string, unknown>' },
      },
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
    },
  },
};

export default config;
