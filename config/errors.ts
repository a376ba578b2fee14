// The stack config's named error: every problem at once, each with its key, value and fix. Its own module
// so the castle command can recognise it without loading the config schema.

export class CastleConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(
      `cilium-castle: invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "CastleConfigError";
  }
}
