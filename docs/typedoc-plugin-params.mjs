// @ts-check
// A TypeDoc plugin that holds the API reference to "every exported function documents its
// parameters": each parameter of a function, method or constructor the packages export (not those
// inherited from the platform, such as Error's) needs an `@param` text, or the site build warns —
// and typedoc.json treats warnings as errors. It also prints how many parameters it checked.
import { ReflectionKind, RendererEvent } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.on(RendererEvent.BEGIN, (event) => {
    const kinds = ReflectionKind.Function | ReflectionKind.Method | ReflectionKind.Constructor;
    let checked = 0;
    const missing = [];
    for (const reflection of event.project.getReflectionsByKind(kinds)) {
      const owner = /** @type {import('typedoc').DeclarationReflection} */ (reflection);
      if (owner.inheritedFrom !== undefined || owner.flags.isExternal) continue;
      for (const signature of owner.signatures ?? []) {
        for (const parameter of signature.parameters ?? []) {
          checked++;
          if ((parameter.comment?.summary.length ?? 0) === 0) missing.push(`${owner.getFriendlyFullName()}(${parameter.name})`);
        }
      }
    }
    for (const name of missing) app.logger.warn(`parameter not documented (add an @param): ${name}`);
    app.logger.info(`parameters documented: ${checked - missing.length} of ${checked}`);
  });
}
