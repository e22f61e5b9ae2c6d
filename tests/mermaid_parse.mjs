// Parses Mermaid diagrams with Mermaid's own parser (package.json pins it; jsdom gives it the DOM it expects).
// Input on stdin: a JSON array of diagram texts. Output: a JSON array, per diagram null or the parse error.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const errors = [];
for (const text of JSON.parse(input)) {
  try {
    await mermaid.parse(text);
    errors.push(null);
  } catch (error) {
    errors.push(String(error?.message ?? error));
  }
}
process.stdout.write(JSON.stringify(errors));
