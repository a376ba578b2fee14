// Entry point for `pulumi up`: read and validate the stack config before any resource exists, then build.
import { parseCastleConfig } from "./config/castleConfig";
import { readStackConfig } from "./config/readStackConfig";
import { buildCastle } from "./castle";

const castle = buildCastle(parseCastleConfig(readStackConfig()));

export = castle.outputs;
