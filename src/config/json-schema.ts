/**
 * The JSON Schema of `tandem.yaml` that ships in schema/tandem.schema.json so
 * editors (YAML language server: `# yaml-language-server: $schema=…`) can
 * complete and check the file. Generated from the zod schema, so the two
 * cannot drift; regenerate the JSON file whenever schema.ts changes.
 * Cross-key rules (mode ⇒ external_id, …) are not expressible here and are
 * checked only by `tandem validate`.
 */
import { buildJsonSchema } from './schema.js';

export function configJsonSchema(): object {
  return {
    ...buildJsonSchema(),
    title: 'tandem.yaml',
    description: 'Configuration of Tandem, the bidirectional data-sync engine.',
  };
}
