// Validates sample payloads against a JSON Schema with ajv (draft 2020-12,
// strict mode: a schema keyword ajv does not know fails the compile), the
// independent check of the schemas Astrid generates from WIT
// (tests/integration/capsule_schema.sh).
// usage: node validate-schema.js SCHEMA.json CASES.json
//   CASES = [{"name": "...", "data": <payload>, "valid": true|false}, ...]
// Prints one line per case ("pass NAME" / "FAIL NAME: ..."); exit 0 only
// when every case came out as expected; 2 when the schema does not compile.
const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');
const [schemaFile, casesFile] = process.argv.slice(2);
const ajv = new Ajv2020({ strict: true, allErrors: true });
let validate;
try {
  validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
} catch (e) {
  console.log(`FAIL schema does not compile: ${e.message}`);
  process.exit(2);
}
let bad = 0;
for (const c of JSON.parse(fs.readFileSync(casesFile, 'utf8'))) {
  const got = validate(c.data);
  if (got === c.valid) console.log(`pass ${c.name}`);
  else {
    bad++;
    console.log(`FAIL ${c.name}: valid=${got}, expected ${c.valid} ${JSON.stringify(validate.errors || [])}`);
  }
}
process.exit(bad ? 1 : 0);
