/** A configuration value is missing, malformed or unknown; `key` names it. Exit status 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly got?: string,
  ) {
    super(
      `invalid configuration: ${key} must be ${expected}${got === undefined ? "" : ` (got ${JSON.stringify(got)})`}`,
    );
  }
}
