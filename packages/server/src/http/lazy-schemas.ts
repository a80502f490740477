import { AjvCompiler } from "@fastify/ajv-compiler";
import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";
import type { FastifyServerOptions } from "fastify";

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]
>;
type BuildValidator = ReturnType<typeof AjvCompiler>;
type BuildSerializer = ReturnType<typeof SerializerSelector>;

/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for responses), each route's
 * schema compiled on its first request instead of at start-up. Compiling every route's schemas took
 * about a fifth of `firebrick serve`'s start-up CPU, for routes most instances never answer in their first
 * minutes; a route's first request pays its own compilation (a millisecond or two) instead. A schema Ajv
 * cannot compile then fails its route's requests (500) rather than the start-up: the API fuzz test
 * (api-fuzz.test.ts) sends requests to every route and refuses any 5xx.
 */
export function lazySchemaCompilers(): CompilersFactory {
  const buildValidator = AjvCompiler();
  const buildSerializer = SerializerSelector();
  return {
    buildValidator(
      externalSchemas: Parameters<BuildValidator>[0],
      ajvOptions: Parameters<BuildValidator>[1],
    ) {
      const compile = buildValidator(externalSchemas, ajvOptions);
      return (route: Parameters<typeof compile>[0]) => {
        let validate: ReturnType<typeof compile> | undefined;
        // Fastify reads a failed validation's reasons from the function's `errors`, as Ajv leaves them.
        const lazy = Object.assign(
          (data: unknown) => {
            validate ??= compile(route);
            const valid = validate(data);
            lazy.errors = (validate as { errors?: unknown }).errors;
            return valid;
          },
          { errors: undefined as unknown },
        );
        return lazy as ReturnType<typeof compile>;
      };
    },
    buildSerializer(
      externalSchemas: Parameters<BuildSerializer>[0],
      serializerOptions: Parameters<BuildSerializer>[1],
    ) {
      const compile = buildSerializer(externalSchemas, serializerOptions);
      return (route: Parameters<typeof compile>[0]) => {
        let serialize: ReturnType<typeof compile> | undefined;
        return (data: unknown) => {
          serialize ??= compile(route);
          return serialize(data);
        };
      };
    },
  };
}
