// OpenFeature's stock JavaScript SDKs and OFREP providers against a running Config Console
// (tests/ofrep/test_real_clients.py starts the server and reads what this prints).
//
//   node providers.cjs evaluate <base url> <token> <calls as JSON>
//     the server SDK with @openfeature/ofrep-provider: each call [kind, flag, default, context]
//     prints one line of JSON per call, the SDK's evaluation details.
//   node --experimental-eventsource providers.cjs follow <base url> <token> <flag> <context>
//     the web SDK with @openfeature/ofrep-web-provider, polling off: prints the flag's value
//     once ready, then again after each change the event stream announces.
"use strict";

const [mode, baseUrl, token, ...rest] = process.argv.slice(2);
const headers = [["Authorization", `Bearer ${token}`]];
const say = (data) => process.stdout.write(JSON.stringify(data) + "\n");

async function evaluate(calls) {
  const { OpenFeature } = require("@openfeature/server-sdk");
  const { OFREPProvider } = require("@openfeature/ofrep-provider");
  await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl, headers }));
  const client = OpenFeature.getClient();
  const methods = {
    string: "getStringDetails",
    number: "getNumberDetails",
    boolean: "getBooleanDetails",
    object: "getObjectDetails",
  };
  for (const [kind, flag, fallback, context] of calls) {
    const details = await client[methods[kind]](flag, fallback, context);
    say(details);
  }
  await OpenFeature.close();
}

async function follow(flag, context) {
  const { OpenFeature, ProviderEvents } = require("@openfeature/web-sdk");
  const { OFREPWebProvider } = require("@openfeature/ofrep-web-provider");
  await OpenFeature.setContext(context);
  const provider = new OFREPWebProvider({ baseUrl, headers, pollInterval: 0 });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  say({ ready: client.getObjectValue(flag, null) });
  client.addHandler(ProviderEvents.ConfigurationChanged, () => {
    say({ changed: client.getObjectValue(flag, null) });
  });
}

const main =
  mode === "evaluate"
    ? evaluate(JSON.parse(rest[0]))
    : follow(rest[0], JSON.parse(rest[1] || "{}"));
main.catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
