// Pulumi's entry point: an exported function is run by the engine, its result becomes the stack outputs.
import { main } from "./program";

export = main;
