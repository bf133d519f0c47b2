// Which body of a reply template a reply uses (X-LANG-4, gateway template_language.py): the
// body in the patient's preferred language ("es-MX" counts as "es"), else the default one.
export function templateBody(template, language) {
  const key = (language || '').trim().replace('_', '-').split('-')[0].toLowerCase();
  const own = key && template.bodies ? template.bodies[key] : null;
  return own || template.body || '';
}
