/** The command was called wrongly or configured badly: one line to stderr, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = 2;
}

/** A check or an operation failed: one line to stderr, exit status 1. */
export class CommandFailed extends Error {
  override name = "CommandFailed";
  readonly exitCode = 1;
}
