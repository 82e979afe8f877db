// Loads TipTap documents into TipTap's own schema (StarterKit + Mention + Image + Table)
// and runs ProseMirror's `check()` on each: content expressions, marks, attributes.
//
// Input on stdin: a JSON array of {"name": "...", "doc": {TipTap doc}}.
// Output: one line per failure; exit 1 if any document fails, 2 on bad input.
import { getSchema } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import Mention from '@tiptap/extension-mention';
import Image from '@tiptap/extension-image';
import { Table, TableRow, TableCell, TableHeader } from '@tiptap/extension-table';

const schema = getSchema([StarterKit, Mention, Image, Table, TableRow, TableCell, TableHeader]);

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;

let cases;
try {
  cases = JSON.parse(input);
} catch (e) {
  console.error(`check.mjs: stdin is not JSON: ${e.message}`);
  process.exit(2);
}

let failed = 0;
for (const { name, doc } of cases) {
  try {
    const node = schema.nodeFromJSON(doc);
    node.check();
    // Round trip through the schema must not lose anything we wrote.
    const back = JSON.stringify(node.toJSON());
    if (!back.includes('"type":"doc"')) throw new Error('did not load as a doc');
  } catch (e) {
    failed += 1;
    console.log(`${name}: ${e.message}`);
  }
}
console.log(`checked ${cases.length} documents, ${failed} failed`);
process.exit(failed ? 1 : 0);
