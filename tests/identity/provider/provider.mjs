// A real OpenID provider for the sign-in tests: node's oidc-provider (a certified
// implementation), with its development login pages. Who can sign in, and their claims, are
// read from PEOPLE_FILE at each sign-in, so a test can change someone's groups between two.
//
//   PORT=… CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URI=… POST_LOGOUT_URI=… PEOPLE_FILE=… node provider.mjs
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const people = () => JSON.parse(fs.readFileSync(process.env.PEOPLE_FILE, 'utf8'));

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.POST_LOGOUT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // PKCE for every client, not only public ones: the console must send it.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'given_name', 'family_name', 'name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  async findAccount(ctx, id) {
    const claims = people()[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  // Codes given to "late-larry" last one second, so a test can present one after it expired.
  ttl: { AuthorizationCode: (ctx, code) => (code.accountId === 'late-larry' ? 1 : 60) },
  cookies: { keys: ['tests-only-cookie-key'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => {
  console.log(`ready on ${port}`);
});
